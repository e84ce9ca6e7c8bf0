// The chaos soak's load: prediction clients, one client of hostile requests, and one chaos loop
// that makes management changes and kills workers with kill -9, all against one server. A gate
// pauses every loop between two requests (to measure the server at rest, or to kill it with
// requests in flight); `tally` counts what came back.
import http from 'node:http';
import { readlink } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from './harness.js';
import { applyChange, callFor, describeAll, workersSettled, type Change, type RegistryState } from './chaos-state.js';
import { batchOf, HangError, HOSTILE_KINDS, judge, parseRawAnswer, PREDICTION_KINDS, prepare, rawExchange, rawHead, send, type Prepared } from './chaos-traffic.js';

/** Time between two chaos steps: it sets the fault rate, it does not order events. */
const CHAOS_STEP_MS = 1_000;

export interface Tally {
  sent: number;
  answered: number;
  refused: Map<string, number>;
  /** Requests that were in flight when the server was killed and ended in a connection error. */
  connectionErrorsAtKill: number;
  /** Requests cut off by their own client on purpose (nothing can answer them). */
  abortedByClient: number;
  largestBatch: number;
  managementSent: number;
  managementAcknowledged: number;
  workerKills: number;
  problems: string[];
}

export class ChaosLoad {
  readonly tally: Tally = {
    sent: 0,
    answered: 0,
    refused: new Map(),
    connectionErrorsAtKill: 0,
    abortedByClient: 0,
    largestBatch: 0,
    managementSent: 0,
    managementAcknowledged: 0,
    workerKills: 0,
    problems: [],
  };
  readonly seenPids = new Set<number>();
  /** The state the acknowledged management changes left. */
  expected: RegistryState;
  /** A change whose answer was lost to the server's kill: it may or may not have happened. */
  pending: Change | null = null;
  inFlight = 0;
  private agent = new http.Agent({ keepAlive: true });
  private gate: Promise<void> = Promise.resolve();
  private openGate: () => void = () => {};
  private serverDown = false;
  private stopped = false;
  private readonly loops: Array<Promise<void>> = [];

  constructor(
    private readonly inference: string,
    private readonly management: string,
    /** The test's folder: only processes working inside it are ever killed. */
    private readonly root: string,
    initial: RegistryState,
  ) {
    this.expected = initial;
  }

  /** Starts `clients` prediction clients, the hostile client and the chaos loop. */
  start(clients: number): void {
    for (let c = 0; c < clients; c++) this.loops.push(this.loop(`c${c}`, (i) => PREDICTION_KINDS[(i + c) % PREDICTION_KINDS.length] ?? 'echo'));
    this.loops.push(this.loop('h', (i) => HOSTILE_KINDS[i % HOSTILE_KINDS.length] ?? 'nested'));
    this.loops.push(this.chaosLoop());
  }

  /** Holds every loop before its next request and resolves once nothing is in flight. */
  async pause(): Promise<void> {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
    await waitFor('the requests in flight to end', () => this.inFlight === 0, 120_000);
  }

  /** Holds every loop; requests already in flight may now end in a connection error. */
  holdForKill(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
    this.serverDown = true;
  }

  resume(): void {
    this.serverDown = false;
    this.freshConnections();
    this.openGate();
  }

  /** Closes the keep-alive connections so that the server holds none of them. */
  freshConnections(): void {
    this.agent.destroy();
    this.agent = new http.Agent({ keepAlive: true });
  }

  /** Lets every loop finish the request it is in, then ends them; idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.openGate();
    await Promise.all(this.loops);
    this.freshConnections();
  }

  get http(): http.Agent {
    return this.agent;
  }

  /** Sends one request of every kind, one at a time. */
  async everyKindOnce(): Promise<void> {
    for (const kind of [...PREDICTION_KINDS, ...HOSTILE_KINDS]) await this.exchange(prepare(kind, `warm-${kind}`));
  }

  /** Runs each chaos step once, without pause. */
  async everyStepOnce(): Promise<void> {
    for (let step = 0; step < CHAOS_STEPS; step++) await this.chaosStep(step);
  }

  /** Changes the registry back to `baseline` and waits until every worker is ready. */
  async restore(baseline: RegistryState): Promise<void> {
    const echo = this.expected.echo;
    if (echo?.versions['2.0'] !== undefined) {
      if (echo.defaultVersion === '2.0') await this.change({ op: 'set-default', model: 'echo', version: '1.0' });
      await this.change({ op: 'unregister', model: 'echo', version: '2.0' });
    }
    for (const [model, { versions }] of Object.entries(baseline)) {
      for (const [version, target] of Object.entries(versions)) {
        const now = this.expected[model]?.versions[version];
        if (now?.minWorkers !== target.minWorkers || now.maxWorkers !== target.maxWorkers) await this.change({ op: 'scale', model, version, min: target.minWorkers, max: target.maxWorkers });
      }
    }
    await waitFor('every worker to be ready', () => workersSettled(this.agent, this.management, this.expected, (pids) => this.see(pids)), 120_000, 250);
  }

  /** Makes a management change; true when it was acknowledged. */
  async change(change: Change): Promise<boolean> {
    const call = callFor(change);
    this.tally.managementSent++;
    this.inFlight++;
    try {
      const answer = await send(this.agent, call.method, `${this.management}${call.path}`);
      if (answer.status !== call.acknowledged) {
        this.tally.problems.push(`${change.op} ${change.model}/${change.version}: ${answer.status} ${answer.body.toString('utf8')}`);
        return false;
      }
      this.tally.managementAcknowledged++;
      this.expected = applyChange(this.expected, change);
      return true;
    } catch (err) {
      if (this.serverDown && !(err instanceof HangError)) {
        this.tally.connectionErrorsAtKill++;
        this.pending = change;
      } else {
        this.tally.problems.push(`${change.op} ${change.model}/${change.version} got no answer: ${String(err)}`);
      }
      return false;
    } finally {
      this.inFlight--;
    }
  }

