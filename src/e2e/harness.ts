// End-to-end test support: a temporary model store with .mar archives built from the handler
// fixtures in test/fixtures/handlers, a real Lantern server on free ports with real Python
// workers, an HTTP client over real sockets, and process checks.
import { cp, mkdir, mkdtemp, readdir, readFile, readlink, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssertionError } from 'node:assert/strict';
import { ZipFile } from 'yazl';
import { loadConfig } from '../config/load-config.js';
import { consoleLogger } from '../logger.js';
import { startServer, type RunningServer } from '../main.js';

/** The repository root (this file runs from dist/e2e/). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const HANDLERS_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'handlers');
export const IRIS_DIR = path.join(REPO_ROOT, 'examples', 'model-store', 'iris');

export type HandlerFixture =
  | 'echo_handler.py'
  | 'batch_handler.py'
  | 'slow_handler.py'
  | 'crash_handler.py'
  | 'response_handler.py'
  | 'describe_handler.py'
  | 'failing_init_handler.py'
  | 'metrics_handler.py'
  | 'leaking_handler.py'
  | 'kserve_handler.py';

export interface MarSpec {
  /** File name in the model store, e.g. `noop.mar`. */
  readonly file: string;
  readonly handler: HandlerFixture;
  /** Manifest modelName; null leaves it out of the manifest. */
  readonly modelName: string | null;
  readonly version?: string;
  readonly runtime?: string;
  /** model-config.yaml text, packed and named in the manifest when given. */
  readonly config?: string;
}

