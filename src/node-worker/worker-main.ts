// The Node worker process (runtime `node`): handshake on stdout, then load and inference frames
// on the socket inherited as fd 3 (docs/protocol.md), one message at a time. Imports nothing of
// the front end but src/protocol.
import { register } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import { decodeToWorker, encodeInferReply, encodeLoadReply, ProtocolError } from '../protocol/codec.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import type { InferReply, InferenceRequest, LoadMessage } from '../protocol/messages.js';
import { decodeInputEnabled } from './batch-input.js';
import { HandlerContext } from './handler-context.js';
import { loadHandler } from './handler-loader.js';
import { readManifest, readModelYamlConfig } from './model-files.js';
import { isEnvelopeName, perRequest, withEnvelope } from './envelope.js';
import { errorReply, intermediateReply, predict, SUCCESS_MESSAGE, type LoadedHandler, type PredictOptions } from './predict.js';
import { WorkerMetrics } from './worker-metrics.js';
import { VERSION } from '../version.js';

const SOCKET_FD = 3;
const DEFAULT_MAX_FRAME_BYTES = 0x7fffffff;


export interface WorkerEnvironment {
  readonly decodeInput: boolean;
  readonly serverVersion: string;
  readonly maxFrameBytes: number;
  /** LANTERN_WORKER_THREADS: the thread budget the front end gave this worker (thread-budget.ts). */
  readonly workerThreads: number | null;
}

function describeError(err: unknown): string {
  if (err instanceof Error) return err.message ? `${err.name}: ${err.message}` : err.name;
  return String(err);
}

const logError = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

interface LoadedModel {
  readonly handler: LoadedHandler;
  readonly context: HandlerContext;
  /** The envelope reads one request per pass (kserve, kservev2): a batch is served request by request. */
  readonly perRequest: boolean;
}

/** Each request of the batch in a pass of its own; the first failure fails the batch, as one pass would. */
async function predictEach(loaded: LoadedModel, requests: readonly InferenceRequest[], options: PredictOptions): Promise<InferReply> {
  const responses: InferReply['responses'][number][] = [];
  for (const request of requests) {
    const reply = await predict(loaded.handler, loaded.context, [request], options);
    if (reply.code !== 200) return errorReply(reply.code, reply.message, requests.map((r) => r.requestId));
    responses.push(...reply.responses);
  }
  return { code: 200, message: SUCCESS_MESSAGE, responses };
}

/**
 * Metric lines (`[METRICS]…`). While a batch is served they are held and sent with its reply
 * (docs/protocol.md); outside a batch, or when the batch fails before its reply, on stdout.
 */
class MetricLines {
  private held: string[] | null = null;

  hold(): void {
    this.held ??= [];
  }

  write(line: string): void {
    if (this.held !== null) this.held.push(line);
    else process.stdout.write(`${line}\n`);
  }

  /** The held lines, for the reply; stops holding. */
  take(): string[] {
    const lines = this.held ?? [];
    this.held = null;
    return lines;
  }

  flush(): void {
    const lines = this.take();
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
  }
}

async function loadModel(msg: LoadMessage, env: WorkerEnvironment, writeMetricLine: (line: string) => void): Promise<LoadedModel> {
  if (msg.envelope !== '' && !isEnvelopeName(msg.envelope)) throw new Error(`Unknown service envelope ${JSON.stringify(msg.envelope)}`);
  const manifest = await readManifest(msg.modelPath);
  const context = new HandlerContext({
    modelName: msg.modelName,
    modelDir: msg.modelPath,
    manifest,
    modelYamlConfig: await readModelYamlConfig(msg.modelPath, manifest),
    batchSize: msg.batchSize,
    gpuId: msg.gpuId >= 0 ? msg.gpuId : null,
    serverVersion: env.serverVersion,
    workerThreads: env.workerThreads,
    limitMaxImagePixels: msg.limitMaxImagePixels,
    metrics: new WorkerMetrics(msg.modelName, {
      hostname: os.hostname(),
      nowMs: Date.now,
      writeLine: writeMetricLine,
    }),
  });
  const handler = await loadHandler(msg.handler, context);
  // The built-in onnx handler reads and answers Open Inference bodies itself.
  if (msg.envelope === '' || !isEnvelopeName(msg.envelope) || handler.speaksOpenInference === true) return { handler, context, perRequest: false };
  return { handler: withEnvelope(msg.envelope, handler), context, perRequest: perRequest(msg.envelope) };
}

const predictBatch = (loaded: LoadedModel, requests: readonly InferenceRequest[], options: PredictOptions): Promise<InferReply> =>
  predict(loaded.handler, loaded.context, requests, options);

