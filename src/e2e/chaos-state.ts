// The registry state the chaos soak expects: models, their versions with worker targets, and each
// model's default version, as the acknowledged management calls left it. Acknowledged changes are
// durable (the snapshot is on disk before the 2xx), so after a kill -9 and a restart the server
// must show exactly this state; a call whose answer was lost to the kill may or may not have
// happened, so it is kept aside as pending and either outcome is accepted.
import type http from 'node:http';
import { send } from './chaos-traffic.js';

export interface WorkerTarget {
  readonly minWorkers: number;
  readonly maxWorkers: number;
}

export interface ModelState {
  readonly defaultVersion: string;
  readonly versions: Readonly<Record<string, WorkerTarget>>;
}

export type RegistryState = Readonly<Record<string, ModelState>>;

export type Change =
  | { readonly op: 'register'; readonly model: string; readonly version: string; readonly archive: string; readonly workers: number; readonly query: string }
  | { readonly op: 'unregister'; readonly model: string; readonly version: string }
  | { readonly op: 'scale'; readonly model: string; readonly version: string; readonly min: number; readonly max: number }
  | { readonly op: 'set-default'; readonly model: string; readonly version: string };

/** The state after `change` (pure). */
export function applyChange(state: RegistryState, change: Change): RegistryState {
  const model = state[change.model];
  switch (change.op) {
    case 'register': {
      const target = { minWorkers: change.workers, maxWorkers: change.workers };
      const next: ModelState = model === undefined ? { defaultVersion: change.version, versions: { [change.version]: target } } : { ...model, versions: { ...model.versions, [change.version]: target } };
      return { ...state, [change.model]: next };
    }
    case 'unregister': {
      if (model === undefined) return state;
      const versions = Object.fromEntries(Object.entries(model.versions).filter(([v]) => v !== change.version));
      if (Object.keys(versions).length === 0) return Object.fromEntries(Object.entries(state).filter(([m]) => m !== change.model));
      return { ...state, [change.model]: { ...model, versions } };
    }
    case 'scale':
      if (model === undefined) return state;
      return { ...state, [change.model]: { ...model, versions: { ...model.versions, [change.version]: { minWorkers: change.min, maxWorkers: change.max } } } };
    case 'set-default':
      if (model === undefined) return state;
      return { ...state, [change.model]: { ...model, defaultVersion: change.version } };
  }
}

/** The management call that makes `change`, and the status that acknowledges it. */
export function callFor(change: Change): { method: string; path: string; acknowledged: number } {
  switch (change.op) {
    case 'register':
      return { method: 'POST', path: `/models?url=${change.archive}&initial_workers=${change.workers}&synchronous=true${change.query}`, acknowledged: 200 };
    case 'unregister':
      return { method: 'DELETE', path: `/models/${change.model}/${change.version}`, acknowledged: 200 };
    case 'scale':
      // Asynchronous: the 202 comes once the new targets are recorded, before workers start.
      return { method: 'PUT', path: `/models/${change.model}/${change.version}?min_worker=${change.min}&max_worker=${change.max}&synchronous=false`, acknowledged: 202 };
    case 'set-default':
      return { method: 'PUT', path: `/models/${change.model}/${change.version}/set-default`, acknowledged: 200 };
  }
}

interface Described {
  modelVersion: string;
  minWorkers: number;
  maxWorkers: number;
  workers: Array<{ pid: number; status: string }>;
}

async function getJson<T>(agent: http.Agent, url: string): Promise<T> {
  const answer = await send(agent, 'GET', url);
  if (answer.status !== 200) throw new Error(`GET ${url}: ${answer.status} ${answer.body.toString('utf8')}`);
  return JSON.parse(answer.body.toString('utf8')) as T;
}

/** Every version of `model` as describe shows it. */
export function describeAll(agent: http.Agent, management: string, model: string): Promise<Described[]> {
  return getJson<Described[]>(agent, `${management}/models/${model}/all`);
}

/** The registry as the server shows it: GET /models, describe of every version, describe of the default. */
export async function observedState(agent: http.Agent, management: string): Promise<RegistryState> {
  const listed = await getJson<{ models: Array<{ modelName: string }> }>(agent, `${management}/models`);
  const state: Record<string, ModelState> = {};
  for (const { modelName } of listed.models) {
    const versions = Object.fromEntries((await describeAll(agent, management, modelName)).map((d) => [d.modelVersion, { minWorkers: d.minWorkers, maxWorkers: d.maxWorkers }]));
    const [byDefault] = await getJson<Described[]>(agent, `${management}/models/${modelName}`);
    state[modelName] = { defaultVersion: byDefault?.modelVersion ?? '?', versions };
  }
  return state;
}

/**
 * Whether every version runs exactly its minimum of workers, all READY (workers killed a moment
 * ago are restarted after a back-off); the pids seen are handed to `seen`.
 */
export async function workersSettled(agent: http.Agent, management: string, state: RegistryState, seen: (pids: number[]) => void): Promise<boolean> {
  for (const [model, { versions }] of Object.entries(state)) {
    for (const d of await describeAll(agent, management, model)) {
      seen(d.workers.map((w) => w.pid).filter((p) => p > 0));
      const want = versions[d.modelVersion]?.minWorkers;
      if (d.workers.length !== want || d.workers.some((w) => w.status !== 'READY')) return false;
    }
  }
  return true;
}
