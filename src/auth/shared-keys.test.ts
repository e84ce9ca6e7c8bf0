import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import { parseSharedKeyFile, sharedKeysFromValues } from './shared-keys.js';
import { TokenAuthorization } from './token-authorization.js';

const A = { inference: 'inference-key-aaaaaaaaaaaa', management: 'management-key-aaaaaaaaaaa' };
const B = { inference: 'inference-key-bbbbbbbbbbbb', management: A.management };
const bearer = (key: string): string => `Bearer ${key}`;

describe('shared keys', () => {
  it('reads plain strings and TorchServe key_file.json objects', () => {
    assert.deepEqual(parseSharedKeyFile(JSON.stringify(A)), A);
    const torchServe = { management: { key: A.management, 'expiration time': 'x' }, inference: { key: A.inference }, API: { key: 'whatever' } };
    assert.deepEqual(parseSharedKeyFile(JSON.stringify(torchServe)), A);
  });

  it('refuses what cannot be a shared key, saying why', () => {
    assert.throws(() => parseSharedKeyFile('nope'), /not JSON/);
    assert.throws(() => parseSharedKeyFile('[]'), /JSON object/);
    assert.throws(() => parseSharedKeyFile(JSON.stringify({ inference: A.inference })), /no management key/);
    assert.throws(() => parseSharedKeyFile(JSON.stringify({ ...A, inference: 'short' })), /at least 16 characters/);
    assert.throws(() => parseSharedKeyFile(JSON.stringify({ ...A, inference: 'has a space in it, long enough' })), /printable ASCII without spaces/);
    assert.throws(() => parseSharedKeyFile(JSON.stringify({ ...A, inference: 42 })), /must be a string/);
    assert.throws(() => sharedKeysFromValues(A.inference, null), /set both/);
    assert.deepEqual(sharedKeysFromValues(A.inference, A.management), A);
  });

  it('keeps a replaced key for the grace period only, and never expires the current ones', async () => {
    const clock = new ManualClock();
    const auth = new TokenAuthorization(null, 1, clock, 10_000, A);
    assert.equal(auth.managedExternally, true);
    await auth.writeKeyFile();
    clock.advance(3_600_000);
    assert.equal(auth.check('inference', bearer(A.inference)), true, 'token_expiration_min does not apply');
    auth.replaceKeys(B);
    assert.equal(auth.check('inference', bearer(B.inference)), true);
    assert.equal(auth.check('inference', bearer(A.inference)), true, 'in the grace period');
    assert.equal(auth.check('management', bearer(A.management)), true, 'unchanged');
    clock.advance(10_000);
    assert.equal(auth.check('inference', bearer(A.inference)), false, 'after the grace period');
    assert.equal(auth.check('management', bearer(A.inference)), false);
    await assert.rejects(auth.rotate('inference'), /managed externally/);
    await auth.close();
  });
});