/** Serves frames from `socket` until it ends; each message is finished before the next starts. */
class WorkerSession {
  private loaded: LoadedModel | null = null;
  private chain: Promise<void> = Promise.resolve();
  private readonly metricLines = new MetricLines();

  constructor(
    private readonly socket: net.Socket,
    private readonly env: WorkerEnvironment,
  ) {}

  push(payload: Buffer): void {
    this.chain = this.chain
      .then(() => this.onMessage(payload))
      .catch((err: unknown) => {
        logError(`${err instanceof ProtocolError ? 'Protocol error, closing' : 'Worker failure'}: ${describeError(err)}`);
        process.exit(1);
      });
  }

  private async onMessage(payload: Buffer): Promise<void> {
    const msg = decodeToWorker(payload);
    if (msg.kind === 'load') await this.onLoad(msg.message);
    else await this.onInfer(msg.requests);
  }

  private async onLoad(msg: LoadMessage): Promise<void> {
    if (this.loaded !== null) {
      this.socket.write(encodeLoadReply({ code: 500, message: 'A model is already loaded' }));
      return;
    }
    try {
      this.loaded = await loadModel(msg, this.env, (line) => this.metricLines.write(line));
    } catch (err) {
      logError(err instanceof Error ? (err.stack ?? err.message) : String(err));
      const code = err instanceof RangeError && /allocation failed|out of memory/i.test(err.message) ? 507 : 500;
      // After a failed load the worker exits (docs/protocol.md), once the reply is written.
      this.socket.write(encodeLoadReply({ code, message: describeError(err) }), () => process.exit(1));
      return;
    }
    const { context } = this.loaded;
    context.setIntermediateSink(
      (outputs) =>
        new Promise<void>((resolve, reject) => {
          this.socket.write(encodeInferReply(intermediateReply(context, outputs)), (err) => (err ? reject(err) : resolve()));
        }),
    );
    this.socket.write(encodeLoadReply({ code: 200, message: `loaded model ${msg.modelName}` }));
    process.stdout.write(`Model ${msg.modelName} loaded.\n`);
  }

  private async onInfer(requests: readonly InferenceRequest[]): Promise<void> {
    const loaded = this.loaded;
    this.metricLines.hold();
    try {
      const reply =
        loaded === null
          ? errorReply(503, 'Model not loaded', requests.map((r) => r.requestId))
          : await (loaded.perRequest && requests.length > 1 ? predictEach : predictBatch)(loaded, requests, { decodeInput: this.env.decodeInput, logError, nowMs: () => performance.now() });
      this.socket.write(encodeInferReply({ ...reply, metricLines: this.metricLines.take() }));
    } finally {
      this.metricLines.flush();
    }
  }
}

export function runWorker(env: WorkerEnvironment): void {
  process.on('SIGTERM', () => process.exit(0));
  let socket: net.Socket;
  try {
    socket = new net.Socket({ fd: SOCKET_FD, readable: true, writable: true });
  } catch (err) {
    logError(`No socket on fd ${SOCKET_FD}: ${describeError(err)}`);
    process.exit(1);
  }
  register('./typescript-hooks.js', import.meta.url);
  const decoder = new FrameDecoder(env.maxFrameBytes);
  const session = new WorkerSession(socket, env);
  socket.on('data', (chunk: Buffer) => {
    let payloads: Buffer[];
    try {
      payloads = decoder.push(chunk);
    } catch (err) {
      logError(`Protocol error, closing: ${describeError(err)}`);
      process.exit(1);
    }
    for (const payload of payloads) session.push(payload);
  });
  // The front end is gone (end of file) or the socket failed: nothing left to serve.
  socket.on('end', () => process.exit(0));
  socket.on('error', (err) => {
    logError(`Front end connection failed: ${err.message}`);
    process.exit(0);
  });
  process.stdout.write(`[PID]${process.pid}\nTorch worker started.\nNode runtime: ${process.version}\n`);
}

/** The worker's settings from its environment (the front end sets TS_DECODE_INPUT_REQUEST). */
export function workerEnvironment(env: NodeJS.ProcessEnv): WorkerEnvironment {
  const maxFrame = Number(env.LANTERN_MAX_FRAME_BYTES);
  const threads = Number(env.LANTERN_WORKER_THREADS);
  return {
    decodeInput: decodeInputEnabled(env.TS_DECODE_INPUT_REQUEST),
    serverVersion: env.LANTERN_SERVER_VERSION ?? VERSION,
    maxFrameBytes: Number.isInteger(maxFrame) && maxFrame > 0 ? maxFrame : DEFAULT_MAX_FRAME_BYTES,
    workerThreads: Number.isInteger(threads) && threads > 0 ? threads : null,
  };
}
