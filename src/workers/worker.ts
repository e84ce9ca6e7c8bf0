// What a worker pool needs of one worker process. WorkerProcess is the real one; the pool's unit
// tests drive the pool through a fake that keeps to the same contract.
import type { Clock } from '../clock.js';
import type { ServeError } from '../errors.js';
import type { Job } from '../batching/job.js';
import type { LoadMessage } from '../protocol/messages.js';

export interface WorkerExit {
  /** The exit code, 137 for a SIGKILL that Lantern did not send, null when Lantern stopped it. */
  readonly code: number | null;
  readonly reason: string;
}

export interface Worker {
  readonly pid: number;
  /** Smoothed time per batch in ms (pipelining heuristic); null before the first batch. */
  readonly batchMs: number | null;
  /** Settles once, when the process has exited; every job it held has been answered or handed back. */
  readonly exited: Promise<WorkerExit>;
  /** Sends the load message; resolves once the model is loaded, rejects with the load's error. */
  load(message: LoadMessage, startupTimeoutMs: number): Promise<void>;
  /**
   * Sends one batch; resolves when every job in it has been answered or failed, with the jobs the
   * process never started (it died first): the caller queues them again.
   */
  run(batch: readonly Job[], responseTimeoutMs: number): Promise<readonly Job[]>;
  /** Resident memory in bytes, 0 when it cannot be read. */
  rssBytes(): Promise<number>;
  /**
   * Asks the process to exit (end of its socket, then SIGTERM, then SIGKILL after a grace period).
   * With `abortWith`, every job it holds is answered with that error at once. Idempotent.
   */
  close(abortWith?: ServeError): Promise<void>;
  /** Kills the process at once; the batch it runs fails with "Worker died.". `reason` is logged. */
  destroy(reason: string): void;
}

export interface WorkerOptions {
  readonly maxResponseBytes: number;
  /**
   * Continuous batching: every reply frame ends its batch; a request the reply leaves streaming
   * (ts_stream_next: true) is marked cachedInBackend and handed back with the unstarted ones.
   */
  readonly continuous?: boolean;
  readonly clock: Clock;
  /** Receives every line the worker prints on stdout or stderr. */
  readonly onOutput: (line: string, stream: 'stdout' | 'stderr') => void;
}

export type WorkerFactory = (id: number, options: WorkerOptions) => Worker;
