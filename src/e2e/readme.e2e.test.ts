// The README's command blocks, run in order as a newcomer would, in a copy of the repository: every
// fenced `sh` and `python` block after the opening one, each compared with the `json` block that
// follows it where the README shows one. The opening block's two commands are .ci/run's business
// (it runs the test line exactly; checked here) except `npm start`, whose server this test starts
// itself, in the background, with the package.json script the README names.
// What differs from a reader's terminal, and why:
// - TorchServe's default ports (8080, 8081, 8082, 7070, 7071) are swapped for free ones, in the
//   blocks and in a config.properties, so that the test never meets another server on this machine;
// - TEMP points into the copy, so `lantern --start/--stop` use a pid file of the test's own;
// - shell variables that a block sets (KEY=...) reach the later blocks, as in one terminal.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { pidAlive, processesIn, REPO_ROOT, waitFor } from './harness.js';
import { followServer, freePort, type LanternProcess } from './lantern-process.js';

interface Block {
  readonly lang: string;
  readonly text: string;
  /** The `##` heading the block is under. */
  readonly section: string;
  /** The `json` block right after this one, if any: what the README says it prints. */
  expected?: string;
}

/** The fenced blocks of a Markdown text, in order. */
function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let section = '';
  let open: { lang: string; lines: string[] } | null = null;
  for (const line of markdown.split('\n')) {
    if (open !== null) {
      if (line.startsWith('```')) {
        blocks.push({ lang: open.lang, text: open.lines.join('\n'), section });
        open = null;
      } else {
        open.lines.push(line);
      }
    } else if (line.startsWith('```')) {
      open = { lang: line.slice(3).trim(), lines: [] };
    } else if (line.startsWith('## ')) {
      section = line.slice(3).trim();
    }
  }
  const runnable: Block[] = [];
  for (const b of blocks) {
    if (b.lang === 'json' && runnable.length > 0) (runnable.at(-1) as Block).expected = b.text;
    else runnable.push(b);
  }
  return runnable;
}

const DEFAULT_PORTS = [8080, 8081, 8082, 7070, 7071] as const;
/** The section from which on `npm start` must be stopped (the README says Ctrl-C there). */
const WITHOUT_NPM_START = 'Using it like TorchServe';
const BLOCK_TIMEOUT_MS = 180_000;

/** The repository's tracked files, as in the work tree, with node_modules and dist/ linked in. */
async function copyOfRepository(): Promise<string> {
  const copy = await mkdtemp(path.join(os.tmpdir(), 'lantern-readme-'));
  const { stdout } = await promisify(execFile)('git', ['ls-files', '-z'], { cwd: REPO_ROOT, maxBuffer: 16 << 20 });
  for (const file of stdout.split('\0').filter((f) => f.length > 0)) {
    await mkdir(path.join(copy, path.dirname(file)), { recursive: true });
    await cp(path.join(REPO_ROOT, file), path.join(copy, file), { verbatimSymlinks: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err; // deleted in the work tree, not yet committed
    });
  }
  await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  await symlink(path.join(REPO_ROOT, 'dist'), path.join(copy, 'dist'));
  return copy;
}

/** The output of one block run by bash (or python3), with `exported` names saved to `stateFile`. */
async function runBlock(block: Block, cwd: string, env: NodeJS.ProcessEnv, stateFile: string): Promise<string> {
  if (block.lang === 'python') {
    const { stdout } = await promisify(execFile)('python3', ['-c', block.text], { cwd, env, timeout: BLOCK_TIMEOUT_MS });
    return stdout;
  }
  const assigned = [...block.text.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1] as string);
  const script = [
    'set -eo pipefail',
    `[ -f ${stateFile} ] && . ${stateFile}`,
    block.text,
    ...assigned.map((name) => `declare -p ${name} >> ${stateFile}`),
  ].join('\n');
  const { stdout } = await promisify(execFile)('bash', ['-c', script], { cwd, env, timeout: BLOCK_TIMEOUT_MS, maxBuffer: 16 << 20 }).catch(
    (err: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`README block under "${block.section}" failed:\n${block.text}\n--- stdout\n${err.stdout ?? ''}\n--- stderr\n${err.stderr ?? err.message}`);
    },
  );
  return stdout;
}

/** `npm start`'s server, started with the package.json script itself (exec'd, so the pid is the server's). */
function startNpmStart(cwd: string, env: NodeJS.ProcessEnv, script: string): LanternProcess {
  const child = spawn('/bin/sh', ['-c', `exec ${script}`], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  return followServer(child, 'npm start', 60_000);
}

test("the README's command blocks run in order from a copy of the repository and print what the README shows", { timeout: 900_000 }, async () => {
  const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const [opening, ...blocks] = fencedBlocks(readme).filter((b) => b.lang === 'sh' || b.lang === 'python');
  assert.ok(opening !== undefined && blocks.length > 0, 'README has command blocks');
  const [startLine, testLine] = opening.text.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim());
  assert.equal(startLine, 'npm ci && npm start');
  // .ci/run runs the README's test line as it is written.
  assert.ok((await readFile(path.join(REPO_ROOT, '.ci', 'run'), 'utf8')).split('\n').includes(testLine as string), `.ci/run runs "${testLine}"`);
  assert.ok(blocks.some((b) => b.section === WITHOUT_NPM_START), `a section "${WITHOUT_NPM_START}"`);

  const copy = await copyOfRepository();
  const ports = new Map<number, number>();
  for (const p of DEFAULT_PORTS) ports.set(p, await freePort());
  const withPorts = (text: string): string => text.replace(/127\.0\.0\.1:(\d{4})\b/g, (all, p: string) => (ports.has(Number(p)) ? `127.0.0.1:${ports.get(Number(p))}` : all));
  const port = (p: number): number => ports.get(p) as number;
  await writeFile(
    path.join(copy, 'config.properties'),
    [
      `inference_address=http://127.0.0.1:${port(8080)}`,
      `management_address=http://127.0.0.1:${port(8081)}`,
      `metrics_address=http://127.0.0.1:${port(8082)}`,
      `grpc_inference_port=${port(7070)}`,
      `grpc_management_port=${port(7071)}`,
      // No load balancer watches the reader's server: `lantern --stop` stops it at once.
      'shutdown_delay_sec=0',
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, TEMP: copy };
  delete env.LOG_LOCATION; // logs/ in the copy, as for a reader
  const stateFile = path.join(copy, '.readme-test-state.sh');
  const script = (JSON.parse(await readFile(path.join(copy, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const npmStart = startNpmStart(copy, env, script);
  try {
    await npmStart.ready();
    for (const block of blocks) {
      if (block.section === WITHOUT_NPM_START && npmStart.child.exitCode === null) {
        npmStart.signal('SIGINT'); // Ctrl-C
        assert.equal(await npmStart.exited, 0, npmStart.output.join('\n'));
      }
      const output = await runBlock({ ...block, text: withPorts(block.text) }, copy, env, stateFile);
      if (block.expected !== undefined) {
        assert.deepEqual(JSON.parse(output) as unknown, JSON.parse(block.expected) as unknown, `output of the block under "${block.section}":\n${block.text}`);
      }
    }
    // The README's own commands stopped every server they started, workers included.
    await waitFor('every process started in the copy to exit', async () => (await processesIn(copy)).length === 0, 30_000);
  } finally {
    npmStart.signal('SIGKILL');
    await npmStart.exited;
    for (const pid of await processesIn(copy)) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    await rm(copy, { recursive: true, force: true });
  }
});
