// A worker without a process, for the pool's unit tests: it keeps Worker's contract (every job
// answered once, unstarted batches handed back when it dies) and the test decides when it loads,
// answers, crashes or exits.
import { workerDied, type ServeError } from '../errors.js';
import type { Job } from '../batching/job.js';
import type { HeaderList } from '../protocol/messages.js';
import type { Worker, WorkerExit, WorkerFactory, WorkerOptions } from './worker.js';

interface SentBatch {
  readonly batch: readonly Job[];
  readonly resolve: (unstarted: readonly Job[]) => void;
}

/** What a new fake does with its load message. */
export type LoadOutcome = 'loads' | 'hangs' | ServeError;

export class FakeWorker implements Worker {
  readonly sent: SentBatch[] = [];
  /** Every batch ever sent, by request ids, in order. */
  readonly history: string[][] = [];
  closeCalls = 0;
  destroyReason: string | null = null;
  readonly exited: Promise<WorkerExit>;
  private exit: WorkerExit | null = null;
  private settleExit!: (exit: WorkerExit) => void;
  private settleLoad: { resolve: () => void; reject: (e: ServeError) => void } | null = null;
  private loaded = false;
  batchMs: number | null = null;

  constructor(
    readonly id: number,
    readonly pid: number,
    private readonly loadOutcome: LoadOutcome,
    readonly options: WorkerOptions,
  ) {
    this.exited = new Promise((resolve) => (this.settleExit = resolve));
  }

  get alive(): boolean {
    return this.exit === null;
  }

  load(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.exit !== null) return reject(workerDied());
      this.settleLoad = { resolve, reject };
      if (this.loadOutcome === 'loads') {
        this.loaded = true;
        this.settleLoad = null;
        resolve();
      } else if (this.loadOutcome !== 'hangs') {
        this.settleLoad = null;
        reject(this.loadOutcome);
      }
    });
  }

  run(batch: readonly Job[]): Promise<readonly Job[]> {
    if (this.exit !== null || !this.loaded) return Promise.resolve(batch);
    this.history.push(batch.map((j) => j.id));
    return new Promise((resolve) => this.sent.push({ batch, resolve }));
  }

  /** Answers the batch it runs (the oldest sent) with one 200 reply per job. */
  answer(): void {
    const head = this.sent.shift();
    if (head === undefined) throw new Error(`Fake worker ${this.id} has no batch to answer`);
    for (const job of head.batch) {
      job.reply({ requestId: job.id, contentType: 'text/plain', status: 200, reason: 'OK', headers: [], body: Buffer.from(`${this.id}:${job.id}`) }, true);
    }
    head.resolve([]);
  }

  /**
   * Answers the batch it runs with one reply per job, each with the body and headers `reply` gives;
   * `more` marks a streamed reply. With options.continuous the batch ends there and streamed jobs
   * are handed back (cachedInBackend), as WorkerProcess does.
   */
  answerEach(reply: (job: Job) => { readonly body: string; readonly headers?: HeaderList; readonly more?: boolean }): void {
    const head = this.sent.shift();
    if (head === undefined) throw new Error(`Fake worker ${this.id} has no batch to answer`);
    const carried: Job[] = [];
    for (const job of head.batch) {
      const { body, headers = [], more = false } = reply(job);
      const all: HeaderList = more ? [...headers, ['ts_stream_next', 'true']] : headers;
      job.reply({ requestId: job.id, contentType: 'text/plain', status: 200, reason: 'OK', headers: all, body: Buffer.from(body) }, !more);
      if (more && this.options.continuous === true) {
        job.cachedInBackend = true;
        carried.push(job);
      }
    }
    head.resolve(carried);
  }

  /** What rssBytes() reports while the fake is alive. */
  rss = 1024;

  rssBytes(): Promise<number> {
    return Promise.resolve(this.exit === null ? this.rss : 0);
  }

  close(abortWith?: ServeError): Promise<void> {
    this.closeCalls++;
    if (abortWith !== undefined) for (const held of this.sent) for (const job of held.batch) job.fail(abortWith);
    this.die(null, 'closed');
    return this.exited.then(() => undefined);
  }

  destroy(reason: string): void {
    this.destroyReason ??= reason;
    this.die(null, `destroyed: ${reason}`);
  }

  /** The process dies on its own (a crash). */
  crash(code = 1): void {
    this.die(code, `exited with code ${code}`);
  }

  private die(code: number | null, reason: string): void {
    if (this.exit !== null) return;
    this.exit = { code, reason };
    this.settleLoad?.reject(workerDied(code));
    this.settleLoad = null;
    const [running, ...waiting] = this.sent.splice(0);
    if (running !== undefined) {
      for (const job of running.batch) job.fail(workerDied(code));
      running.resolve([]);
    }
    for (const w of waiting) w.resolve(w.batch);
    this.settleExit(this.exit);
  }
}

/** A factory that records every fake it makes; each new one loads as `outcome()` says. */
export function fakeWorkers(outcome: () => LoadOutcome = () => 'loads'): { readonly made: FakeWorker[]; readonly factory: WorkerFactory } {
  const made: FakeWorker[] = [];
  let pid = 1000;
  const factory: WorkerFactory = (id, options) => {
    const worker = new FakeWorker(id, pid++, outcome(), options);
    made.push(worker);
    return worker;
  };
  return { made, factory };
}
