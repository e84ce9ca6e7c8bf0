// The workers of one model version: keeps their number between min and max, feeds them
// batches from the version's queue and restarts a crashed worker (same id) with backoff.
import { workersFailedToStart, workerDied, isServeError, modelLoadFailed, type ServeError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { WorkQueue } from '../batching/work-queue.js';
import type { Job } from '../batching/job.js';
import type { LoadMessage } from '../protocol/messages.js';
import type { Worker, WorkerFactory } from './worker.js';
import { Autoscaler, type AutoscaleSettings, type PoolLoad } from './autoscaler.js';
import {
  INITIAL_STATE,
  isLive,
  isTerminal,
  transition,
  withinRetryWindow,
  type RestartPolicy,
  type StateChange,
  type WorkerEvent,
  type WorkerState,
} from './worker-state.js';

/**
 * Pipelining: a busy worker may hold, waiting in its socket behind the batch it runs, about
 * PIPELINE_WORK_MS of quick batches (by its recent batch time), at most PIPELINE_MAX - 1. A worker
 * with quick batches then finds the next ones already in its socket and does not sleep between
 * them. Slow batches are not pipelined: one waiting in a busy worker's socket could have gone to
 * the next worker to free up, and would wait a whole batch time instead (the tail latency of
 * issue #25); they stay in the queue, where any worker that frees up takes them.
 */
const PIPELINE_WORK_MS = 1;
const PIPELINE_MAX = 16;

/**
 * The batches a worker may hold at once, the running one included, given its smoothed batch time
 * (null before the first batch) and the model's fixed depth (model-config.yaml pipelineDepth), if any.
 */
export function pipelineDepth(batchMs: number | null, fixed: number | null = null): number {
  if (fixed !== null) return Math.max(1, Math.min(PIPELINE_MAX, fixed));
  if (batchMs === null || batchMs >= PIPELINE_WORK_MS) return 1;
  return Math.min(PIPELINE_MAX, 1 + Math.ceil(PIPELINE_WORK_MS / Math.max(batchMs, 1e-3)));
}

export interface PoolSpec {
  readonly modelName: string;
  readonly version: string;
  readonly load: LoadMessage;
  readonly batchSize: number;
  readonly maxBatchDelayMs: number;
  readonly responseTimeoutMs: number;
  readonly startupTimeoutMs: number;
  readonly maxRetryTimeoutSec: number;
  readonly maxResponseBytes: number;
  /**
   * A worker whose resident memory is over this after a batch is replaced by a fresh process
   * (max_worker_rss_mb, or maxWorkerRssMb in model-config.yaml); null for no limit.
   */
  readonly maxWorkerRssBytes?: number | null;
  /** pipelineDepth in model-config.yaml: batches a busy worker may hold, fixed; null or absent for the automatic depth. */
  readonly pipelineDepth?: number | null;
  /** Load-based scaling between min and max (autoscaler.ts); none when absent. */
  readonly autoscale?: AutoscaleSettings;
  /** model-config.yaml continuousBatching with sequenceBatching: every reply ends its batch, streamed requests go again. */
  readonly continuous?: boolean;
}

export interface PoolDeps {
  /** The version's queue: a JobQueue, or a SequenceQueue for a stateful model. */
  readonly queue: WorkQueue;
  readonly clock: Clock;
  /** Starts a worker process (WorkerProcess with the model's launch settings, or a test's fake). */
  readonly createWorker: WorkerFactory;
  readonly nextWorkerId: () => number;
  readonly log: (workerId: number, line: string, stream: 'stdout' | 'stderr') => void;
  readonly events?: PoolEvents;
}

/** Observers of a pool (metrics listen here); every method is optional and must not throw. */
export interface PoolEvents {
  workerLoaded?(modelName: string, modelVersion: string, workerId: number, loadMs: number): void;
  /** A worker is started again after its process failed (crash, timeout, failed load) or outgrew its memory limit. */
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

export interface WorkerReport {
  readonly id: number;
  readonly state: WorkerState['kind'];
  /** Null while no process runs (backing off, stopped). */
  readonly pid: number | null;
  readonly rssBytes: number;
  readonly restarts: number;
  /** The newest failure (clock ms), kept after the worker recovers; null when it never failed. */
  readonly lastError: { readonly reason: string; readonly atMs: number } | null;
}

/** What to do about a load failure whose cause is a missing Python module. */
function loadHint(message: string): string {
  const missing = /No module named '([^']+)'/.exec(message)?.[1];
  if (missing === undefined) return '';
  return ` (the handler needs the Python module '${missing}': list its package in the archive's requirements file and set install_py_dep_per_model=true, or install it for the worker's Python, set by python= in config.properties)`;
}

