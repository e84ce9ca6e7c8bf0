import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KEY_TABLE, configKeys, isConfigKey, keySpec } from './key-table.js';

describe('key table', () => {
  it('names each env variable TS_ plus the upper-cased key, with TorchServe exceptions', () => {
    const exceptions: Record<string, string | null> = {
      token_expiration_min: 'TS_TOKEN_EXPIRATION_TIME_MIN',
      ts_open_inference_protocol: 'TS_OPEN_INFERENCE_PROTOCOL',
      enable_envvars_config: null,
      use_env_allowed_urls: null,
    };
    for (const name of configKeys()) {
      const expected = name in exceptions ? exceptions[name] : `TS_${name.toUpperCase()}`;
      assert.equal(keySpec(name).env, expected, name);
    }
  });

  it('gives every key a default', () => {
    for (const name of configKeys()) {
      const spec = keySpec(name);
      assert.ok(spec.default !== undefined, name);
    }
    assert.equal(KEY_TABLE.job_queue_size.default, 100);
    assert.equal(KEY_TABLE.token_expiration_min.default, 60);
    assert.equal(KEY_TABLE.archive_max_uncompressed_bytes.default, 4 * 1024 ** 3);
  });

  it('tells known keys from unknown ones', () => {
    assert.ok(isConfigKey('inference_address'));
    assert.ok(!isConfigKey('number_of_netty_threads'));
    assert.ok(!isConfigKey('toString'));
  });
});
