// Logging for the server, the access log and the model log (worker output).
// Lines go to stdout/stderr with a timestamp; files and rotation come with issue #8.

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, cause?: unknown): void;
  access(line: string): void;
  model(worker: string, line: string, stream: 'stdout' | 'stderr'): void;
}

export interface ConsoleLoggerOptions {
  readonly quietAccess?: boolean;
  readonly out?: (line: string) => void;
  readonly err?: (line: string) => void;
}

export function consoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = options.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const stamp = (): string => new Date().toISOString();
  return {
    info: (m) => out(`${stamp()} INFO ${m}`),
    warn: (m) => err(`${stamp()} WARN ${m}`),
    error: (m, cause) => err(`${stamp()} ERROR ${m}${cause === undefined ? '' : `: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`}`),
    access: (line) => {
      if (!options.quietAccess) out(`${stamp()} ACCESS ${line}`);
    },
    model: (worker, line, stream) => (stream === 'stdout' ? out : err)(`${stamp()} MODEL_LOG ${worker} ${line}`),
  };
}