/** Builds the bytes of a .mar: the handler at the root and MAR-INF/MANIFEST.json. */
export async function marBytes(spec: Omit<MarSpec, 'file'>): Promise<Buffer> {
  const model: Record<string, string> = { serializedFile: '', handler: spec.handler, modelVersion: spec.version ?? '1.0' };
  if (spec.modelName !== null) model.modelName = spec.modelName;
  if (spec.config !== undefined) model.configFile = 'model-config.yaml';
  const manifest = { createdOn: '01/01/2026 00:00:00', runtime: spec.runtime ?? 'python', model, archiverVersion: '0.12.0' };
  const zip = new ZipFile();
  zip.addBuffer(await readFile(path.join(HANDLERS_DIR, spec.handler)), spec.handler);
  if (spec.config !== undefined) zip.addBuffer(Buffer.from(spec.config), 'model-config.yaml');
  zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2)), 'MAR-INF/MANIFEST.json');
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A .mar of the digits ONNX model served by the built-in onnx handler, named `mlp`. */
export async function onnxMar(): Promise<Buffer> {
  const zip = new ZipFile();
  zip.addBuffer(await readFile(path.join(REPO_ROOT, 'examples', 'model-store', 'digits', 'digits.onnx')), 'model.onnx');
  const manifest = { createdOn: '01/01/2026 00:00:00', runtime: 'node', model: { modelName: 'mlp', serializedFile: 'model.onnx', handler: '', modelVersion: '1.0' }, archiverVersion: '0.12.0' };
  zip.addBuffer(Buffer.from(JSON.stringify(manifest)), 'MAR-INF/MANIFEST.json');
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface LanternOptions {
  /** Archives to put in the model store before the server starts. */
  readonly archives?: readonly MarSpec[];
  readonly enableModelApi?: boolean;
  /** Extra config.properties lines. */
  readonly properties?: readonly string[];
  /** Copy the bundled iris example (directory form) into the store. */
  readonly withIris?: boolean;
}

export interface Lantern {
  readonly server: RunningServer;
  readonly store: string;
  readonly management: string;
  readonly inference: string;
  /** Server and worker output, for diagnosing failures. */
  readonly logs: string[];
  /** Adds an archive to the model store while the server runs. */
  addArchive(spec: MarSpec): Promise<void>;
  writeStoreFile(name: string, data: Buffer | string): Promise<void>;
  /** Pids of every live worker process of a model version (default version when omitted). */
  pids(name: string, version?: string): number[];
  /** Every live process running in this server's model directories, as seen by the OS. */
  osWorkerPids(): Promise<number[]>;
  close(): Promise<void>;
}

export async function startLantern(options: LanternOptions = {}): Promise<Lantern> {
  const tmp = await realpath(await mkdtemp(path.join(tmpdir(), 'lantern-e2e-')));
  const store = path.join(tmp, 'store');
  const work = path.join(tmp, 'work');
  const addArchive = async (spec: MarSpec): Promise<void> => {
    await writeFile(path.join(store, spec.file), await marBytes(spec));
  };
  await mkdir(store, { recursive: true });
  await mkdir(work, { recursive: true });
  for (const spec of options.archives ?? []) await addArchive(spec);
  if (options.withIris === true) await cp(IRIS_DIR, path.join(store, 'iris'), { recursive: true });

  const fileText = [
    'inference_address=http://127.0.0.1:0',
    'management_address=http://127.0.0.1:0',
    'grpc_inference_port=0',
    'grpc_management_port=0',
    'metrics_address=http://127.0.0.1:0',
    `enable_model_api=${options.enableModelApi === false ? 'false' : 'true'}`,
    `model_store=${store}`,
    'disable_token_authorization=true',
    ...(options.properties ?? []),
  ].join('\n');
  const { config } = loadConfig({ fileText, cli: {}, env: {} });
  const logs: string[] = [];
  const collect = (line: string): void => {
    logs.push(line);
  };
  const server = await startServer(config, {
    env: process.env,
    cwd: tmp,
    tmpDir: work,
    cpuCount: 1,
    logger: consoleLogger({ quietAccess: true, out: collect, err: collect }),
  });
  const url = (api: string): string => {
    const listener = server.listeners.find((l) => l.api === api);
    if (listener === undefined) throw new Error(`no ${api} listener`);
    return listener.url;
  };
  let closed = false;
  return {
    server,
    store,
    management: url('management'),
    inference: url('inference'),
    logs,
    addArchive,
    writeStoreFile: (name, data) => writeFile(path.join(store, name), data),
    pids: (name, version) => server.registry.get(name, version).pool.pids(),
    osWorkerPids: () => processesIn(work),
    close: async () => {
      if (closed) return;
      closed = true;
      await server.close();
      try {
        // Workers run in their extracted model directory: none may outlive the server.
        await waitFor('every worker process to exit', async () => (await processesIn(work)).length === 0, 10_000);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    },
  };
}

// ---- HTTP client ----

export interface Reply {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly text: string;
  readonly bytes: Buffer;
  json<T = any>(): T; // eslint-disable-line @typescript-eslint/no-explicit-any -- test bodies are checked field by field
}

export interface RequestOptions {
  readonly body?: string | Buffer | FormData;
  readonly headers?: Record<string, string>;
}

export async function request(method: string, url: string, options: RequestOptions = {}): Promise<Reply> {
  const body = Buffer.isBuffer(options.body) ? new Uint8Array(options.body) : options.body;
  const res = await fetch(url, { method, body, headers: options.headers });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  return {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
    text,
    bytes,
    json: () => JSON.parse(text),
  };
}

/** The pretty JSON body TorchServe (and Lantern) send for a status message. */
export const statusBody = (message: string): string => `${JSON.stringify({ status: message }, null, 2)}\n`;

export const errorBody = (code: number, type: string, message: string): { code: number; type: string; message: string } => ({
  code,
  type,
  message,
});

// ---- processes and waiting ----

/** Live processes (other than zombies) whose working directory is inside `dir` (Linux /proc). */
export async function processesIn(dir: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cwd = await readlink(`/proc/${name}/cwd`);
      if (cwd !== dir && !cwd.startsWith(dir + path.sep)) continue;
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      if (/^\d+ \(.*\) Z /.test(stat)) continue;
      found.push(Number(name));
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return found;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 15_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until every pid is gone (processes are reaped asynchronously after a stop). */
export async function waitAllDead(pids: readonly number[], timeoutMs = 10_000): Promise<void> {
  await waitFor(`processes ${pids.join(', ')} to exit`, () => pids.every((p) => !pidAlive(p)), timeoutMs);
}

/** Closes the server and checks that none of the worker processes it ever reported is left. */
export async function closeAndCheck(lantern: Lantern, seenPids: readonly number[] = []): Promise<void> {
  const pids = [...seenPids];
  for (const { entry } of lantern.server.registry.entries()) pids.push(...entry.pool.pids());
  await lantern.close();
  await waitAllDead(pids);
}

/** For afterEach: prints the server and worker output of a failed test. */
export function dumpLogsOnFailure(t: { passed?: boolean; name: string }, lantern: Lantern | undefined): void {
  if (lantern !== undefined && t.passed === false) {
    process.stderr.write(`---- Lantern output for failed test "${t.name}" ----\n${lantern.logs.join('\n')}\n----\n`);
  }
}

/**
 * Call inside a describe: each test starts its own server with `start(...)`; after the test the
 * server is closed, no worker process may be left, and a failed test prints the server output.
 */
export function lanternPerTest(hooks: {
  afterEach: (fn: (t: { passed?: boolean; name: string }) => Promise<void>) => void;
}): { start(options?: LanternOptions): Promise<Lantern>; seen(pids: readonly number[]): void } {
  let current: Lantern | undefined;
  let seenPids: number[] = [];
  hooks.afterEach(async (t) => {
    const lantern = current;
    const pids = seenPids;
    current = undefined;
    seenPids = [];
    dumpLogsOnFailure(t, lantern);
    if (lantern !== undefined) await closeAndCheck(lantern, pids);
  });
  return {
    start: async (options) => {
      current = await startLantern(options);
      return current;
    },
    seen: (pids) => {
      seenPids.push(...pids);
    },
  };
}

/** Asserts a TorchServe error reply: status, exact pretty JSON body and content type. */
export function expectError(reply: Reply, code: number, type: string, message: string): void {
  const expected = `${JSON.stringify({ code, type, message }, null, 2)}\n`;
  if (reply.status !== code || reply.text !== expected) {
    throw new AssertionError({ message: `expected error ${code} ${type} "${message}"`, actual: `${reply.status} ${reply.text}`, expected: `${code} ${expected}`, operator: 'expectError' });
  }
  if (reply.headers.get('connection') !== 'close') {
    throw new AssertionError({ message: 'the connection is closed after an error', actual: reply.headers.get('connection'), expected: 'close', operator: 'expectError' });
  }
  if (reply.headers.get('content-type') !== 'application/json') {
    throw new AssertionError({ message: 'error reply content type', actual: reply.headers.get('content-type'), expected: 'application/json', operator: 'expectError' });
  }
}

/** Asserts a status-message reply: status code and the exact `{"status": ...}` body. */
export function expectStatus(reply: Reply, code: number, message: string): void {
  const expected = statusBody(message);
  if (reply.status !== code || reply.text !== expected) {
    throw new AssertionError({ message: `expected ${code} "${message}"`, actual: `${reply.status} ${reply.text}`, expected: `${code} ${expected}`, operator: 'expectStatus' });
  }
  if (code < 400 && reply.headers.get('connection') !== 'keep-alive') {
    throw new AssertionError({ message: 'the connection is kept alive', actual: reply.headers.get('connection'), expected: 'keep-alive', operator: 'expectStatus' });
  }
  if (reply.headers.get('content-type') !== 'application/json') {
    throw new AssertionError({ message: 'status reply content type', actual: reply.headers.get('content-type'), expected: 'application/json', operator: 'expectStatus' });
  }
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
