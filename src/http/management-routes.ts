// Management API routes (spec §1.1) → ManagementService.
import { badRequest, keysManagedExternally, tokenAuthenticationFailed } from '../errors.js';
import type { TokenAuthorization } from '../auth/token-authorization.js';
import type { ManagementService, RegisterParams, StatusOutcome } from '../services/management-service.js';
import { parseLenientJson } from './lenient-json.js';
import { readBody, mimeType } from './request-body.js';
import { sendBytes, sendJson, sendStatus, prettyJson } from './respond.js';
import type { Exchange, QueryParam, Route } from './route-table.js';
import { boolParam, intParam, stringParam } from './query-params.js';

export interface ManagementRouteDeps {
  readonly management: ManagementService;
  readonly maxRequestBytes: number;
  /** null when token authorization is disabled (the token API then does not exist). */
  readonly auth: TokenAuthorization | null;
  /** A model's readiness (services/readiness.ts); throws the usual 404 for an unknown model. */
  readonly isModelReady: (name: string) => boolean;
}

const OUTCOME_STATUS: Record<StatusOutcome['kind'], number> = { done: 200, accepted: 202, partial: 206 };

function sendOutcome(ex: Exchange, outcome: StatusOutcome): void {
  sendStatus(ex.res, ex.ctx, OUTCOME_STATUS[outcome.kind], outcome.message);
}

const REGISTER_QUERY: readonly QueryParam[] = [
  { name: 'url', type: 'string', description: 'Model archive: a file in the model store or an http(s) URL' },
  { name: 'model_name', type: 'string', description: 'Name of the model (default: modelName in MANIFEST.json)' },
  { name: 'handler', type: 'string', description: 'Handler entry point (overrides the manifest)' },
  { name: 'runtime', type: 'string', description: 'Runtime: python, python3 or LSP' },
  { name: 'batch_size', type: 'integer', description: 'Inference batch size (default 1)' },
  { name: 'max_batch_delay', type: 'integer', description: 'Maximum delay for batch aggregation in ms (default 100)' },
  { name: 'initial_workers', type: 'integer', description: 'Number of workers to start (default 0)' },
  { name: 'synchronous', type: 'boolean', description: 'Wait for the workers to start (default true)' },
  { name: 'response_timeout', type: 'integer', description: 'Seconds a worker may take to answer (default 120)' },
  { name: 'startup_timeout', type: 'integer', description: 'Seconds a worker may take to load (default 120)' },
  { name: 's3_sse_kms', type: 'boolean', description: 'Sign the download with AWS SigV4 (SSE-KMS encrypted S3 objects; default false)' },
];

const SCALE_QUERY: readonly QueryParam[] = [
  { name: 'min_worker', type: 'integer', description: 'Minimum number of workers (default 1)' },
  { name: 'max_worker', type: 'integer', description: 'Maximum number of workers (default min_worker)' },
  { name: 'synchronous', type: 'boolean', description: 'Wait until the workers are adjusted (default false)' },
];

const DESCRIBE_QUERY: readonly QueryParam[] = [
  { name: 'customized', type: 'boolean', description: "Include the handler's customized metadata" },
];

/** Register parameters come from a JSON body when the request is application/json (spec §1.2). */
async function registerQuery(ex: Exchange, maxBytes: number): Promise<URLSearchParams> {
  if (mimeType(ex.req.headers['content-type']) !== 'application/json') return ex.query;
  const body = await readBody(ex.req, maxBytes, ex.bodyAllowance ?? null);
  let parsed: unknown;
  try {
    parsed = parseLenientJson(body.toString('utf8'));
  } catch {
    throw badRequest('Invalid JSON in request body.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw badRequest('Request body must be a JSON object.');
  }
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(parsed)) {
    if (value === null) continue;
    if (typeof value === 'object') throw badRequest(`Parameter ${key} must be a string, number or boolean.`);
    query.set(key, String(value));
  }
  return query;
}

function requested(query: URLSearchParams): RegisterParams['requested'] {
  return {
    batchSize: intParam(query, 'batch_size'),
    maxBatchDelayMs: intParam(query, 'max_batch_delay'),
    responseTimeoutSec: positiveOrNull(intParam(query, 'response_timeout')),
    // 0 is kept, as TorchServe keeps it: workers then cannot load in time.
    startupTimeoutSec: nonNegativeOrNull(intParam(query, 'startup_timeout')),
    initialWorkers: intParam(query, 'initial_workers'),
  };
}

const positiveOrNull = (v: number | null): number | null => (v !== null && v > 0 ? v : null);
const nonNegativeOrNull = (v: number | null): number | null => (v !== null && v >= 0 ? v : null);

