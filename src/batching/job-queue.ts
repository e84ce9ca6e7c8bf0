// The bounded job queue of one model version, and batch formation (spec §7.7): one worker at a
// time forms a batch: it waits for a first job, then gathers up to batchSize jobs, waiting at
// most maxBatchDelay in total from the moment it took the first one. A describe job is always
// alone in its batch.
import type { ServeError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { Job } from './job.js';
import type { WorkQueue } from './work-queue.js';

export class JobQueue implements WorkQueue {
  private readonly jobs: Job[] = [];
  /** Worker loops waiting for their turn to form a batch, in arrival order. */
  private readonly turnWaiters: Array<() => void> = [];
  private turnTaken = false;
  /** Wakes the batch former when a job arrives. */
  private wake: (() => void) | null = null;

  constructor(
    readonly capacity: number,
    private readonly clock: Clock,
  ) {}

  get pending(): number {
    return this.jobs.length;
  }

  get remainingCapacity(): number {
    return Math.max(0, this.capacity - this.jobs.length);
  }

  /** Adds a job; false when the queue is full. */
  offer(job: Job): boolean {
    if (this.jobs.length >= this.capacity) return false;
    this.jobs.push(job);
    this.wake?.();
    return true;
  }

  /**
   * Puts jobs that a worker never started back at the front, in order, as far as the queue's
   * capacity allows; returns those it could not take (the caller answers them).
   */
  requeue(jobs: readonly Job[]): readonly Job[] {
    const open = jobs.filter((j) => !j.finished && !j.cancelled);
    const taken = open.slice(0, this.remainingCapacity);
    this.jobs.unshift(...taken);
    if (taken.length > 0) this.wake?.();
    return open.slice(taken.length);
  }

  /** Removes a queued job (its client left); false when it was no longer queued. */
  remove(job: Job): boolean {
    const i = this.jobs.indexOf(job);
    if (i < 0) return false;
    this.jobs.splice(i, 1);
    return true;
  }

  /** Fails every queued job with `error` (the model is going away). */
  failAll(error: ServeError): void {
    for (const job of this.jobs.splice(0)) job.fail(error);
  }

  /**
   * Waits for a batch. Resolves with null when `signal` aborts before a first job was taken;
   * once a job is taken the batch is always returned, so no job is lost to an abort.
   */
  async takeBatch(maxSize: number, maxDelayMs: number, signal: AbortSignal): Promise<Job[] | null> {
    if (!(await this.takeTurn(signal))) return null;
    try {
      const first = await this.waitForJob(signal, null);
      if (first === null) return null;
      const batch = [first];
      if (first.kind === 'describe') return batch;
      const deadline = this.clock.now() + maxDelayMs;
      while (batch.length < maxSize) {
        const next = this.jobs[0];
        if (next !== undefined) {
          if (next.kind === 'describe') break;
          this.jobs.shift();
          batch.push(next);
          continue;
        }
        const remaining = deadline - this.clock.now();
        if (remaining <= 0) break;
        if ((await this.waitForJob(signal, remaining, false)) === null) break;
      }
      return batch;
    } finally {
      this.passTurn();
    }
  }

  /**
   * A full batch (or a describe job, alone) taken at once, for a busy worker to hold next; null
   * when fewer than `maxSize` jobs wait or a worker is forming a batch, which then gets them.
   */
  takeReadyBatch(maxSize: number): Job[] | null {
    if (this.turnTaken || this.jobs.length === 0) return null;
    if (this.jobs[0]?.kind === 'describe') return this.jobs.splice(0, 1);
    if (this.jobs.length < maxSize) return null;
    for (let i = 0; i < maxSize; i++) if (this.jobs[i]?.kind === 'describe') return null;
    return this.jobs.splice(0, maxSize);
  }

  private takeTurn(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (!this.turnTaken) {
      this.turnTaken = true;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const onAbort = (): void => {
        const i = this.turnWaiters.indexOf(grant);
        if (i >= 0) this.turnWaiters.splice(i, 1);
        resolve(false);
      };
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      };
      this.turnWaiters.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private passTurn(): void {
    const next = this.turnWaiters.shift();
    if (next === undefined) this.turnTaken = false;
    else next();
  }

  /**
   * Resolves with the next job (taking it when `take`), or null on abort or after `timeoutMs`.
   * With take=false it only reports that a job is available.
   */
  private waitForJob(signal: AbortSignal, timeoutMs: number | null, take = true): Promise<Job | null> {
    const ready = this.jobs[0];
    if (ready !== undefined) {
      if (take) this.jobs.shift();
      return Promise.resolve(ready);
    }
    if (signal.aborted) return Promise.resolve(null);
    return new Promise((resolve) => {
      const finish = (job: Job | null): void => {
        this.wake = null;
        timer?.cancel();
        signal.removeEventListener('abort', onAbort);
        resolve(job);
      };
      const onAbort = (): void => finish(null);
      const timer = timeoutMs === null ? null : this.clock.after(timeoutMs, () => finish(null));
      this.wake = () => {
        const job = this.jobs[0];
        if (job === undefined) return;
        if (take) this.jobs.shift();
        finish(job);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
