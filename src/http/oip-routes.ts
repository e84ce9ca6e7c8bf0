// The Open Inference Protocol over REST (KServe v2): server and model metadata, health, readiness,
// and infer/explain for a model or one of its versions, with Triton's binary tensor data extension.
// Errors on these routes are the protocol's `{"error": <message>}` (docs/kserve.md).
import type { Exchange, Route } from './route-table.js';
import type { InferenceService } from '../services/inference-service.js';
import type { OpenInference } from '../services/open-inference.js';
import type { InferenceRequest, RequestParameter, ResponseEntry } from '../protocol/messages.js';
import { invalidTensorRequest, methodNotAllowed, resourceNotFound } from '../errors.js';
import { requestHeaders } from './inference-routes.js';
import { binaryOutputsOf, binaryRequestToJson, jsonReplyToBinary, wantsBinary, type BinaryOutputs } from './oip-binary.js';
import { bodyParameters, receiveBody } from './request-body.js';
import { sendBytes, sendJson, sendOipError } from './respond.js';

export interface OipRouteDeps {
  readonly inference: InferenceService;
  readonly openInference: OpenInference;
  readonly maxRequestBytes: number;
}

const HEADER_LENGTH = 'inference-header-content-length';

/** Runs a /v2 handler; its errors are answered as `{"error": ...}`. */
const oip =
  (handler: (ex: Exchange) => Promise<void> | void) =>
  async (ex: Exchange): Promise<void> => {
    try {
      await handler(ex);
    } catch (err) {
      if (ex.res.headersSent) throw err;
      sendOipError(ex.res, ex.ctx, err);
    }
  };

function requireGet(ex: Exchange): void {
  if (ex.method !== 'GET') throw methodNotAllowed();
}

function parsedJson(bytes: Buffer): Record<string, unknown> | null {
  try {
    const value = JSON.parse(bytes.toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Submits the request and waits for its whole reply (streamed parts joined). */
function replyOf(ex: Exchange, deps: OipRouteDeps, name: string, version: string | null, request: InferenceRequest): Promise<ResponseEntry> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const cancel = deps.inference.submit(name, version, request, {
      reply: (entry, last) => {
        parts.push(entry.body);
        if (last) resolve({ ...entry, body: parts.length === 1 ? entry.body : Buffer.concat(parts) });
      },
      fail: reject,
    });
    ex.res.on('close', () => {
      if (!ex.res.writableFinished) cancel();
    });
  });
}

async function infer(ex: Exchange, deps: OipRouteDeps, name: string, version: string | null, explain: boolean): Promise<void> {
  const body = await receiveBody(ex.req, deps.maxRequestBytes, ex.bodyAllowance ?? null);
  const headerLength = ex.req.headers[HEADER_LENGTH];
  let parameters: RequestParameter[];
  let binary: BinaryOutputs | null = null;
  if (typeof headerLength === 'string') {
    // Binary tensors become the JSON request a handler (or the kservev2 envelope) reads.
    const length = Number(headerLength.trim());
    const json = binaryRequestToJson(Buffer.concat(body.chunks, body.size), headerLength.trim() === '' ? NaN : length);
    binary = binaryOutputsOf(json);
    parameters = [{ name: 'body', contentType: 'application/json', value: Buffer.from(JSON.stringify(json), 'utf8') }];
  } else {
    parameters = await bodyParameters(ex.req.headers['content-type'], body);
    const json = parameters.length === 1 ? parsedJson(parameters[0]?.value as Buffer) : null;
    if (json !== null) binary = binaryOutputsOf(json);
  }
  const headers = requestHeaders(ex).filter(([k]) => k.toLowerCase() !== HEADER_LENGTH);
  headers.push(['explain', explain ? 'True' : 'False']);
  const reply = await replyOf(ex, deps, name, version, { requestId: ex.ctx.requestId, headers, parameters });
  for (const [k, v] of reply.headers) ex.res.setHeader(k, v);
  if (binary !== null && wantsBinary(binary) && reply.status < 400) {
    const json = parsedJson(reply.body);
    if (json === null) throw invalidTensorRequest('Binary outputs were asked for, but the model did not answer an Open Inference JSON body');
    const [bytes, jsonLength] = jsonReplyToBinary(json, binary);
    ex.res.setHeader('Inference-Header-Content-Length', String(jsonLength));
    sendBytes(ex.res, ex.ctx, reply.status, bytes, 'application/octet-stream', reply.reason);
    return;
  }
  const contentType = reply.contentType || (parsedJson(reply.body) !== null ? 'application/json' : null);
  sendBytes(ex.res, ex.ctx, reply.status, reply.body, contentType, reply.reason);
}

/** `/v2/models/{m}[/versions/{v}][/ready|/infer|/explain]` */
async function modelRoute(ex: Exchange, deps: OipRouteDeps): Promise<void> {
  const name = ex.params.model_name as string;
  let rest = ex.params.rest?.split('/') ?? [];
  let version: string | null = null;
  if (rest[0] === 'versions') {
    if (rest[1] === undefined || rest[1] === '') throw resourceNotFound();
    version = rest[1];
    rest = rest.slice(2);
  }
  const action = rest.join('/');
  switch (action) {
    case '':
      requireGet(ex);
      sendJson(ex.res, ex.ctx, 200, await deps.openInference.modelMetadata(name, version));
      return;
    case 'ready': {
      requireGet(ex);
      const ready = deps.openInference.isModelReady(name, version);
      sendJson(ex.res, ex.ctx, ready ? 200 : 503, { name, ready });
      return;
    }
    case 'infer':
    case 'explain':
      await infer(ex, deps, name, version, action === 'explain');
      return;
    default:
      throw resourceNotFound();
  }
}

export function oipRoutes(deps: OipRouteDeps): Route[] {
  const { openInference } = deps;
  return [
    {
      api: 'inference',
      path: '/v2',
      operations: {
        GET: {
          summary: 'Open Inference server metadata',
          handler: oip((ex) => {
            const meta = openInference.serverMetadata();
            // TorchServe's misspelled key, kept beside the protocol's for its clients.
            sendJson(ex.res, ex.ctx, 200, { ...meta, extenstion: meta.extensions });
          }),
        },
      },
    },
    {
      api: 'inference',
      path: '/v2/health/live',
      operations: { GET: { summary: 'Open Inference server liveness', handler: oip((ex) => sendJson(ex.res, ex.ctx, 200, { live: openInference.isLive() })) } },
    },
    {
      api: 'inference',
      path: '/v2/health/ready',
      operations: {
        GET: {
          summary: 'Open Inference server readiness (the /readyz predicate)',
          handler: oip((ex) => {
            const ready = openInference.isReady();
            sendJson(ex.res, ex.ctx, ready ? 200 : 503, { ready });
          }),
        },
      },
    },
    {
      api: 'inference',
      path: '/v2/models/{model_name}',
      openEnded: true,
      operations: {
        ANY: {
          summary: 'Open Inference model metadata, readiness (`/ready`), inference (`/infer`) and explanation (`/explain`), optionally of `/versions/{v}`',
          handler: oip((ex) => modelRoute(ex, deps)),
        },
      },
    },
  ];
}
