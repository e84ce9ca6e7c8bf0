// One worker: an OS process that owns a model and answers frames on the socket it inherited
// as fd 3. It serves one message at a time; every job handed to it is answered exactly once,
// by its reply or by an error when the process fails, times out or is stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { createInterface } from 'node:readline';
import { workerDied, workerFailure, internal, responseTooLarge, type ServeError } from '../errors.js';
import { decodeInferReply, decodeLoadReply, encodeInference, encodeLoad, ProtocolError } from '../protocol/codec.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { expectsMore, type LoadMessage } from '../protocol/messages.js';
import type { Clock, Timer } from '../batching/clock.js';
import type { Job } from '../batching/job.js';

export interface WorkerLaunch {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
}

export interface WorkerOptions {
  readonly maxResponseBytes: number;
  readonly clock: Clock;
  /** Receives every line the worker prints on stdout or stderr. */
  readonly onOutput: (line: string, stream: 'stdout' | 'stderr') => void;
}

export type WorkerState =
  | { readonly kind: 'starting' }
  | { readonly kind: 'ready' }
  | { readonly kind: 'busy'; readonly batch: readonly Job[] }
  | { readonly kind: 'stopping' }
  | { readonly kind: 'dead'; readonly exitCode: number | null; readonly reason: string };

/** What the worker is waiting for from its process. */
type Pending =
  | { readonly kind: 'load'; resolve: () => void; reject: (e: ServeError) => void }
  | { readonly kind: 'batch'; readonly jobs: Map<string, Job>; resolve: () => void };

const KILL_GRACE_MS = 5000;

export class WorkerProcess {
  private readonly child: ChildProcess;
  private readonly socket: Duplex;
  private readonly decoder: FrameDecoder;
  private stateValue: WorkerState = { kind: 'starting' };
  private pending: Pending | null = null;
  /** One timer at a time, re-armed lazily: a batch only moves the deadline (no timer per batch). */
  private timer: Timer | null = null;
  private timerDueMs = 0;
  private deadline: { readonly atMs: number; readonly ms: number; readonly what: string } | null = null;
  private killedByUs = false;
  readonly exited: Promise<void>;
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
        this.die(null, `could not start: ${err.message}`);
        resolve();
      });
      this.child.once('exit', (code, signal) => {
        const exitCode = code ?? (signal === 'SIGKILL' && !this.killedByUs ? 137 : null);
        this.die(exitCode, signal !== null ? `killed by ${signal}` : `exited with code ${String(code)}`);
        resolve();
      });
    });
  }

  get state(): WorkerState {
    return this.stateValue;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Resident memory of the process in bytes, 0 when it cannot be read. */
  async rssBytes(): Promise<number> {
    if (this.child.pid === undefined || this.stateValue.kind === 'dead') return 0;
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
      if (this.stateValue.kind !== 'starting') {
        reject(internal(`Worker ${this.id} cannot load in state ${this.stateValue.kind}`));
        return;
      }
      this.pending = { kind: 'load', resolve, reject };
      this.arm(startupTimeoutMs, 'did not load the model in time');
      this.socket.write(encodeLoad(message));
    });
  }

  /** Runs one batch; resolves when every job in it has been answered (or failed). */
  run(batch: readonly Job[], responseTimeoutMs: number): Promise<void> {
    if (this.stateValue.kind !== 'ready') {
      const error = workerDied();
      for (const job of batch) job.fail(error);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.stateValue = { kind: 'busy', batch };
      this.pending = { kind: 'batch', jobs: new Map(batch.map((j) => [j.id, j])), resolve };
      this.responseTimeoutMs = responseTimeoutMs;
      this.arm(responseTimeoutMs, 'did not respond in given time');
      this.socket.write(encodeInference(batch.map((j) => j.request)));
    });
  }

  private responseTimeoutMs = 0;

  /** Stops the process: closes its socket (it exits on end of file), then signals it. */
  stop(): Promise<void> {
    if (this.stateValue.kind !== 'dead') {
      this.stateValue = { kind: 'stopping' };
      this.killedByUs = true;
      this.socket.end();
      this.child.kill('SIGTERM');
      const force = this.options.clock.after(KILL_GRACE_MS, () => this.child.kill('SIGKILL'));
      void this.exited.then(() => force.cancel());
    }
    return this.exited;
  }

  /** Kills the process at once; pending work fails with "Worker died.". */
  kill(): void {
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
      this.kill();
    });
  }

  private onData(chunk: Buffer): void {
    try {
      for (const payload of this.decoder.push(chunk)) this.onFrame(payload);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.options.onOutput(`Invalid frame from worker: ${message}`, 'stderr');
      this.failOversized(message);
      this.kill();
    }
  }

  /** A reply over max_response_size fails its batch with an error that says so, not "Worker died.". */
  private failOversized(message: string): void {
    const size = /Message size exceed limit: (\d+)/.exec(message)?.[1];
    const pending = this.pending;
    if (size === undefined || pending?.kind !== 'batch') return;
    const error = responseTooLarge(Number(size));
    for (const job of pending.jobs.values()) job.fail(error);
    pending.jobs.clear();
  }

  private onFrame(payload: Buffer): void {
    const pending = this.pending;
    if (pending === null) throw new ProtocolError('Unexpected message from worker');
    if (pending.kind === 'load') {
      const reply = decodeLoadReply(payload, this.options.maxResponseBytes);
      this.disarm();
      this.pending = null;
      if (reply.code === 200) {
        this.stateValue = { kind: 'ready' };
        pending.resolve();
      } else {
        pending.reject(workerFailure(reply.code, reply.message));
      }
      return;
    }
    const reply = decodeInferReply(payload, this.options.maxResponseBytes);
    if (reply.code !== 200) {
      const error = workerFailure(reply.code, reply.message);
      for (const job of pending.jobs.values()) job.fail(error);
      pending.jobs.clear();
    } else {
      for (const entry of reply.responses) {
        const job = pending.jobs.get(entry.requestId);
        if (job === undefined) throw new ProtocolError(`Reply for unknown request ${entry.requestId}`);
        const last = !expectsMore(entry);
        job.reply(entry, last);
        if (last) pending.jobs.delete(entry.requestId);
      }
    }
    if (pending.jobs.size === 0) {
      this.disarm();
      this.pending = null;
      this.stateValue = { kind: 'ready' };
      pending.resolve();
    } else {
      this.arm(this.responseTimeoutMs, 'did not respond in given time');
    }
  }

  private die(exitCode: number | null, reason: string): void {
    if (this.stateValue.kind === 'dead') return;
    this.stateValue = { kind: 'dead', exitCode, reason };
    this.deadline = null;
    this.timer?.cancel();
    this.timer = null;
    const pending = this.pending;
    this.pending = null;
    if (pending?.kind === 'load') {
      pending.reject(internal(`Worker ${this.id} ${reason} before loading the model`));
    } else if (pending?.kind === 'batch') {
      const error = workerDied(this.killedByUs ? null : exitCode);
      for (const job of pending.jobs.values()) job.fail(error);
      pending.resolve();
    }
  }
}
