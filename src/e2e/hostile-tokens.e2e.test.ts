// Token authorization against hostile clients (spec §3, issue #3 item 1): every API with no key, a
// wrong key, another API's key, an expired key and the right key; rotation; the key file's mode,
// strength and lifetime; the switches that turn it off. Refused calls change nothing.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expectError, lanternPerTest, REPO_ROOT, request, waitFor, type Lantern, type MarSpec } from './harness.js';
import { expectUnchanged, FREE_PORTS, observe } from './hostile-support.js';

const NOOP: MarSpec = { file: 'noop.mar', handler: 'echo_handler.py', modelName: 'noop' };
const AUTHORIZATION_FAILED = 'Token Authorization failed. Token either incorrect, expired, or not provided correctly';
const AUTHENTICATION_FAILED = 'Token Authentication failed. Token either incorrect, expired, or not provided correctly';
const TOKENS_ON = [...FREE_PORTS, 'disable_token_authorization=false'];

interface Keys {
  management: { key: string; 'expiration time': string };
  inference: { key: string; 'expiration time': string };
  API: { key: string };
}

const readKeys = async (lantern: Lantern): Promise<Keys> => JSON.parse(await readFile(lantern.server.keyFile ?? '', 'utf8')) as Keys;
const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

/** Header sets that must all be refused where `right` is the key that would be accepted. */
function wrongHeaders(keys: Keys, right: string): Array<[string, Record<string, string>]> {
  const others = [keys.inference.key, keys.management.key, keys.API.key].filter((k) => k !== right);
  return [
    ['no header', {}],
    ['a made-up key', bearer('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ...others.map((k, i): [string, Record<string, string>] => [`another API's key #${i}`, bearer(k)]),
    ['the key without Bearer', { authorization: right }],
    ['a lower-case scheme', { authorization: `bearer ${right}` }],
    ['Basic with the key', { authorization: `Basic ${right}` }],
    ['the key plus a character', bearer(`${right}x`)],
    ['a prefix of the key', bearer(right.slice(0, 8))],
    ['the key and more words', { authorization: `Bearer ${right} ${right}` }],
  ];
}

const INFERENCE_CALLS: ReadonlyArray<[string, string]> = [
  ['GET', '/ping'],
  ['POST', '/predictions/noop'],
  ['POST', '/predictions/noop/1.0'],
  ['POST', '/explanations/noop'],
  ['POST', '/v1/models/noop:predict'],
  ['GET', '/v1/models/noop'],
  ['GET', '/v1/models'],
  ['POST', '/v2/models/noop/infer'],
  ['GET', '/no/such/path'],
];

const MANAGEMENT_CALLS: ReadonlyArray<[string, string]> = [
  ['GET', '/models'],
  ['GET', '/models/noop'],
  ['GET', '/models/noop/all'],
  ['PUT', '/models/noop?min_worker=3'],
  ['PUT', '/models/noop/1.0/set-default'],
  ['POST', '/models?url=noop.mar&model_name=intruder'],
  ['DELETE', '/models/noop'],
  ['GET', '/v1/models/noop'],
  ['GET', '/no/such/path'],
];

describe('token authorization against hostile clients', () => {
  const lanterns = lanternPerTest({ afterEach });

  it('writes a private key file with three 192-bit keys before it listens', async () => {
    const lantern = await lanterns.start({ properties: TOKENS_ON });
    const file = lantern.server.keyFile ?? '';
    assert.equal(file, path.join(path.dirname(lantern.store), 'key_file.json'), 'in the working directory');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const keys = await readKeys(lantern);
    assert.deepEqual(Object.keys(keys), ['management', 'inference', 'API']);
    for (const key of [keys.management.key, keys.inference.key, keys.API.key]) assert.match(key, /^[A-Za-z0-9_-]{32}$/);
    assert.equal(new Set([keys.management.key, keys.inference.key, keys.API.key]).size, 3);
    const expiresInMin = (Date.parse(keys.inference['expiration time']) - Date.now()) / 60_000;
    assert.ok(expiresInMin > 59 && expiresInMin <= 60, `inference key expires in ${expiresInMin} min`);
    await lantern.close();
    assert.equal(existsSync(file), false, 'removed on a clean stop');
  });

  it('guards every inference route with the inference key and nothing else', async () => {
    const lantern = await lanterns.start({ archives: [NOOP], properties: [...TOKENS_ON, 'load_models=noop.mar'] });
    const keys = await readKeys(lantern);
    const ok = bearer(keys.inference.key);
    await waitFor('a worker', async () => (await request('GET', `${lantern.inference}/ping`, { headers: ok })).status === 200, 60_000);
    const before = await observe(lantern, bearer(keys.management.key));
    for (const [method, route] of INFERENCE_CALLS) {
      for (const [what, headers] of wrongHeaders(keys, keys.inference.key)) {
        const reply = await request(method, `${lantern.inference}${route}`, { headers, body: method === 'POST' ? 'x' : undefined });
        assert.doesNotThrow(() => expectError(reply, 400, 'InvalidKeyException', AUTHORIZATION_FAILED), `${method} ${route} with ${what}`);
      }
      const reply = await request(method, `${lantern.inference}${route}`, { headers: ok, body: method === 'POST' ? 'x' : undefined });
      assert.notEqual(reply.status, 400, `${method} ${route} with the inference key: ${reply.text}`);
    }
    await expectUnchanged(lantern, before, { inference: ok, management: bearer(keys.management.key) });
  });

  it('guards every management route with the management key, and refused calls change nothing', async () => {
    const lantern = await lanterns.start({ archives: [NOOP], properties: [...TOKENS_ON, 'load_models=noop.mar', 'default_workers_per_model=1'] });
    const keys = await readKeys(lantern);
    const ok = bearer(keys.management.key);
    const ping = bearer(keys.inference.key);
    await waitFor('a worker', async () => (await request('GET', `${lantern.inference}/ping`, { headers: ping })).status === 200, 60_000);
    const before = await observe(lantern, ok);
    const described = (await request('GET', `${lantern.management}/models/noop`, { headers: ok })).text;
    for (const [method, route] of MANAGEMENT_CALLS) {
      for (const [what, headers] of wrongHeaders(keys, keys.management.key)) {
        const reply = await request(method, `${lantern.management}${route}`, { headers });
        assert.doesNotThrow(() => expectError(reply, 400, 'InvalidKeyException', AUTHORIZATION_FAILED), `${method} ${route} with ${what}`);
      }
    }
    const after = await request('GET', `${lantern.management}/models/noop`, { headers: ok });
    const workers = (text: string): unknown => (JSON.parse(text) as Array<{ minWorkers: number; maxWorkers: number }>).map((m) => [m.minWorkers, m.maxWorkers]);
    assert.deepEqual(workers(after.text), workers(described), 'no refused call scaled the model');
    await expectUnchanged(lantern, before, { inference: bearer(keys.inference.key), management: ok });
    for (const [method, route] of MANAGEMENT_CALLS) {
      const reply = await request(method, `${lantern.management}${route}`, { headers: ok });
      assert.notEqual(reply.status, 400, `${method} ${route} with the management key: ${reply.text}`);
    }
  });

  it('logs who was refused, and never a key', async () => {
    const lantern = await lanterns.start({ properties: TOKENS_ON });
    const keys = await readKeys(lantern);
    const wrong = 'WRONGWRONGWRONGWRONGWRONGWRONG12';
    await request('GET', `${lantern.management}/models`, { headers: bearer(wrong) });
    await request('GET', `${lantern.inference}/ping`, { headers: bearer(keys.management.key) });
    await request('GET', `${lantern.management}/token?type=inference`, { headers: bearer(keys.inference.key) });
    const refusals = lantern.logs.filter((line) => line.includes('Token authorization refused'));
    assert.ok(refusals.some((line) => line.includes('127.0.0.1 GET /models (management key)')), refusals.join('\n'));
    assert.ok(refusals.some((line) => line.includes('127.0.0.1 GET /ping (inference key)')), refusals.join('\n'));
    assert.ok(refusals.some((line) => line.includes('127.0.0.1 GET /token (api key)')), refusals.join('\n'));
    for (const secret of [wrong, keys.management.key, keys.inference.key, keys.API.key]) {
      assert.equal(lantern.logs.some((line) => line.includes(secret)), false, 'no key in the logs');
    }
  });

  it('leaves the API descriptions open on both listeners', async () => {
    const lantern = await lanterns.start({ properties: TOKENS_ON });
    for (const base of [lantern.inference, lantern.management]) {
      const reply = await request('OPTIONS', `${base}/`);
      assert.equal(reply.status, 200, reply.text);
      assert.equal(typeof reply.json().openapi, 'string');
    }
  });

  it('refuses expired keys and lets the API key issue fresh ones, rewriting the file before answering', async () => {
    const lantern = await lanterns.start({ properties: [...TOKENS_ON, 'token_expiration_min=0.02'] });
    const old = await readKeys(lantern);
    await sleep(1500);
    expectError(await request('GET', `${lantern.management}/models`, { headers: bearer(old.management.key) }), 400, 'InvalidKeyException', AUTHORIZATION_FAILED);
    expectError(await request('GET', `${lantern.inference}/ping`, { headers: bearer(old.inference.key) }), 400, 'InvalidKeyException', AUTHORIZATION_FAILED);

    const rotated = await request('GET', `${lantern.management}/token?type=management`, { headers: bearer(old.API.key) });
    assert.equal(rotated.status, 200);
    assert.equal(rotated.text, '\n');
    assert.equal(rotated.headers.get('content-type'), 'application/json');
    const fresh = await readKeys(lantern);
    assert.equal((await stat(lantern.server.keyFile ?? '')).mode & 0o777, 0o600);
    assert.notEqual(fresh.management.key, old.management.key);
    assert.deepEqual(fresh.inference, old.inference, 'only the asked-for key changes');
    assert.deepEqual(fresh.API, old.API);
    assert.equal((await request('GET', `${lantern.management}/models`, { headers: bearer(fresh.management.key) })).status, 200);
    expectError(await request('GET', `${lantern.management}/models`, { headers: bearer(old.management.key) }), 400, 'InvalidKeyException', AUTHORIZATION_FAILED);

    assert.equal((await request('GET', `${lantern.management}/token?type=inference`, { headers: bearer(old.API.key) })).status, 200);
    const again = await readKeys(lantern);
    assert.notEqual(again.inference.key, old.inference.key);
    assert.equal((await request('GET', `${lantern.inference}/ping`, { headers: bearer(again.inference.key) })).status, 200);
  });

  it('answers the token API only to the API key and only for type management or inference', async () => {
    const lantern = await lanterns.start({ properties: TOKENS_ON });
    const keys = await readKeys(lantern);
    const before = await readFile(lantern.server.keyFile ?? '', 'utf8');
    for (const [what, headers] of wrongHeaders(keys, keys.API.key)) {
      const reply = await request('GET', `${lantern.management}/token?type=management`, { headers });
      assert.doesNotThrow(() => expectError(reply, 400, 'InvalidKeyException', AUTHENTICATION_FAILED), what);
    }
    for (const query of ['', '?type=', '?type=API', '?type=Management', '?type=management%00']) {
      const reply = await request('GET', `${lantern.management}/token${query}`, { headers: bearer(keys.API.key) });
      assert.doesNotThrow(() => expectError(reply, 400, 'InvalidKeyException', AUTHENTICATION_FAILED), query);
    }
    // The API key opens nothing else, and the token API is not on the inference listener.
    expectError(await request('GET', `${lantern.management}/models`, { headers: bearer(keys.API.key) }), 400, 'InvalidKeyException', AUTHORIZATION_FAILED);
    expectError(await request('GET', `${lantern.inference}/token?type=inference`, { headers: bearer(keys.API.key) }), 400, 'InvalidKeyException', AUTHORIZATION_FAILED);
    assert.equal(await readFile(lantern.server.keyFile ?? '', 'utf8'), before, 'no refused call rotated a key');
  });

  it('has no key file and no token API when disabled', async () => {
    const lantern = await lanterns.start({ properties: [...FREE_PORTS, 'disable_token_authorization=true'] });
    assert.equal(lantern.server.keyFile, null);
    assert.equal(existsSync(path.join(path.dirname(lantern.store), 'key_file.json')), false);
    assert.equal((await request('GET', `${lantern.management}/models`)).status, 200);
    expectError(
      await request('GET', `${lantern.management}/token?type=management`),
      404,
      'ResourceNotFoundException',
      'Requested resource is not found, please refer to API document.',
    );
  });
});

describe('the lantern command and the key file', () => {
  let dir = '';
  afterEach(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
    dir = '';
  });

  /** Runs `lantern --foreground` in a fresh folder until it is ready, then stops it with SIGTERM. */
  async function runLantern(extraConfig: string[], env: Record<string, string>): Promise<{ output: string; keyFileWhileUp: Buffer | null; mode: number | null; afterStop: boolean }> {
    dir = await mkdtemp(path.join(tmpdir(), 'lantern-cli-'));
    await mkdir(path.join(dir, 'store'));
    const config = [
      'inference_address=http://127.0.0.1:0',
      'management_address=http://127.0.0.1:0',
      'metrics_address=http://127.0.0.1:0',
      'grpc_inference_port=0',
      'grpc_management_port=0',
      `model_store=${path.join(dir, 'store')}`,
      'shutdown_delay_sec=0',
      ...extraConfig,
    ];
    await writeFile(path.join(dir, 'config.properties'), config.join('\n'));
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'lantern.js'), '--foreground'], {
      cwd: dir,
      env: { ...process.env, ...env, LOG_LOCATION: path.join(dir, 'logs') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await waitFor('Lantern to be ready', () => output.includes('Lantern is ready'), 60_000).catch((err: Error) => {
        throw new Error(`${err.message}; output:\n${output}`);
      });
      const keyFile = path.join(dir, 'key_file.json');
      const keyFileWhileUp = existsSync(keyFile) ? await readFile(keyFile) : null;
      const mode = existsSync(keyFile) ? (await stat(keyFile)).mode & 0o777 : null;
      child.kill('SIGTERM');
      await exited;
      return { output, keyFileWhileUp, mode, afterStop: existsSync(keyFile) };
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
  }

  it('says where the key file is, keeps it private while up and removes it on SIGTERM', async () => {
    const run = await runLantern([], {});
    assert.ok(run.keyFileWhileUp !== null, run.output);
    assert.equal(run.mode, 0o600);
    assert.ok(run.output.includes(path.join(dir, 'key_file.json')), run.output);
    assert.equal(run.afterStop, false);
  });

  it('turns token authorization off with TS_DISABLE_TOKEN_AUTHORIZATION only when enable_envvars_config is true', async () => {
    const ignored = await runLantern([], { TS_DISABLE_TOKEN_AUTHORIZATION: 'true' });
    assert.ok(ignored.keyFileWhileUp !== null, 'the variable alone changes nothing');
    await rm(dir, { recursive: true, force: true });
    const honoured = await runLantern(['enable_envvars_config=true'], { TS_DISABLE_TOKEN_AUTHORIZATION: 'true' });
    assert.equal(honoured.keyFileWhileUp, null);
    assert.match(honoured.output, /Token authorization is disabled/);
  });
});