/** How often, at most, a worker's memory is read against its limit. */
const MEMORY_CHECK_INTERVAL_MS = 1000;

/** The last few changes a slot keeps, for describe and the log; ready ⇄ busy flips are not kept. */
const HISTORY_KEPT = 8;

/** One place in the pool; it outlives the processes it restarts. */
class WorkerSlot {
  state: WorkerState = INITIAL_STATE;
  /** The latest changes, oldest first, without the ready ⇄ busy flips of every batch. */
  readonly history: StateChange[] = [];
  process: Worker | null = null;
  readonly created = new Date();
  /** Aborted when the slot is stopped: ends waits for batches and back-offs. */
  readonly stop = new AbortController();
  /** When the memory limit was last checked (clock ms). */
  memoryCheckedMs = Number.NEGATIVE_INFINITY;
  /** Why the newest load failed, until a load succeeds. */
  loadError: ServeError | null = null;
  /** Times this slot's process was started again after the first (crash, timeout, failed load, recycling). */
  restarts = 0;
  /** Why the slot's process last failed, kept after it recovers (the console shows it). */
  lastError: { readonly reason: string; readonly atMs: number } | null = null;
  /** Settles with the first load attempt: resolved on success, rejected on failure. */
  readonly firstLoad: Promise<void>;
  settleFirstLoad!: (error: ServeError | null) => void;
  done: Promise<void> = Promise.resolve();

  /** The state's kind, read afresh: the state changes across every await (no narrowing). */
  kind(): WorkerState['kind'] {
    return this.state.kind;
  }

  constructor(readonly id: number) {
    this.firstLoad = new Promise((resolve, reject) => {
      this.settleFirstLoad = (error) => (error === null ? resolve() : reject(error));
    });
    this.firstLoad.catch(() => undefined);
  }
}

export class WorkerPool {
  private readonly slots: WorkerSlot[] = [];
  /** Slots taken out by close() or destroy(), still stopping. */
  private readonly retired: WorkerSlot[] = [];
  private closing: Promise<void> | null = null;
  private closed = false;
  /** The targets of the last scale(); the autoscaler moves the size inside them. */
  private bounds = { min: 0, max: 0 };
  private readonly autoscaler: Autoscaler | null;
  private readonly policy: RestartPolicy;

