// `lantern`: start (in the foreground or as a background server), stop, version, help.
import { spawn } from 'node:child_process';
import { existsSync, fstatSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../config/load-config.js';
import { consoleLogger, type Logger } from '../logger.js';
import { openServerLogs, serverLogSettings, type ConsoleTarget } from '../logging/server-logs.js';
import { defaultEnvironment, startServer, VERSION, type RunningServer } from '../main.js';
import { parseLanternArgs, USAGE, UsageError, type LanternArgs } from './lantern-args.js';
import { addressInUseMessage, appendedSince, failureReason } from './start-failure.js';
import { isServeError } from '../errors.js';
import { SnapshotStore, snapshotDir } from '../snapshot/snapshot-store.js';
import { SNAPSHOT_ONLY_PROPERTIES, SnapshotFormatError } from '../snapshot/snapshot-content.js';

const LISTENER_LABELS: Record<string, string> = {
  inference: 'Inference API',
  management: 'Management API',
  'grpc-inference': 'gRPC inference API',
  'grpc-management': 'gRPC management API',
  metrics: 'Metrics API',
};
const listenerLabel = (api: string): string => LISTENER_LABELS[api] ?? `${api} API`;

const PID_FILE = path.join(process.env.TEMP ?? os.tmpdir(), '.lantern.pid');
const ENTRY = fileURLToPath(new URL('../../bin/lantern.js', import.meta.url));

function readPid(): number | null {
  try {
    const pid = Number(readFileSync(PID_FILE, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

interface ConfigFile {
  readonly text: string | null;
  /** Named by TS_CONFIG_FILE or --ts-config. */
  readonly named: boolean;
  /** The file read, or null. */
  readonly path: string | null;
  /** The file is the newest snapshot, picked because no config file was named. */
  readonly snapshot: boolean;
}

/** TS_CONFIG_FILE, else --ts-config, else the newest snapshot (unless --ncs), else ./config.properties (spec §5.1). */
async function configFile(args: LanternArgs): Promise<ConfigFile> {
  const named = process.env.TS_CONFIG_FILE ?? args.tsConfig;
  if (named !== null && named !== undefined) {
    if (!existsSync(named)) throw new UsageError(`--ts-config file not found: ${named}`);
    return { text: readFileSync(named, 'utf8'), named: true, path: path.resolve(named), snapshot: false };
  }
  if (!args.noSnapshots) {
    const store = new SnapshotStore(snapshotDir(process.env, process.cwd()), Number.POSITIVE_INFINITY);
    const newest = await store.newest();
    if (newest !== null) return { text: newest.text, named: false, path: path.join(store.dir, newest.name), snapshot: true };
  }
  const text = existsSync('config.properties') ? readFileSync('config.properties', 'utf8') : null;
  return { text, named: false, path: text === null ? null : path.resolve('config.properties'), snapshot: false };
}

/**
 * TorchServe's precedence lets a restored snapshot silently replace what this start asked for
 * (--models, ./config.properties); say so, and how to start clean. Null when nothing is hidden.
 */
function snapshotNotice(file: ConfigFile, args: LanternArgs): string | null {
  if (!file.snapshot) return null;
  const ignored = [
    ...(args.cli.load_models !== undefined ? ['--models'] : []),
    ...(existsSync('config.properties') ? ['config.properties'] : []),
  ];
  if (ignored.length === 0) return null;
  return `Restored snapshot ${file.path ?? ''}; ${ignored.join(' and ')} ignored; use --ncs to start clean`;
}

async function runForeground(args: LanternArgs): Promise<void> {
  let logger: Logger = consoleLogger();
  for (const w of args.warnings) logger.warn(w);
  const file = await configFile(args);
  if (file.path !== null) logger.info(`Reading configuration from ${file.path}`);
  const { config, warnings } = loadConfig({ fileText: file.text, cli: args.cli, env: process.env, fileIsRestoredSnapshot: file.snapshot });
  const snapshotOnly = new Set(SNAPSHOT_ONLY_PROPERTIES.map((name) => `Unknown configuration key "${name}" ignored`));
  for (const w of warnings) if (!snapshotOnly.has(w)) logger.warn(w);
  if (config.model_store === null && !(file.named && /^\s*model_store\s*[=:]/m.test(file.text ?? ''))) {
    throw new UsageError('Missing mandatory parameter --model-store');
  }
  if (config.model_store !== null && !statSync(config.model_store, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`--model-store is not a directory: ${config.model_store}`);
  }
  // From here on every line also goes to the log files under LOG_LOCATION (docs/metrics.md#logs).
  const terminal: ConsoleTarget = {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    outBytes: (bytes) => process.stdout.write(bytes),
  };
  const logs = openServerLogs(serverLogSettings(config, process.env, process.cwd(), terminal));
  logger = logs;
  logger.info(`Logs are written to ${serverLogSettings(config, process.env, process.cwd(), null).logDir}`);
  const notice = snapshotNotice(file, args);
  if (notice !== null) logger.warn(notice);
  const server: RunningServer = await startServer(config, defaultEnvironment(logger), {
    snapshots: !args.noSnapshots,
    configFile: file.path,
  });
  for (const l of server.listeners) logger.info(`${listenerLabel(l.api)} listening on ${l.url}`);
  if (server.keyFile !== null) {
    logger.info(`Token authorization is on: the keys are in ${server.keyFile} (Authorization: Bearer <key>)`);
  } else {
    logger.warn('Token authorization is disabled: anyone who reaches the listeners can use the APIs');
  }
  logger.info('Lantern is ready');
  process.send?.({ ready: true, listeners: server.listeners, keyFile: server.keyFile });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      // A second signal skips the wait; workers exit on their own once the server is gone.
      logger.warn(`Received ${signal} again; exiting without waiting for open requests`);
      process.exit(1);
    }
    stopping = true;
    logger.info(`Received ${signal}; stopping (open requests get up to graceful_shutdown_timeout_sec)`);
    server.close().then(
      () => logs.close().then(() => process.exit(0)),
      (err: unknown) => {
        logger.error('Error while stopping', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** Starts the server as a detached process, waits until it listens, records its pid. */
async function runBackground(argv: readonly string[]): Promise<void> {
  if (readPid() !== null) {
    throw new UsageError('Lantern is already running, please use lantern --stop to stop Lantern.');
  }
  mkdirSync(process.env.LOG_LOCATION ?? 'logs', { recursive: true });
  const logFile = path.join(process.env.LOG_LOCATION ?? 'logs', 'lantern.log');
  const out = openSync(logFile, 'a');
  const startOffset = fstatSync(out).size;
  // The server runs with this process's Node flags (bin/lantern's heap cap among them).
  const child = spawn(process.execPath, [...process.execArgv, ENTRY, ...argv, '--foreground'], {
    detached: true,
    stdio: ['ignore', out, out, 'ipc'],
  });
  type Ready = { listeners: Array<{ api: string; url: string }>; keyFile: string | null };
  const ready = await new Promise<Ready | null>((resolve) => {
    child.once('message', (m) => resolve(m as Ready));
    child.once('exit', () => resolve(null));
  });
  if (ready === null) {
    const reason = failureReason(appendedSince(logFile, startOffset));
    throw new UsageError(['Lantern failed to start:', ...reason.map((l) => `  ${l}`), `See ${logFile}`].join('\n'));
  }
  writeFileSync(PID_FILE, String(child.pid));
  for (const l of ready.listeners) console.log(`${listenerLabel(l.api)}: ${l.url}`);
  if (ready.keyFile !== null) console.log(`Token authorization is on: keys in ${ready.keyFile}`);
  console.log(`Lantern started (pid ${String(child.pid)}); logs in ${logFile}`);
  child.disconnect();
  child.unref();
}

async function runStop(): Promise<void> {
  const pid = readPid();
  if (pid === null) {
    console.log('Lantern is not currently running.');
    return;
  }
  process.kill(pid, 'SIGTERM');
  // The server drains for up to graceful_shutdown_timeout_sec before it stops its workers.
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let waitedMs = 0; alive(); waitedMs += 100) {
    if (waitedMs === 5000) console.log('Waiting for requests in flight to finish...');
    if (waitedMs >= 600_000) {
      console.log(`Lantern (pid ${pid}) is still stopping; check its log.`);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  rmSync(PID_FILE, { force: true });
  rmSync('key_file.json', { force: true });
  console.log('Lantern has stopped.');
}

export async function main(argv: readonly string[]): Promise<void> {
  try {
    const args = parseLanternArgs(argv);
    switch (args.action) {
      case 'help':
        process.stdout.write(USAGE);
        return;
      case 'version':
        console.log(`Lantern Version is ${VERSION}`);
        return;
      case 'stop':
        await runStop();
        return;
      case 'start':
        if (args.foreground) await runForeground(args);
        else await runBackground(argv.filter((a) => a !== '--start'));
    }
  } catch (err) {
    const inUse = addressInUseMessage(err);
    if (inUse !== null) {
      process.stderr.write(`${inUse}\n`);
    } else if (err instanceof UsageError || err instanceof ConfigError || isServeError(err) || err instanceof SnapshotFormatError) {
      process.stderr.write(`${err.message}\n`);
    } else {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    process.exit(1);
  }
}
