// Support for the hostile-input corpus (hostile-*.e2e.test.ts): what "nothing changed" means —
// the files under the server's temporary root (model store, extraction dir, key file) and the
// registry as GET /models shows it — and that the server still serves afterwards.
import assert from 'node:assert/strict';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { request, type Lantern } from './harness.js';

export interface ObservedState {
  /** Every path under the server's temp root with its type and size, sorted. */
  readonly files: readonly string[];
  /** The GET /models body. */
  readonly models: string;
}

async function listTree(root: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(path.join(root, prefix))).sort()) {
    const relative = path.join(prefix, name);
    const info = await lstat(path.join(root, relative));
    if (info.isDirectory()) {
      out.push(`${relative}/`);
      out.push(...(await listTree(root, relative)));
    } else {
      out.push(`${relative} ${info.isSymbolicLink() ? 'link' : info.size}`);
    }
  }
  return out;
}

/** Lines every hostile test server gets: every listener on a free port. */
export const FREE_PORTS: readonly string[] = ['metrics_address=http://127.0.0.1:0'];

/** The temp root that holds `store/`, `work/` (the server's tmp dir) and the key file. */
export const serverRoot = (lantern: Lantern): string => path.dirname(lantern.store);

export async function observe(lantern: Lantern, headers: Record<string, string> = {}): Promise<ObservedState> {
  const list = await request('GET', `${lantern.management}/models`, { headers });
  assert.equal(list.status, 200, list.text);
  return { files: await listTree(serverRoot(lantern)), models: list.text };
}

/** Asserts that disk and registry are as before and that both APIs still answer. */
export async function expectUnchanged(
  lantern: Lantern,
  before: ObservedState,
  keys: { inference?: Record<string, string>; management?: Record<string, string> } = {},
): Promise<void> {
  const after = await observe(lantern, keys.management ?? {});
  assert.deepEqual(after.files, before.files, 'nothing was added or removed on disk');
  assert.equal(after.models, before.models, 'the registry is unchanged');
  const ping = await request('GET', `${lantern.inference}/ping`, { headers: keys.inference ?? {} });
  assert.equal(ping.status, 200, `the server still serves: ${ping.text}`);
}
