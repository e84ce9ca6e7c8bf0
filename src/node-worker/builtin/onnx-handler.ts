// Built-in `onnx` handler: serves a .onnx model with onnxruntime-node. The requests of a batch
// whose tensors agree on all but the first axis run as one tensor (concatenated along axis 0)
// and are split back; a bad request gets its own 400 without failing the others.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { BatchRow } from '../batch-input.js';
import type { HandlerContext } from '../handler-context.js';
import { serializedFileOf } from '../handler-loader.js';
import type { LoadedHandler } from '../predict.js';
import { ortSessionOptions, sessionOptionsOf, type OnnxSessionOptions } from './onnx-session-options.js';
import {
  concatFirstAxis,
  flatValues,
  isElementType,
  parseRawBytes,
  parseRequest,
  shapeText,
  splitFirstAxis,
  toNested,
  TensorInputError,
  v2Datatype,
  type ElementType,
  type HostTensor,
  type InputSpec,
  type ParsedRequest,
  type TensorData,
} from './onnx-tensors.js';

type Outcome = { readonly ok: true; readonly body: unknown } | { readonly ok: false; readonly status: number; readonly message: string };

const ERROR_TYPES: Readonly<Record<number, string>> = { 400: 'BadRequestException', 500: 'InternalServerException' };

async function modelFileOf(modelDir: string, manifest: unknown): Promise<string> {
  const named = serializedFileOf(manifest);
  if (named?.toLowerCase().endsWith('.onnx') === true) return path.resolve(modelDir, named);
  const found = (await readdir(modelDir)).filter((f) => f.toLowerCase().endsWith('.onnx')).sort();
  if (found.length !== 1) throw new Error(`Expected one .onnx file in ${modelDir} (or a .onnx serializedFile), found ${found.length}`);
  return path.join(modelDir, found[0] as string);
}

function specsOf(metadata: readonly ort.InferenceSession.ValueMetadata[], what: string): InputSpec[] {
  return metadata.map((m) => {
    if (!m.isTensor) throw new Error(`${what} "${m.name}" is not a tensor; the onnx handler serves tensor models only`);
    if (!isElementType(m.type)) throw new Error(`${what} "${m.name}" has element type ${m.type}, which the onnx handler does not support`);
    return { name: m.name, type: m.type, shape: m.shape };
  });
}

/** The value a request carries: the body (or `data` field, or its only field), parsed as JSON. */
function requestValue(row: BatchRow): unknown {
  const values = Object.values(row);
  const raw = 'body' in row ? row.body : 'data' in row ? row.data : values.length === 1 ? values[0] : undefined;
  if (raw === undefined) throw new TensorInputError('The request has no body');
  if (typeof raw !== 'string' && !Buffer.isBuffer(raw)) return raw;
  try {
    return JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : raw) as unknown;
  } catch {
    throw new TensorInputError('The request body is not JSON');
  }
}

/** The body when it is raw tensor bytes (`Content-Type: application/octet-stream`), else null. */
function rawTensorBytes(row: BatchRow, context: HandlerContext, idx: number): Buffer | null {
  const body = row.body;
  if (!Buffer.isBuffer(body)) return null;
  const part = context.getRequestHeader(idx, 'body');
  return typeof part === 'object' && part['content-type'] === 'application/octet-stream' ? body : null;
}

const toOrt = (t: HostTensor): ort.Tensor => new ort.Tensor(t.type, t.data as never, t.dims);
const fromOrt = (t: ort.Tensor): HostTensor => ({ type: t.type as ElementType, dims: [...t.dims], data: t.data as TensorData });

