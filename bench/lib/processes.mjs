// The processes under test: Lantern as users run it (`lantern --foreground`, that is bin/lantern,
// its console going to a file as `> lantern.out` would) and the bare node:http ceiling.
import { spawn } from 'node:child_process';
import { open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The `lantern` command that npm installs (a shell script that starts Node with its heap settings). */
export const LANTERN_COMMAND = path.join(ROOT, 'bin', 'lantern');

/** Every listener on a free port, so that a benchmark never collides with a server already running. */
export const FREE_PORTS =
  'inference_address=http://127.0.0.1:0\nmanagement_address=http://127.0.0.1:0\nmetrics_address=http://127.0.0.1:0\n' +
  'grpc_inference_port=0\ngrpc_management_port=0\n';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `command` (node by default) with `argv`, stdout and stderr going to `logFile`, and resolves
 * once `pattern` matches the output. A file, not a pipe: a pipe the benchmark is too busy to drain
 * would slow the server down.
 */
export async function spawnLogged(argv, { command = process.execPath, cwd, logFile, pattern, env = {}, timeoutMs = 60_000 }) {
  const out = await open(logFile, 'w');
  const child = spawn(command, argv, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', out.fd, out.fd] });
  await out.close();
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  let finished = null;
  void exited.then((v) => (finished = v));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(logFile, 'utf8');
    const match = pattern.exec(text);
    if (match) return { child, match, exited, logFile };
    if (finished !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${[command, ...argv].join(' ')} ${finished !== null ? `exited (${finished})` : 'timed out'} before it was ready:\n${text.slice(-4000)}`);
    }
    await sleep(20);
  }
}

export async function stopProcess(proc) {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 15_000);
  await proc.exited;
  clearTimeout(timer);
}

/** The HTTP ceiling: bare node:http in its own process, answering the same bytes as the no-op model. */
export async function startHttpCeiling(dir, body) {
  const proc = await spawnLogged([path.join(ROOT, 'bench', 'baseline-server.mjs'), body], {
    cwd: dir,
    logFile: path.join(dir, 'baseline.out'),
    pattern: /PORT (\d+)/,
  });
  return { ...proc, url: `http://127.0.0.1:${proc.match[1]}/` };
}

/**
 * Lantern from the built code, both APIs on free ports, the model API on and token authorization
 * off. `env` is added to its environment (NODE_OPTIONS reaches the server and its Node workers);
 * `models` (`name=archive,...`) are loaded at start.
 */
export async function startLantern(dir, store, { env = {}, properties = '', models = null } = {}) {
  const config = path.join(dir, 'bench.properties');
  await writeFile(
    config,
    `${FREE_PORTS}model_store=${store}\n` +
      `disable_token_authorization=true\nenable_model_api=true\n${properties}`,
  );
  const argv = ['--foreground', '--ncs', '--ts-config', config];
  if (models !== null) argv.push('--models', models);
  const proc = await spawnLogged(argv, {
    command: LANTERN_COMMAND,
    cwd: dir,
    logFile: path.join(dir, 'lantern.out'),
    pattern: /Inference API listening on (\S+)[\s\S]*Management API listening on (\S+)[\s\S]*Lantern is ready/,
    env,
  });
  return { ...proc, pid: proc.child.pid, inference: proc.match[1], management: proc.match[2] };
}

export async function mgmt(base, method, pathAndQuery) {
  const res = await fetch(`${base}${pathAndQuery}`, { method });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${pathAndQuery}: ${res.status} ${text}`);
  return text;
}

/** The pids of a model's workers, from the describe API. */
export async function workerPids(management, model) {
  const described = JSON.parse(await mgmt(management, 'GET', `/models/${model}`))[0];
  return described.workers.map((w) => w.pid).filter((pid) => pid > 0);
}
