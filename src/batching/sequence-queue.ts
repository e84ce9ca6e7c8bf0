// The queue of a stateful model (model-config.yaml sequenceBatching, TorchServe 0.11+): requests
// carrying the same ts_request_sequence_id form a sequence, and a sequence keeps to the one worker
// that took it, so the handler's per-sequence state stays in one process. As TorchServe does:
// a worker owns up to max(1, maxNumSequence / minWorkers) sequences; a batch takes at most one
// request of each of its sequences (in arrival order within a sequence); a sequence ends when a
// reply names it in ts_request_sequence_end, when no request came for sequenceMaxIdleMSec after
// its last reply, or, past sequenceTimeoutMSec from its start, as soon as it has nothing queued.
// A request naming an ended sequence starts a new one. With continuousBatching, a request the
// handler streams stays with the worker and goes again in its next batch, without its inputs,
// beside new requests of its sequence (so a cancel reaches the handler while the stream runs).
import { randomUUID } from 'node:crypto';
import { sequenceClosed, type ServeError } from '../errors.js';
import type { Clock, Timer } from '../clock.js';
import type { HeaderList, InferenceRequest } from '../protocol/messages.js';
import type { Job } from './job.js';
import type { WorkQueue } from './work-queue.js';

/** TorchServe's default header names (ts_header_key_sequence_*). */
export const SEQUENCE_ID_HEADER = 'ts_request_sequence_id';
export const SEQUENCE_START_HEADER = 'ts_request_sequence_start';
export const SEQUENCE_END_HEADER = 'ts_request_sequence_end';

export interface SequenceSettings {
  /** Sequences open at once, in all (maxNumSequence, at least 1). */
  readonly maxNumSequence: number;
  /** Requests one sequence may have waiting (maxSequenceJobQueueSize, at least 1). */
  readonly maxSequenceJobQueueSize: number;
  /** A sequence with nothing queued this long after its last reply ends; 0 for never. */
  readonly sequenceMaxIdleMs: number;
  /** A sequence this old ends once it has nothing queued; 0 for never. */
  readonly sequenceTimeoutMs: number;
  /** Sequences one worker owns at once (TorchServe: max(1, maxNumSequence / minWorkers)). */
  readonly perWorker: number;
  readonly continuous: boolean;
}

interface Sequence {
  readonly id: string;
  /** Requests waiting, oldest first. */
  readonly jobs: Job[];
  /** Continuous batching: requests the worker streams, sent again with its next batch. */
  readonly carried: Job[];
  /** The worker that owns it, null until one takes it. */
  owner: number | null;
  /** One of its requests is in a batch the worker has not answered. */
  inBatch: boolean;
  readonly expiresAtMs: number;
  idleTimer: Timer | null;
}

/** The value of header `name` (case-insensitive), or undefined. */
function headerValue(headers: HeaderList, name: string): string | undefined {
  for (const [k, v] of headers) if (k.toLowerCase() === name) return v;
  return undefined;
}

export function sequenceIdOf(job: Job): string | undefined {
  return headerValue(job.request.headers, SEQUENCE_ID_HEADER);
}

