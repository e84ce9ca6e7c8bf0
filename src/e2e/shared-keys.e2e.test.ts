// Keys shared by replicas (issue 24 item 2): from a mounted file or the environment, the same on every
// replica; the rotation API answers 405; a changed file is read again within seconds and the replaced
// key keeps working for token_rotation_grace_sec.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expectError, lanternPerTest, request, startLantern, waitFor, type Lantern } from './harness.js';
import { listenerUrl, startLanternProcess, writePortConfig } from './lantern-process.js';
import { waitForLine } from './observed-state.js';

const AUTHORIZATION_FAILED = 'Token Authorization failed. Token either incorrect, expired, or not provided correctly';
const MANAGED = 'The keys are managed externally (token_key_file or TS_INFERENCE_KEY/TS_MANAGEMENT_KEY); change them where they are kept.';
const KEYS = { inference: 'inference-key-0123456789abcdef', management: 'management-key-0123456789abcdef' };
const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

/** Replaces the file the way a Secret update does: a new file renamed over the old one. */
async function writeKeys(file: string, keys: object | string): Promise<void> {
  await writeFile(`${file}.new`, typeof keys === 'string' ? keys : JSON.stringify(keys));
  await rename(`${file}.new`, file);
}

describe('keys shared by replicas', () => {
  const lanterns = lanternPerTest({ afterEach });
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });
  const keyFile = async (keys: object): Promise<string> => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lantern-keys-e2e-'));
    dirs.push(dir);
    const file = path.join(dir, 'keys.json');
    await writeKeys(file, keys);
    return file;
  };
  const withFile = (file: string, grace = 10): string[] => ['disable_token_authorization=false', `token_key_file=${file}`, `token_rotation_grace_sec=${grace}`];

  it('lets two servers accept the same keys from one file, writes no key file and refuses rotation with 405', async () => {
    const file = await keyFile(KEYS);
    // The second replica is this test's to close; lanternPerTest closes the first.
    const second = await startLantern({ properties: withFile(file) });
    const replicas = [await lanterns.start({ properties: withFile(file) }), second];
    try {
      await checkReplicas(replicas);
    } finally {
      await second.close();
    }
  });

  async function checkReplicas(replicas: readonly Lantern[]): Promise<void> {
    for (const lantern of replicas) {
      assert.equal(lantern.server.keys, 'shared');
      assert.equal(existsSync(path.join(path.dirname(lantern.store), 'key_file.json')), false);
      assert.equal((await request('GET', `${lantern.inference}/ping`, { headers: bearer(KEYS.inference) })).status, 200);
      assert.equal((await request('GET', `${lantern.management}/models`, { headers: bearer(KEYS.management) })).status, 200);
      expectError(await request('GET', `${lantern.management}/models`, { headers: bearer(KEYS.inference) }), 400, 'InvalidKeyException', AUTHORIZATION_FAILED);
      expectError(await request('GET', `${lantern.inference}/ping`), 400, 'InvalidKeyException', AUTHORIZATION_FAILED);
      for (const type of ['management', 'inference']) {
        expectError(await request('GET', `${lantern.management}/token?type=${type}`, { headers: bearer(KEYS.management) }), 405, 'MethodNotAllowedException', MANAGED);
      }
    }
    assert.equal((await request('GET', `${replicas[0]?.management}/models`, { headers: bearer(KEYS.management) })).status, 200, 'the keys did not change');
  }

  it('reads a changed file within seconds and keeps the replaced key for the grace period', async () => {
    const file = await keyFile(KEYS);
    const lantern = await lanterns.start({ properties: withFile(file, 600) });
    const next = { inference: { key: 'next-inference-key-000000000' }, management: KEYS.management };
    await writeKeys(file, next);
    await waitFor('the new inference key to be accepted', async () => (await request('GET', `${lantern.inference}/ping`, { headers: bearer(next.inference.key) })).status === 200, 10_000);
    assert.equal((await request('GET', `${lantern.inference}/ping`, { headers: bearer(KEYS.inference) })).status, 200, 'the replaced key is in its grace period');
    assert.equal((await request('GET', `${lantern.management}/models`, { headers: bearer(KEYS.management) })).status, 200, 'the unchanged key still works');
    await waitForLine(lantern.logs, 'changed; the replaced ones stay valid');
  });

  it('refuses the replaced key at once with no grace period, and keeps the keys while the file is broken', async () => {
    const file = await keyFile(KEYS);
    const lantern = await lanterns.start({ properties: withFile(file, 0) });
    for (const broken of ['{"inference": "short", "management": "short"}', 'not json']) {
      await writeKeys(file, broken);
      await waitForLine(lantern.logs, 'the keys in use stay valid until it is fixed');
      assert.equal((await request('GET', `${lantern.inference}/ping`, { headers: bearer(KEYS.inference) })).status, 200);
      lantern.logs.length = 0;
    }
    const next = { inference: 'next-inference-key-000000000', management: 'next-management-key-00000000' };
    await writeKeys(file, next);
    await waitFor('the new keys to be accepted', async () => (await request('GET', `${lantern.management}/models`, { headers: bearer(next.management) })).status === 200, 10_000);
    expectError(await request('GET', `${lantern.management}/models`, { headers: bearer(KEYS.management) }), 400, 'InvalidKeyException', AUTHORIZATION_FAILED);
    expectError(await request('GET', `${lantern.inference}/ping`, { headers: bearer(KEYS.inference) }), 400, 'InvalidKeyException', AUTHORIZATION_FAILED);
  });

  it('refuses to start with a missing, weak or half-given key', async () => {
    const file = await keyFile({ inference: 'short', management: KEYS.management });
    await assert.rejects(startLantern({ properties: withFile(file) }), /token_key_file.*the inference key must have at least 16 characters/s);
    await assert.rejects(startLantern({ properties: withFile(`${file}.absent`) }), /token_key_file.*cannot read the key file/s);
    await assert.rejects(startLantern({ properties: ['disable_token_authorization=false', `inference_key=${KEYS.inference}`] }), /set both inference_key and management_key/);
    await assert.rejects(
      startLantern({ properties: [...withFile(file), `inference_key=${KEYS.inference}`, `management_key=${KEYS.management}`] }),
      /either token_key_file or inference_key\/management_key/,
    );
  });

  it('takes the keys from TS_INFERENCE_KEY and TS_MANAGEMENT_KEY without enable_envvars_config', async () => {
    const cwd = await mkdtemp(path.join(tmpdir(), 'lantern-env-keys-e2e-'));
    dirs.push(cwd);
    await mkdir(path.join(cwd, 'store'));
    await writePortConfig(cwd);
    const p = startLanternProcess(cwd, ['--model-store', 'store', '--ncs'], { TS_INFERENCE_KEY: KEYS.inference, TS_MANAGEMENT_KEY: KEYS.management });
    try {
      await p.ready();
      assert.ok(p.output.some((l) => l.includes('keys shared by replicas from TS_INFERENCE_KEY and TS_MANAGEMENT_KEY')), p.output.join('\n'));
      assert.equal((await request('GET', `${listenerUrl(p, 'Inference')}/ping`, { headers: bearer(KEYS.inference) })).status, 200);
      assert.equal((await request('GET', `${listenerUrl(p, 'Management')}/models`, { headers: bearer(KEYS.management) })).status, 200);
      expectError(await request('GET', `${listenerUrl(p, 'Management')}/models`), 400, 'InvalidKeyException', AUTHORIZATION_FAILED);
      assert.equal(existsSync(path.join(cwd, 'key_file.json')), false);
      p.signal('SIGTERM');
      assert.equal(await p.exited, 0);
    } finally {
      p.signal('SIGKILL');
      await p.exited;
    }
  });
});
