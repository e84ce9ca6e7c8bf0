import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLanternArgs, UsageError } from './lantern-args.js';

describe('the lantern command line', () => {
  it('takes torchserve flags, each setting its configuration key', () => {
    const args = parseLanternArgs(['--start', '--model-store', '/m', '--models', 'a=a.mar', 'b.mar', '--enable-model-api', '--dt', '--python', '/usr/bin/python3', '--ncs']);
    assert.equal(args.action, 'start');
    assert.equal(args.noSnapshots, true);
    assert.deepEqual(args.cli, {
      model_store: '/m',
      load_models: 'a=a.mar,b.mar',
      enable_model_api: 'true',
      disable_token_authorization: 'true',
      python: '/usr/bin/python3',
    });
  });

  it("accepts argparse's --flag=value form, as KServe's runtime starts torchserve", () => {
    const args = parseLanternArgs(['--start', '--model-store=/mnt/models/model-store', '--ts-config=/mnt/models/config/config.properties', '--models=m.mar']);
    assert.equal(args.cli.model_store, '/mnt/models/model-store');
    assert.equal(args.tsConfig, '/mnt/models/config/config.properties');
    assert.equal(args.cli.load_models, 'm.mar');
  });

  it('accepts unambiguous prefixes of long flags and refuses ambiguous ones by name', () => {
    assert.equal(parseLanternArgs(['--model-st', '/m', '--fore']).cli.model_store, '/m');
    assert.equal(parseLanternArgs(['--fore']).foreground, true);
    assert.throws(() => parseLanternArgs(['--model', 'x']), /Ambiguous argument: --model could match --model-store, --models/);
    assert.throws(() => parseLanternArgs(['--st']), /Ambiguous argument: --st could match --start, --stop/);
  });

  it('refuses unknown flags, missing values, values on switches and two actions', () => {
    assert.throws(() => parseLanternArgs(['--bogus']), new UsageError('Unknown argument: --bogus'));
    assert.throws(() => parseLanternArgs(['--model-store']), /--model-store needs a value/);
    assert.throws(() => parseLanternArgs(['--model-store=']), /--model-store needs a value/);
    assert.throws(() => parseLanternArgs(['--models']), /--models needs at least one model/);
    assert.throws(() => parseLanternArgs(['--foreground=yes']), /--foreground takes no value/);
    assert.throws(() => parseLanternArgs(['--start', '--stop']), /--start and --stop cannot be used together/);
  });

  it('warns about flags kept only for compatibility', () => {
    assert.deepEqual(parseLanternArgs(['--log-config', 'log4j2.xml']).warnings, ['--log-config log4j2.xml is accepted for compatibility and ignored']);
  });
});
