// `lantern`: start (in the foreground or as a background server), stop, version, help.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../config/load-config.js';
import { consoleLogger } from '../logger.js';
import { defaultEnvironment, startServer, VERSION, type RunningServer } from '../main.js';
import { parseLanternArgs, USAGE, UsageError, type LanternArgs } from './lantern-args.js';

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

function configFileText(args: LanternArgs): { text: string | null; named: boolean } {
  const named = process.env.TS_CONFIG_FILE ?? args.tsConfig;
  if (named !== null && named !== undefined) {
    if (!existsSync(named)) throw new UsageError(`--ts-config file not found: ${named}`);
    return { text: readFileSync(named, 'utf8'), named: true };
  }
  return { text: existsSync('config.properties') ? readFileSync('config.properties', 'utf8') : null, named: false };
}

async function runForeground(args: LanternArgs): Promise<void> {
  const logger = consoleLogger();
  for (const w of args.warnings) logger.warn(w);
  const file = configFileText(args);
  const { config, warnings } = loadConfig({ fileText: file.text, cli: args.cli, env: process.env });
  for (const w of warnings) logger.warn(w);
  if (config.model_store === null && !(file.named && /^\s*model_store\s*[=:]/m.test(file.text ?? ''))) {
    throw new UsageError('Missing mandatory parameter --model-store');
  }
  if (config.model_store !== null && !statSync(config.model_store, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`--model-store is not a directory: ${config.model_store}`);
  }
  const server: RunningServer = await startServer(config, defaultEnvironment(logger));
  for (const l of server.listeners) logger.info(`${l.api === 'inference' ? 'Inference' : 'Management'} API listening on ${l.url}`);
  if (server.keyFile !== null) {
    logger.info(`Token authorization is on: the keys are in ${server.keyFile} (Authorization: Bearer <key>)`);
  } else {
    logger.warn('Token authorization is disabled: anyone who reaches the listeners can use the APIs');
  }
  logger.info('Lantern is ready');
  process.send?.({ ready: true, listeners: server.listeners, keyFile: server.keyFile });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info(`Received ${signal}; stopping`);
    server.close().then(
      () => process.exit(0),
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
  const child = spawn(process.execPath, [ENTRY, ...argv, '--foreground'], {
    detached: true,
    stdio: ['ignore', out, out, 'ipc'],
  });
  type Ready = { listeners: Array<{ api: string; url: string }>; keyFile: string | null };
  const ready = await new Promise<Ready | null>((resolve) => {
    child.once('message', (m) => resolve(m as Ready));
    child.once('exit', () => resolve(null));
  });
  if (ready === null) throw new UsageError(`Lantern failed to start; see ${logFile}`);
  writeFileSync(PID_FILE, String(child.pid));
  for (const l of ready.listeners) console.log(`${l.api === 'inference' ? 'Inference' : 'Management'} API: ${l.url}`);
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
  for (let i = 0; i < 600; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      break;
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
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
    } else {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    process.exit(1);
  }
}
