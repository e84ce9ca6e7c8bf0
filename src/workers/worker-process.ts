// One worker: an OS process that owns a model and answers frames on the socket it inherited
// as fd 3. It runs one batch at a time, in the order they were sent; more than one may be sent
// (pipelining), the later ones waiting in the socket while the first runs. Every job handed to it
// is answered exactly once, by its reply or by an error when the process fails, times out or is
// stopped; a batch still waiting when the process dies is handed back, never started.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { createInterface } from 'node:readline';
import { workerDied, workerFailure, internal, responseTooLarge, type ServeError } from '../errors.js';
import { decodeInferReply, decodeLoadReply, encodeInference, encodeLoad, ProtocolError } from '../protocol/codec.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { expectsMore, type LoadMessage } from '../protocol/messages.js';
import type { Timer } from '../clock.js';
import type { Job } from '../batching/job.js';
import type { Worker, WorkerExit, WorkerOptions } from './worker.js';

export interface WorkerLaunch {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Where the conversation with the process is. The worker's lifecycle (restarts, back-off, why it
 * changed) is the pool's WorkerState; this only tells which frames may be sent or expected.
 */
type ProcessPhase = 'loading' | 'serving' | 'closing' | 'exited';

/** The load message waiting for its reply. */
interface PendingLoad {
  resolve: () => void;
  reject: (e: ServeError) => void;
}

/** A batch sent to the process: the first of them is the one it runs. */
interface InFlight {
  readonly batch: readonly Job[];
  /** The jobs still waiting for their last reply, by request id. */
  readonly jobs: Map<string, Job>;
  /** Settles run(): with the jobs the process never started, to be queued again. */
  readonly resolve: (unstarted: readonly Job[]) => void;
}

const KILL_GRACE_MS = 5000;
/** Weight of the newest batch in the smoothed batch time. */
const BATCH_MS_WEIGHT = 0.2;

export class WorkerProcess implements Worker {
  private readonly child: ChildProcess;
  private readonly socket: Duplex;
  private readonly decoder: FrameDecoder;
  private phase: ProcessPhase = 'loading';
  private exit: WorkerExit | null = null;
  /** Why Lantern killed the process, when it did. */
  private destroyReason: string | null = null;
  private loading: PendingLoad | null = null;
  private readonly inFlight: InFlight[] = [];
  private responseTimeoutMs = 0;
  /** One timer at a time, re-armed lazily: a batch only moves the deadline (no timer per batch). */
  private timer: Timer | null = null;
  private timerDueMs = 0;
  private deadline: { readonly atMs: number; readonly ms: number; readonly what: string } | null = null;
  private killedByUs = false;
  private corked = false;
  /** Smoothed time per batch while the process had one to run (ms); null until a batch is done. */
  private batchMsValue: number | null = null;
  /** performance.now() when the batch at the head of inFlight could start. */
  private headSinceMs = 0;
  readonly exited: Promise<WorkerExit>;
  readonly startTime = new Date();

