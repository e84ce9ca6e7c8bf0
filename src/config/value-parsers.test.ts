import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  integerParser,
  parseBoolean,
  parseJsonObject,
  parseLoadModels,
  parseMetricsMode,
  parseModelsSettings,
  parseOptionalPattern,
  parseOptionalString,
  parsePositiveNumber,
  parseUrlPatterns,
} from './value-parsers.js';

describe('value parsers', () => {
  it('parses booleans like Java: case-insensitive true, anything else false', () => {
    assert.deepEqual(parseBoolean('true'), { ok: true, value: true });
    assert.deepEqual(parseBoolean('TRUE'), { ok: true, value: true });
    assert.deepEqual(parseBoolean(' True '), { ok: true, value: true });
    assert.deepEqual(parseBoolean('yes'), { ok: true, value: false });
    assert.deepEqual(parseBoolean('1'), { ok: true, value: false });
    assert.deepEqual(parseBoolean(''), { ok: true, value: false });
  });

  it('parses integers within bounds and refuses everything else', () => {
    const parse = integerParser({ min: 1, max: 10 });
    assert.deepEqual(parse('7'), { ok: true, value: 7 });
    assert.deepEqual(parse(' +7 '), { ok: true, value: 7 });
    assert.deepEqual(parse('0'), { ok: false, error: 'must be at least 1' });
    assert.deepEqual(parse('11'), { ok: false, error: 'must be at most 10' });
    for (const bad of ['', 'abc', '1.5', '1e3', '0x10', '12abc']) assert.equal(parse(bad).ok, false, bad);
    assert.equal(integerParser()('99999999999999999999').ok, false);
  });

  it('parses positive decimal numbers', () => {
    assert.deepEqual(parsePositiveNumber('60'), { ok: true, value: 60 });
    assert.deepEqual(parsePositiveNumber('0.5'), { ok: true, value: 0.5 });
    assert.equal(parsePositiveNumber('0').ok, false);
    assert.equal(parsePositiveNumber('-1').ok, false);
    assert.equal(parsePositiveNumber('soon').ok, false);
  });

  it('treats a blank optional string as not set', () => {
    assert.deepEqual(parseOptionalString('  '), { ok: true, value: null });
    assert.deepEqual(parseOptionalString(' /models '), { ok: true, value: '/models' });
  });

  it('parses load_models as all, or a list of url and name=url entries', () => {
    assert.deepEqual(parseLoadModels('ALL'), { ok: true, value: 'all' });
    assert.deepEqual(parseLoadModels(''), { ok: true, value: [] });
    assert.deepEqual(parseLoadModels('a.mar, b=https://h/b.mar?x=1'), {
      ok: true,
      value: [
        { name: null, url: 'a.mar' },
        { name: 'b', url: 'https://h/b.mar?x=1' },
      ],
    });
    assert.equal(parseLoadModels('=x.mar').ok, false);
  });

  it('parses JSON objects and refuses arrays and bad JSON', () => {
    assert.deepEqual(parseJsonObject('{"a": 1}'), { ok: true, value: { a: 1 } });
    assert.deepEqual(parseJsonObject(''), { ok: true, value: null });
    assert.equal(parseJsonObject('[1]').ok, false);
    assert.equal(parseJsonObject('{').ok, false);
  });

  it('checks the shape of models: name → version → settings', () => {
    const good = parseModelsSettings('{"m": {"1.0": {"minWorkers": 1}}}');
    assert.deepEqual(good, { ok: true, value: { m: { '1.0': { minWorkers: 1 } } } });
    assert.equal(parseModelsSettings('{"m": 3}').ok, false);
    assert.equal(parseModelsSettings('{"m": {"1.0": 3}}').ok, false);
  });

  it('parses allowed_urls as a comma list of whole-URL patterns', () => {
    const parsed = parseUrlPatterns('file://.*|http(s)?://.*');
    assert.ok(parsed.ok);
    assert.equal(parsed.value.length, 1);
    const [pattern] = parsed.value;
    assert.ok(pattern?.test('https://example.com/m.mar'));
    assert.ok(pattern?.test('file:///tmp/m.mar'));
    assert.ok(!pattern?.test('s3://bucket/m.mar'));

    const two = parseUrlPatterns('https://a\\.com/.*, https://b\\.com/.*');
    assert.ok(two.ok);
    assert.equal(two.value.length, 2);
    assert.ok(!two.value[0]?.test('xhttps://a.com/m'), 'patterns match the whole URL');
    assert.equal(parseUrlPatterns('http://(unclosed').ok, false);
  });

  it('parses an optional full-match pattern', () => {
    assert.deepEqual(parseOptionalPattern(''), { ok: true, value: null });
    const parsed = parseOptionalPattern('AWS_.*');
    assert.ok(parsed.ok && parsed.value !== null);
    assert.ok(parsed.value.test('AWS_SECRET'));
    assert.ok(!parsed.value.test('MY_AWS_SECRET'));
    assert.equal(parseOptionalPattern('(').ok, false);
  });

  it('falls back to log with a warning on an unknown metrics mode', () => {
    assert.deepEqual(parseMetricsMode('Prometheus'), { ok: true, value: 'prometheus' });
    const fallback = parseMetricsMode('statsd');
    assert.ok(fallback.ok);
    assert.equal(fallback.value, 'log');
    assert.match(fallback.warning ?? '', /statsd/);
  });
});
