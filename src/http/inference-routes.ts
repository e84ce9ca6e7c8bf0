// Inference API routes (spec §2.1) → InferenceService, and writing worker replies back,
// streamed replies as HTTP chunks (spec §2.6).
import type { Exchange, Route } from './route-table.js';
import type { InferenceService } from '../services/inference-service.js';
import type { InferenceRequest, RequestParameter, ResponseEntry } from '../protocol/messages.js';
import { parameterRequired, resourceNotFound, type ServeError } from '../errors.js';
import { bodyParameters, receiveBody } from './request-body.js';
import { sendBytes, sendError, sendJson, sendStatus, setCommonHeaders } from './respond.js';

export interface InferenceRouteDeps {
  readonly inference: InferenceService;
  readonly maxRequestBytes: number;
  /** A model's readiness (services/readiness.ts); throws the usual 404 for an unknown model. */
  readonly isModelReady: (name: string, version?: string) => boolean;
}

/** Every request header, last value winning for repeated names (spec §2.3). */
export function requestHeaders(ex: Exchange): Array<[string, string]> {
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

/** What a route adds to the request: TorchServe's `explain`/`url_path` headers, or its query string as inputs. */
interface RouteInputs {
  /** `explain` header (predictions, explanations, KServe); null for the SageMaker and legacy routes. */
  readonly explain: boolean | null;
  /** `url_path` header (predictions and explanations only). */
  readonly urlPath: string | null;
  /** Query parameters become inputs ahead of the body's (invocations and legacy routes). */
  readonly query: boolean;
}

async function predict(ex: Exchange, deps: InferenceRouteDeps, name: string | null, version: string | null, inputs: RouteInputs): Promise<void> {
  const body = await receiveBody(ex.req, deps.maxRequestBytes, ex.bodyAllowance ?? null);
  const headers = requestHeaders(ex);
  if (inputs.urlPath !== null) headers.push(['url_path', inputs.urlPath]);
  if (inputs.explain !== null) headers.push(['explain', inputs.explain ? 'True' : 'False']);
  const fromQuery: RequestParameter[] = inputs.query
    ? [...ex.query].map(([key, value]) => ({ name: key, contentType: '', value: Buffer.from(value, 'utf8') }))
    : [];
  const parameters = [...fromQuery, ...(await bodyParameters(ex.req.headers['content-type'], body))];
  // /invocations without ?model_name: the one model loaded at start, else a model_name input.
  const model = name ?? deps.inference.soleStartupModel() ?? parameters.find((p) => p.name === 'model_name')?.value.toString('utf8') ?? null;
  if (model === null || model === '') throw parameterRequired('model_name');
  const request: InferenceRequest = { requestId: ex.ctx.requestId, headers, parameters };
  const cancel = deps.inference.submit(model, version, request, {
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
          return predict(ex, deps, ex.params.model_name as string, version, { explain, urlPath, query: false });
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
  const withQuery: RouteInputs = { explain: null, urlPath: null, query: true };
  const legacy = (summary: string, path: string): Route => ({
    api: 'inference',
    path,
    operations: { ANY: { summary, handler: (ex) => predict(ex, deps, ex.params.model_name as string, ex.params.model_version ?? null, withQuery) } },
  });
  return [
    { api: 'inference', path: '/ping', openEnded: true, operations: { ANY: { summary: 'Health of the server', handler: ping } } },
    predictionRoute('predictions', deps),
    predictionRoute('explanations', deps),
    {
      api: 'inference',
      path: '/v1/models/{model_name}',
      operations: {
        ANY: {
          summary: 'KServe v1 predict (`{model}:predict`), explain (`{model}:explain`), or model readiness (GET `{model}`)',
          handler: async (ex) => {
            const [name, action] = (ex.params.model_name as string).split(':') as [string, string | undefined];
            if (action === undefined && ex.method === 'GET') {
              sendJson(ex.res, ex.ctx, 200, { name, ready: deps.isModelReady(name) });
              return;
            }
            if (action !== 'predict' && action !== 'explain') throw resourceNotFound();
            await predict(ex, deps, name as string, null, { explain: action === 'explain', urlPath: null, query: false });
          },
        },
      },
    },
    {
      api: 'inference',
      path: '/v1/models',
      operations: { GET: { summary: 'KServe v1 model list', handler: (ex) => sendJson(ex.res, ex.ctx, 200, { models: deps.inference.modelNames() }) } },
    },
    {
      api: 'inference',
      path: '/invocations',
      operations: {
        ANY: {
          summary: 'SageMaker-style predict: ?model_name=, else the one model loaded at start, else a model_name input; query parameters are inputs',
          handler: (ex) => predict(ex, deps, ex.query.get('model_name'), null, withQuery),
        },
      },
    },
    legacy('SageMaker-style predict; query parameters are inputs', '/models/{model_name}/invoke'),
    legacy('Legacy predict; query parameters are inputs', '/{model_name}/predict'),
    legacy('Legacy predict of a version; query parameters are inputs', '/{model_name}/{model_version}/predict'),
  ];
}
