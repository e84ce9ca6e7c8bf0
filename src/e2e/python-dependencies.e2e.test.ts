// install_py_dep_per_model=true (issue #7, spec §1.2): an archive's requirements.txt is pip-installed
// into a folder of the model's own at registration, and its workers import from it. Packages come
// from a wheel built by the test (pip --no-index --find-links), never from the internet.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ZipFile } from 'yazl';
import { parseArchiverArgs } from '../cli/archiver-args.js';
import { packModel } from '../cli/archiver-cli.js';
import { closeAndCheck, dumpLogsOnFailure, request, startLantern, type Lantern } from './harness.js';

/** A minimal pure-Python wheel: tinydep 0.1 with GREETING in its __init__. */
async function buildWheel(dir: string): Promise<void> {
  const files: Array<[string, string]> = [
    ['tinydep/__init__.py', 'GREETING = "hello from tinydep 0.1"\n'],
    ['tinydep-0.1.dist-info/METADATA', 'Metadata-Version: 2.1\nName: tinydep\nVersion: 0.1\n'],
    ['tinydep-0.1.dist-info/WHEEL', 'Wheel-Version: 1.0\nGenerator: lantern-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n'],
  ];
  const record = files.map(([name, text]) => {
    const digest = createHash('sha256').update(text).digest('base64url');
    return `${name},sha256=${digest},${Buffer.byteLength(text)}`;
  });
  record.push('tinydep-0.1.dist-info/RECORD,,');
  files.push(['tinydep-0.1.dist-info/RECORD', `${record.join('\n')}\n`]);
  const zip = new ZipFile();
  for (const [name, text] of files) zip.addBuffer(Buffer.from(text), name);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  await writeFile(path.join(dir, 'tinydep-0.1-py3-none-any.whl'), Buffer.concat(chunks));
}

describe('Per-model Python dependencies', () => {
  let work: string;
  let lantern: Lantern | undefined;

  /** Packs model `name` whose requirements.txt asks for `requirement` from the local wheel folder. */
  const packWithRequirement = async (name: string, requirement: string): Promise<void> => {
    const src = path.join(work, `src-${name}`);
    await mkdir(src);
    await writeFile(
      path.join(src, 'uses_dep.py'),
      'import tinydep\n\n\ndef handle(data, context):\n    if data is None:\n        return None\n    return [tinydep.GREETING for _ in data]\n',
    );
    await writeFile(path.join(src, 'requirements.txt'), `--no-index\n--find-links ${path.join(work, 'wheels')}\n${requirement}\n`);
    const command = parseArchiverArgs(
      ['--model-name', name, '-v', '1.0', '--handler', 'uses_dep.py', '-r', 'requirements.txt', '--export-path', path.join(work, 'out')],
      src,
    );
    assert.equal(command.kind, 'archive');
    await packModel(command.options, { cwd: src, report: () => undefined });
  };

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'lantern-pydeps-'));
    await mkdir(path.join(work, 'wheels'));
    await mkdir(path.join(work, 'out'));
    await buildWheel(path.join(work, 'wheels'));
    await packWithRequirement('withdep', 'tinydep==0.1');
    await packWithRequirement('baddep', 'tinydep==9.9');
  });

  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  afterEach(async (t) => {
    dumpLogsOnFailure(t as { passed?: boolean; name: string }, lantern);
    if (lantern !== undefined) await closeAndCheck(lantern);
    lantern = undefined;
  });

  const serverWith = async (install: boolean): Promise<Lantern> => {
    lantern = await startLantern({ properties: [`install_py_dep_per_model=${install}`] });
    for (const file of ['withdep.mar', 'baddep.mar']) await lantern.writeStoreFile(file, await readFile(path.join(work, 'out', file)));
    return lantern;
  };
  const dependencyFolders = async (server: Lantern): Promise<string[]> =>
    readdir(path.join(path.dirname(server.store), 'work', 'dependencies')).then((names) => names.filter((n) => !n.endsWith('.owner')), () => []);

  it('installs requirements.txt at registration into a folder the workers import from, and removes it on unregister', async () => {
    const server = await serverWith(true);
    const reply = await request('POST', `${server.management}/models?url=withdep.mar&initial_workers=1&synchronous=true`);
    assert.equal(reply.status, 200, reply.text);
    assert.equal((await request('POST', `${server.inference}/predictions/withdep`, { body: 'x' })).text, 'hello from tinydep 0.1');
    assert.equal((await dependencyFolders(server)).length, 1);
    assert.equal((await request('DELETE', `${server.management}/models/withdep`)).status, 200);
    assert.deepEqual(await dependencyFolders(server), []);
  });

  it("answers TorchServe's 400 when pip fails, and registers nothing", async () => {
    const server = await serverWith(true);
    const reply = await request('POST', `${server.management}/models?url=baddep.mar&initial_workers=1&synchronous=true`);
    assert.equal(reply.status, 400, reply.text);
    assert.deepEqual(reply.json(), { code: 400, type: 'ModelException', message: 'Custom pip package installation failed for model baddep' });
    assert.ok(server.logs.some((l) => l.includes('pip:') && /tinydep==9\.9/.test(l)), "pip's output is in the log");
    assert.equal((await request('GET', `${server.management}/models`)).json<{ models: unknown[] }>().models.length, 0);
    assert.deepEqual(await dependencyFolders(server), []);
  });

  it('installs nothing when install_py_dep_per_model is off, so the handler cannot import the package', async () => {
    const server = await serverWith(false);
    const reply = await request('POST', `${server.management}/models?url=withdep.mar&initial_workers=1&synchronous=true`);
    assert.notEqual(reply.status, 200, reply.text);
    assert.deepEqual(await dependencyFolders(server), []);
  });
});
