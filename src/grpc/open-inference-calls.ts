// The Open Inference Protocol over gRPC (GRPCInferenceService, under KServe's and TorchServe's
// package names): health, readiness and metadata from services/open-inference.ts; ModelInfer turns
// typed contents or raw_input_contents into the JSON request a handler (or the kservev2 envelope)
// reads, and its JSON reply back into typed contents, or raw_output_contents when the request was raw.
import { randomUUID } from 'node:crypto';
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { asServeError, invalidTensorRequest, workerFailure } from '../errors.js';
import { decodeTensor, encodeTensor } from '../http/oip-binary.js';
import type { InferenceService } from '../services/inference-service.js';
import type { OpenInference } from '../services/open-inference.js';
import type { ResponseEntry } from '../protocol/messages.js';
import { grpcStatusOf } from './grpc-status.js';

export interface OpenInferenceCallDeps {
  readonly inference: InferenceService;
  readonly openInference: OpenInference;
  readonly logError: (message: string, cause: unknown) => void;
}

type Json = Record<string, unknown>;
type Parameter = Record<string, unknown> & { parameter_choice?: string };
type Contents = Record<string, unknown[]>;

interface InputTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly string[];
  readonly parameters: Readonly<Record<string, Parameter>>;
  readonly contents: Contents | null;
}

interface InferRequest {
  readonly model_name: string;
  readonly model_version: string;
  readonly id: string;
  readonly parameters: Readonly<Record<string, Parameter>>;
  readonly inputs: readonly InputTensor[];
  readonly outputs: ReadonlyArray<{ readonly name: string; readonly parameters: Readonly<Record<string, Parameter>> }>;
  readonly raw_input_contents: readonly Buffer[];
}

const CONTENTS_FIELD: Readonly<Record<string, string>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

function parameterValue(p: Parameter): unknown {
  const value = p.parameter_choice === undefined ? undefined : p[p.parameter_choice];
  return p.parameter_choice === 'int64_param' || p.parameter_choice === 'uint64_param' ? Number(value) : value;
}

function parametersJson(map: Readonly<Record<string, Parameter>>): Json | undefined {
  const entries = Object.entries(map);
  return entries.length === 0 ? undefined : Object.fromEntries(entries.map(([k, p]) => [k, parameterValue(p)]));
}

function parameterMessage(value: unknown): Parameter {
  if (typeof value === 'boolean') return { bool_param: value };
  if (typeof value === 'number') return Number.isInteger(value) ? { int64_param: String(value) } : { double_param: value };
  return { string_param: typeof value === 'string' ? value : JSON.stringify(value) };
}

const parameterMessages = (value: unknown): Record<string, Parameter> =>
  typeof value === 'object' && value !== null ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, parameterMessage(v)])) : {};

function inputData(tensor: InputTensor, index: number, raw: readonly Buffer[]): unknown[] {
  const what = `input ${JSON.stringify(tensor.name)}`;
  if (raw.length > 0) {
    const bytes = raw[index];
    if (bytes === undefined) throw invalidTensorRequest(`${what}: no raw_input_contents at index ${index}`);
    return decodeTensor(tensor.datatype, bytes, what);
  }
  const field = CONTENTS_FIELD[tensor.datatype];
  if (field === undefined) throw invalidTensorRequest(`${what}: datatype ${JSON.stringify(tensor.datatype)} needs raw_input_contents`);
  const values = tensor.contents?.[field] ?? [];
  if (tensor.datatype === 'BYTES') return values.map((v) => (v as Buffer).toString('utf8'));
  return tensor.datatype === 'INT64' || tensor.datatype === 'UINT64' ? values.map(Number) : values;
}

/** The JSON request body for a ModelInfer request. */
export function inferRequestJson(req: InferRequest): Json {
  const parameters = parametersJson(req.parameters);
  return {
    ...(req.id !== '' ? { id: req.id } : {}),
    ...(parameters !== undefined ? { parameters } : {}),
    inputs: req.inputs.map((t, i) => {
      const p = parametersJson(t.parameters);
      return { name: t.name, shape: t.shape.map(Number), datatype: t.datatype, data: inputData(t, i, req.raw_input_contents), ...(p !== undefined ? { parameters: p } : {}) };
    }),
    ...(req.outputs.length > 0 ? { outputs: req.outputs.map((o) => ({ name: o.name, ...(parametersJson(o.parameters) !== undefined ? { parameters: parametersJson(o.parameters) } : {}) })) } : {}),
  };
}

