// TorchServe itself, for the side-by-side rows: the `torchserve` command of the virtual environment
// bench/setup-torchserve.sh makes (or LANTERN_BENCH_TORCHSERVE), started in the foreground on free
// ports with the settings Lantern's rows use: token authorization off, the model API on, default
// logging. Its temporary files (pid file, extracted archives) stay in the run's folder.
import { execFile } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, spawnLogged } from './processes.mjs';

const DEFAULT_COMMAND = path.join(ROOT, 'bench', '.cache', 'torchserve', 'bin', 'torchserve');

/**
 * The TorchServe install: its command, the Python next to it (its workers' interpreter, which
 * Lantern's Python workers then use too) and its version; or the reason there is none.
 */
export async function findTorchServe() {
  const command = process.env.LANTERN_BENCH_TORCHSERVE ?? DEFAULT_COMMAND;
  const python = path.join(path.dirname(command), 'python');
  try {
    await access(command);
    const { stdout } = await promisify(execFile)(python, ['-c', "import importlib.metadata as m, onnxruntime; print(m.version('torchserve'))"]);
    await promisify(execFile)('java', ['-version']);
    return { command, python, version: stdout.trim(), reason: null };
  } catch (err) {
    const why = String(err.message).split('\n')[0];
    return { reason: `no TorchServe at ${command} with onnxruntime and java (bash bench/setup-torchserve.sh installs it): ${why}` };
  }
}

/** `count` ports that were free a moment ago (TorchServe prints the configured port, not the bound one, so port 0 will not do). */
async function freePorts(count) {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/**
 * Starts TorchServe with its model store at `store`, `models` (`name=file.mar`) loaded at start
 * when given, `env` added to its environment (its workers inherit it); resolves once it says it started. `pid` is its front end (the JVM), the process whose
 * memory and CPU the rows report; `child` is the `torchserve` command waiting on it.
 */
export async function startTorchServe(dir, store, torchserve, { models = null, env = {} } = {}) {
  const [inference, management, metrics, grpcInference, grpcManagement] = await freePorts(5);
  const config = path.join(dir, 'config.properties');
  await writeFile(
    config,
    `inference_address=http://127.0.0.1:${inference}\nmanagement_address=http://127.0.0.1:${management}\n` +
      `metrics_address=http://127.0.0.1:${metrics}\ngrpc_inference_port=${grpcInference}\ngrpc_management_port=${grpcManagement}\n` +
      `model_store=${store}\ndisable_token_authorization=true\nenable_model_api=true\ndefault_workers_per_model=1\n`,
  );
  const argv = ['--start', '--foreground', '--ncs', '--ts-config', config, '--disable-token-auth', '--enable-model-api'];
  if (models !== null) argv.push('--models', models);
  const pidFile = path.join(dir, '.model_server.pid');
  let proc;
  try {
    proc = await spawnLogged(argv, {
      command: torchserve.command,
      cwd: dir,
      logFile: path.join(dir, 'torchserve.out'),
      pattern: /Model server started/,
      // The pid file and the extracted archives go to the run's folder, not /tmp.
      env: { ...env, TMPDIR: dir, TEMP: dir },
      timeoutMs: 120_000,
    });
  } catch (err) {
    // The command is gone; a JVM it had started would be left behind.
    const jvm = await jvmPid(pidFile);
    if (jvm !== null && alive(jvm)) process.kill(jvm, 'SIGKILL');
    throw err;
  }
  const pid = await jvmPid(pidFile);
  if (pid === null) throw new Error(`TorchServe started but wrote no pid file at ${pidFile}`);
  return { ...proc, pid, inference: `http://127.0.0.1:${inference}`, management: `http://127.0.0.1:${management}` };
}

/** The JVM's pid, from the file the `torchserve` command writes; null when there is none. */
async function jvmPid(pidFile) {
  const text = await readFile(pidFile, 'utf8').catch(() => null);
  const pid = text === null ? Number.NaN : Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Stops the JVM (its workers exit with it; any that linger are killed) and waits for the command. */
export async function stopTorchServe(proc, workerPids = []) {
  if (alive(proc.pid)) process.kill(proc.pid, 'SIGTERM');
  const timer = setTimeout(() => alive(proc.pid) && process.kill(proc.pid, 'SIGKILL'), 15_000);
  await proc.exited;
  clearTimeout(timer);
  for (const pid of workerPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
}
