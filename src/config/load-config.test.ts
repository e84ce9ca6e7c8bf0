import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configKeys, keySpec } from './key-table.js';
import type { LoadConfigInput } from './load-config.js';
import { ConfigError, loadConfig } from './load-config.js';

const load = (input: Partial<LoadConfigInput>) => loadConfig({ fileText: null, cli: {}, env: {}, ...input });

const problemsOf = (input: Partial<LoadConfigInput>): ConfigError => {
  try {
    load(input);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err;
  }
  assert.fail('expected a ConfigError');
};

describe('loadConfig', () => {
  it('returns the table defaults when nothing is configured', () => {
    const { config, warnings } = load({});
    assert.deepEqual(warnings, []);
    for (const name of configKeys()) {
      if (name !== 'workflow_store') assert.deepEqual(config[name], keySpec(name).default, name);
    }
    assert.deepEqual(config.inference_address, { scheme: 'http', host: '127.0.0.1', port: 8080, path: null });
    assert.deepEqual(config.management_address, { scheme: 'http', host: '127.0.0.1', port: 8081, path: null });
    assert.deepEqual(config.metrics_address, { scheme: 'http', host: '127.0.0.1', port: 8082, path: null });
    assert.equal(config.job_queue_size, 100);
    assert.equal(config.metrics_mode, 'log');
    assert.equal(config.model_store, null);
    assert.equal(config.workflow_store, null);
    assert.equal(config.allowed_urls.length, 1);
    assert.ok(config.allowed_urls[0]?.test('https://x/y.mar'));
    assert.equal(config.properties.size, 0);
  });

  it('returns a frozen config with frozen nested values', () => {
    const { config } = load({ fileText: 'load_models=a.mar\nmodels={"m":{"1.0":{"minWorkers":1}}}' });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.load_models));
    assert.ok(Object.isFrozen(config.models?.['m']?.['1.0']));
    assert.ok(Object.isFrozen(config.inference_address));
  });

  it('parses file values into typed values', () => {
    const file = [
      'inference_address=https://0.0.0.0',
      'management_address=unix:/tmp/m.sock',
      'job_queue_size=7',
      'token_expiration_min=0.5',
      'load_models=ALL',
      'enable_model_api=TRUE',
      'model_store=/srv/models',
      'metrics_mode=prometheus',
    ].join('\n');
    const { config } = load({ fileText: file });
    assert.deepEqual(config.inference_address, { scheme: 'https', host: '0.0.0.0', port: 443, path: null });
    assert.deepEqual(config.management_address, { scheme: 'unix', host: null, port: null, path: '/tmp/m.sock' });
    assert.equal(config.job_queue_size, 7);
    assert.equal(config.token_expiration_min, 0.5);
    assert.equal(config.load_models, 'all');
    assert.equal(config.enable_model_api, true);
    assert.equal(config.metrics_mode, 'prometheus');
    assert.equal(config.workflow_store, '/srv/models', 'workflow_store defaults to model_store');
  });

  it('lets the CLI override the file', () => {
    const { config } = load({ fileText: 'model_store=/a\njob_queue_size=5', cli: { model_store: '/b' } });
    assert.equal(config.model_store, '/b');
    assert.equal(config.job_queue_size, 5);
  });

  it('ignores TS_* variables unless enable_envvars_config is true', () => {
    const env = { TS_JOB_QUEUE_SIZE: '9', TS_MODEL_STORE: '/env' };
    const { config } = load({ fileText: 'job_queue_size=5', cli: { model_store: '/cli' }, env });
    assert.equal(config.job_queue_size, 5);
    assert.equal(config.model_store, '/cli');
  });

  it('lets TS_* variables override file and CLI when enabled in the file or on the CLI', () => {
    const env = { TS_JOB_QUEUE_SIZE: '9', TS_MODEL_STORE: '/env', TS_TOKEN_EXPIRATION_TIME_MIN: '15' };
    const fromFile = load({ fileText: 'enable_envvars_config=true\njob_queue_size=5', cli: { model_store: '/cli' }, env });
    assert.equal(fromFile.config.job_queue_size, 9);
    assert.equal(fromFile.config.model_store, '/env');
    assert.equal(fromFile.config.token_expiration_min, 15);
    const fromCli = load({ cli: { enable_envvars_config: 'true' }, env });
    assert.equal(fromCli.config.job_queue_size, 9);
  });

  it('does not let the environment enable itself', () => {
    const env = { TS_ENABLE_ENVVARS_CONFIG: 'true', TS_JOB_QUEUE_SIZE: '9' };
    assert.equal(load({ env }).config.job_queue_size, 100);
  });

  it('honours TS_ALLOWED_URLS only when use_env_allowed_urls is also true', () => {
    const env = { TS_ALLOWED_URLS: 'https://trusted\\.example/.*' };
    const ignored = load({ fileText: 'enable_envvars_config=true\nallowed_urls=file://.*', env });
    assert.equal(ignored.config.properties.get('allowed_urls'), 'file://.*');
    const honoured = load({ fileText: 'enable_envvars_config=true\nuse_env_allowed_urls=true\nallowed_urls=file://.*', env });
    assert.equal(honoured.config.properties.get('allowed_urls'), 'https://trusted\\.example/.*');
    assert.ok(honoured.config.allowed_urls[0]?.test('https://trusted.example/m.mar'));
    const notEnabled = load({ fileText: 'use_env_allowed_urls=true', env });
    assert.equal(notEnabled.config.properties.has('allowed_urls'), false);
  });

  it('reads TS_OPEN_INFERENCE_PROTOCOL always, true only for exactly oip', () => {
    assert.equal(load({ env: { TS_OPEN_INFERENCE_PROTOCOL: 'oip' } }).config.ts_open_inference_protocol, true);
    const overridden = load({ fileText: 'ts_open_inference_protocol=true', env: { TS_OPEN_INFERENCE_PROTOCOL: 'OIP' } });
    assert.equal(overridden.config.ts_open_inference_protocol, false);
  });

  it('takes service_envelope from the file, or TS_SERVICE_ENVELOPE with enable_envvars_config, and refuses other names', () => {
    assert.equal(load({ fileText: 'service_envelope=kservev2' }).config.service_envelope, 'kservev2');
    assert.equal(load({ fileText: 'enable_envvars_config=true', env: { TS_SERVICE_ENVELOPE: 'kserve' } }).config.service_envelope, 'kserve');
    assert.equal(load({ env: { TS_SERVICE_ENVELOPE: 'kserve' } }).config.service_envelope, null);
    const err = problemsOf({ fileText: 'service_envelope=soap', cli: {}, env: {} });
    assert.ok(err.message.includes('service_envelope = "soap" (config file): must be one of body, json, kserve, kservev2'), err.message);
  });

  it('warns about unknown file keys and keeps them in properties', () => {
    const { config, warnings } = load({ fileText: 'number_of_netty_threads=4\nvmargs=-Xmx1g\njob_queue_size=3' });
    assert.deepEqual(warnings, [
      'Unknown configuration key "number_of_netty_threads" ignored',
      'Unknown configuration key "vmargs" ignored',
    ]);
    assert.deepEqual([...config.properties], [
      ['number_of_netty_threads', '4'],
      ['vmargs', '-Xmx1g'],
      ['job_queue_size', '3'],
    ]);
  });

  it('warns, not fails, on an unknown metrics mode', () => {
    const { config, warnings } = load({ fileText: 'metrics_mode=statsd' });
    assert.equal(config.metrics_mode, 'log');
    assert.equal(warnings.length, 1);
  });

  it('reports every invalid value at once, naming key, value, source and reason', () => {
    const err = problemsOf({
      fileText: 'enable_envvars_config=true\njob_queue_size=lots\ninference_address=ftp://h\nmodels=[1]',
      cli: { grpc_inference_port: '70000' },
      env: { TS_MAX_REQUEST_SIZE: '-1' },
    });
    assert.deepEqual(
      err.problems.map((problem) => [problem.key, problem.source]),
      [
        ['inference_address', 'file'],
        ['grpc_inference_port', 'cli'],
        ['models', 'file'],
        ['job_queue_size', 'file'],
        ['max_request_size', 'env'],
      ],
    );
    const lines = err.message.split('\n');
    assert.equal(lines.length, 6);
    assert.ok(lines.includes('  job_queue_size = "lots" (config file): not an integer'), err.message);
    assert.ok(lines.includes('  max_request_size = "-1" (environment TS_MAX_REQUEST_SIZE): must be at least 1'), err.message);
    assert.ok(lines.some((line) => line.startsWith('  grpc_inference_port = "70000" (command line): ')), err.message);
  });

  it('substitutes $$VAR$$ in file values from the given environment', () => {
    const { config } = load({ fileText: 'model_store=$$STORE$$/models', env: { STORE: '/srv' } });
    assert.equal(config.model_store, '/srv/models');
    assert.equal(config.properties.get('model_store'), '/srv/models');
  });

  it('reports an unset $$VAR$$ together with other problems', () => {
    const err = problemsOf({ fileText: 'model_store=$$MISSING$$\njob_queue_size=x' });
    assert.deepEqual(
      err.problems.map((problem) => problem.reason),
      ['Invalid Environment Variable MISSING', 'not an integer'],
    );
  });

  it('reports a malformed file as a problem', () => {
    const err = problemsOf({ fileText: 'a=\\uZZZZ' });
    assert.equal(err.problems[0]?.key, '(config file)');
  });

  it('does not validate a bad file value that the CLI overrides', () => {
    const { config } = load({ fileText: 'job_queue_size=lots', cli: { job_queue_size: '4' } });
    assert.equal(config.job_queue_size, 4);
  });

  it('records CLI and env values in properties for snapshots', () => {
    const { config } = load({
      fileText: 'enable_envvars_config=true',
      cli: { model_store: '/cli', load_models: 'a=a.mar,b.mar' },
      env: { TS_DEFAULT_WORKERS_PER_MODEL: '2' },
    });
    assert.deepEqual(Object.fromEntries(config.properties), {
      enable_envvars_config: 'true',
      model_store: '/cli',
      load_models: 'a=a.mar,b.mar',
      default_workers_per_model: '2',
    });
    assert.deepEqual(config.load_models, [
      { name: 'a', url: 'a.mar' },
      { name: null, url: 'b.mar' },
    ]);
  });

  it('accepts port 0 so tests can bind free ports', () => {
    const { config } = load({ cli: { inference_address: 'http://127.0.0.1:0', grpc_inference_port: '0' } });
    assert.equal(config.inference_address.port, 0);
    assert.equal(config.grpc_inference_port, 0);
  });
});

describe('a restored snapshot', () => {
  it('does not turn token authorization off or the model API on: only this start does', () => {
    const snapshot = 'disable_token_authorization=true\nenable_model_api=true\ndefault_response_timeout=7\n';
    const restored = loadConfig({ fileText: snapshot, cli: {}, env: {}, fileIsRestoredSnapshot: true }).config;
    assert.equal(restored.disable_token_authorization, false);
    assert.equal(restored.enable_model_api, false);
    assert.equal(restored.default_response_timeout, 7, 'everything else is restored');
    const named = loadConfig({ fileText: snapshot, cli: {}, env: {} }).config;
    assert.equal(named.disable_token_authorization, true, 'a config file this start names is taken whole');
    const flagged = loadConfig({ fileText: snapshot, cli: { disable_token_authorization: 'true' }, env: {}, fileIsRestoredSnapshot: true }).config;
    assert.equal(flagged.disable_token_authorization, true);
  });
});
