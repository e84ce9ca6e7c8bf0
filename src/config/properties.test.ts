import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PropertiesSyntaxError, formatProperties, parseProperties, substituteEnvVars } from './properties.js';

const parse = (text: string): Record<string, string> => Object.fromEntries(parseProperties(text));

describe('parseProperties', () => {
  it('reads the three separators and trims blanks around them', () => {
    assert.deepEqual(parse('a=1\nb: 2\nc 3\n  d   =   4\ne\t:\tfive'), { a: '1', b: '2', c: '3', d: '4', e: 'five' });
  });

  it('keeps trailing blanks and later separators in the value', () => {
    assert.deepEqual(parse('url=http://h:8080/x=y \n'), { url: 'http://h:8080/x=y ' });
  });

  it('skips # and ! comments and blank lines', () => {
    assert.deepEqual(parse('# comment\n! also\n\n   \n  # indented\nk=v # not a comment'), { k: 'v # not a comment' });
  });

  it('joins continued lines and drops the leading blanks of the continuation', () => {
    const text = 'models={\\\n    "m": {\\\n      "1.0": {}\\\n    }\\\n  }\nnext=1';
    assert.deepEqual(parse(text), { models: '{"m": {"1.0": {}}}', next: '1' });
  });

  it('does not continue a line ending in an escaped backslash', () => {
    assert.deepEqual(parse('path=C:\\\\dir\\\\\nnext=1'), { path: 'C:\\dir\\', next: '1' });
  });

  it('does not continue a comment line', () => {
    assert.deepEqual(parse('# comment \\\nk=v'), { k: 'v' });
  });

  it('continues into a line that starts with #', () => {
    assert.deepEqual(parse('k=a\\\n#b'), { k: 'a#b' });
  });

  it('accepts CRLF and CR line ends', () => {
    assert.deepEqual(parse('a=1\r\nb=2\rc=3'), { a: '1', b: '2', c: '3' });
  });

  it('decodes escapes in keys and values', () => {
    assert.deepEqual(parse('tab=a\\tb\nnl=a\\nb\nbs=a\\\\b\nuni=caf\\u00e9\nother=\\q\\=\\:'), {
      tab: 'a\tb',
      nl: 'a\nb',
      bs: 'a\\b',
      uni: 'café',
      other: 'q=:',
    });
    assert.deepEqual(parse('my\\ key\\=x=v'), { 'my key=x': 'v' });
  });

  it('keeps the last value of a repeated key', () => {
    assert.deepEqual(parse('k=1\nk=2'), { k: '2' });
  });

  it('reads a key without a value as empty', () => {
    assert.deepEqual(parse('alone\nwith='), { alone: '', with: '' });
  });

  it('refuses a malformed \\u escape with the line number', () => {
    assert.throws(() => parseProperties('a=1\nb=\\u12G4'), (err: unknown) => {
      assert.ok(err instanceof PropertiesSyntaxError);
      assert.equal(err.line, 2);
      return true;
    });
  });
});

describe('formatProperties', () => {
  it('writes header comments then one escaped line per entry', () => {
    const text = formatProperties([['a', '1'], ['b c', ' x=y#z']], ['Saving snapshot', 'Mon Jan 01 00:00:00 UTC 2024']);
    assert.equal(text, '#Saving snapshot\n#Mon Jan 01 00:00:00 UTC 2024\na=1\nb\\ c=\\ x\\=y\\#z\n');
  });

  it('round-trips awkward keys and values through parseProperties', () => {
    const entries: Array<[string, string]> = [
      ['model_snapshot', '{\n  "name": "20240101-snapshot.cfg",\n  "models": {"m": {"1.0": {"marName": "m.mar"}}}\n}'],
      ['spaces', '  leading and trailing  '],
      ['specials', 'a=b:c#d!e\\f\tg\rh\fi'],
      ['unicode', 'café ☕ 𝄞'],
      ['key with = and :', 'v'],
      ['#hash', '!bang'],
      ['empty', ''],
      ['allowed_urls', 'file://.*|http(s)?://.*'],
    ];
    const text = formatProperties(entries, ['Saving snapshot']);
    assert.match(text, /^[\x20-\x7e\n]*$/, 'output is printable ASCII');
    assert.deepEqual([...parseProperties(text)], entries);
  });
});

describe('substituteEnvVars', () => {
  it('replaces $$VAR$$ references, also inside a longer value', () => {
    const env = { STORE: '/models', HOST: '0.0.0.0' };
    assert.deepEqual(substituteEnvVars('$$STORE$$', env), { ok: true, value: '/models' });
    assert.deepEqual(substituteEnvVars('http://$$HOST$$:8080', env), { ok: true, value: 'http://0.0.0.0:8080' });
    assert.deepEqual(substituteEnvVars('no refs $ here', env), { ok: true, value: 'no refs $ here' });
  });

  it('reports an unset variable in TorchServe words', () => {
    assert.deepEqual(substituteEnvVars('$$NOPE$$', {}), { ok: false, error: 'Invalid Environment Variable NOPE' });
  });
});
