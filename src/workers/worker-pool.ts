// The workers of one model version: keeps their number between min and max, feeds them
// batches from the version's queue and restarts a crashed worker (same id) with backoff.
import { workersFailedToStart, isServeError, type ServeError } from '../errors.js';
import type { Clock } from '../batching/clock.js';
import type { JobQueue } from '../batching/job-queue.js';
import type { Job } from '../batching/job.js';
import type { LoadMessage } from '../protocol/messages.js';
import { WorkerProcess, type WorkerLaunch } from './worker-process.js';
import { Autoscaler, type AutoscaleSettings, type PoolLoad } from './autoscaler.js';

/**
 * Pipelining: a busy worker holds, waiting in its socket behind the batch it runs, about
 * PIPELINE_WORK_MS of batches (by its recent batch time), at least one and at most
 * PIPELINE_MAX - 1. A worker with quick batches then finds the next ones already in its socket
 * and does not sleep between them; slow batches stay in the queue, where any worker that frees up
 * can take them.
 */
const PIPELINE_WORK_MS = 1;
const PIPELINE_MAX = 16;

/** The batches a worker may hold at once, the running one included, given its smoothed batch time. */
export function pipelineDepth(batchMs: number | null): number {
  if (batchMs === null || batchMs >= PIPELINE_WORK_MS) return 2;
  return Math.min(PIPELINE_MAX, 1 + Math.ceil(PIPELINE_WORK_MS / Math.max(batchMs, 1e-3)));
}

/** TorchServe's retry delays in seconds; the index advances before use. */
const BACK_OFF_SEC = [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597];

export interface PoolSpec {
  readonly modelName: string;
  readonly version: string;
  readonly load: LoadMessage;
  readonly launch: WorkerLaunch;
  readonly batchSize: number;
  readonly maxBatchDelayMs: number;
  readonly responseTimeoutMs: number;
  readonly startupTimeoutMs: number;
  readonly maxRetryTimeoutSec: number;
  readonly maxResponseBytes: number;
  /** Load-based scaling between min and max (autoscaler.ts); none when absent. */
  readonly autoscale?: AutoscaleSettings;
}

export interface PoolDeps {
  readonly queue: JobQueue;
  readonly clock: Clock;
  readonly nextWorkerId: () => number;
  readonly log: (workerId: number, line: string, stream: 'stdout' | 'stderr') => void;
  readonly events?: PoolEvents;
}

/** Observers of a pool (metrics listen here); every method is optional and must not throw. */
export interface PoolEvents {
  workerLoaded?(modelName: string, modelVersion: string, workerId: number, loadMs: number): void;
  /** A worker is started again after its process failed (crash, timeout, failed load). */
  workerRestarting?(modelName: string, modelVersion: string, workerId: number): void;
  /** A batch left the queue for a worker. */
  batchTaken?(modelName: string, modelVersion: string, batch: readonly Job[]): void;
  /** The batch's frame is written to the worker; what follows is the worker's time. */
  batchSent?(modelName: string, modelVersion: string, batch: readonly Job[]): void;
}

export interface WorkerInfo {
  readonly id: string;
  readonly startTime: Date;
  readonly status: 'READY' | 'UNLOADING';
  readonly pid: number;
  readonly memoryUsage: number;
}

/** One place in the pool; it outlives the processes it restarts. */
class WorkerSlot {
  process: WorkerProcess | null = null;
  readonly created = new Date();
  readonly stop = new AbortController();
  stopNow = false;
  loaded = false;
  failingSinceMs: number | null = null;
  backOffIndex = 0;
  /** Settles with the first load attempt: resolved on success, rejected on failure. */
  readonly firstLoad: Promise<void>;
  settleFirstLoad!: (error: ServeError | null) => void;
  done: Promise<void> = Promise.resolve();

  constructor(readonly id: number) {
    this.firstLoad = new Promise((resolve, reject) => {
      this.settleFirstLoad = (error) => (error === null ? resolve() : reject(error));
    });
    this.firstLoad.catch(() => undefined);
  }
}

export class WorkerPool {
  private readonly slots: WorkerSlot[] = [];
  private closed = false;
  /** The targets of the last scale(); the autoscaler moves the size inside them. */
  private bounds = { min: 0, max: 0 };
  private readonly autoscaler: Autoscaler | null;

  constructor(
    private readonly spec: PoolSpec,
    private readonly deps: PoolDeps,
  ) {
    this.autoscaler =
      spec.autoscale === undefined ? null : new Autoscaler(spec.autoscale, deps.clock, () => this.load(), (step) => this.autoscale(step));
  }

