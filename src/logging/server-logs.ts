// The log files TorchServe users grep, under LOG_LOCATION (default `logs/`): ts_log.log (the
// server, and a copy of every other line, as log4j's root logger gets them), access_log.log,
// model_log.log (worker stdout/stderr tagged `W-<id>-<model>_<version>-stdout|stderr`), and in
// log metrics mode ts_metrics.log and model_metrics.log under METRICS_LOCATION (default `logs/`).
// Each file rolls over by size. The console gets what the server log gets.
//
// Lines are written together: by default at the end of the event-loop turn that produced them,
// or, when the last write was less than a millisecond ago (under load), a millisecond later: one
// write per file for all the requests answered meanwhile. With async_logging every
// ASYNC_FLUSH_MS, or once ASYNC_MAX_RECORDS are held, as TorchServe's async logging may delay
// output. Whatever is held is written at close() and when the process exits.
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
  /** async_logging: write held lines every ASYNC_FLUSH_MS instead of at the end of each turn. */
  readonly buffered: boolean;
  /** Where console lines go; null for files only. */
  readonly console: ConsoleTarget | null;
}

export interface ConsoleTarget {
  /** Lines for stdout, joined by newlines (no trailing one). */
  readonly out: (text: string) => void;
  /** Lines for stderr, the same way. */
  readonly err: (text: string) => void;
  /**
   * Lines for stdout as encoded bytes, each ending in a newline. When present, a flush whose lines
   * went to ts_log.log and stdout alike hands the console the bytes just written to the file,
   * instead of joining and encoding the same text twice (a few KB for every request under load).
   */
  readonly outBytes?: (bytes: Uint8Array) => void;
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

/** How long async_logging holds lines at most, and how many records. */
export const ASYNC_FLUSH_MS = 100;
export const ASYNC_MAX_RECORDS = 256;

interface Flushable {
  flush(): void;
}

export function openServerLogs(settings: ServerLogSettings): ServerLogs {
  const files = new Map<string, RollingFile>();
  let closed = false;
  const onError = (message: string): void => settings.console?.err(message);
  // Everything holding lines, flushed together by one scheduled call.
  const held = new Set<Flushable>();
  let scheduled: { readonly timer: NodeJS.Timeout } | { readonly immediate: NodeJS.Immediate } | null = null;
  let heldRecords = 0;
  let lastFlushMs = 0;
  const cancel = (): void => {
    if (scheduled === null) return;
    if ('timer' in scheduled) clearTimeout(scheduled.timer);
    else clearImmediate(scheduled.immediate);
    scheduled = null;
  };
  // True while every line held since the last flush went both to ts_log.log and to stdout.
  let mirrored = true;
  const flushAll = (): void => {
    cancel();
    heldRecords = 0;
    lastFlushMs = performance.now();
    const outBytes = settings.console?.outBytes;
    if (mirrored && outBytes !== undefined && server !== null && terminal !== null && held.has(server) && held.has(terminal)) {
      const bytes = server.flush();
      if (bytes !== null) {
        terminal.discard();
        outBytes(bytes);
      }
    }
    mirrored = true;
    for (const f of held) f.flush();
    held.clear();
  };
  const hold = (f: Flushable): void => {
    held.add(f);
    if (scheduled !== null) return;
    if (settings.buffered) scheduled = { timer: setTimeout(flushAll, ASYNC_FLUSH_MS).unref() };
    // At the end of this turn; under load, when turns are short, at most once a millisecond.
    else if (performance.now() - lastFlushMs >= 1) scheduled = { immediate: setImmediate(flushAll) };
    else scheduled = { timer: setTimeout(flushAll, 1) };
  };
  // async_logging holds at most ASYNC_MAX_RECORDS: under load, lines kept 100 ms outlive the young
  // generation and grow the old one (about 50 MB more resident memory at 5,000 requests a second).
  const counted = (): void => {
    heldRecords += 1;
    if (settings.buffered && heldRecords === ASYNC_MAX_RECORDS) {
      cancel();
      scheduled = { immediate: setImmediate(flushAll) };
    }
  };
  process.on('exit', flushAll);
  const file = (dir: string, name: string): RollingFile | null => {
    if (closed) return null;
    const full = path.join(dir, name);
    let f = files.get(full);
    if (f === undefined) {
      f = new RollingFile(full, { maxBytes: settings.maxFileBytes, backups: settings.backups, onError });
      files.set(full, f);
    }
    return f;
  };
  const full = layout(settings.format, 'full');
  const server = file(settings.logDir, 'ts_log.log');
  const terminal = settings.console === null ? null : new HeldConsole(settings.console);
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
      if (target.file !== null && !closed) {
        target.file.write(target.line(record));
        hold(target.file);
      }
    }
    const toServer = server !== null && !closed && server.write(line);
    if (toServer) hold(server);
    if (terminal !== null) {
      const stream = record.level === 'WARN' || record.level === 'ERROR' ? 'err' : 'out';
      if (!toServer || stream === 'err') mirrored = false;
      terminal.write(line, stream);
      // After close the console still speaks, at once: there is no later flush to wait for.
      if (closed) terminal.flush();
      else hold(terminal);
    }
    if (!closed) counted();
  };
  return {
    ...recordLogger(emit),
    close: async () => {
      if (closed) return;
      closed = true;
      flushAll();
      for (const f of files.values()) f.close();
      process.removeListener('exit', flushAll);
    },
  };
}

/** Console lines held until the next flush; each run of stdout or stderr lines is one write, in order. */
class HeldConsole implements Flushable {
  private lines: string[] = [];
  private toErr: boolean[] = [];

  constructor(private readonly target: ConsoleTarget) {}

  write(line: string, stream: 'out' | 'err'): void {
    this.lines.push(line);
    this.toErr.push(stream === 'err');
  }

  /** Drops what is held (its bytes went out another way). */
  discard(): void {
    this.lines = [];
    this.toErr = [];
  }

  flush(): void {
    const { lines, toErr } = this;
    this.lines = [];
    this.toErr = [];
    let start = 0;
    for (let i = 1; i <= lines.length; i++) {
      if (i < lines.length && toErr[i] === toErr[start]) continue;
      (toErr[start] === true ? this.target.err : this.target.out)(lines.slice(start, i).join('\n'));
      start = i;
    }
  }
}
