// A job is one client request waiting for, or being served by, a worker. It is answered
// exactly once: later answers are ignored, so racing failure paths cannot double-respond.
import type { ServeError } from '../errors.js';
import type { HeaderList, InferenceRequest, ResponseEntry } from '../protocol/messages.js';

export type JobKind = 'predict' | 'describe';

export interface JobSink {
  /** A reply for the request; `last` is false for intermediate (streamed) replies. */
  reply(entry: ResponseEntry, last: boolean): void;
  fail(error: ServeError): void;
}

export class Job {
  private done = false;
  /** Set when the client went away; queued jobs that are cancelled never reach a worker. */
  cancelled = false;
  /**
   * Continuous batching: the worker answered part of it and keeps its state; it is sent again,
   * without its inputs, in the worker's next batch (TorchServe's "cached in backend").
   */
  cachedInBackend = false;
  /** The headers of the newest reply (a stateful handler ends its sequence in one). */
  lastReplyHeaders: HeaderList = [];

  constructor(
    readonly request: InferenceRequest,
    readonly kind: JobKind,
    readonly enqueuedAtMs: number,
    private readonly sink: JobSink,
  ) {}

  get id(): string {
    return this.request.requestId;
  }

  get finished(): boolean {
    return this.done;
  }

  reply(entry: ResponseEntry, last: boolean): void {
    if (this.done) return;
    if (last) this.done = true;
    this.lastReplyHeaders = entry.headers;
    this.sink.reply(entry, last);
  }

  fail(error: ServeError): void {
    if (this.done) return;
    this.done = true;
    this.sink.fail(error);
  }
}