const flat = (value: unknown): unknown[] => (Array.isArray(value) ? value.flatMap(flat) : [value]);

/** A model's JSON reply as a ModelInferResponse. */
export function inferResponseMessage(reply: Json, req: InferRequest, raw: boolean): Json {
  const outputs = Array.isArray(reply.outputs) ? (reply.outputs as Json[]) : [];
  const useRaw = raw || outputs.some((o) => CONTENTS_FIELD[String(o.datatype)] === undefined);
  const rawContents: Buffer[] = [];
  const messages = outputs.map((o) => {
    const datatype = String(o.datatype);
    const data = flat(o.data);
    const shape = (Array.isArray(o.shape) ? o.shape : [data.length]).map((d) => String(d));
    const base = { name: String(o.name), datatype, shape, parameters: parameterMessages(o.parameters) };
    if (useRaw) {
      rawContents.push(encodeTensor(datatype, data));
      return base;
    }
    const field = CONTENTS_FIELD[datatype] as string;
    const values =
      datatype === 'BYTES'
        ? data.map((v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8'))
        : datatype === 'INT64' || datatype === 'UINT64'
          ? data.map((v) => String(Math.trunc(Number(v))))
          : datatype === 'BOOL'
            ? data.map(Boolean)
            : data.map(Number);
    return { ...base, contents: { [field]: values } };
  });
  return {
    model_name: typeof reply.model_name === 'string' ? reply.model_name : req.model_name,
    model_version: typeof reply.model_version === 'string' ? reply.model_version : req.model_version,
    id: typeof reply.id === 'string' ? reply.id : req.id,
    parameters: parameterMessages(reply.parameters),
    outputs: messages,
    raw_output_contents: rawContents,
  };
}

function errorOfReply(entry: ResponseEntry): Error {
  let message = entry.body.toString('utf8');
  try {
    const parsed = JSON.parse(message) as Json;
    message = String(parsed.error ?? parsed.message ?? message);
  } catch {
    // Not JSON: the body is the message.
  }
  return workerFailure(entry.status, message);
}

function modelInfer(deps: OpenInferenceCallDeps, req: InferRequest): Promise<Json> {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(JSON.stringify(inferRequestJson(req)), 'utf8');
    const parts: Buffer[] = [];
    deps.inference.submit(
      req.model_name,
      req.model_version === '' ? null : req.model_version,
      { requestId: randomUUID(), headers: [['explain', 'False']], parameters: [{ name: 'body', contentType: 'application/json', value: body }] },
      {
        reply: (entry, last) => {
          parts.push(entry.body);
          if (!last) return;
          const whole = { ...entry, body: Buffer.concat(parts) };
          if (whole.status >= 400) return reject(errorOfReply(whole));
          let json: unknown;
          try {
            json = JSON.parse(whole.body.toString('utf8'));
          } catch {
            return reject(invalidTensorRequest('The model did not answer an Open Inference JSON body'));
          }
          resolve(inferResponseMessage(json as Json, req, req.raw_input_contents.length > 0));
        },
        fail: reject,
      },
    );
  });
}

type Unary = (call: ServerUnaryCall<Json, unknown>, callback: sendUnaryData<unknown>) => void;

export function openInferenceCalls(deps: OpenInferenceCallDeps): UntypedServiceImplementation {
  const { openInference } = deps;
  const unary =
    (answer: (request: Json) => unknown): Unary =>
    (call, callback) => {
      Promise.resolve()
        .then(() => answer(call.request))
        .then(
          (value) => callback(null, value),
          (err: unknown) => callback(grpcStatusOf(asServeError(err, deps.logError))),
        );
    };
  const version = (request: Json): string | null => (request.version === '' || request.version === undefined ? null : String(request.version));
  const calls: Record<string, Unary> = {
    ServerLive: unary(() => ({ live: openInference.isLive() })),
    ServerReady: unary(() => ({ ready: openInference.isReady() })),
    ModelReady: unary((r) => ({ ready: openInference.isModelReady(String(r.name), version(r)) })),
    ServerMetadata: unary(() => openInference.serverMetadata()),
    ModelMetadata: unary(async (r) => {
      const meta = await openInference.modelMetadata(String(r.name), version(r));
      const tensors = (list: typeof meta.inputs) => list.map((t) => ({ ...t, shape: t.shape.map(String) }));
      return { ...meta, inputs: tensors(meta.inputs), outputs: tensors(meta.outputs) };
    }),
    ModelInfer: unary((r) => modelInfer(deps, r as unknown as InferRequest)),
  };
  return calls as unknown as UntypedServiceImplementation;
}
