// The differential conformance suite (issue 22 item 5): every case of conformance-cases.ts is built
// with torch-model-archiver 0.12.0, registered on TorchServe 0.12.0 and on Lantern (one process
// each for the whole suite, same config, same worker Python, same thread settings), and every reply
// (registration, describe, each request, unregistration) must be the same bytes on both, up to the
// masks and allowed differences of conformance-compare.ts. docs/conformance.md describes it;
// CONFORMANCE_CASE=<name> runs one case.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, request, type Reply } from './harness.js';
import { CASES, type ConformanceCase, type Request } from './conformance-cases.js';
import { expectedFromLantern, firstDifference, render } from './conformance-compare.js';
import { TORCHSERVE_COMMAND, startLanternServer, startTorchServe, torchServeInstalled, type ServerUnderTest } from './conformance-servers.js';

const run = promisify(execFile);
/** Folders whose files the cases may name, and which of their files are copied. */
const FIXTURE_DIRS: ReadonlyArray<{ readonly dir: string; readonly files: RegExp }> = [
  { dir: path.join(REPO_ROOT, 'test', 'fixtures', 'conformance'), files: /\.py$/ },
  { dir: path.join(REPO_ROOT, 'test', 'fixtures', 'handlers'), files: /\.py$/ },
  { dir: path.join(REPO_ROOT, 'test', 'fixtures', 'pytorch'), files: /^(?!make_models).*\.py$/ },
  { dir: path.join(REPO_ROOT, 'examples', 'model-store', 'iris'), files: /\.(py|json)$/ },
];
/** Debian's torch imports only under Debian's own interpreter. */
const TORCH_PYTHON = '/usr/bin/python3';
const only = process.env.CONFORMANCE_CASE;
/** CONFORMANCE_SHOW=1 prints each of Lantern's compared replies (its first 40 lines) as a test diagnostic. */
const show = process.env.CONFORMANCE_SHOW === '1';
const selected = only === undefined || only === '' ? CASES : CASES.filter((c) => c.name === only);

/** Copies the fixtures into `src`, writes the seeded models there and packs each case into `store`. */
async function buildArchives(src: string, store: string, cases: readonly ConformanceCase[]): Promise<void> {
  for (const { dir, files } of FIXTURE_DIRS) {
    for (const file of await readdir(dir)) if (files.test(file)) await copyFile(path.join(dir, file), path.join(src, file));
  }
  await run(TORCH_PYTHON, [path.join(src, 'make_conformance_models.py'), src], { timeout: 180_000 });
  const runs: string[][] = [];
  for (const c of cases) {
    const handler = c.archive.handler.includes('/') ? path.join(REPO_ROOT, c.archive.handler) : c.archive.handler;
    const argv = ['--model-name', c.name, '--version', '1.0', '--handler', handler, '--export-path', store];
    if (c.archive.serializedFile !== undefined) argv.push('--serialized-file', c.archive.serializedFile);
    if (c.archive.modelFile !== undefined) argv.push('--model-file', c.archive.modelFile);
    if (c.archive.extraFiles !== undefined) argv.push('--extra-files', c.archive.extraFiles.join(','));
    if (c.archive.config !== undefined) {
      await writeFile(path.join(src, `${c.name}-config.yaml`), c.archive.config);
      argv.push('--config-file', `${c.name}-config.yaml`);
    }
    runs.push(argv);
  }
  // torch-model-archiver 0.12.0 (python3 -m model_archiver), every archive in one interpreter.
  await writeFile(path.join(src, 'archives.json'), JSON.stringify(runs));
  await run('python3', [path.join(src, 'pack_archives.py'), 'archives.json'], { cwd: src, timeout: 180_000 });
}

/** The `ts_request_sequence_id`s each server sent in the running case: the last one under '', the others by label. */
type Sequences = Map<ServerUnderTest, Map<string, string>>;

async function send(server: ServerUnderTest, model: string, req: Request, src: string, sequences: Sequences): Promise<Reply> {
  const base = server[req.api];
  const headers: Record<string, string> = {};
  const ids = sequences.get(server) ?? new Map<string, string>();
  sequences.set(server, ids);
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    headers[name] = value.replace(/\{sequence(?::([^}]+))?\}/g, (_, label: string | undefined) => {
      const id = ids.get(label ?? '');
      if (id === undefined) throw new Error(`${server.name} sent no ts_request_sequence_id${label === undefined ? '' : ` for ${label}`} before ${req.method} ${req.path}`);
      return id;
    });
  }
  let body: Buffer | undefined;
  if (req.body !== undefined) {
    body = 'text' in req.body ? Buffer.from(req.body.text) : await readFile(path.join(src, req.body.file));
    headers['content-type'] = req.body.contentType;
  }
  const reply = await request(req.method, `${base}${req.path.replaceAll('{model}', model)}`, { headers, ...(body === undefined ? {} : { body }) });
  const sequence = reply.headers.get('ts_request_sequence_id');
  if (sequence !== null) {
    ids.set('', sequence);
    if (req.sequence !== undefined) ids.set(req.sequence, sequence);
  }
  if (req.lines === undefined) return reply;
  const pattern = req.lines;
  const times = req.times;
  let lines = reply.text
    .split('\n')
    .filter((l) => pattern.test(l))
    .map((l) => (times !== undefined && times.test(l) ? `${l.slice(0, l.lastIndexOf(' '))} <time>` : l));
  if (req.byFamily === true) lines = byFamily(lines);
  const kept = Buffer.from(lines.join('\n'));
  // The length is the whole body's, which is not compared: only the lines kept are.
  const replyHeaders = new Headers(reply.headers);
  if (replyHeaders.has('content-length')) replyHeaders.set('content-length', '<of the whole body, not compared>');
  return { ...reply, headers: replyHeaders, text: kept.toString('utf8'), bytes: kept, json: () => JSON.parse(kept.toString('utf8')) };
}