class OnnxModel {
  constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputs: readonly InputSpec[],
    private readonly outputs: readonly InputSpec[],
    private readonly options: OnnxSessionOptions,
  ) {}

  /** Requests may share one run when every input's first axis is free. */
  private get batchable(): boolean {
    return this.inputs.every((s) => !(typeof s.shape[0] === 'number' && s.shape[0] >= 0));
  }

  async handle(batch: BatchRow[], context: HandlerContext): Promise<unknown[]> {
    const outcomes: Outcome[] = new Array<Outcome>(batch.length);
    const groups = new Map<string, Array<[number, ParsedRequest]>>();
    const outputNames = this.outputs.map((o) => o.name);
    batch.forEach((row, idx) => {
      try {
        const raw = rawTensorBytes(row, context, idx);
        const parsed = raw !== null ? parseRawBytes(raw, this.inputs) : parseRequest(requestValue(row), this.inputs, outputNames);
        const key = this.batchable ? this.inputs.map((s) => parsed.tensors.get(s.name)?.dims.slice(1).join('x')).join('|') : `#${idx}`;
        groups.set(key, [...(groups.get(key) ?? []), [idx, parsed]]);
      } catch (err) {
        if (!(err instanceof TensorInputError)) throw err;
        outcomes[idx] = { ok: false, status: 400, message: err.message };
      }
    });
    for (const group of groups.values()) await this.runGroup(group, outcomes, context);
    return outcomes.map((o, idx) => {
      context.setResponseContentType(idx, 'application/json');
      // Compact JSON: tensors are long lists of numbers, one per line would multiply their size.
      if (o.ok) return JSON.stringify(o.body);
      context.setResponseStatus(idx, o.status);
      return `${JSON.stringify({ code: o.status, type: ERROR_TYPES[o.status], message: o.message }, null, 2)}\n`;
    });
  }

  describe(): Record<string, unknown> {
    const spec = (s: InputSpec): Record<string, unknown> => ({ name: s.name, datatype: v2Datatype(s.type), shape: s.shape });
    return { runtime: `onnxruntime-node ${ort.env.versions.node ?? ''}`.trim(), inputs: this.inputs.map(spec), outputs: this.outputs.map(spec), sessionOptions: this.options };
  }

  private async runGroup(group: ReadonlyArray<[number, ParsedRequest]>, outcomes: Outcome[], context: HandlerContext): Promise<void> {
    if (group.length > 1) {
      const counts = group.map(([, p]) => p.samples);
      const total = counts.reduce((a, b) => a + b, 0);
      const feeds = Object.fromEntries(this.inputs.map((s) => [s.name, concatFirstAxis(group.map(([, p]) => p.tensors.get(s.name) as HostTensor))]));
      const result = await this.run(feeds);
      if (result instanceof Error) {
        for (const [idx] of group) outcomes[idx] = this.failure(result);
        return;
      }
      if (Object.values(result).every((t) => t.dims[0] === total)) {
        const pieces = Object.fromEntries(Object.entries(result).map(([name, t]) => [name, splitFirstAxis(t, counts)]));
        group.forEach(([idx, parsed], i) => {
          outcomes[idx] = { ok: true, body: this.body(parsed, Object.fromEntries(Object.entries(pieces).map(([n, ts]) => [n, ts[i] as HostTensor])), context) };
        });
        return;
      }
    }
    // One request at a time: a single request, or outputs whose first axis is not the samples.
    for (const [idx, parsed] of group) {
      const result = await this.run(Object.fromEntries(parsed.tensors));
      outcomes[idx] = result instanceof Error ? this.failure(result) : { ok: true, body: this.body(parsed, result, context) };
    }
  }

  private async run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor> | Error> {
    try {
      const out = await this.session.run(Object.fromEntries(Object.entries(feeds).map(([n, t]) => [n, toOrt(t)])));
      return Object.fromEntries(this.outputs.map((o) => [o.name, fromOrt(out[o.name] as ort.Tensor)]));
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }

  private failure(err: Error): Outcome {
    const expected = this.inputs.map((s) => `"${s.name}" (${s.type}, shape ${shapeText(s.shape)})`).join(', ');
    // ONNX Runtime checks shapes and types the declared shape cannot express (e.g. ranges of a free axis).
    if (/input|dimension|shape|type/i.test(err.message)) return { ok: false, status: 400, message: `${err.message} (expected input ${expected})` };
    return { ok: false, status: 500, message: `ONNX Runtime failed: ${err.message}` };
  }

  private body(parsed: ParsedRequest, result: Record<string, HostTensor>, context: HandlerContext): unknown {
    if (parsed.form === 'array') {
      const names = Object.keys(result);
      return names.length === 1 ? toNested(result[names[0] as string] as HostTensor) : Object.fromEntries(names.map((n) => [n, toNested(result[n] as HostTensor)]));
    }
    const wanted = parsed.outputs.length > 0 ? parsed.outputs : Object.keys(result);
    const version = (context.manifest as { model?: { modelVersion?: unknown } } | null)?.model?.modelVersion;
    return {
      model_name: context.modelName,
      ...(typeof version === 'string' ? { model_version: version } : {}),
      ...(parsed.id !== undefined ? { id: parsed.id } : {}),
      outputs: wanted.map((name) => {
        const t = result[name] as HostTensor;
        return { name, shape: t.dims, datatype: isElementType(t.type) ? v2Datatype(t.type) : String(t.type).toUpperCase(), data: flatValues(t) };
      }),
    };
  }
}

/** Creates the session from the model directory and model-config.yaml's `onnx` section. */
export async function loadOnnxHandler(context: HandlerContext): Promise<LoadedHandler> {
  const named = sessionOptionsOf(context.modelYamlConfig);
  // The host's thread budget, unless model-config.yaml names a number.
  const options = named.intraOpNumThreads === undefined && context.workerThreads !== null ? { ...named, intraOpNumThreads: context.workerThreads } : named;
  const file = await modelFileOf(context.systemProperties.model_dir, context.manifest);
  const session = await ort.InferenceSession.create(file, ortSessionOptions(options));
  const model = new OnnxModel(session, specsOf(session.inputMetadata, 'Input'), specsOf(session.outputMetadata, 'Output'), options);
  return {
    handle: (batch, ctx) => model.handle(batch, ctx),
    describe: () => model.describe(),
    speaksOpenInference: true,
  };
}
