// The lifecycle of one worker slot as a tagged union and the one function that moves it. A slot
// outlives the processes it runs: a crashed process is replaced after a back-off, with the same
// worker id, until the retry window closes. Every change names its reason, as Triton's model
// lifecycle keeps a state and a reason, so describe, logs and tests can say why a worker is where
// it is.

/** TorchServe's retry delays in seconds; the first failure waits BACK_OFF_SEC[1]. */
export const BACK_OFF_SEC: readonly number[] = [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597];

export type WorkerState =
  /** A process is loading the model. `failingSinceMs` is set when this is a restart after failures. */
  | { readonly kind: 'starting'; readonly attempt: number; readonly failingSinceMs: number | null }
  /** Loaded and idle: it may take a batch. */
  | { readonly kind: 'ready' }
  /** Running a batch; more may wait in its socket behind it (pipelining). */
  | { readonly kind: 'busy' }
  /** The process failed; a new one starts after `delayMs` unless the slot is stopped first. */
  | { readonly kind: 'backing-off'; readonly attempt: number; readonly failingSinceMs: number; readonly delayMs: number }
  /** Over its memory limit after a batch: its process is being closed and a fresh one starts at once. */
  | { readonly kind: 'recycling' }
  /** Being stopped: `finishBatch` lets a busy worker finish its batch first (scaling down). */
  | { readonly kind: 'stopping'; readonly finishBatch: boolean }
  /** Stopped on request. Terminal. */
  | { readonly kind: 'stopped' }
  /** Gave up: the process kept failing for longer than the retry window. Terminal. */
  | { readonly kind: 'failed' };

export type WorkerEvent =
  | { readonly type: 'loaded' }
  | { readonly type: 'batch-sent' }
  | { readonly type: 'batch-done' }
  /** The process exited, whatever the cause (crash, kill after a timeout or a failed load, stop). */
  | { readonly type: 'exited'; readonly atMs: number }
  /** The back-off delay has passed. */
  | { readonly type: 'retry' }
  /** A ready worker is to be replaced by a fresh process (max_worker_rss_mb), not as a failure. */
  | { readonly type: 'recycle' }
  | { readonly type: 'stop'; readonly finishBatch: boolean };

export interface RestartPolicy {
  /** How long a slot may keep failing before it gives up (TorchServe's max_retry_timeout_in_sec). */
  readonly retryWindowMs: number;
}

export interface StateChange {
  readonly from: WorkerState['kind'];
  readonly to: WorkerState['kind'];
  readonly reason: string;
  readonly atMs: number;
}

export class InvalidTransition extends Error {
  constructor(state: WorkerState, event: WorkerEvent) {
    super(`Worker cannot take '${event.type}' while ${state.kind}`);
    this.name = 'InvalidTransition';
  }
}

export const INITIAL_STATE: WorkerState = Object.freeze({ kind: 'starting', attempt: 1, failingSinceMs: null });

/** A worker that can take work or is doing some. */
export function isLive(state: WorkerState): boolean {
  return state.kind === 'ready' || state.kind === 'busy';
}

/** A state no event leaves. */
export function isTerminal(state: WorkerState): state is Extract<WorkerState, { kind: 'stopped' | 'failed' }> {
  return state.kind === 'stopped' || state.kind === 'failed';
}

/**
 * The next state. Throws InvalidTransition for an event that cannot happen in a state (a bug in
 * the caller). Events that lose a race with a stop (a load that completes while stopping) leave
 * `stopping` as it is; events after a terminal state change nothing.
 */
export function transition(state: WorkerState, event: WorkerEvent, policy: RestartPolicy): WorkerState {
  if (isTerminal(state)) return state;
  if (event.type === 'stop') {
    // A slot waiting to restart has no process to stop.
    return state.kind === 'backing-off' ? { kind: 'stopped' } : { kind: 'stopping', finishBatch: event.finishBatch };
  }
  switch (state.kind) {
    case 'starting':
      if (event.type === 'loaded') return { kind: 'ready' };
      if (event.type === 'exited') return afterFailure(state.attempt, state.failingSinceMs ?? event.atMs, event.atMs, policy);
      throw new InvalidTransition(state, event);
    case 'ready':
      if (event.type === 'batch-sent') return { kind: 'busy' };
      if (event.type === 'recycle') return { kind: 'recycling' };
      if (event.type === 'exited') return afterFailure(1, event.atMs, event.atMs, policy);
      throw new InvalidTransition(state, event);
    case 'busy':
      if (event.type === 'batch-sent') return state;
      if (event.type === 'batch-done') return { kind: 'ready' };
      if (event.type === 'exited') return afterFailure(1, event.atMs, event.atMs, policy);
      throw new InvalidTransition(state, event);
    case 'recycling':
      if (event.type === 'exited') return { kind: 'starting', attempt: 1, failingSinceMs: null };
      throw new InvalidTransition(state, event);
    case 'backing-off':
      if (event.type === 'retry') return { kind: 'starting', attempt: state.attempt + 1, failingSinceMs: state.failingSinceMs };
      throw new InvalidTransition(state, event);
    case 'stopping':
      if (event.type === 'exited') return { kind: 'stopped' };
      if (event.type === 'retry') throw new InvalidTransition(state, event);
      return state;
    default:
      return unreachable(state);
  }
}

/** After the `attempt`-th failure in a row: wait and retry, or give up once the window has passed. */
function afterFailure(attempt: number, failingSinceMs: number, nowMs: number, policy: RestartPolicy): WorkerState {
  if (nowMs - failingSinceMs >= policy.retryWindowMs) return { kind: 'failed' };
  const delaySec = BACK_OFF_SEC[Math.min(attempt, BACK_OFF_SEC.length - 1)] as number;
  return { kind: 'backing-off', attempt, failingSinceMs, delayMs: delaySec * 1000 };
}

/** True when the slot has been failing for less than the retry window, or is not failing. */
export function withinRetryWindow(state: WorkerState, nowMs: number, policy: RestartPolicy): boolean {
  switch (state.kind) {
    case 'failed':
      return false;
    case 'starting':
    case 'backing-off':
      return state.failingSinceMs === null || nowMs - state.failingSinceMs < policy.retryWindowMs;
    case 'ready':
    case 'busy':
    case 'recycling':
    case 'stopping':
    case 'stopped':
      return true;
    default:
      return unreachable(state);
  }
}

function unreachable(state: never): never {
  throw new Error(`Unknown worker state ${JSON.stringify(state)}`);
}
