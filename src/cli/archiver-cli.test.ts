import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import yauzl from 'yauzl';
import { parseArchiverArgs, type ArchiverOptions } from './archiver-args.js';
import { packModel, runArchiver } from './archiver-cli.js';
import { createdOn } from './archiver-manifest.js';

const run = promisify(execFile);

interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly data: Buffer;
}

async function readZip(file: string): Promise<ZipEntry[]> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false });
  const out: ZipEntry[] = [];
  try {
    for (;;) {
      const entry = await new Promise<yauzl.Entry | null>((resolve, reject) => {
        zip.once('entry', resolve).once('end', () => resolve(null)).once('error', reject);
        zip.readEntry();
      });
      zip.removeAllListeners('entry').removeAllListeners('end').removeAllListeners('error');
      if (entry === null) break;
      const chunks: Buffer[] = [];
      for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
      out.push({ name: entry.fileName, method: entry.compressionMethod, data: Buffer.concat(chunks) });
    }
  } finally {
    zip.close();
  }
  return out;
}

/** Entry names and contents of a .tar.gz (regular files only), by parsing the ustar blocks. */
function readTgz(bytes: Buffer): Map<string, Buffer> {
  const tarBytes = gunzipSync(bytes);
  const files = new Map<string, Buffer>();
  let pax: string | null = null;
  for (let offset = 0; offset + 512 <= tarBytes.length; ) {
    const header = tarBytes.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number): string => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1) || '0';
    const prefix = field(345, 155);
    const data = tarBytes.subarray(offset + 512, offset + 512 + size);
    const name = pax ?? (prefix === '' ? field(0, 100) : `${prefix}/${field(0, 100)}`);
    pax = null;
    if (type === 'x') pax = /\d+ path=([^\n]*)\n/.exec(data.toString('utf8'))?.[1] ?? null;
    else if (type === '0') files.set(name, Buffer.from(data));
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

async function listTree(dir: string, prefix = ''): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) for (const [k, v] of await listTree(full, `${prefix}${entry.name}/`)) out.set(k, v);
    else out.set(`${prefix}${entry.name}`, await readFile(full));
  }
  return out;
}

const withoutCreatedOn = (text: string): unknown => {
  const parsed = JSON.parse(text) as Record<string, unknown>;
  assert.match(String(parsed.createdOn), /^\d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d$/);
  delete parsed.createdOn;
  return parsed;
};

const keyOrder = (text: string): string[] => [...text.matchAll(/^\s*"(\w+)":/gm)].map((m) => m[1] as string);