export function managementRoutes(deps: ManagementRouteDeps): Route[] {
  const { management } = deps;

  const describe = async (ex: Exchange, version: string | null): Promise<void> => {
    const name = ex.params.model_name as string;
    if (boolParam(ex.query, 'customized', false) && version !== 'all') {
      const headers = Object.entries(ex.req.headers).flatMap(([k, v]) =>
        v === undefined ? [] : [[k, Array.isArray(v) ? (v[v.length - 1] ?? '') : v] as const],
      );
      const result = await management.describeCustomized(name, version, headers, ex.ctx.requestId);
      for (const [k, v] of result.headers) if (k.toLowerCase() !== 'content-type') ex.res.setHeader(k, v);
      sendBytes(ex.res, ex.ctx, result.status, prettyJson(result.models), result.contentType || 'application/json');
      return;
    }
    sendJson(ex.res, ex.ctx, 200, await management.describe(name, version));
  };

  const scale = async (ex: Exchange, version: string | null): Promise<void> => {
    const modelVersion = version ?? stringParam(ex.query, 'model_version');
    sendOutcome(
      ex,
      await management.scale({
        name: ex.params.model_name as string,
        version: modelVersion,
        versionInPath: version !== null,
        minWorker: intParam(ex.query, 'min_worker'),
        maxWorker: intParam(ex.query, 'max_worker'),
        synchronous: boolParam(ex.query, 'synchronous', false),
      }),
    );
  };

  const unregister = async (ex: Exchange, version: string | null): Promise<void> =>
    sendOutcome(ex, await management.unregister(ex.params.model_name as string, version));

  const versionOf = (ex: Exchange): string => ex.params.model_version as string;

  const routes: Route[] = [
    {
      api: 'management',
      path: '/models',
      operations: {
        GET: {
          summary: 'List registered models (default versions)',
          query: [
            { name: 'limit', type: 'integer', description: 'Maximum number of items to return (default 100)' },
            { name: 'next_page_token', type: 'string', description: 'Offset returned by a previous call' },
          ],
          handler: (ex) => sendJson(ex.res, ex.ctx, 200, management.list(intParam(ex.query, 'limit'), intParam(ex.query, 'next_page_token'))),
        },
        POST: {
          summary: 'Register a model',
          query: REGISTER_QUERY,
          handler: async (ex) => {
            const query = await registerQuery(ex, deps.maxRequestBytes);
            sendOutcome(
              ex,
              await management.register({
                // `url=` (present, empty) is TorchServe's 404 `empty url`; no url at all is a 400.
                url: query.get('url'),
                modelName: stringParam(query, 'model_name'),
                handler: stringParam(query, 'handler'),
                runtime: stringParam(query, 'runtime'),
                requested: requested(query),
                synchronous: boolParam(query, 'synchronous', true),
                s3SseKms: boolParam(query, 's3_sse_kms', false),
              }),
            );
          },
        },
      },
    },
    {
      api: 'management',
      path: '/models/{model_name}',
      operations: {
        GET: { summary: 'Describe the default version of a model', query: DESCRIBE_QUERY, handler: (ex) => describe(ex, null) },
        PUT: { summary: 'Scale the workers of the default version', query: SCALE_QUERY, handler: (ex) => scale(ex, null) },
        DELETE: { summary: 'Unregister the default version', handler: (ex) => unregister(ex, null) },
      },
    },
    {
      api: 'management',
      path: '/models/{model_name}/{model_version}',
      operations: {
        GET: { summary: 'Describe a version of a model ("all" for every version)', query: DESCRIBE_QUERY, handler: (ex) => describe(ex, versionOf(ex)) },
        PUT: { summary: 'Scale the workers of a version', query: SCALE_QUERY, handler: (ex) => scale(ex, versionOf(ex)) },
        DELETE: { summary: 'Unregister a version', handler: (ex) => unregister(ex, versionOf(ex)) },
      },
    },
    {
      api: 'management',
      path: '/models/{model_name}/{model_version}/set-default',
      operations: {
        PUT: {
          summary: 'Make a version the default',
          handler: async (ex) => sendOutcome(ex, await management.setDefault(ex.params.model_name as string, versionOf(ex))),
        },
        // TorchServe's segment counting makes these act on the default version (spec §13.4).
        GET: { summary: 'Describe the default version', handler: (ex) => describe(ex, null) },
        DELETE: { summary: 'Unregister the default version', handler: (ex) => unregister(ex, null) },
      },
    },
    {
      api: 'management',
      path: '/v1/models/{model_name}',
      operations: {
        GET: {
          summary: 'KServe v1 model readiness',
          handler: (ex) => {
            const name = (ex.params.model_name as string).split(':')[0] as string;
            // An unknown model is 404 ModelNotFoundException, as TorchServe's management listener answers.
            sendJson(ex.res, ex.ctx, 200, { name, ready: deps.isModelReady(name) });
          },
        },
      },
    },
  ];
  const auth = deps.auth;
  if (auth !== null) routes.push(tokenRoute(auth));
  return routes;
}

/** `GET /token?type=management|inference` rotates that key; guarded by the API key (spec §3). */
function tokenRoute(auth: TokenAuthorization): Route {
  if (auth.managedExternally) {
    // There is no API key to check: whoever manages the keys rotates them.
    return {
      api: 'management',
      path: '/token',
      scope: 'public',
      operations: {
        GET: {
          summary: 'Refused (405): the keys are managed externally (token_key_file, TS_INFERENCE_KEY/TS_MANAGEMENT_KEY)',
          handler: () => {
            throw keysManagedExternally();
          },
        },
      },
    };
  }
  return {
    api: 'management',
    path: '/token',
    scope: 'api',
    operations: {
      GET: {
        summary: 'Replace the management or inference key (needs the API key)',
        query: [{ name: 'type', type: 'string', description: 'management or inference' }],
        handler: async (ex) => {
          const type = ex.query.get('type');
          if (type !== 'management' && type !== 'inference') throw tokenAuthenticationFailed();
          await auth.rotate(type);
          sendBytes(ex.res, ex.ctx, 200, '\n', 'application/json');
        },
      },
    },
  };
}
