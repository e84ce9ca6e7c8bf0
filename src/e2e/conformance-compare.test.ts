// The conformance suite's comparison: masks hide only the values they name, an allowed difference
// applies only where its line of docs/compatibility.md says, and every line it cites is there.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT, type Reply } from './harness.js';
import { CASES } from './conformance-cases.js';
import { ALLOWED_DIFFERENCES, ALLOWED_HEADERS, expectedFromLantern, firstDifference, render } from './conformance-compare.js';

function reply(status: number, statusText: string, body: string, headers: Record<string, string> = {}): Reply {
  const bytes = Buffer.from(body);
  return {
    status,
    statusText,
    headers: new Headers({ 'content-length': String(bytes.length), ...headers }),
    text: body,
    bytes,
    json: () => JSON.parse(body),
  };
}

const describeBody = (pid: number, memory: number, modelName = 'm'): string =>
  JSON.stringify([{ modelName, workers: [{ id: '9000', startTime: '2026-12-07T21:00:00.000Z', memoryUsage: memory, pid }] }], null, 2);

describe('conformance comparison', () => {
  it('masks the start time, pid and memory of a describe reply, and its length with them', () => {
    const a = render(reply(200, 'OK', describeBody(7, 1000), { 'x-request-id': 'one' }));
    const b = render(reply(200, 'OK', describeBody(123456, 98765432), { 'x-request-id': 'two' }));
    assert.equal(a.text, b.text);
    assert.match(a.text, /x-request-id: <masked>/);
  });

  it('still tells two describe replies apart by any field that is not masked', () => {
    const a = render(reply(200, 'OK', describeBody(7, 1000, 'm')));
    const b = render(reply(200, 'OK', describeBody(7, 1000, 'n')));
    assert.notEqual(a.text, b.text);
    assert.match(firstDifference(a.text, b.text), /first difference at line \d+[\s\S]*"modelName": "m"[\s\S]*"modelName": "n"/);
  });

  it('compares the length of a body no mask changed', () => {
    const a = render(reply(200, 'OK', '[1]', { 'content-length': '3' }));
    const b = render(reply(200, 'OK', '[1]', { 'content-length': '4' }));
    assert.notEqual(a.text, b.text);
  });

  it('compares a header one side lacks, unless a compatibility line allows it', () => {
    assert.notEqual(render(reply(200, 'OK', 'x')).text, render(reply(200, 'OK', 'x', { 'x-custom': '1' })).text);
    assert.equal(render(reply(200, 'OK', 'x')).text, render(reply(200, 'OK', 'x', { date: 'Mon, 07 Dec 2026 21:00:00 GMT' })).text);
  });

  it("allows the standard reason phrase only where TorchServe's is empty", () => {
    const allowed = expectedFromLantern(render(reply(200, '', '[1]')), render(reply(200, 'OK', '[1]')));
    assert.equal(allowed.text, render(reply(200, 'OK', '[1]')).text);
    assert.ok(allowed.allowed !== null);
    const phrase = expectedFromLantern(render(reply(599, 'Custom failure', 'x')), render(reply(599, 'Unknown', 'x')));
    assert.equal(phrase.allowed, null);
    assert.notEqual(phrase.text, render(reply(599, 'Unknown', 'x')).text);
    const body = expectedFromLantern(render(reply(200, '', '[1]')), render(reply(200, 'OK', '[2]')));
    assert.equal(body.allowed, null);
  });

  it('cites only lines that docs/compatibility.md has', async () => {
    const lines = (await readFile(path.join(REPO_ROOT, 'docs', 'compatibility.md'), 'utf8')).split('\n');
    for (const cited of [...ALLOWED_DIFFERENCES.map((d) => d.compatibility), ...ALLOWED_HEADERS.map((h) => h.compatibility)]) {
      assert.ok(
        lines.some((l) => l.startsWith(`- ${cited}`)),
        `docs/compatibility.md has no line starting "- ${cited}"`,
      );
    }
  });

  it('has every case in the table of docs/conformance.md', async () => {
    const doc = await readFile(path.join(REPO_ROOT, 'docs', 'conformance.md'), 'utf8');
    for (const c of CASES) assert.ok(doc.includes(`| \`${c.name}\` |`), `docs/conformance.md has no row for ${c.name}`);
  });
});
