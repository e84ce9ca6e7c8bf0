// Typed forms of the messages exchanged with workers (docs/protocol.md).

export interface LoadMessage {
  readonly modelName: string;
  readonly modelPath: string;
  readonly batchSize: number;
  readonly handler: string;
  readonly gpuId: number;
  readonly envelope: string;
  readonly limitMaxImagePixels: boolean;
}

export interface RequestParameter {
  readonly name: string;
  /** Empty string when the part had no content type. */
  readonly contentType: string;
  readonly value: Buffer;
  /**
   * The value as it arrived, when it came in pieces (an HTTP body's chunks): frames refer to them
   * instead of copying, and `value`, their concatenation, is then made only if something reads it.
   */
  readonly chunks?: readonly Buffer[];
}

export type HeaderList = ReadonlyArray<readonly [string, string]>;

export interface InferenceRequest {
  readonly requestId: string;
  readonly headers: HeaderList;
  readonly parameters: readonly RequestParameter[];
}

export interface LoadReply {
  readonly code: number;
  readonly message: string;
}

export interface ResponseEntry {
  readonly requestId: string;
  readonly contentType: string;
  readonly status: number;
  readonly reason: string;
  readonly headers: HeaderList;
  readonly body: Buffer;
}

export interface InferReply {
  readonly code: number;
  readonly message: string;
  readonly responses: readonly ResponseEntry[];
  /**
   * The `[METRICS]` lines the batch produced, carried by its reply instead of the worker's stdout
   * (one write and one read fewer per batch); the front end treats them as stdout lines.
   */
  readonly metricLines?: readonly string[];
}

export const STREAM_NEXT_HEADER = 'ts_stream_next';

/** True when the entry announces that more replies follow for its request. */
export function expectsMore(entry: ResponseEntry): boolean {
  for (const [key, value] of entry.headers) {
    if (key.toLowerCase() === STREAM_NEXT_HEADER) return value === 'true';
  }
  return false;
}
