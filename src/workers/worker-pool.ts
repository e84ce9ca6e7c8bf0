// The workers of one model version: keeps their number between min and max, feeds them
// batches from the version's queue and restarts a crashed worker (same id) with backoff.
import { workersFailedToStart, isServeError, type ServeError } from '../errors.js';
import type { Clock } from '../batching/clock.js';
import type { JobQueue } from '../batching/job-queue.js';
import type { LoadMessage } from '../protocol/messages.js';
import { WorkerProcess, type WorkerLaunch } from './worker-process.js';

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
}

export interface PoolDeps {
  readonly queue: JobQueue;
  readonly clock: Clock;
  readonly nextWorkerId: () => number;
  readonly log: (workerId: number, line: string, stream: 'stdout' | 'stderr') => void;
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

  constructor(
    private readonly spec: PoolSpec,
    private readonly deps: PoolDeps,
  ) {}

  get size(): number {
    return this.slots.length;
  }

  /**
   * Brings the number of workers into [min, max]: starts min - current new workers, or stops
   * the newest down to max. Resolves when the started workers loaded, rejects when one failed.
   */
  async scale(min: number, max: number): Promise<void> {
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

  /** Stops every worker (each finishes its current batch first). Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.splice(0).map((s) => this.stopSlot(s)));
  }

  private async stopSlot(slot: WorkerSlot): Promise<void> {
    slot.stop.abort();
    slot.settleFirstLoad(workersFailedToStart(this.spec.modelName, this.spec.version));
    await slot.done;
  }

  private async runSlot(slot: WorkerSlot): Promise<void> {
    const { spec, deps } = this;
    while (!slot.stop.signal.aborted) {
      const proc = new WorkerProcess(slot.id, spec.launch, {
        maxResponseBytes: spec.maxResponseBytes,
        clock: deps.clock,
        onOutput: (line, stream) => deps.log(slot.id, line, stream),
      });
      slot.process = proc;
      const died = new AbortController();
      void proc.exited.then(() => died.abort());
      const onStop = (): void => void proc.stop();
      slot.stop.signal.addEventListener('abort', onStop, { once: true });
      try {
        await proc.load(spec.load, spec.startupTimeoutMs);
        slot.loaded = true;
        slot.failingSinceMs = null;
        slot.backOffIndex = 0;
        slot.settleFirstLoad(null);
        const signal = AbortSignal.any([slot.stop.signal, died.signal]);
        for (;;) {
          const batch = await deps.queue.takeBatch(spec.batchSize, spec.maxBatchDelayMs, signal);
          if (batch === null) break;
          await proc.run(batch, spec.responseTimeoutMs);
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
