// The log files TorchServe users grep, under LOG_LOCATION (default `logs/`): ts_log.log (the
// server, and a copy of every other line, as log4j's root logger gets them), access_log.log,
// model_log.log (worker stdout/stderr tagged `W-<id>-<model>_<version>-stdout|stderr`), and in
// log metrics mode ts_metrics.log and model_metrics.log under METRICS_LOCATION (default `logs/`).
// Each file rolls over by size. The console gets what the server log gets.
import path from 'node:path';
import type { Config } from '../config/load-config.js';
import { recordLogger, type LogChannel, type Logger } from '../logger.js';
import { layout, type LogFormat, type LogRecord } from './log-layout.js';
import { RollingFile } from './rolling-file.js';

export interface ServerLogSettings {
  readonly logDir: string;
  readonly metricsDir: string;
  readonly format: LogFormat;
  readonly maxFileBytes: number;
  readonly backups: number;
  /** async_logging: buffer lines within a tick. */
  readonly buffered: boolean;
  /** Where console lines go; null for files only. */
  readonly console: { readonly out: (line: string) => void; readonly err: (line: string) => void } | null;
}

const FILES: Record<Exclude<LogChannel, 'server'>, { name: string; style: 'full' | 'short'; metrics: boolean }> = {
  access: { name: 'access_log.log', style: 'short', metrics: false },
  model: { name: 'model_log.log', style: 'full', metrics: false },
  ts_metrics: { name: 'ts_metrics.log', style: 'short', metrics: true },
  model_metrics: { name: 'model_metrics.log', style: 'short', metrics: true },
};

/** The settings from the configuration and LOG_LOCATION / METRICS_LOCATION, relative to `cwd`. */
export function serverLogSettings(
  config: Pick<Config, 'log_format' | 'log_max_file_bytes' | 'log_backup_count' | 'async_logging'>,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  console: ServerLogSettings['console'],
): ServerLogSettings {
  return {
    logDir: path.resolve(cwd, env.LOG_LOCATION || 'logs'),
    metricsDir: path.resolve(cwd, env.METRICS_LOCATION || 'logs'),
    format: config.log_format,
    maxFileBytes: config.log_max_file_bytes,
    backups: config.log_backup_count,
    buffered: config.async_logging,
    console,
  };
}

export type ServerLogs = Logger & { close(): Promise<void> };

export function openServerLogs(settings: ServerLogSettings): ServerLogs {
  const files = new Map<string, RollingFile>();
  let closed = false;
  const onError = (message: string): void => settings.console?.err(message);
  const file = (dir: string, name: string): RollingFile | null => {
    if (closed) return null;
    const full = path.join(dir, name);
    let f = files.get(full);
    if (f === undefined) {
      f = new RollingFile(full, { maxBytes: settings.maxFileBytes, backups: settings.backups, buffered: settings.buffered, onError });
      files.set(full, f);
    }
    return f;
  };
  const full = layout(settings.format, 'full');
  const server = file(settings.logDir, 'ts_log.log');
  const buffered = settings.console !== null && settings.buffered ? tickBufferedConsole(settings.console) : null;
  const terminal = buffered ?? settings.console;
  // Resolved once per channel, not per line: emit runs several times for every request.
  const channelFiles = new Map<LogChannel, { file: RollingFile | null; line: (r: LogRecord) => string }>();
  const emit = (record: LogRecord, channel: LogChannel): void => {
    const line = full(record);
    if (channel !== 'server') {
      let target = channelFiles.get(channel);
      if (target === undefined) {
        const spec = FILES[channel];
        target = { file: file(spec.metrics ? settings.metricsDir : settings.logDir, spec.name), line: layout(settings.format, spec.style) };
        channelFiles.set(channel, target);
      }
      target.file?.write(target.line(record));
    }
    if (!closed) server?.write(line);
    const out = terminal;
    if (out !== null) (record.level === 'WARN' || record.level === 'ERROR' ? out.err : out.out)(line);
  };
  return {
    ...recordLogger(emit),
    close: async () => {
      if (closed) return;
      closed = true;
      for (const f of files.values()) f.close();
      buffered?.flush();
    },
  };
}

/** async_logging: console lines of one tick are written together, as the log files' are. */
function tickBufferedConsole(target: NonNullable<ServerLogSettings['console']>): NonNullable<ServerLogSettings['console']> & { flush(): void } {
  const pending: { out: string[]; err: string[] } = { out: [], err: [] };
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    for (const stream of ['out', 'err'] as const) {
      const lines = pending[stream];
      pending[stream] = [];
      if (lines.length > 0) target[stream](lines.join('\n'));
    }
  };
  const add = (stream: 'out' | 'err', line: string): void => {
    pending[stream].push(line);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return { out: (line) => add('out', line), err: (line) => add('err', line), flush };
}