  get size(): number {
    return this.slots.length;
  }

  /**
   * Brings the number of workers into [min, max]: starts min - current new workers, or stops
   * the newest down to max. Resolves when the started workers loaded, rejects when one failed.
   */
  async scale(min: number, max: number): Promise<void> {
    this.bounds = { min, max };
    if (!this.closed) this.autoscaler?.update(min, max);
    const started: WorkerSlot[] = [];
    while (!this.closed && this.slots.length < min) {
      const slot = new WorkerSlot(this.deps.nextWorkerId());
      this.slots.push(slot);
      slot.done = this.runSlot(slot);
      started.push(slot);
    }
    const stopping: Promise<void>[] = [];
    while (this.slots.length > max) {
      const slot = this.slots.pop() as WorkerSlot;
      stopping.push(this.stopSlot(slot));
    }
    await Promise.all(stopping);
    try {
      await Promise.all(started.map((s) => s.firstLoad));
    } catch (err) {
      const status = isServeError(err) ? err.status : 500;
      throw workersFailedToStart(this.spec.modelName, this.spec.version, status);
    }
  }

  /** Number of workers that are loaded, or failing but still inside their retry window. */
  healthyCount(): number {
    const now = this.deps.clock.now();
    return this.slots.filter(
      (s) => s.failingSinceMs === null || now - s.failingSinceMs < this.spec.maxRetryTimeoutSec * 1000,
    ).length;
  }

  /** Workers running a batch now. */
  busyCount(): number {
    return this.slots.filter((s) => s.process?.state.kind === 'busy').length;
  }

  readyCount(): number {
    return this.slots.filter((s) => s.process?.state.kind === 'ready' || s.process?.state.kind === 'busy').length;
  }

  async describeWorkers(): Promise<WorkerInfo[]> {
    return Promise.all(
      this.slots.map(async (slot) => {
        const p = slot.process;
        const live = p !== null && (p.state.kind === 'ready' || p.state.kind === 'busy');
        return {
          id: String(slot.id),
          startTime: slot.created,
          status: live ? 'READY' : 'UNLOADING',
          pid: p?.pid ?? -1,
          memoryUsage: p === null ? 0 : await p.rssBytes(),
        } satisfies WorkerInfo;
      }),
    );
  }

  /** Processes currently alive, for tests and metrics. */
  pids(): number[] {
    return this.slots.flatMap((s) => (s.process && s.process.state.kind !== 'dead' ? [s.process.pid] : []));
  }

  /** Stops every worker at once; a batch still running fails with "Worker died.". Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.autoscaler?.close();
    await Promise.all(this.slots.splice(0).map((s) => this.stopSlot(s, 'now')));
  }

  private load(): PoolLoad {
    let idle = 0;
    let starting = 0;
    for (const s of this.slots) {
      const kind = s.process?.state.kind;
      if (kind === 'ready') idle++;
      else if (kind !== 'busy') starting++;
    }
    return { size: this.slots.length, min: this.bounds.min, max: this.bounds.max, queued: this.deps.queue.pending, idle, starting };
  }

  /** One worker more, or one idle worker fewer, never outside the bounds of the last scale(). */
  private autoscale(step: 'up' | 'down'): void {
    if (this.closed) return;
    if (step === 'up' && this.slots.length < this.bounds.max) {
      const slot = new WorkerSlot(this.deps.nextWorkerId());
      this.slots.push(slot);
      slot.done = this.runSlot(slot);
      this.deps.log(slot.id, `Autoscaling ${this.spec.modelName} ${this.spec.version} up to ${this.slots.length} workers: requests are waiting`, 'stdout');
    } else if (step === 'down' && this.slots.length > this.bounds.min) {
      let index = this.slots.length - 1;
      while (index >= 0 && this.slots[index]?.process?.state.kind !== 'ready') index--;
      if (index < 0) return;
      const [slot] = this.slots.splice(index, 1) as [WorkerSlot];
      this.deps.log(slot.id, `Autoscaling ${this.spec.modelName} ${this.spec.version} down to ${this.slots.length} workers: idle`, 'stdout');
      void this.stopSlot(slot);
    }
  }

  /** `after-batch` lets a busy worker finish its batch (scaling down); `now` stops it at once. */
  private async stopSlot(slot: WorkerSlot, when: 'after-batch' | 'now' = 'after-batch'): Promise<void> {
    slot.stopNow = when === 'now';
    slot.stop.abort();
    slot.settleFirstLoad(workersFailedToStart(this.spec.modelName, this.spec.version));
    await slot.done;
  }

