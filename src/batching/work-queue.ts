// What a worker pool takes its batches from: the shared JobQueue of a stateless model, or the
// SequenceQueue of a stateful one, where each sequence keeps to one worker.
import type { ServeError } from '../errors.js';
import type { InferenceRequest } from '../protocol/messages.js';
import type { Job } from './job.js';

export interface WorkQueue {
  readonly capacity: number;
  readonly pending: number;
  readonly remainingCapacity: number;
  /** Adds a job; false when it cannot be taken (queue or sequence full, too many sequences). */
  offer(job: Job): boolean;
  /** Removes a queued job (its client left); false when it was no longer queued. */
  remove(job: Job): boolean;
  /** Fails every queued job with `error` (the model is going away). */
  failAll(error: ServeError): void;
  /** Puts back jobs a worker never started (or, for sequences, holds for more); returns those refused. */
  requeue(jobs: readonly Job[]): readonly Job[];
  /** Waits for the next batch for worker `workerId`; null when `signal` aborts first. */
  takeBatch(maxSize: number, maxDelayMs: number, signal: AbortSignal, workerId: number): Promise<Job[] | null>;
  /** A batch ready now for a busy worker to hold next (pipelining); null when none. */
  takeReadyBatch(maxSize: number, workerId: number): Job[] | null;
  /** The request as queued: a stateful model's queue gives it its sequence headers. */
  admit?(request: InferenceRequest): InferenceRequest;
  /** The worker has answered `batch` (or handed it back). */
  batchDone?(workerId: number, batch: readonly Job[]): void;
  /** The worker's process is gone: what it owned ends with `error`. */
  workerGone?(workerId: number, error: ServeError): void;
  /** Ends a sequence from outside (a gRPC stream closed); its queued jobs fail with `error`. */
  endSequence?(sequenceId: string, error: ServeError): void;
}
