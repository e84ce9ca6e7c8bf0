// How a log record becomes one line: TorchServe's log4j patterns (`%d{ISO8601} [%-5p] %t %c - %m`
// for the server and model logs, `%d{ISO8601} - %m` for the access and metrics logs), or one JSON
// object per line.

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
export type LogFormat = 'text' | 'json';

export interface LogRecord {
  /** Epoch milliseconds (a number, not a Date: several records are made for every request). */
  readonly timeMs: number;
  readonly level: LogLevel;
  /** log4j's %t: `main` for the server, `W-<id>-<model>_<version>-stdout|stderr` for worker output. */
  readonly thread: string;
  /** log4j's %c: `lantern`, `ACCESS_LOG`, `MODEL_LOG`, `TS_METRICS`, `MODEL_METRICS`. */
  readonly logger: string;
  readonly message: string;
  /** Extra structured fields for the JSON format. */
  readonly fields?: Readonly<Record<string, string | number>>;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

let lastMs = Number.NaN;
let lastText = '';

/** log4j's ISO8601 date: local time, `yyyy-MM-ddTHH:mm:ss,SSS` (the lines of one millisecond share it). */
export function log4jTime(ms: number): string {
  if (ms === lastMs) return lastText;
  const time = new Date(ms);
  lastMs = ms;
  lastText =
    `${time.getFullYear()}-${pad(time.getMonth() + 1)}-${pad(time.getDate())}` +
    `T${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())},${pad(time.getMilliseconds(), 3)}`;
  return lastText;
}

/** `%d{ISO8601} [%-5p] %t %c - %m` */
export const fullLine = (r: LogRecord): string => `${log4jTime(r.timeMs)} [${r.level.padEnd(5)}] ${r.thread} ${r.logger} - ${r.message}`;

/** `%d{ISO8601} - %m` */
export const shortLine = (r: LogRecord): string => `${log4jTime(r.timeMs)} - ${r.message}`;

export const jsonLine = (r: LogRecord): string =>
  JSON.stringify({ timestamp: new Date(r.timeMs).toISOString(), level: r.level, logger: r.logger, thread: r.thread, message: r.message, ...r.fields });

export function layout(format: LogFormat, style: 'full' | 'short'): (r: LogRecord) => string {
  if (format === 'json') return jsonLine;
  return style === 'full' ? fullLine : shortLine;
}
