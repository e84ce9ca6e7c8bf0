// The OpenAPI 3.0.1 document of a listener, generated from the route table so it cannot
// drift from what is served.
import type { Api, Method, Route } from './route-table.js';

const METHOD_KEYS: Record<Method, string> = { GET: 'get', POST: 'post', PUT: 'put', DELETE: 'delete', OPTIONS: 'options' };

const ERROR_SCHEMA = {
  type: 'object',
  required: ['code', 'type', 'message'],
  properties: { code: { type: 'integer' }, type: { type: 'string' }, message: { type: 'string' } },
};

function operationObject(route: Route, method: string, summary: string, query: readonly { name: string; type: string; description: string }[]): object {
  const pathParams = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  return {
    operationId: `${method}${route.path.replace(/[^A-Za-z0-9]+/g, '_')}`,
    summary,
    parameters: [
      ...pathParams,
      ...query.map((q) => ({ name: q.name, in: 'query', required: false, description: q.description, schema: { type: q.type } })),
    ],
    responses: {
      '200': { description: 'Success', content: { 'application/json': { schema: { type: 'object' } } } },
      default: { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    },
  };
}

export function openApiDocument(routes: readonly Route[], apis: Api | readonly Api[], version: string): object {
  const served: readonly Api[] = typeof apis === 'string' ? [apis] : apis;
  const paths: Record<string, Record<string, object>> = {
    '/': {
      options: {
        operationId: 'apiDescription',
        summary: 'This API description',
        responses: { '200': { description: 'OpenAPI 3.0.1 document', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
  };
  for (const route of routes) {
    if (!served.includes(route.api)) continue;
    const item: Record<string, object> = {};
    for (const [method, op] of Object.entries(route.operations)) {
      if (op === undefined) continue;
      const methods = method === 'ANY' ? ['post'] : [METHOD_KEYS[method as Method]];
      for (const m of methods) item[m] = operationObject(route, m, op.summary, op.query ?? []);
    }
    paths[route.path] = item;
    // Open-ended model routes also take a version segment (`/predictions/{model_name}/{model_version}`).
    if (route.openEnded && route.path.endsWith('{model_name}')) {
      const versioned = `${route.path}/{model_version}`;
      const vItem: Record<string, object> = {};
      for (const [m, op] of Object.entries(item)) vItem[m] = { ...op, operationId: `${(op as { operationId: string }).operationId}_version` };
      for (const op of Object.values(vItem)) {
        const o = op as { parameters: object[] };
        o.parameters = [...o.parameters, { name: 'model_version', in: 'path', required: true, schema: { type: 'string' } }];
      }
      paths[versioned] = vItem;
    }
  }
  paths['/api-description'] = {
    get: {
      operationId: 'apiDescriptionGet',
      summary: 'This API description',
      responses: { '200': { description: 'OpenAPI 3.0.1 document', content: { 'application/json': { schema: { type: 'object' } } } } },
    },
  };
  return {
    openapi: '3.0.1',
    info: {
      title: 'TorchServe APIs',
      description: 'Lantern serves machine learning models over TorchServe-compatible APIs',
      version,
    },
    paths,
    components: { schemas: { Error: ERROR_SCHEMA } },
  };
}

/** Paths that take a model name and answer `OPTIONS` with that model's own document (spec §1.1, §2.1). */
export function isModelPath(path: string): boolean {
  return /^\/(predictions|explanations|models)\/\{model_name\}/.test(path);
}

/** The API document of one model: the listener's model paths with the name filled in. */
export function modelOpenApiDocument(routes: readonly Route[], api: Api, modelName: string, version: string): object {
  const full = openApiDocument(routes.filter((r) => r.api === api && isModelPath(r.path)), api, version) as { paths: Record<string, unknown> };
  const paths: Record<string, unknown> = {};
  for (const [p, item] of Object.entries(full.paths)) {
    if (p.includes('{model_name}')) paths[p.replaceAll('{model_name}', modelName)] = item;
  }
  return { ...full, paths };
}
