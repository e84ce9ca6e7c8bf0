// The one route table: every HTTP route of the inference and management APIs, with its
// methods, and matching by path segments the way TorchServe splits paths (spec §0.1).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BodyAllowance } from './inflight-budget.js';
import type { ResponseContext } from './respond.js';

/** `metrics`: the metrics listener, which never asks for a token (spec §10.1). */
export type Api = 'inference' | 'management' | 'metrics';
export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS';

export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly ctx: ResponseContext;
  readonly method: string;
  readonly query: URLSearchParams;
  /** Named path parameters; `rest` holds segments beyond the template, joined by '/'. */
  readonly params: Readonly<Record<string, string>>;
  /** The request's share of max_inflight_request_bytes, for bodies read in chunks; null when unbounded. */
  readonly bodyAllowance?: BodyAllowance | null;
}

export type Handler = (ex: Exchange) => Promise<void> | void;

export interface QueryParam {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'boolean';
  readonly description: string;
}

export interface Operation {
  readonly summary: string;
  readonly query?: readonly QueryParam[];
  readonly handler: Handler;
}

export interface Route {
  readonly api: Api;
  /** Template like `/models/{model_name}/{model_version}`; `{...}` segments are parameters. */
  readonly path: string;
  /** Extra segments are allowed and collected as `rest`. */
  readonly openEnded?: boolean;
  /** The key that guards the route; the listener's own API key when absent; `public`: no key (health probes). */
  readonly scope?: 'api' | 'public';
  /** `ANY` answers every method (prediction routes do not check the method). */
  readonly operations: Partial<Record<Method | 'ANY', Operation>>;
}

export type RouteMatch =
  | { readonly kind: 'found'; readonly route: Route; readonly handler: Handler; readonly params: Record<string, string> }
  | { readonly kind: 'method-not-allowed'; readonly route: Route; readonly params: Record<string, string> }
  | { readonly kind: 'not-found' };

/** Splits a path like Java's String.split('/'): trailing empty segments dropped, leading '' removed. */
export function pathSegments(pathname: string): string[] {
  const parts = pathname.split('/');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.slice(1);
}

/** A route's template split once: each segment a literal, or the name of a parameter. */
interface CompiledRoute {
  readonly route: Route;
  readonly parts: readonly (string | { readonly param: string })[];
}

/** Templates are split once per route table, not for every request. */
const compiledTables = new WeakMap<readonly Route[], readonly CompiledRoute[]>();

function compiled(routes: readonly Route[]): readonly CompiledRoute[] {
  let table = compiledTables.get(routes);
  if (table === undefined) {
    table = routes.map((route) => ({
      route,
      parts: pathSegments(route.path).map((t) => (t.startsWith('{') && t.endsWith('}') ? { param: t.slice(1, -1) } : t)),
    }));
    compiledTables.set(routes, table);
  }
  return table;
}

export function matchRoute(routes: readonly Route[], api: Api, method: string, segments: readonly string[]): RouteMatch {
  for (const entry of compiled(routes)) {
    const { route } = entry;
    if (route.api !== api) continue;
    const params = matchTemplate(entry, segments);
    if (params === null) continue;
    const op = route.operations[method as Method] ?? route.operations.ANY;
    if (op === undefined) return { kind: 'method-not-allowed', route, params };
    return { kind: 'found', route, handler: op.handler, params };
  }
  return { kind: 'not-found' };
}

function matchTemplate({ route, parts }: CompiledRoute, segments: readonly string[]): Record<string, string> | null {
  if (segments.length < parts.length) return null;
  if (segments.length > parts.length && route.openEnded !== true) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as CompiledRoute['parts'][number];
    const segment = segments[i] as string;
    if (typeof part === 'string') {
      if (part !== segment) return null;
    } else {
      if (segment === '') return null;
      params[part.param] = segment;
    }
  }
  if (segments.length > parts.length) params.rest = segments.slice(parts.length).join('/');
  return params;
}
