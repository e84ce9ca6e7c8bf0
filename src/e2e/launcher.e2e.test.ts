// The `lantern` command npm installs (bin/lantern): it starts Node with V8's old generation capped
// and its collection limit floored (docs/performance.md, "Tuning knobs"), leaves the cap to NODE_OPTIONS
// when that sets one, and the background mode (`--start` without `--foreground`) passes both on to
// the server it spawns. A start that fails says why in words a newcomer can act on, and a restored
// snapshot that hides --models says so.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { pidAlive, REPO_ROOT, waitFor } from './harness.js';
import { freePort, LANTERN_BIN, LANTERN_COMMAND, startLanternProcess, writePortConfig } from './lantern-process.js';

const HEAP_CAP = '--max-old-space-size=1024';
const HEAP_FLOOR = '--initial-old-space-size=40';
const MODEL_STORE = path.join(REPO_ROOT, 'examples', 'model-store');

async function commandLine(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((a) => a.length > 0);
}

/** Runs `lantern --foreground` from `cwd` until it is ready, then hands its command line to `check`. */
async function inForeground(cwd: string, env: Record<string, string>, check: (argv: string[]) => void): Promise<void> {
  const lantern = startLanternProcess(cwd, ['--ncs', '--model-store', MODEL_STORE], env, true);
  try {
    await lantern.ready();
    // The shell script has exec'd Node: the pid is the server's.
    check(await commandLine(lantern.pid));
  } finally {
    lantern.signal('SIGTERM');
    await lantern.exited;
  }
}

test('lantern runs the server with the heap cap and floor, and NODE_OPTIONS can set another cap', async () => {
  const cwd = await mkdtemp(path.join(os.tmpdir(), 'lantern-launcher-'));
  try {
    await writePortConfig(cwd, ['disable_token_authorization=true']);
    await inForeground(cwd, { NODE_OPTIONS: '' }, (argv) => {
      assert.equal(path.basename(argv[0] as string), 'node');
      assert.deepEqual(argv.slice(1, 4), [HEAP_CAP, HEAP_FLOOR, path.join(REPO_ROOT, 'bin', 'lantern.js')]);
    });
    await inForeground(cwd, { NODE_OPTIONS: '--max-old-space-size=2048' }, (argv) => {
      assert.ok(!argv.some((a) => a.startsWith('--max-old-space-size')), argv.join(' '));
      assert.ok(argv.includes(HEAP_FLOOR), argv.join(' '));
    });
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
});

test('lantern --start passes the heap cap and floor to the background server, and --stop stops it', async () => {
  const cwd = await mkdtemp(path.join(os.tmpdir(), 'lantern-launcher-'));
  // TEMP holds the pid file: a folder of this test's own, so that no other server is in the way.
  const env = { ...process.env, TEMP: cwd, NODE_OPTIONS: '' };
  let pid = -1;
  try {
    await writePortConfig(cwd, ['disable_token_authorization=true']);
    const started = await promisify(execFile)(LANTERN_COMMAND, ['--start', '--ncs', '--model-store', MODEL_STORE], { cwd, env });
    const match = /Lantern started \(pid (\d+)\)/.exec(started.stdout);
    assert.ok(match, started.stdout);
    pid = Number(match[1]);
    const argv = await commandLine(pid);
    assert.ok(argv.includes(HEAP_CAP) && argv.includes(HEAP_FLOOR), argv.join(' '));
    assert.ok(argv.includes('--foreground'), argv.join(' '));
    const stopped = await promisify(execFile)(LANTERN_COMMAND, ['--stop'], { cwd, env });
    assert.match(stopped.stdout, /Lantern has stopped/);
    await waitFor('the background server to exit', () => !pidAlive(pid));
  } finally {
    if (pid > 0 && pidAlive(pid)) process.kill(pid, 'SIGKILL');
    await rm(cwd, { recursive: true, force: true });
  }
});

test('a second server on a taken address names it and what to do, in one line, in the foreground and in the background', async () => {
  const [first, second] = [await mkdtemp(path.join(os.tmpdir(), 'lantern-launcher-')), await mkdtemp(path.join(os.tmpdir(), 'lantern-launcher-'))];
  const ports = { inference: await freePort(), management: await freePort() };
  const running = startLanternProcess(first, ['--ncs', '--model-store', MODEL_STORE]);
  try {
    for (const cwd of [first, second]) await writePortConfig(cwd, ['disable_token_authorization=true'], ports);
    await running.ready();
    const taken = `Cannot listen on 127.0.0.1:${ports.inference}: the address is already in use, probably by another Lantern or TorchServe. Stop it (lantern --stop`;

    const foreground = startLanternProcess(second, ['--ncs', '--model-store', MODEL_STORE]);
    assert.equal(await foreground.exited, 1);
    assert.ok(foreground.output.some((l) => l.startsWith(taken)), foreground.output.join('\n'));
    assert.ok(!foreground.output.some((l) => /^\s+at /.test(l)), `no stack trace:\n${foreground.output.join('\n')}`);

    // The background start reports the reason its server wrote to logs/lantern.log before exiting.
    const background = await promisify(execFile)(process.execPath, [LANTERN_BIN, '--start', '--ncs', '--model-store', MODEL_STORE], {
      cwd: second,
      env: { ...process.env, TEMP: second },
    }).then(
      () => assert.fail('the background start succeeded on a taken address'),
      (err: { code?: number; stderr?: string }) => err,
    );
    assert.equal(background.code, 1);
    const lines = (background.stderr ?? '').split('\n');
    assert.equal(lines[0], 'Lantern failed to start:', background.stderr);
    assert.ok(lines.some((l) => l.trim().startsWith(taken)), background.stderr);
    assert.ok(lines.includes('See logs/lantern.log'), background.stderr);
  } finally {
    running.signal('SIGTERM');
    await running.exited;
    await Promise.all([first, second].map((cwd) => rm(cwd, { recursive: true, force: true })));
  }
});

test('a restored snapshot that hides --models and config.properties says so at start, on the console and in the log', async () => {
  const cwd = await mkdtemp(path.join(os.tmpdir(), 'lantern-launcher-'));
  try {
    await writePortConfig(cwd, ['disable_token_authorization=true']);
    const first = startLanternProcess(cwd, ['--model-store', MODEL_STORE]);
    await first.ready();
    first.signal('SIGTERM');
    assert.equal(await first.exited, 0);

    const second = startLanternProcess(cwd, ['--model-store', MODEL_STORE, '--models', 'iris=iris']);
    try {
      await second.ready();
      const notice = /Restored snapshot \S+\/logs\/config\/\d+-shutdown\.cfg; --models and config\.properties ignored; use --ncs to start clean$/;
      assert.ok(second.output.some((l) => notice.test(l)), second.output.join('\n'));
      const log = await readFile(path.join(cwd, 'logs', 'ts_log.log'), 'utf8');
      assert.ok(log.split('\n').some((l) => notice.test(l)), log);
    } finally {
      second.signal('SIGTERM');
      await second.exited;
    }
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
});