/** Prometheus text lines with their families (each from its `# HELP` line) sorted by name; the lines of a family keep their order. */
function byFamily(lines: readonly string[]): string[] {
  const families: string[][] = [];
  for (const line of lines) {
    if (line.startsWith('# HELP ') || families.length === 0) families.push([line]);
    else families[families.length - 1]?.push(line);
  }
  const name = (family: readonly string[]): string => (family[0] ?? '').replace(/^# HELP /, '').split(/[ {]/)[0] ?? '';
  return families.sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0)).flat();
}

/** Remembers the worker pids a describe reply shows, so that the end of the suite can check they are gone. */
function notePids(server: ServerUnderTest, reply: Reply): void {
  for (const match of reply.text.matchAll(/"pid": (\d+)/g)) server.workerPids.add(Number(match[1]));
}

describe('conformance with TorchServe 0.12.0: the same replies, byte for byte', () => {
  let work: string | undefined;
  let src: string;
  let torchserve: ServerUnderTest | undefined;
  let lantern: ServerUnderTest | undefined;

  before(async () => {
    if (!(await torchServeInstalled())) throw new Error(`no TorchServe at ${TORCHSERVE_COMMAND}: bash bench/setup-torchserve.sh installs it (./scripts/test-setup runs it)`);
    work = await mkdtemp(path.join(tmpdir(), 'lantern-conformance-'));
    src = path.join(work, 'src');
    const store = path.join(work, 'store');
    for (const dir of [src, store, path.join(work, 'torchserve'), path.join(work, 'lantern')]) await mkdir(dir);
    // The servers start while the archives are built (nothing is registered before the first case);
    // when one of the three fails, a server that did start is still stopped by after().
    const [built, ts, ln] = await Promise.allSettled([
      buildArchives(src, store, selected),
      startTorchServe(path.join(work, 'torchserve'), store),
      startLanternServer(path.join(work, 'lantern'), store),
    ]);
    if (ts.status === 'fulfilled') torchserve = ts.value;
    if (ln.status === 'fulfilled') lantern = ln.value;
    for (const step of [built, ts, ln]) if (step.status === 'rejected') throw step.reason;
  });

  after(async () => {
    await Promise.all([torchserve?.stop(), lantern?.stop()]);
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('has a case selected (CONFORMANCE_CASE names one of the table)', () => {
    assert.ok(selected.length > 0, `no case named ${only ?? ''}: ${CASES.map((c) => c.name).join(', ')}`);
  });

  for (const c of selected) {
    it(c.name, async (t) => {
      assert.ok(torchserve !== undefined && lantern !== undefined);
      const servers = [torchserve, lantern] as const;
      const differences: string[] = [];
      const sequences: Sequences = new Map();
      /** Sends `req` to both servers at once and notes any difference between the two replies. */
      const exchange = async (label: string, reqs: readonly Request[]): Promise<void> => {
        const replies = await Promise.all(servers.map((server) => Promise.all(reqs.map((req) => send(server, c.name, req, src, sequences)))));
        const [fromTorchServe, fromLantern] = replies as [Reply[], Reply[]];
        fromTorchServe.forEach((tsReply, i) => {
          const lnReply = fromLantern[i] as Reply;
          notePids(torchserve as ServerUnderTest, tsReply);
          notePids(lantern as ServerUnderTest, lnReply);
          const ln = render(lnReply);
          const expected = expectedFromLantern(render(tsReply), ln);
          const name = reqs.length > 1 ? `${label} [${i}]` : label;
          if (show) t.diagnostic(`${name}:\n${ln.text.split('\n').slice(0, 40).join('\n')}`);
          if (expected.text !== ln.text) differences.push(`---- ${name}: ${firstDifference(expected.text, ln.text)}`);
          else if (expected.allowed !== null) t.diagnostic(`${name}: allowed difference (docs/compatibility.md: "${expected.allowed}")`);
        });
      };
      const mgmt = (method: string, p: string): Request => ({ api: 'management', method, path: p });
      const workers = c.register?.includes('initial_workers=') === true ? '' : '&initial_workers=1';
      const query = `url=${c.name}.mar${workers}&synchronous=true${c.register === undefined ? '' : `&${c.register}`}`;
      let registered = false;
      try {
        await exchange('register', [mgmt('POST', `/models?${query}`)]);
        registered = true;
        await exchange('describe', [mgmt('GET', '/models/{model}')]);
        for (const [i, step] of c.steps.entries()) {
          await exchange(`step ${i + 1}`, 'send' in step ? [step.send] : step.together);
        }
        await exchange('unregister', [mgmt('DELETE', '/models/{model}')]);
        registered = false;
      } finally {
        // A case that failed half way leaves nothing registered for the next one.
        if (registered) await Promise.all(servers.map((s) => send(s, c.name, mgmt('DELETE', '/models/{model}'), src, sequences)));
      }
      if (differences.length > 0) {
        const tails = servers.map((s) => `---- ${s.name} output (last 30 lines)\n${s.output.slice(-30).join('\n')}`).join('\n');
        assert.fail(`${c.name}: ${differences.length} repl${differences.length === 1 ? 'y differs' : 'ies differ'}\n${differences.join('\n')}\n${tails}`);
      }
    });
  }
});