export class SequenceQueue implements WorkQueue {
  private readonly sequences = new Map<string, Sequence>();
  /** Sequences no worker owns yet, oldest first. */
  private readonly unowned: Sequence[] = [];
  private readonly describeJobs: Job[] = [];
  /** Worker loops waiting for work; each is woken by any change and looks again. */
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly capacity: number,
    private readonly settings: SequenceSettings,
    private readonly clock: Clock,
  ) {}

  get pending(): number {
    let n = this.describeJobs.length;
    for (const s of this.sequences.values()) n += s.jobs.length;
    return n;
  }

  get remainingCapacity(): number {
    return Math.max(0, this.capacity - this.pending);
  }

  /** Sequences open now (tests, describe). */
  get openSequences(): number {
    return this.sequences.size;
  }

  /** The worker that owns a sequence, null when none does (or it is not open). */
  ownerOf(sequenceId: string): number | null {
    return this.sequences.get(sequenceId)?.owner ?? null;
  }

  /** A request without a sequence id starts a new one: TorchServe names it ts-seq-<uuid>. */
  admit(request: InferenceRequest): InferenceRequest {
    const id = headerValue(request.headers, SEQUENCE_ID_HEADER);
    if (id !== undefined && id !== '') return request;
    const rest = request.headers.filter(([k]) => k.toLowerCase() !== SEQUENCE_ID_HEADER);
    const headers: HeaderList = [...rest, [SEQUENCE_START_HEADER, 'true'], [SEQUENCE_ID_HEADER, `ts-seq-${randomUUID()}`]];
    return { ...request, headers };
  }

  offer(job: Job): boolean {
    if (job.kind === 'describe') {
      if (this.pending >= this.capacity) return false;
      this.describeJobs.push(job);
      this.wakeAll();
      return true;
    }
    const id = sequenceIdOf(job);
    if (id === undefined || id === '' || this.pending >= this.capacity) return false;
    let sequence = this.sequences.get(id);
    if (sequence === undefined) {
      if (this.sequences.size >= this.settings.maxNumSequence) return false;
      const timeout = this.settings.sequenceTimeoutMs;
      sequence = { id, jobs: [], carried: [], owner: null, inBatch: false, expiresAtMs: timeout > 0 ? this.clock.now() + timeout : Infinity, idleTimer: null };
      this.sequences.set(id, sequence);
      this.unowned.push(sequence);
    }
    if (sequence.jobs.length >= this.settings.maxSequenceJobQueueSize) return false;
    sequence.idleTimer?.cancel();
    sequence.idleTimer = null;
    sequence.jobs.push(job);
    this.wakeAll();
    return true;
  }

  remove(job: Job): boolean {
    const d = this.describeJobs.indexOf(job);
    if (d >= 0) {
      this.describeJobs.splice(d, 1);
      return true;
    }
    const id = sequenceIdOf(job);
    const sequence = id === undefined ? undefined : this.sequences.get(id);
    const i = sequence?.jobs.indexOf(job) ?? -1;
    if (sequence === undefined || i < 0) return false;
    sequence.jobs.splice(i, 1);
    // A sequence left with nothing (its client went away) idles out like any other.
    this.armIdle(sequence);
    return true;
  }

  failAll(error: ServeError): void {
    for (const job of this.describeJobs.splice(0)) job.fail(error);
    for (const sequence of [...this.sequences.values()]) this.close(sequence, error);
  }

  requeue(jobs: readonly Job[]): readonly Job[] {
    const refused: Job[] = [];
    const describes: Job[] = [];
    for (const job of jobs) {
      if (job.finished || job.cancelled) continue;
      if (job.kind === 'describe') {
        describes.push(job);
        continue;
      }
      const id = sequenceIdOf(job);
      const sequence = id === undefined ? undefined : this.sequences.get(id);
      if (sequence === undefined) refused.push(job);
      else if (job.cachedInBackend) sequence.carried.push(job);
      else sequence.jobs.unshift(job);
    }
    this.describeJobs.unshift(...describes);
    this.wakeAll();
    return refused;
  }

  async takeBatch(maxSize: number, maxDelayMs: number, signal: AbortSignal, workerId: number): Promise<Job[] | null> {
    const limit = this.settings.continuous ? 2 * maxSize : maxSize;
    let batch: Job[] = [];
    while (batch.length === 0) {
      batch = this.collect(workerId, limit, true);
      if (batch.length > 0) break;
      if (!(await this.waitForChange(signal, null))) return null;
    }
    if (batch[0]?.kind === 'describe') return batch;
    // A worker streaming a request goes on at once, with what else is there (TorchServe polls without waiting then).
    if (batch.some((j) => j.cachedInBackend)) return [...batch, ...this.collect(workerId, limit - batch.length, false)];
    const deadline = this.clock.now() + maxDelayMs;
    while (batch.length < limit && !signal.aborted) {
      const more = this.collect(workerId, limit - batch.length, false);
      if (more.length > 0) {
        batch.push(...more);
        continue;
      }
      const remaining = deadline - this.clock.now();
      if (remaining <= 0 || !this.couldGrow(workerId)) break;
      await this.waitForChange(signal, remaining);
    }
    return batch;
  }

  /** Not pipelined: a sequence's next request waits for the reply to the one before it. */
  takeReadyBatch(): Job[] | null {
    return null;
  }

  batchDone(workerId: number, batch: readonly Job[]): void {
    const ended = new Set<string>();
    for (const job of batch) {
      const end = headerValue(job.lastReplyHeaders, SEQUENCE_END_HEADER);
      if (end !== undefined) for (const id of end.split(';')) ended.add(id.trim());
    }
    for (const job of batch) {
      const id = sequenceIdOf(job);
      const sequence = id === undefined ? undefined : this.sequences.get(id);
      if (sequence === undefined || sequence.owner !== workerId) continue;
      sequence.inBatch = false;
    }
    for (const id of ended) {
      const sequence = this.sequences.get(id);
      if (sequence !== undefined && sequence.owner === workerId) this.close(sequence, sequenceClosed(id, 'its handler ended it'));
    }
    for (const sequence of this.sequences.values()) if (sequence.owner === workerId) this.armIdle(sequence);
    this.wakeAll();
  }

  workerGone(workerId: number, error: ServeError): void {
    for (const sequence of [...this.sequences.values()]) {
      if (sequence.owner === workerId) this.close(sequence, sequenceClosed(sequence.id, `its worker stopped (${error.message})`));
    }
  }

  /** Ends a sequence now: what waits in it fails with `error`; a request in a batch is still answered. */
  endSequence(sequenceId: string, error: ServeError): void {
    const sequence = this.sequences.get(sequenceId);
    if (sequence !== undefined) this.close(sequence, error);
  }

  /**
   * Takes what worker `workerId` may run next: a describe request alone, or its streamed requests
   * and one waiting request of each of its sequences not in a batch, claiming unowned sequences up
   * to its share.
   */
  private collect(workerId: number, room: number, first: boolean): Job[] {
    if (first && this.describeJobs.length > 0) return this.describeJobs.splice(0, 1);
    const batch: Job[] = [];
    const owned = [...this.sequences.values()].filter((s) => s.owner === workerId);
    if (first) {
      for (const sequence of owned) {
        while (sequence.carried.length > 0 && batch.length < room) {
          const job = sequence.carried.shift() as Job;
          if (!job.finished && !job.cancelled) batch.push(job);
        }
      }
    }
    while (owned.length < this.settings.perWorker && this.unowned.length > 0) {
      const sequence = this.unowned.shift() as Sequence;
      sequence.owner = workerId;
      owned.push(sequence);
    }
    for (const sequence of owned) {
      if (batch.length >= room) break;
      if (sequence.inBatch || sequence.jobs.length === 0) continue;
      batch.push(sequence.jobs.shift() as Job);
      sequence.inBatch = true;
    }
    return batch;
  }

  /** More could join the batch: an owned sequence is waiting for its next request, or share is left. */
  private couldGrow(workerId: number): boolean {
    let owned = 0;
    for (const s of this.sequences.values()) {
      if (s.owner !== workerId) continue;
      owned++;
      if (!s.inBatch) return true;
    }
    return owned < this.settings.perWorker;
  }

  /** After its reply: a sequence with nothing waiting ends now when past its timeout, else after its idle time. */
  private armIdle(sequence: Sequence): void {
    if (sequence.inBatch || sequence.jobs.length > 0 || sequence.carried.length > 0 || sequence.idleTimer !== null) return;
    if (this.clock.now() >= sequence.expiresAtMs) {
      this.close(sequence, sequenceClosed(sequence.id, 'sequenceTimeoutMSec passed'));
      return;
    }
    const idle = this.settings.sequenceMaxIdleMs;
    if (idle <= 0) return;
    const wait = Math.min(idle, sequence.expiresAtMs - this.clock.now());
    sequence.idleTimer = this.clock.after(wait, () => {
      sequence.idleTimer = null;
      if (this.sequences.get(sequence.id) !== sequence) return;
      if (sequence.inBatch || sequence.jobs.length > 0 || sequence.carried.length > 0) return;
      this.close(sequence, sequenceClosed(sequence.id, 'sequenceMaxIdleMSec passed'));
    });
  }

  /** Ends a sequence: what waits in it fails with `error`, its streamed requests with it. */
  private close(sequence: Sequence, error: ServeError): void {
    if (this.sequences.get(sequence.id) !== sequence) return;
    this.sequences.delete(sequence.id);
    const i = this.unowned.indexOf(sequence);
    if (i >= 0) this.unowned.splice(i, 1);
    sequence.idleTimer?.cancel();
    sequence.idleTimer = null;
    for (const job of sequence.jobs.splice(0)) job.fail(error);
    for (const job of sequence.carried.splice(0)) job.fail(error);
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves true on the next change, false on abort, or after `timeoutMs` (true). */
  private waitForChange(signal: AbortSignal, timeoutMs: number | null): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (changed: boolean): void => {
        this.waiters.delete(wake);
        timer?.cancel();
        signal.removeEventListener('abort', onAbort);
        resolve(changed);
      };
      const wake = (): void => finish(true);
      const onAbort = (): void => finish(false);
      const timer = timeoutMs === null ? null : this.clock.after(timeoutMs, () => finish(true));
      this.waiters.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