  constructor(
    readonly id: number,
    launch: WorkerLaunch,
    private readonly options: WorkerOptions,
  ) {
    this.decoder = new FrameDecoder(options.maxResponseBytes + 64 * 1024);
    this.child = spawn(launch.command, [...launch.args], {
      cwd: launch.cwd,
      env: launch.env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    this.socket = this.child.stdio[3] as Duplex;
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', () => undefined); // the exit handler reports the failure
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = this.child[stream];
      if (source !== null) {
        createInterface({ input: source, crlfDelay: Infinity }).on('line', (line) => options.onOutput(line, stream));
      }
    }
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        resolve(this.die(null, `could not start: ${err.message}`));
      });
      this.child.once('exit', (code, signal) => {
        const exitCode = code ?? (signal === 'SIGKILL' && !this.killedByUs ? 137 : null);
        resolve(this.die(exitCode, signal !== null ? `killed by ${signal}` : `exited with code ${String(code)}`));
      });
    });
  }

  /**
   * How long a batch takes, from the moment the process can start it to its last reply, smoothed
   * over recent batches; null before the first. A heuristic for pipelining, read off the real
   * clock (sub-millisecond), not the injected one.
   */
  get batchMs(): number | null {
    return this.batchMsValue;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Resident memory of the process in bytes, 0 when it cannot be read. */
  async rssBytes(): Promise<number> {
    if (this.child.pid === undefined || this.phase === 'exited') return 0;
    try {
      const status = await readFile(`/proc/${this.child.pid}/status`, 'utf8');
      const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      return m ? Number(m[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  }

  /** Sends the load message; resolves once the model is loaded. */
  load(message: LoadMessage, startupTimeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.phase !== 'loading' || this.loading !== null) {
        reject(internal(`Worker ${this.id} cannot load while ${this.phase}`));
        return;
      }
      this.loading = { resolve, reject };
      this.arm(startupTimeoutMs, 'did not load the model in time');
      this.socket.write(encodeLoad(message));
    });
  }

  /**
   * Sends one batch. Resolves when every job in it has been answered or failed, with the jobs the
   * process never started (it died, or was not ready, before reaching them): the caller queues
   * them again. A batch sent while another runs waits in the socket behind it.
   */
  run(batch: readonly Job[], responseTimeoutMs: number): Promise<readonly Job[]> {
    if (this.phase !== 'serving') return Promise.resolve(batch);
    return new Promise((resolve) => {
      this.inFlight.push({ batch, jobs: new Map(batch.map((j) => [j.id, j])), resolve });
      this.responseTimeoutMs = responseTimeoutMs;
      // The response timeout counts from the moment the process can start the batch.
      if (this.inFlight.length === 1) {
        this.arm(responseTimeoutMs, 'did not respond in given time');
        this.headSinceMs = performance.now();
      }
      // Frames sent in the same tick leave in one vectored write: a write may wake the process.
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        process.nextTick(() => {
          this.corked = false;
          this.socket.uncork();
        });
      }
      // A request the process streams and keeps state for goes again without its inputs.
      const requests = batch.map((j) => (j.cachedInBackend ? { ...j.request, parameters: [] } : j.request));
      for (const piece of encodeInference(requests)) this.socket.write(piece);
    });
  }

  /** Stops the process: closes its socket (it exits on end of file), then signals it. */
  async close(abortWith?: ServeError): Promise<void> {
    if (abortWith !== undefined) for (const held of this.inFlight) for (const job of held.jobs.values()) job.fail(abortWith);
    if (this.phase === 'loading' || this.phase === 'serving') {
      this.phase = 'closing';
      this.killedByUs = true;
      this.socket.end();
      this.child.kill('SIGTERM');
      const force = this.options.clock.after(KILL_GRACE_MS, () => this.child.kill('SIGKILL'));
      void this.exited.then(() => force.cancel());
    }
    await this.exited;
  }

  /** Kills the process at once; pending work fails with "Worker died.". */
  destroy(reason: string): void {
    if (this.phase === 'exited') return;
    this.destroyReason ??= reason;
    this.killedByUs = true;
    this.child.kill('SIGKILL');
  }

  private arm(ms: number, what: string): void {
    const atMs = this.options.clock.now() + ms;
    this.deadline = { atMs, ms, what };
    if (this.timer !== null && this.timerDueMs > atMs) {
      this.timer.cancel();
      this.timer = null;
    }
    if (this.timer === null) this.schedule(ms);
  }

  /** The response is in: nothing to time until the next arm(). The timer, if any, lapses by itself. */
  private disarm(): void {
    this.deadline = null;
  }

  private schedule(ms: number): void {
    this.timerDueMs = this.options.clock.now() + ms;
    this.timer = this.options.clock.after(ms, () => {
      this.timer = null;
      const deadline = this.deadline;
      if (deadline === null) return;
      const left = deadline.atMs - this.options.clock.now();
      if (left > 0) {
        this.schedule(left);
        return;
      }
      this.options.onOutput(`Backend worker ${deadline.what} (${deadline.ms} ms); killing it`, 'stderr');
      this.destroy(`${deadline.what} (${deadline.ms} ms)`);
    });
  }

  private onData(chunk: Buffer): void {
    try {
      for (const payload of this.decoder.push(chunk)) this.onFrame(payload);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.options.onOutput(`Invalid frame from worker: ${message}`, 'stderr');
      this.failOversized(message);
      this.destroy(`sent an invalid frame: ${message}`);
    }
  }

  /** A reply over max_response_size fails its batch with an error that says so, not "Worker died.". */
  private failOversized(message: string): void {
    const size = /Message size exceed limit: (\d+)/.exec(message)?.[1];
    const running = this.inFlight[0];
    if (size === undefined || running === undefined) return;
    const error = responseTooLarge(Number(size));
    for (const job of running.jobs.values()) job.fail(error);
    running.jobs.clear();
  }

  private onFrame(payload: Buffer): void {
    const loading = this.loading;
    if (loading !== null) {
      const reply = decodeLoadReply(payload, this.options.maxResponseBytes);
      this.disarm();
      this.loading = null;
      if (reply.code === 200) {
        if (this.phase === 'loading') this.phase = 'serving';
        loading.resolve();
      } else {
        loading.reject(workerFailure(reply.code, reply.message));
      }
      return;
    }
    const running = this.inFlight[0];
    if (running === undefined) throw new ProtocolError('Unexpected message from worker');
    const reply = decodeInferReply(payload, this.options.maxResponseBytes);
    if (reply.code !== 200) {
      const error = workerFailure(reply.code, reply.message);
      for (const job of running.jobs.values()) job.fail(error);
      running.jobs.clear();
    } else {
      for (const entry of reply.responses) {
        const job = running.jobs.get(entry.requestId);
        if (job === undefined) throw new ProtocolError(`Reply for unknown request ${entry.requestId}`);
        const last = !expectsMore(entry);
        job.reply(entry, last);
        if (last) running.jobs.delete(entry.requestId);
      }
    }
    // The batch's metric lines come with its reply; they are read as if printed on stdout.
    if (reply.metricLines !== undefined) for (const line of reply.metricLines) this.options.onOutput(line, 'stdout');
    const carried: Job[] = [];
    if (this.options.continuous === true) {
      for (const job of running.jobs.values()) {
        job.cachedInBackend = true;
        carried.push(job);
      }
      running.jobs.clear();
    }
    if (running.jobs.size > 0) {
      // A streamed reply: the rest of the batch gets a new deadline.
      this.arm(this.responseTimeoutMs, 'did not respond in given time');
      return;
    }
    this.inFlight.shift();
    const now = performance.now();
    const took = now - this.headSinceMs;
    this.batchMsValue = this.batchMsValue === null ? took : this.batchMsValue + BATCH_MS_WEIGHT * (took - this.batchMsValue);
    this.headSinceMs = now;
    if (this.inFlight.length > 0) {
      this.arm(this.responseTimeoutMs, 'did not respond in given time');
    } else {
      this.disarm();
    }
    running.resolve(carried);
  }

  private die(exitCode: number | null, how: string): WorkerExit {
    if (this.exit !== null) return this.exit;
    const reason = this.destroyReason === null ? how : `${this.destroyReason}; ${how}`;
    this.exit = { code: exitCode, reason };
    this.phase = 'exited';
    this.deadline = null;
    this.timer?.cancel();
    this.timer = null;
    const loading = this.loading;
    this.loading = null;
    loading?.reject(internal(`Worker ${this.id} ${reason} before loading the model`));
    const [running, ...waiting] = this.inFlight.splice(0);
    if (running !== undefined) {
      const error = workerDied(this.killedByUs ? null : exitCode);
      for (const job of running.jobs.values()) job.fail(error);
      running.resolve([]);
    }
    for (const batch of waiting) batch.resolve(batch.batch);
    return this.exit;
  }
}
