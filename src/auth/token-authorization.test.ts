import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ManualClock } from '../clock.js';
import { loadConfig } from '../config/load-config.js';
import { parseLanternArgs } from '../cli/lantern-args.js';
import { generateKey, TokenAuthorization } from './token-authorization.js';

interface KeyFile {
  management: { key: string; 'expiration time': string };
  inference: { key: string; 'expiration time': string };
  API: { key: string };
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lantern-auth-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const readKeys = async (file: string): Promise<KeyFile> => JSON.parse(await readFile(file, 'utf8')) as KeyFile;
const bearer = (key: string): string => `Bearer ${key}`;

describe('token authorization', () => {
  it('generates keys of 32 URL-safe characters that never repeat', () => {
    const keys = new Set(Array.from({ length: 1000 }, () => generateKey()));
    assert.equal(keys.size, 1000);
    for (const key of keys) assert.match(key, /^[A-Za-z0-9_-]{32}$/);
  });

  it('writes the key file in TorchServe layout with mode 0600 and nothing else beside it', async () => {
    await withDir(async (dir) => {
      const clock = new ManualClock();
      clock.advance(Date.parse('2026-01-01T00:00:00.000Z'));
      const file = path.join(dir, 'key_file.json');
      const auth = new TokenAuthorization(file, 60, clock);
      await auth.writeKeyFile();
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      const text = await readFile(file, 'utf8');
      const keys = JSON.parse(text) as KeyFile;
      assert.deepEqual(Object.keys(keys), ['management', 'inference', 'API']);
      assert.deepEqual(Object.keys(keys.management), ['key', 'expiration time']);
      assert.deepEqual(Object.keys(keys.API), ['key']);
      assert.equal(keys.management['expiration time'], '2026-01-01T01:00:00.000Z');
      assert.equal(keys.inference['expiration time'], '2026-01-01T01:00:00.000Z');
      assert.equal(new Set([keys.management.key, keys.inference.key, keys.API.key]).size, 3);
      assert.ok(text.endsWith('}\n'));
      assert.deepEqual(await readdir(dir), ['key_file.json'], 'no temp file is left');
    });
  });

  it('replaces a world-readable key file and a stale temp file with private ones', async () => {
    await withDir(async (dir) => {
      const file = path.join(dir, 'key_file.json');
      await writeFile(file, 'old', { mode: 0o644 });
      await writeFile(path.join(dir, `.key_file.json.${process.pid}.tmp`), 'stale', { mode: 0o666 });
      const auth = new TokenAuthorization(file, 60, new ManualClock());
      await auth.writeKeyFile();
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.notEqual(await readFile(file, 'utf8'), 'old');
      assert.deepEqual(await readdir(dir), ['key_file.json']);
    });
  });

  it('accepts each key only for its own scope and only in the Bearer form', async () => {
    await withDir(async (dir) => {
      const file = path.join(dir, 'key_file.json');
      const auth = new TokenAuthorization(file, 60, new ManualClock());
      await auth.writeKeyFile();
      const keys = await readKeys(file);
      assert.equal(auth.check('inference', bearer(keys.inference.key)), true);
      assert.equal(auth.check('management', bearer(keys.management.key)), true);
      assert.equal(auth.check('api', bearer(keys.API.key)), true);
      assert.equal(auth.check('inference', `Bearer   ${keys.inference.key}`), true, 'any whitespace after Bearer');
      assert.equal(auth.check('inference', bearer(keys.management.key)), false);
      assert.equal(auth.check('management', bearer(keys.inference.key)), false);
      assert.equal(auth.check('management', bearer(keys.API.key)), false);
      assert.equal(auth.check('api', bearer(keys.management.key)), false);
      assert.equal(auth.check('inference', undefined), false);
      assert.equal(auth.check('inference', ''), false);
      assert.equal(auth.check('inference', keys.inference.key), false, 'no scheme');
      assert.equal(auth.check('inference', `bearer ${keys.inference.key}`), false, 'the scheme is case-sensitive');
      assert.equal(auth.check('inference', `Basic ${keys.inference.key}`), false);
      assert.equal(auth.check('inference', `Bearer ${keys.inference.key} extra`), false);
      assert.equal(auth.check('inference', `Bearer ${keys.inference.key.slice(0, -1)}`), false, 'a prefix of the key');
      assert.equal(auth.check('inference', `Bearer ${keys.inference.key}x`), false, 'the key plus a character');
    });
  });

  it('refuses inference and management keys from the moment they expire; the API key never expires', async () => {
    await withDir(async (dir) => {
      const file = path.join(dir, 'key_file.json');
      const clock = new ManualClock();
      const auth = new TokenAuthorization(file, 0.5, clock);
      await auth.writeKeyFile();
      const keys = await readKeys(file);
      clock.advance(29_999);
      assert.equal(auth.check('inference', bearer(keys.inference.key)), true);
      assert.equal(auth.check('management', bearer(keys.management.key)), true);
      clock.advance(1);
      assert.equal(auth.check('inference', bearer(keys.inference.key)), false);
      assert.equal(auth.check('management', bearer(keys.management.key)), false);
      clock.advance(365 * 24 * 3600_000);
      assert.equal(auth.check('api', bearer(keys.API.key)), true);
    });
  });

  it('rotates one key with a fresh expiry and rewrites the file before it returns', async () => {
    await withDir(async (dir) => {
      const file = path.join(dir, 'key_file.json');
      const clock = new ManualClock();
      const auth = new TokenAuthorization(file, 1, clock);
      await auth.writeKeyFile();
      const before = await readKeys(file);
      clock.advance(60_000);
      assert.equal(auth.check('management', bearer(before.management.key)), false, 'expired');
      await auth.rotate('management');
      const after = await readKeys(file);
      assert.notEqual(after.management.key, before.management.key);
      assert.equal(after.management['expiration time'], new Date(120_000).toISOString());
      assert.deepEqual(after.inference, before.inference, 'the other key is unchanged');
      assert.deepEqual(after.API, before.API);
      assert.equal(auth.check('management', bearer(after.management.key)), true);
      assert.equal(auth.check('management', bearer(before.management.key)), false);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
    });
  });

  it('keeps a rotated-away key valid for the grace period only, and never past its own expiry', async () => {
    await withDir(async (dir) => {
      const clock = new ManualClock();
      const auth = new TokenAuthorization(path.join(dir, 'key_file.json'), 1, clock, 10_000);
      await auth.writeKeyFile();
      const before = await readKeys(path.join(dir, 'key_file.json'));
      await auth.rotate('inference');
      assert.equal(auth.check('inference', bearer(before.inference.key)), true, 'a request signed just before the rotation passes');
      assert.equal(auth.check('management', bearer(before.inference.key)), false, 'only in its own scope');
      clock.advance(9_999);
      assert.equal(auth.check('inference', bearer(before.inference.key)), true);
      clock.advance(1);
      assert.equal(auth.check('inference', bearer(before.inference.key)), false);
      // Rotated again 10 s before it expires: the grace ends with the key.
      clock.advance(40_000);
      const second = await readKeys(path.join(dir, 'key_file.json'));
      await auth.rotate('inference');
      clock.advance(9_000);
      assert.equal(auth.check('inference', bearer(second.inference.key)), true);
      clock.advance(1_000);
      assert.equal(auth.check('inference', bearer(second.inference.key)), false);
      const strict = new TokenAuthorization(path.join(dir, 'strict.json'), 1, clock, 0);
      await strict.writeKeyFile();
      const strictKeys = await readKeys(path.join(dir, 'strict.json'));
      await strict.rotate('management');
      assert.equal(strict.check('management', bearer(strictKeys.management.key)), false, 'no grace with 0');
    });
  });

  it('leaves a file with the latest keys when rotations overlap', async () => {
    await withDir(async (dir) => {
      const file = path.join(dir, 'key_file.json');
      const auth = new TokenAuthorization(file, 60, new ManualClock());
      await auth.writeKeyFile();
      await Promise.all([auth.rotate('management'), auth.rotate('inference'), auth.rotate('management'), auth.rotate('inference')]);
      const keys = await readKeys(file);
      assert.equal(auth.check('management', bearer(keys.management.key)), true);
      assert.equal(auth.check('inference', bearer(keys.inference.key)), true);
      assert.deepEqual(await readdir(dir), ['key_file.json']);
    });
  });

  it('removes the key file on close, once', async () => {
    await withDir(async (dir) => {
      const file = path.join(dir, 'key_file.json');
      const auth = new TokenAuthorization(file, 60, new ManualClock());
      await auth.close();
      await auth.writeKeyFile();
      await auth.close();
      await auth.close();
      assert.deepEqual(await readdir(dir), []);
    });
  });
});

describe('token authorization switches', () => {
  const disabled = (fileText: string | null, env: Record<string, string>, argv: string[] = []): boolean => {
    const args = parseLanternArgs(['--foreground', ...argv]);
    return loadConfig({ fileText, cli: args.cli, env }).config.disable_token_authorization;
  };

  it('is on by default', () => {
    assert.equal(disabled(null, {}), false);
  });

  it('is turned off by the config file, --disable-token-auth and --dt', () => {
    assert.equal(disabled('disable_token_authorization=true', {}), true);
    assert.equal(disabled(null, {}, ['--disable-token-auth']), true);
    assert.equal(disabled(null, {}, ['--dt']), true);
  });

  it('reads TS_DISABLE_TOKEN_AUTHORIZATION only when enable_envvars_config is true', () => {
    assert.equal(disabled(null, { TS_DISABLE_TOKEN_AUTHORIZATION: 'true' }), false);
    assert.equal(disabled('enable_envvars_config=true', { TS_DISABLE_TOKEN_AUTHORIZATION: 'true' }), true);
    assert.equal(disabled('enable_envvars_config=true\ndisable_token_authorization=true', { TS_DISABLE_TOKEN_AUTHORIZATION: 'false' }), false, 'env beats the file');
    assert.equal(disabled('enable_envvars_config=true', { TS_DISABLE_TOKEN_AUTHORIZATION: 'false' }, ['--dt']), false, 'env beats the CLI');
  });

  it('reads the expiry in minutes from token_expiration_min or TS_TOKEN_EXPIRATION_TIME_MIN', () => {
    assert.equal(loadConfig({ fileText: null, cli: {}, env: {} }).config.token_expiration_min, 60);
    assert.equal(loadConfig({ fileText: 'token_expiration_min=0.005', cli: {}, env: {} }).config.token_expiration_min, 0.005);
    const env = { TS_TOKEN_EXPIRATION_TIME_MIN: '2.5' };
    assert.equal(loadConfig({ fileText: 'enable_envvars_config=true', cli: {}, env }).config.token_expiration_min, 2.5);
  });
});
