// The server's logging interface, and the console logger. Lines are laid out as TorchServe's
// log4j console appender writes them (`<time> [LEVEL] <thread> <logger> - <message>`); the log
// files under LOG_LOCATION come from openServerLogs (src/logging/server-logs.ts).
import { fullLine, layout, type LogFormat, type LogLevel, type LogRecord } from './logging/log-layout.js';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, cause?: unknown): void;
  /** One access-log line: `<remote> "<METHOD> <uri> <protocol>" <status> <ms>` (see logging/access-line.ts). */
  access(line: string): void;
  /** One line of a worker's stdout or stderr; `worker` is `W-<id>-<model>_<version>`. */
  model(worker: string, line: string, stream: 'stdout' | 'stderr'): void;
  /** A metric in log mode: `ts` lines go to ts_metrics.log, `model` lines to model_metrics.log. */
  metric?(kind: 'ts' | 'model', line: string): void;
  /** Writes what is buffered and closes the files. Idempotent. */
  close?(): Promise<void>;
}

/** Where a record belongs; every record also goes to the server log and the console. */
export type LogChannel = 'server' | 'access' | 'model' | 'ts_metrics' | 'model_metrics';

const describeCause = (cause: unknown): string => (cause instanceof Error ? (cause.stack ?? cause.message) : String(cause));

/** A Logger that turns each call into a LogRecord for `emit`. */
export function recordLogger(emit: (record: LogRecord, channel: LogChannel) => void, now: () => number = Date.now): Required<Omit<Logger, 'close'>> {
  const record = (level: LogLevel, thread: string, logger: string, message: string): LogRecord => ({ timeMs: now(), level, thread, logger, message });
  return {
    info: (m) => emit(record('INFO', 'main', 'lantern', m), 'server'),
    warn: (m) => emit(record('WARN', 'main', 'lantern', m), 'server'),
    error: (m, cause) => emit(record('ERROR', 'main', 'lantern', cause === undefined ? m : `${m}: ${describeCause(cause)}`), 'server'),
    access: (line) => emit(record('INFO', 'http', 'ACCESS_LOG', line), 'access'),
    model: (worker, line, stream) =>
      emit({ ...record(stream === 'stdout' ? 'INFO' : 'WARN', `${worker}-${stream}`, 'MODEL_LOG', line), fields: { worker, stream } }, 'model'),
    metric: (kind, line) =>
      emit(record('INFO', 'metrics', kind === 'ts' ? 'TS_METRICS' : 'MODEL_METRICS', line), kind === 'ts' ? 'ts_metrics' : 'model_metrics'),
  };
}

export interface ConsoleLoggerOptions {
  readonly quietAccess?: boolean;
  readonly format?: LogFormat;
  readonly out?: (line: string) => void;
  readonly err?: (line: string) => void;
}

/** Logs to stdout (warnings and errors to stderr); no files. */
export function consoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = options.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const format = options.format === undefined ? fullLine : layout(options.format, 'full');
  return recordLogger((record, channel) => {
    if (channel === 'access' && options.quietAccess === true) return;
    (record.level === 'WARN' || record.level === 'ERROR' ? err : out)(format(record));
  });
}