describe('lantern-archiver', () => {
  let root: string;
  let src: string;
  const ARGS = [
    '--model-name', 'mnist', '-v', '2.0', '--serialized-file', 'weights/model.pt', '--model-file', 'model.py',
    '--handler', 'handlers/my_handler:handle', '--extra-files', 'extra,labels/*.json,notes.txt',
    '-r', 'requirements.txt', '-c', 'model-config.yaml',
  ];

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'lantern-archiver-'));
    src = path.join(root, 'src');
    const files: Record<string, string> = {
      'weights/model.pt': 'weights',
      'model.py': 'class Net: pass\n',
      'handlers/my_handler.py': 'def handle(data, context):\n    return data\n',
      'extra/vocab.txt': 'a b c\n',
      'extra/nested/deep.txt': 'deep\n',
      'extra/__pycache__/x.pyc': 'skip',
      'extra/.git/HEAD': 'skip',
      'extra/.env': 'dotfiles are kept\n',
      'labels/index_to_name.json': '{"0": "zero"}',
      'labels/other.json': '{}',
      'labels/.hidden.json': '{}',
      'notes.txt': 'notes\n',
      'requirements.txt': 'tinypkg==0.1\n',
      'model-config.yaml': 'batchSize: 2\n',
    };
    for (const [name, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(src, name)), { recursive: true });
      await writeFile(path.join(src, name), text);
    }
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const options = (argv: readonly string[], exportPath: string): ArchiverOptions => {
    const command = parseArchiverArgs([...argv, '--export-path', exportPath], src);
    assert.equal(command.kind, 'archive');
    return command.options;
  };

  /** Runs the real torch-model-archiver (PyPI) with the same arguments. */
  const torchModelArchiver = async (argv: readonly string[], exportPath: string): Promise<void> => {
    await run('python3', ['-m', 'model_archiver.model_packaging', ...argv, '--export-path', exportPath], { cwd: src });
  };

  for (const format of ['default', 'zip-store'] as const) {
    it(`makes the same ${format} .mar as torch-model-archiver: entries, contents, compression and manifest`, async () => {
      const theirs = path.join(root, `theirs-${format}`);
      const ours = path.join(root, `ours-${format}`);
      await mkdir(theirs);
      await mkdir(ours);
      const argv = [...ARGS, '--archive-format', format];
      await torchModelArchiver(argv, theirs);
      await packModel(options(argv, ours), { cwd: src, report: () => undefined });
      const a = await readZip(path.join(theirs, 'mnist.mar'));
      const b = await readZip(path.join(ours, 'mnist.mar'));
      const byName = (entries: ZipEntry[]): Map<string, ZipEntry> => new Map(entries.map((e) => [e.name, e]));
      assert.deepEqual([...byName(b).keys()].sort(), [...byName(a).keys()].sort());
      assert.equal(b.at(-1)?.name, 'MAR-INF/MANIFEST.json', 'the manifest is the last entry');
      for (const [name, theirEntry] of byName(a)) {
        const ourEntry = byName(b).get(name) as ZipEntry;
        assert.equal(ourEntry.method, theirEntry.method, `compression method of ${name}`);
        if (name === 'MAR-INF/MANIFEST.json') {
          assert.deepEqual(withoutCreatedOn(ourEntry.data.toString()), withoutCreatedOn(theirEntry.data.toString()));
          assert.deepEqual(keyOrder(ourEntry.data.toString()), keyOrder(theirEntry.data.toString()));
        } else assert.deepEqual(ourEntry.data, theirEntry.data, `contents of ${name}`);
      }
      assert.equal(b[0]?.method, format === 'zip-store' ? 0 : 8);
      assert.ok(byName(b).has('nested/deep.txt') && byName(b).has('.env') && !byName(b).has('.hidden.json'));
    });
  }

  it('makes the same tgz and no-archive outputs as torch-model-archiver', async () => {
    const theirs = path.join(root, 'theirs-other');
    const ours = path.join(root, 'ours-other');
    await mkdir(theirs);
    await mkdir(ours);
    for (const format of ['tgz', 'no-archive'] as const) {
      const argv = [...ARGS, '--archive-format', format];
      await torchModelArchiver(argv, theirs);
      await packModel(options(argv, ours), { cwd: src, report: () => undefined });
    }
    const a = readTgz(await readFile(path.join(theirs, 'mnist.tar.gz')));
    const b = readTgz(await readFile(path.join(ours, 'mnist.tar.gz')));
    assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
    assert.ok([...b.keys()].every((name) => name.startsWith('mnist/')));
    for (const [name, data] of a) {
      if (name.endsWith('MANIFEST.json')) assert.deepEqual(withoutCreatedOn(String(b.get(name))), withoutCreatedOn(String(data)));
      else assert.deepEqual(b.get(name), data, name);
    }
    const dirA = await listTree(path.join(theirs, 'mnist'));
    const dirB = await listTree(path.join(ours, 'mnist'));
    assert.deepEqual([...dirB.keys()].sort(), [...dirA.keys()].sort());
    const manifest = JSON.parse(String(dirB.get('MAR-INF/MANIFEST.json')));
    assert.deepEqual(manifest.model, {
      modelName: 'mnist',
      serializedFile: 'model.pt',
      handler: 'my_handler:handle',
      modelFile: 'model.py',
      modelVersion: '2.0',
      requirementsFile: 'requirements.txt',
      configFile: 'model-config.yaml',
    });
    assert.equal(manifest.runtime, 'python');
    assert.equal(manifest.archiverVersion, '0.12.0');
  });

  it('leaves a built-in handler out of the archive and names it in the manifest, as torch-model-archiver does', async () => {
    const theirs = path.join(root, 'theirs-builtin');
    const ours = path.join(root, 'ours-builtin');
    await mkdir(theirs);
    await mkdir(ours);
    const argv = ['--model-name', 'clf', '-v', '1', '--handler', 'image_classifier', '--serialized-file', 'weights/model.pt', '--runtime', 'python3'];
    await torchModelArchiver(argv, theirs);
    await packModel(options(argv, ours), { cwd: src, report: () => undefined });
    const a = await readZip(path.join(theirs, 'clf.mar'));
    const b = await readZip(path.join(ours, 'clf.mar'));
    assert.deepEqual(b.map((e) => e.name).sort(), a.map((e) => e.name).sort());
    const manifest = b.find((e) => e.name === 'MAR-INF/MANIFEST.json')?.data.toString() ?? '';
    assert.deepEqual(withoutCreatedOn(manifest), withoutCreatedOn(a.find((e) => e.name === 'MAR-INF/MANIFEST.json')?.data.toString() ?? ''));
    assert.equal(JSON.parse(manifest).model.handler, 'image_classifier');
  });

  it('refuses to replace an existing archive without --force and replaces it with --force', async () => {
    const out = path.join(root, 'force');
    await mkdir(out);
    const lines: string[] = [];
    const io = { cwd: src, out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
    const argv = ['--model-name', 'f', '-v', '1', '--handler', 'base_handler', '--export-path', out];
    assert.equal(await runArchiver(argv, io), 0);
    const first = await stat(path.join(out, 'f.mar'));
    lines.length = 0;
    assert.equal(await runArchiver(argv, io), 1);
    assert.match(lines.join(''), /f\.mar already exists\.\nPlease specify --force\/-f option/);
    assert.equal(await runArchiver([...argv, '-f'], io), 0);
    assert.ok((await stat(path.join(out, 'f.mar'))).mtimeMs >= first.mtimeMs);
    assert.deepEqual((await readdir(out)).sort(), ['f.mar'], 'no temporary files are left');
    assert.equal(await runArchiver([...argv, '--archive-format', 'no-archive'], io), 0);
    assert.equal(await runArchiver([...argv, '--archive-format', 'no-archive', '--force'], io), 0);
    assert.deepEqual((await readdir(out)).sort(), ['f', 'f.mar']);
  });

  it('explains missing files, bad names, bad formats and a missing export path, and writes nothing', async () => {
    const out = path.join(root, 'errors');
    await mkdir(out);
    const cases: Array<[string[], RegExp, number]> = [
      [['--model-name', 'bad name', '-v', '1', '--handler', 'base_handler'], /Model name "bad name" contains special characters/, 1],
      [['--model-name', 'm', '-v', '1', '--handler', 'base_handler', '--serialized-file', 'nope.pt'], /--serialized-file: file not found: nope\.pt/, 1],
      [['--model-name', 'm', '-v', '1', '--handler', 'missing_handler.py'], /--handler: file not found: missing_handler\.py; it is neither a file nor a built-in handler/, 1],
      [['--model-name', 'm', '-v', '1', '--handler', 'base_handler', '--extra-files', 'extra,gone.txt'], /--extra-files: file not found: gone\.txt/, 1],
      [['--model-name', 'm', '-v', '1', '--handler', 'base_handler', '--model-file', 'extra'], /--model-file: not a regular file: extra/, 1],
      [['--model-name', 'm', '-v', '1', '--handler', 'base_handler', '--archive-format', 'rar'], /--archive-format: invalid choice: 'rar'/, 2],
      [['--model-name', 'm', '--handler', 'base_handler'], /the following arguments are required: -v\/--version/, 2],
      [['--model-name', 'm', '-v', '1', '--handler', 'base_handler', '--bogus'], /Unknown option '--bogus'/, 2],
    ];
    for (const [argv, message, code] of cases) {
      const lines: string[] = [];
      const status = await runArchiver([...argv, '--export-path', out], { cwd: src, out: (t) => lines.push(t), err: (t) => lines.push(t) });
      assert.equal(status, code, argv.join(' '));
      assert.match(lines.join(''), message);
    }
    const lines: string[] = [];
    const status = await runArchiver(['--model-name', 'm', '-v', '1', '--handler', 'base_handler', '--export-path', path.join(root, 'nowhere')], {
      cwd: src,
      out: (t) => lines.push(t),
      err: (t) => lines.push(t),
    });
    assert.equal(status, 1);
    assert.match(lines.join(''), /Given export-path .*nowhere is not a directory/);
    assert.deepEqual(await readdir(out), []);
  });

  it('reports packing progress for large files', async () => {
    const out = path.join(root, 'progress');
    await mkdir(out);
    await writeFile(path.join(src, 'big.bin'), Buffer.alloc(3 * 1024 * 1024, 7));
    for (const format of ['default', 'tgz', 'no-archive'] as const) {
      const lines: string[] = [];
      const argv = ['--model-name', 'big', '-v', '1', '--handler', 'base_handler', '--serialized-file', 'big.bin', '--archive-format', format];
      await packModel(options(argv, out), { cwd: src, report: (l) => lines.push(l), progressMinBytes: 1024 * 1024 });
      assert.match(lines[0] ?? '', /^Packing big(\.mar|\.tar\.gz)?: 0% of 3\.0 MiB$/, format);
      assert.ok(lines.some((l) => /: [1-9]0% \(/.test(l)), `${format}: ${lines.join(' | ')}`);
      assert.match(lines.at(-1) ?? '', /: done, /);
      const quiet: string[] = [];
      await packModel(options([...argv, '-f'], out), { cwd: src, report: (l) => quiet.push(l) });
      assert.deepEqual(quiet.filter((l) => l.startsWith('Packing')), [], 'small archives are packed quietly');
    }
  });

  it('prints help and formats createdOn as dd/mm/YYYY HH:MM:SS', async () => {
    const lines: string[] = [];
    assert.equal(await runArchiver(['--help'], { cwd: src, out: (t) => lines.push(t), err: (t) => lines.push(t) }), 0);
    assert.match(lines.join(''), /--archive-format FORMAT/);
    assert.equal(createdOn(new Date(2024, 0, 5, 7, 8, 9)), '05/01/2024 07:08:09');
  });
});