  private async runSlot(slot: WorkerSlot): Promise<void> {
    const { spec, deps } = this;
    while (!slot.stop.signal.aborted) {
      const startedMs = deps.clock.now();
      const proc = new WorkerProcess(slot.id, spec.launch, {
        maxResponseBytes: spec.maxResponseBytes,
        clock: deps.clock,
        onOutput: (line, stream) => deps.log(slot.id, line, stream),
      });
      slot.process = proc;
      const died = new AbortController();
      void proc.exited.then(() => died.abort());
      // A busy worker being scaled away finishes its batch; the loop below then stops it.
      const onStop = (): void => {
        if (slot.stopNow || proc.state.kind !== 'busy') void proc.stop();
      };
      slot.stop.signal.addEventListener('abort', onStop, { once: true });
      try {
        await proc.load(spec.load, spec.startupTimeoutMs);
        slot.loaded = true;
        slot.failingSinceMs = null;
        slot.backOffIndex = 0;
        slot.settleFirstLoad(null);
        deps.events?.workerLoaded?.(spec.modelName, spec.version, slot.id, deps.clock.now() - startedMs);
        const signal = AbortSignal.any([slot.stop.signal, died.signal]);
        // The process may die while a batch runs or while one forms; jobs not yet sent to it, or
        // sent but not started, go back to the front of the queue for the restarted worker.
        while (proc.state.kind === 'ready') {
          const batch = await deps.queue.takeBatch(spec.batchSize, spec.maxBatchDelayMs, signal);
          if (batch === null) break;
          if (proc.state.kind !== 'ready') {
            deps.queue.requeue(batch);
            break;
          }
          await this.runWhileBusy(proc, batch, signal);
        }
      } catch (err) {
        const error = isServeError(err) ? err : workersFailedToStart(spec.modelName, spec.version);
        deps.log(slot.id, `Worker failed to load the model: ${error.message}`, 'stderr');
        slot.settleFirstLoad(error);
      }
      slot.stop.signal.removeEventListener('abort', onStop);
      if (slot.stop.signal.aborted) {
        await proc.stop();
        break;
      }
      proc.kill();
      await proc.exited;
      if (!(await this.backOff(slot))) break;
      deps.events?.workerRestarting?.(spec.modelName, spec.version, slot.id);
    }
  }

  /**
   * Runs `first` and, while the worker is busy, keeps more batches waiting in its socket (up to
   * pipelineDepth) when full ones are already queued and no idle worker is forming one: the worker
   * then goes from one batch to the next without waiting for the front end. Returns when nothing
   * is in flight.
   */
  private async runWhileBusy(proc: WorkerProcess, first: readonly Job[], signal: AbortSignal): Promise<void> {
    const { spec, deps } = this;
    const inFlight: Promise<void>[] = [];
    const send = (batch: readonly Job[]): void => {
      deps.events?.batchTaken?.(spec.modelName, spec.version, batch);
      const done = proc.run(batch, spec.responseTimeoutMs).then((unstarted) => deps.queue.requeue(unstarted));
      deps.events?.batchSent?.(spec.modelName, spec.version, batch);
      inFlight.push(done);
    };
    send(first);
    while (inFlight.length > 0) {
      if (inFlight.length < pipelineDepth(proc.batchMs) && !signal.aborted && proc.state.kind === 'busy') {
        const next = deps.queue.takeReadyBatch(spec.batchSize);
        if (next !== null) {
          send(next);
          continue;
        }
      }
      await inFlight.shift();
    }
  }

  /** Waits before a restart; false when the slot was stopped or its retry window has passed. */
  private backOff(slot: WorkerSlot): Promise<boolean> {
    const now = this.deps.clock.now();
    slot.failingSinceMs ??= now;
    if (now - slot.failingSinceMs >= this.spec.maxRetryTimeoutSec * 1000) {
      this.deps.log(slot.id, 'Worker keeps failing; retry window exhausted, giving up', 'stderr');
      return Promise.resolve(false);
    }
    slot.backOffIndex = Math.min(slot.backOffIndex + 1, BACK_OFF_SEC.length - 1);
    const delayMs = (BACK_OFF_SEC[slot.backOffIndex] as number) * 1000;
    return new Promise((resolve) => {
      if (slot.stop.signal.aborted) return resolve(false);
      const onAbort = (): void => {
        timer.cancel();
        resolve(false);
      };
      const timer = this.deps.clock.after(delayMs, () => {
        slot.stop.signal.removeEventListener('abort', onAbort);
        resolve(true);
      });
      slot.stop.signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