  constructor(
    private readonly spec: PoolSpec,
    private readonly deps: PoolDeps,
  ) {
    this.policy = { retryWindowMs: spec.maxRetryTimeoutSec * 1000 };
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
    while (!this.closed && this.slots.length < min) started.push(this.addSlot());
    const stopping: Promise<void>[] = [];
    while (this.slots.length > max) {
      const slot = this.slots.pop() as WorkerSlot;
      stopping.push(this.stopSlot(slot, 'scaled down'));
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
    return this.slots.filter((s) => withinRetryWindow(s.state, now, this.policy)).length;
  }

  /** Workers running a batch now. */
  busyCount(): number {
    return this.slots.filter((s) => s.state.kind === 'busy').length;
  }

  readyCount(): number {
    return this.slots.filter((s) => isLive(s.state)).length;
  }

  /**
   * Why this version cannot serve: no worker is loaded and the newest load attempt failed. Null
   * while any worker is live, or while workers are starting for the first time.
   */
  loadFailure(): ServeError | null {
    if (this.slots.some((s) => isLive(s.state))) return null;
    const failed = this.slots.find((s) => s.loadError !== null)?.loadError;
    return failed === undefined || failed === null ? null : modelLoadFailed(this.spec.modelName, this.spec.version, failed.message);
  }

  /** Each worker's state and the newest reason it changed (describe, tests). */
  states(): Array<{ readonly id: number; readonly state: WorkerState; readonly history: readonly StateChange[] }> {
    return this.slots.map((s) => ({ id: s.id, state: s.state, history: [...s.history] }));
  }

  async describeWorkers(): Promise<WorkerInfo[]> {
    return Promise.all(
      this.slots.map(async (slot) => {
        const p = slot.process;
        return {
          id: String(slot.id),
          startTime: slot.created,
          status: isLive(slot.state) ? 'READY' : 'UNLOADING',
          pid: p?.pid ?? -1,
          memoryUsage: p === null ? 0 : await p.rssBytes(),
        } satisfies WorkerInfo;
      }),
    );
  }

  /** Each worker as the console shows it: state, process, memory, restarts and the last failure. */
  async report(): Promise<WorkerReport[]> {
    return Promise.all(
      this.slots.map(async (slot) => {
        const p = slot.process;
        const running = p !== null && slot.state.kind !== 'backing-off' && !isTerminal(slot.state);
        return {
          id: slot.id,
          state: slot.state.kind,
          pid: running ? p.pid : null,
          rssBytes: running ? await p.rssBytes() : 0,
          restarts: slot.restarts,
          lastError: slot.lastError,
        } satisfies WorkerReport;
      }),
    );
  }

  /** Processes currently alive, for tests and metrics. */
  pids(): number[] {
    return this.slots.flatMap((s) => {
      const running = s.state.kind !== 'backing-off' && !isTerminal(s.state);
      return running && s.process !== null ? [s.process.pid] : [];
    });
  }

  /**
   * Stops every worker once its batch is done: what a worker runs or holds is answered, nothing new
   * is taken. Idempotent; destroy() cuts it short.
   */
  close(): Promise<void> {
    this.closing ??= this.retire('pool closed', 'after-batch');
    return this.closing;
  }

  /** Stops every worker now; what they run or hold is answered with `error`. Idempotent. */
  async destroy(error: ServeError): Promise<void> {
    // After a close(), the slots it is stopping are cut short.
    if (this.closing === null) this.closing = this.retire('pool destroyed', 'now', error);
    else await Promise.all(this.retired.map((s) => this.stopSlot(s, 'pool destroyed', 'now', error)));
    await this.closing;
  }

  private async retire(reason: string, when: 'after-batch' | 'now', error?: ServeError): Promise<void> {
    this.closed = true;
    this.autoscaler?.close();
    this.retired.push(...this.slots.splice(0));
    await Promise.all(this.retired.map((s) => this.stopSlot(s, reason, when, error)));
  }

  private load(): PoolLoad {
    let idle = 0;
    let starting = 0;
    for (const s of this.slots) {
      if (s.state.kind === 'ready') idle++;
      else if (s.state.kind !== 'busy') starting++;
    }
    return { size: this.slots.length, min: this.bounds.min, max: this.bounds.max, queued: this.deps.queue.pending, idle, starting };
  }

  /** One worker more, or one idle worker fewer, never outside the bounds of the last scale(). */
  private autoscale(step: 'up' | 'down'): void {
    if (this.closed) return;
    if (step === 'up' && this.slots.length < this.bounds.max) {
      const slot = this.addSlot();
      this.deps.log(slot.id, `Autoscaling ${this.spec.modelName} ${this.spec.version} up to ${this.slots.length} workers: requests are waiting`, 'stdout');
    } else if (step === 'down' && this.slots.length > this.bounds.min) {
      let index = this.slots.length - 1;
      while (index >= 0 && this.slots[index]?.state.kind !== 'ready') index--;
      if (index < 0) return;
      const [slot] = this.slots.splice(index, 1) as [WorkerSlot];
      this.deps.log(slot.id, `Autoscaling ${this.spec.modelName} ${this.spec.version} down to ${this.slots.length} workers: idle`, 'stdout');
      void this.stopSlot(slot, 'autoscaled down');
    }
  }

  private addSlot(): WorkerSlot {
    const slot = new WorkerSlot(this.deps.nextWorkerId());
    this.slots.push(slot);
    slot.done = this.runSlot(slot);
    return slot;
  }

  /** The one place a slot's state changes. */
  private apply(slot: WorkerSlot, event: WorkerEvent, reason: string): void {
    const from = slot.state;
    const to = transition(from, event, this.policy);
    if (to === from) return;
    slot.state = to;
    if (to.kind === 'backing-off' || to.kind === 'failed') slot.lastError = { reason, atMs: this.deps.clock.now() };
    if ((from.kind === 'ready' || from.kind === 'busy') && (to.kind === 'ready' || to.kind === 'busy')) return;
    slot.history.push({ from: from.kind, to: to.kind, reason, atMs: this.deps.clock.now() });
    if (slot.history.length > HISTORY_KEPT) slot.history.shift();
    if (to.kind === 'backing-off') {
      this.deps.log(slot.id, `Worker ${reason}; restarting in ${to.delayMs / 1000} s (attempt ${to.attempt + 1})`, 'stderr');
    } else if (to.kind === 'failed') {
      this.deps.log(slot.id, `Worker keeps failing (${reason}); retry window of ${this.spec.maxRetryTimeoutSec} s exhausted, giving up`, 'stderr');
    }
  }

  /**
   * `after-batch` lets a busy worker finish its batch (scaling down, closing); `now` stops it at
   * once, answering what it holds with `error` ("Worker died." without one).
   */
  private async stopSlot(slot: WorkerSlot, reason: string, when: 'after-batch' | 'now' = 'after-batch', error?: ServeError): Promise<void> {
    const wasBusy = slot.state.kind === 'busy';
    this.apply(slot, { type: 'stop', finishBatch: when === 'after-batch' }, reason);
    slot.stop.abort();
    slot.settleFirstLoad(workersFailedToStart(this.spec.modelName, this.spec.version));
    // A busy worker being scaled away finishes its batch; the slot's loop then closes it.
    if (slot.process !== null && (when === 'now' || !wasBusy)) void slot.process.close(error);
    await slot.done;
  }

  private async runSlot(slot: WorkerSlot): Promise<void> {
    const { spec, deps } = this;
    while (slot.kind() === 'starting') {
      const startedMs = deps.clock.now();
      const proc = deps.createWorker(slot.id, {
        maxResponseBytes: spec.maxResponseBytes,
        continuous: spec.continuous === true,
        clock: deps.clock,
        onOutput: (line, stream) => deps.log(slot.id, line, stream),
      });
      slot.process = proc;
      const died = new AbortController();
      const exited = proc.exited.then((exit) => {
        died.abort();
        this.apply(slot, { type: 'exited', atMs: deps.clock.now() }, exit.reason);
        // Its sequences (a stateful model's) end with an error, not silence.
        deps.queue.workerGone?.(slot.id, workerDied());
      });
      try {
        await proc.load(spec.load, spec.startupTimeoutMs);
        this.apply(slot, { type: 'loaded' }, 'model loaded');
        slot.loadError = null;
        slot.settleFirstLoad(null);
        deps.events?.workerLoaded?.(spec.modelName, spec.version, slot.id, deps.clock.now() - startedMs);
        await this.serve(slot, proc, AbortSignal.any([slot.stop.signal, died.signal]));
      } catch (err) {
        const error = isServeError(err) ? err : workersFailedToStart(spec.modelName, spec.version);
        slot.settleFirstLoad(error);
        if (slot.kind() !== 'stopping' && slot.kind() !== 'stopped') {
          deps.log(slot.id, `Worker failed to load the model: ${error.message}${loadHint(error.message)}`, 'stderr');
          slot.loadError = error;
          this.failQueuedIfNoneLive();
        }
      }
      const recycling = slot.kind() === 'recycling';
      if (slot.kind() === 'stopping' || recycling) await proc.close();
      else proc.destroy(slot.kind() === 'starting' ? 'model load failed' : 'worker loop ended');
      await exited;
      if (recycling && slot.kind() === 'starting') {
        slot.restarts++;
        deps.events?.workerRestarting?.(spec.modelName, spec.version, slot.id);
        continue;
      }
      const state = slot.state;
      if (state.kind !== 'backing-off') break;
      if (!(await this.backOff(slot, state.delayMs))) break;
      this.apply(slot, { type: 'retry' }, 'back-off elapsed');
      slot.restarts++;
      deps.events?.workerRestarting?.(spec.modelName, spec.version, slot.id);
    }
  }

  /** Takes batches while the worker is ready; returns when it is not (died, stopping). */
  private async serve(slot: WorkerSlot, proc: Worker, signal: AbortSignal): Promise<void> {
    const { spec, deps } = this;
    while (slot.kind() === 'ready') {
      const batch = await deps.queue.takeBatch(spec.batchSize, spec.maxBatchDelayMs, signal, slot.id);
      if (batch === null) break;
      // The process may die, or the slot be stopped, while a batch forms: its jobs go back to the
      // front of the queue.
      if (slot.kind() !== 'ready') {
        this.requeue(batch);
        break;
      }
      await this.runWhileBusy(slot, proc, batch, signal);
      if (slot.kind() === 'busy') this.apply(slot, { type: 'batch-done' }, 'batch done');
      if (slot.kind() === 'ready' && (await this.overMemoryLimit(slot, proc))) return;
    }
  }

  /**
   * Between batches, at most once a second: a worker over its memory limit is recycled (a leaking
   * handler is not left to grow while /ping stays healthy).
   */
  private async overMemoryLimit(slot: WorkerSlot, proc: Worker): Promise<boolean> {
    const limit = this.spec.maxWorkerRssBytes ?? null;
    const now = this.deps.clock.now();
    if (limit === null || now - slot.memoryCheckedMs < MEMORY_CHECK_INTERVAL_MS) return false;
    slot.memoryCheckedMs = now;
    const rss = await proc.rssBytes();
    if (rss <= limit || slot.kind() !== 'ready') return false;
    const mb = (bytes: number): string => (bytes / 1048576).toFixed(1);
    const reason = `resident memory ${mb(rss)} MB over max_worker_rss_mb=${limit / 1048576}`;
    this.deps.log(slot.id, `Worker ${reason}; starting a fresh process`, 'stderr');
    this.apply(slot, { type: 'recycle' }, reason);
    return true;
  }

  /**
   * Runs `first` and, while the worker is busy, keeps more batches waiting in its socket (up to
   * pipelineDepth) when full ones are already queued and no idle worker is forming one: the worker
   * then goes from one batch to the next without waiting for the front end. Returns when nothing
   * is in flight.
   */
  private async runWhileBusy(slot: WorkerSlot, proc: Worker, first: readonly Job[], signal: AbortSignal): Promise<void> {
    const { spec, deps } = this;
    const inFlight: Promise<void>[] = [];
    const send = (batch: readonly Job[]): void => {
      this.apply(slot, { type: 'batch-sent' }, 'batch sent');
      deps.events?.batchTaken?.(spec.modelName, spec.version, batch);
      const done = proc.run(batch, spec.responseTimeoutMs).then((unstarted) => {
        this.requeue(unstarted);
        deps.queue.batchDone?.(slot.id, batch);
      });
      deps.events?.batchSent?.(spec.modelName, spec.version, batch);
      inFlight.push(done);
    };
    send(first);
    while (inFlight.length > 0) {
      if (inFlight.length < pipelineDepth(proc.batchMs, spec.pipelineDepth ?? null) && !signal.aborted && slot.kind() === 'busy') {
        const next = deps.queue.takeReadyBatch(spec.batchSize, slot.id);
        if (next !== null) {
          send(next);
          continue;
        }
      }
      await inFlight.shift();
    }
  }

  /** Jobs a worker never started go back to the front of the queue; those over its capacity fail. */
  private requeue(jobs: readonly Job[]): void {
    if (jobs.length === 0) return;
    const refused = this.deps.queue.requeue(jobs);
    for (const job of refused) job.fail(workerDied());
  }

  /** A failed load with no live worker left: queued predictions get its error now, not a timeout. */
  private failQueuedIfNoneLive(): void {
    const failure = this.loadFailure();
    if (failure !== null) this.deps.queue.failAll(failure);
  }

  /** Waits `delayMs` before a restart; false when the slot was stopped first. */
  private backOff(slot: WorkerSlot, delayMs: number): Promise<boolean> {
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