  private see(pids: readonly number[]): void {
    for (const p of pids) this.seenPids.add(p);
  }

  private async loop(name: string, kindOf: (i: number) => (typeof PREDICTION_KINDS)[number] | (typeof HOSTILE_KINDS)[number]): Promise<void> {
    for (let i = 0; ; i++) {
      await this.gate;
      if (this.stopped) return;
      await this.exchange(prepare(kindOf(i), `${name}-r${i}`));
    }
  }

  /** Sends one request and tallies how it ended. */
  private async exchange(prepared: Prepared): Promise<void> {
    this.tally.sent++;
    this.inFlight++;
    try {
      const url = `${this.inference}${prepared.path}`;
      let answer;
      if (prepared.kind === 'aborted') {
        await rawExchange(url, rawHead(prepared, prepared.body.length * 2), prepared.body, 'abort');
        this.tally.abortedByClient++;
        return;
      } else if (prepared.kind === 'truncated' || prepared.kind === 'oversized') {
        const declared = prepared.kind === 'truncated' ? prepared.body.length * 2 : prepared.body.length;
        const raw = await rawExchange(url, rawHead(prepared, declared), prepared.body, prepared.kind === 'truncated' ? 'half-close' : 'full');
        answer = parseRawAnswer(raw);
        if (answer === null && prepared.kind === 'truncated' && raw.length === 0) {
          // The client ended its side mid-body: there is no complete request to answer.
          this.count('truncated: closed without an answer');
          return;
        }
        if (answer === null) throw new Error(`not an HTTP answer: ${raw.toString('latin1').slice(0, 200)}`);
      } else {
        answer = await send(this.agent, 'POST', url, prepared.body, { 'content-type': prepared.contentType });
      }
      const verdict = judge(prepared, answer);
      if (verdict.outcome === 'answered') {
        this.tally.answered++;
        this.tally.largestBatch = Math.max(this.tally.largestBatch, batchOf(answer));
      } else if (verdict.outcome === 'refused') this.count(verdict.reason);
      else this.tally.problems.push(verdict.problem);
    } catch (err) {
      if (this.serverDown && !(err instanceof HangError)) this.tally.connectionErrorsAtKill++;
      else this.tally.problems.push(`${prepared.kind} ${prepared.token} got no answer: ${String(err)}`);
    } finally {
      this.inFlight--;
    }
  }

  private count(reason: string): void {
    this.tally.refused.set(reason, (this.tally.refused.get(reason) ?? 0) + 1);
  }

  private async chaosLoop(): Promise<void> {
    for (let step = 0; ; step++) {
      await this.gate;
      if (this.stopped) return;
      await this.chaosStep(step);
      await new Promise((r) => setTimeout(r, CHAOS_STEP_MS));
    }
  }

  private async chaosStep(step: number): Promise<void> {
    const echo = this.expected.echo;
    const hasV2 = echo?.versions['2.0'] !== undefined;
    switch (step % CHAOS_STEPS) {
      case 0:
        return this.killWorker('echo', echo?.defaultVersion ?? '1.0', step);
      case 1: {
        const n = 1 + (step % 3);
        await this.change({ op: 'scale', model: 'echo', version: '1.0', min: n, max: n + 1 });
        return;
      }
      case 2:
        if (!hasV2) await this.change({ op: 'register', model: 'echo', version: '2.0', archive: 'echo_v2.mar', workers: 1, query: '' });
        return;
      case 3:
        if (hasV2) await this.change({ op: 'set-default', model: 'echo', version: '2.0' });
        return this.killWorker('nodeecho', '1.0', step);
      case 4:
        return this.killWorker('batched', '1.0', step);
      case 5:
        if (echo?.defaultVersion !== '1.0') await this.change({ op: 'set-default', model: 'echo', version: '1.0' });
        return;
      case 6:
        if (hasV2 && echo?.defaultVersion !== '2.0') await this.change({ op: 'unregister', model: 'echo', version: '2.0' });
        return;
      default: {
        const n = 1 + (step % 2);
        await this.change({ op: 'scale', model: 'batched', version: '1.0', min: n, max: n });
      }
    }
  }

  /** kill -9 of one worker of a version, taken from describe (and checked to be this test's). */
  private async killWorker(model: string, version: string, step: number): Promise<void> {
    this.tally.managementSent++;
    this.inFlight++;
    let pids: number[];
    try {
      const described = await describeAll(this.agent, this.management, model);
      this.tally.managementAcknowledged++;
      pids = described.find((d) => d.modelVersion === version)?.workers.map((w) => w.pid).filter((p) => p > 0) ?? [];
    } catch (err) {
      if (this.serverDown) this.tally.connectionErrorsAtKill++;
      else this.tally.problems.push(`describe ${model} got no answer: ${String(err)}`);
      return;
    } finally {
      this.inFlight--;
    }
    this.see(pids);
    const victim = pids[step % Math.max(1, pids.length)];
    if (victim === undefined) return;
    const cwd = await readlink(`/proc/${victim}/cwd`).catch(() => '');
    if (!cwd.startsWith(this.root + path.sep)) return;
    try {
      process.kill(victim, 'SIGKILL');
      this.tally.workerKills++;
    } catch {
      // it died meanwhile
    }
  }
}

const CHAOS_STEPS = 8;
