// Inference API routes (spec §2.1) → InferenceService, and writing worker replies back,
// streamed replies as HTTP chunks (spec §2.6).
import type { Exchange, Route } from './route-table.js';
import type { InferenceService } from '../services/inference-service.js';
import type { InferenceRequest, ResponseEntry } from '../protocol/messages.js';
import { resourceNotFound, type ServeError } from '../errors.js';
import { bodyParameters, receiveBody } from './request-body.js';
import { sendBytes, sendError, sendStatus, setCommonHeaders } from './respond.js';

export interface InferenceRouteDeps {
  readonly inference: InferenceService;
  readonly maxRequestBytes: number;
}

/** Every request header, last value winning for repeated names (spec §2.3). */
function requestHeaders(ex: Exchange): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const raw = ex.req.rawHeaders;
  // A handful of headers: a scan for a repeated name costs less than a Map.
  next: for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    for (const pair of out) {
      if (pair[0] === name) {
        pair[1] = value;
        continue next;
      }
    }
    out.push([name, value]);
  }
  return out;
}

function writeEntry(ex: Exchange, entry: ResponseEntry, last: boolean): void {
  const { res } = ex;
  if (!res.headersSent) {
    for (const [k, v] of entry.headers) res.setHeader(k, v);
    if (last) {
      sendBytes(res, ex.ctx, entry.status, entry.body, entry.contentType || null, entry.reason);
      return;
    }
    setCommonHeaders(res, ex.ctx, entry.status);
    if (entry.contentType) res.setHeader('content-type', entry.contentType);
    if (entry.reason) res.statusMessage = entry.reason;
    res.statusCode = entry.status;
    res.flushHeaders();
  }
  if (entry.body.length > 0) res.write(entry.body);
  if (last) res.end();
}

function failStream(ex: Exchange, error: ServeError): void {
  if (!ex.res.headersSent) {
    sendError(ex.res, ex.ctx, error);
    return;
  }
  // Headers are gone: the only honest signal left is to break the chunked stream (no final empty
  // chunk). Ending the socket rather than destroying it first delivers the chunks already written.
  const socket = ex.res.socket;
  if (socket === null) ex.res.destroy(error);
  else socket.end();
}

async function predict(ex: Exchange, deps: InferenceRouteDeps, explain: boolean, name: string, version: string | null, urlPath: string | null): Promise<void> {
  const body = await receiveBody(ex.req, deps.maxRequestBytes, ex.bodyAllowance ?? null);
  const headers = requestHeaders(ex);
  if (urlPath !== null) headers.push(['url_path', urlPath]);
  headers.push(['explain', explain ? 'True' : 'False']);
  const request: InferenceRequest = {
    requestId: ex.ctx.requestId,
    headers,
    parameters: await bodyParameters(ex.req.headers['content-type'], body),
  };
  const cancel = deps.inference.submit(name, version, request, {
    reply: (entry, last) => writeEntry(ex, entry, last),
    fail: (error) => failStream(ex, error),
  });
  ex.res.on('close', () => {
    if (!ex.res.writableFinished) cancel();
  });
}

/** `/predictions/{model}[/{version}[/extra/path]]` */
function predictionRoute(prefix: 'predictions' | 'explanations', deps: InferenceRouteDeps): Route {
  const explain = prefix === 'explanations';
  return {
    api: 'inference',
    path: `/${prefix}/{model_name}`,
    openEnded: true,
    operations: {
      ANY: {
        summary: explain ? 'Explain a prediction' : 'Predict',
        handler: (ex) => {
          const rest = ex.params.rest?.split('/') ?? [];
          const version = rest[0] ?? null;
          const urlPath = rest.slice(1).join('/');
          return predict(ex, deps, explain, ex.params.model_name as string, version, urlPath);
        },
      },
    },
  };
}

export function inferenceRoutes(deps: InferenceRouteDeps): Route[] {
  const ping = (ex: Exchange): void => {
    const health = deps.inference.ping();
    sendStatus(ex.res, ex.ctx, health === 'Healthy' ? 200 : 500, health);
  };
  const kserve = (ex: Exchange, explain: boolean): Promise<void> =>
    predict(ex, deps, explain, ex.params.model_name as string, null, null);
  return [
    { api: 'inference', path: '/ping', openEnded: true, operations: { ANY: { summary: 'Health of the server', handler: ping } } },
    predictionRoute('predictions', deps),
    predictionRoute('explanations', deps),
    {
      api: 'inference',
      path: '/v1/models/{model_name}',
      operations: {
        ANY: {
          summary: 'KServe v1 predict (`{model}:predict`) or explain (`{model}:explain`)',
          handler: async (ex) => {
            const [name, action] = (ex.params.model_name as string).split(':');
            if (action !== 'predict' && action !== 'explain') throw resourceNotFound();
            await predict(ex, deps, action === 'explain', name as string, null, null);
          },
        },
      },
    },
    { api: 'inference', path: '/v2/models/{model_name}/infer', operations: { ANY: { summary: 'KServe v2 inference', handler: (ex) => kserve(ex, false) } } },
    { api: 'inference', path: '/v2/models/{model_name}/explain', operations: { ANY: { summary: 'KServe v2 explanation', handler: (ex) => kserve(ex, true) } } },
  ];
}
