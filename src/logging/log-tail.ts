// The last lines of the server log, kept in memory for the console's live tail: a ring of at most
// `maxLines` lines, each cut at `maxLineChars`, numbered so that a reader asks only for what is new.
import type { Logger } from '../logger.js';

export type TailLevel = 'INFO' | 'WARN' | 'ERROR';

export interface TailLine {
  readonly seq: number;
  readonly timeMs: number;
  readonly level: TailLevel;
  /** `lantern`, or the worker (`W-9000-model_1.0`). */
  readonly source: string;
  readonly message: string;
}

export interface TailQuery {
  /** Only lines numbered above this. */
  readonly after: number;
  /** Only lines whose source or message contains this, ignoring case; empty for all. */
  readonly filter: string;
  readonly limit: number;
}

export class LogTail {
  private readonly lines: TailLine[] = [];
  private nextSeq = 1;

  constructor(
    private readonly now: () => number,
    readonly maxLines = 1000,
    private readonly maxLineChars = 2000,
  ) {}

  add(level: TailLevel, source: string, message: string): void {
    const text = message.length > this.maxLineChars ? `${message.slice(0, this.maxLineChars)}…` : message;
    this.lines.push({ seq: this.nextSeq++, timeMs: this.now(), level, source, message: text });
    if (this.lines.length > this.maxLines) this.lines.shift();
  }

  /** The newest `limit` lines matching the query, oldest first, and the newest number handed out. */
  read(query: TailQuery): { lines: TailLine[]; last: number } {
    const needle = query.filter.toLowerCase();
    const matching = this.lines.filter(
      (l) => l.seq > query.after && (needle === '' || l.message.toLowerCase().includes(needle) || l.source.toLowerCase().includes(needle)),
    );
    return { lines: matching.slice(-query.limit), last: this.nextSeq - 1 };
  }
}

/** `logger`, also writing its server and worker lines (not access or metric lines) to `tail`. */
export function tailedLogger(logger: Logger, tail: LogTail): Logger {
  const tailed: Logger = {
    info: (m) => {
      tail.add('INFO', 'lantern', m);
      logger.info(m);
    },
    warn: (m) => {
      tail.add('WARN', 'lantern', m);
      logger.warn(m);
    },
    error: (m, cause) => {
      tail.add('ERROR', 'lantern', cause instanceof Error ? `${m}: ${cause.message}` : cause === undefined ? m : `${m}: ${String(cause)}`);
      logger.error(m, cause);
    },
    access: (line) => logger.access(line),
    model: (worker, line, stream) => {
      tail.add(stream === 'stdout' ? 'INFO' : 'WARN', worker, line);
      logger.model(worker, line, stream);
    },
  };
  if (logger.metric !== undefined) {
    const metric = logger.metric.bind(logger);
    tailed.metric = (kind, line) => metric(kind, line);
  }
  if (logger.close !== undefined) {
    const close = logger.close.bind(logger);
    tailed.close = () => close();
  }
  return tailed;
}
