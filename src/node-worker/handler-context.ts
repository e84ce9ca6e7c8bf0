// The `context` a Node handler receives: the counterpart of the Python worker's Context
// (TorchServe's handler contract), with camelCase names and the request index first.
import type { RequestHeaders } from './batch-input.js';
import type { WorkerMetrics } from './worker-metrics.js';

/** TorchServe's system property names, as handlers written for it expect them. */
export interface SystemProperties {
  readonly model_dir: string;
  readonly gpu_id: number | null;
  readonly batch_size: number;
  readonly server_name: 'MMS';
  readonly server_version: string;
  readonly limit_max_image_pixels: boolean;
}

export interface ContextSettings {
  readonly modelName: string;
  readonly modelDir: string;
  /** MAR-INF/MANIFEST.json as parsed, or null without one. */
  readonly manifest: unknown;
  /** The model's model-config.yaml ({} without one). */
  readonly modelYamlConfig: Readonly<Record<string, unknown>>;
  readonly batchSize: number;
  readonly gpuId: number | null;
  readonly serverVersion: string;
  readonly limitMaxImagePixels: boolean;
  readonly metrics: WorkerMetrics;
  readonly workerThreads?: number | null;
}

/** The response fields a handler set for one request. */
export class ResponseState {
  status = 200;
  reason = '';
  readonly headers = new Map<string, string>();

  contentType(): string {
    for (const [k, v] of this.headers) if (k.toLowerCase() === 'content-type') return v;
    return '';
  }
}

interface RequestState {
  readonly id: string;
  readonly headers: RequestHeaders;
  readonly response: ResponseState;
}

export class HandlerContext {
  readonly modelName: string;
  readonly manifest: unknown;
  readonly modelYamlConfig: Readonly<Record<string, unknown>>;
  readonly systemProperties: SystemProperties;
  readonly metrics: WorkerMetrics;
  /** Threads this worker's math library may use (the host's thread budget); null when not set. */
  readonly workerThreads: number | null;
  private requests: RequestState[] = [];
  private intermediateSink: ((outputs: readonly unknown[]) => Promise<void>) | null = null;

  constructor(settings: ContextSettings) {
    this.modelName = settings.modelName;
    this.manifest = settings.manifest;
    this.modelYamlConfig = settings.modelYamlConfig;
    this.metrics = settings.metrics;
    this.workerThreads = settings.workerThreads ?? null;
    this.systemProperties = Object.freeze({
      model_dir: settings.modelDir,
      gpu_id: settings.gpuId,
      batch_size: settings.batchSize,
      server_name: 'MMS',
      server_version: settings.serverVersion,
      limit_max_image_pixels: settings.limitMaxImagePixels,
    });
  }

  /** Starts a batch: request ids and headers by index, fresh response fields. */
  beginBatch(requestIds: readonly string[], headers: readonly RequestHeaders[]): void {
    this.requests = requestIds.map((id, i) => ({ id, headers: headers[i] ?? {}, response: new ResponseState() }));
    this.metrics.requestIds = requestIds;
  }

  /** Request ids of the current batch, by index (empty during initialize). */
  get requestIds(): readonly string[] {
    return this.requests.map((r) => r.id);
  }

  getRequestId(idx = 0): string | undefined {
    return this.requests[idx]?.id;
  }

  /** A request header (exact name first, then case-insensitive); a parameter name gives `{ 'content-type' }`. */
  getRequestHeader(idx: number, name: string): RequestHeaders[string] | undefined {
    const headers = this.request(idx).headers;
    if (Object.hasOwn(headers, name)) return headers[name];
    const lower = name.toLowerCase();
    const key = Object.keys(headers).find((k) => k.toLowerCase() === lower);
    return key === undefined ? undefined : headers[key];
  }

  getAllRequestHeaders(idx: number): Readonly<RequestHeaders> {
    return this.request(idx).headers;
  }

  /** True for a describe request (`describe: True`), as the management API's customized describe sends. */
  isDescribe(idx = 0): boolean {
    return this.requests[idx] !== undefined && this.getRequestHeader(idx, 'describe') === 'True';
  }

  /** True for an explanation request (`explain: True`). */
  isExplain(idx = 0): boolean {
    return this.requests[idx] !== undefined && this.getRequestHeader(idx, 'explain') === 'True';
  }

  setResponseStatus(idx: number, code: number, phrase = ''): void {
    const r = this.request(idx).response;
    r.status = code;
    r.reason = phrase;
  }

  setAllResponseStatus(code: number, phrase = ''): void {
    for (let i = 0; i < this.requests.length; i++) this.setResponseStatus(i, code, phrase);
  }

  setResponseContentType(idx: number, contentType: string): void {
    this.setResponseHeader(idx, 'content-type', contentType);
  }

  setResponseHeader(idx: number, name: string, value: string): void {
    this.request(idx).response.headers.set(name, String(value));
  }

  getResponseHeaders(idx: number): ReadonlyMap<string, string> {
    return this.request(idx).response.headers;
  }

  /** Where intermediate replies go (set by the worker once its socket is open). */
  setIntermediateSink(sink: (outputs: readonly unknown[]) => Promise<void>): void {
    this.intermediateSink = sink;
  }

  /**
   * Streams a partial answer for every request of the current batch now (one output per request),
   * as TorchServe's send_intermediate_predict_response; what `handle` returns is the last part.
   */
  async sendIntermediateResponse(outputs: readonly unknown[]): Promise<void> {
    if (this.intermediateSink === null || this.requests.length === 0) throw new Error('No request is being served');
    if (outputs.length !== this.requests.length) {
      throw new RangeError(`sendIntermediateResponse needs one output per request (${this.requests.length}), got ${outputs.length}`);
    }
    await this.intermediateSink(outputs);
  }

  /** The response fields of request `idx` (used by the worker to build the reply). */
  responseOf(idx: number): ResponseState {
    return this.request(idx).response;
  }

  private request(idx: number): RequestState {
    const r = this.requests[idx];
    if (r === undefined) {
      throw new RangeError(this.requests.length === 0 ? 'No request is being served (called during initialize?)' : `No request at index ${idx}`);
    }
    return r;
  }
}
