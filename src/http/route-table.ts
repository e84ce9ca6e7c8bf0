// The one route table: every HTTP route of the inference and management APIs, with its
// methods, and matching by path segments the way TorchServe splits paths (spec §0.1).
import type { IncomingMessage, ServerResponse } from 'node:http';
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

export function matchRoute(routes: readonly Route[], api: Api, method: string, segments: readonly string[]): RouteMatch {
  for (const route of routes) {
    if (route.api !== api) continue;
    const params = matchTemplate(route, segments);
    if (params === null) continue;
    const op = route.operations[method as Method] ?? route.operations.ANY;
    if (op === undefined) return { kind: 'method-not-allowed', route, params };
    return { kind: 'found', route, handler: op.handler, params };
  }
  return { kind: 'not-found' };
}

function matchTemplate(route: Route, segments: readonly string[]): Record<string, string> | null {
  const template = pathSegments(route.path);
  if (segments.length < template.length) return null;
  if (segments.length > template.length && !route.openEnded) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const t = template[i] as string;
    const s = segments[i] as string;
    if (t.startsWith('{') && t.endsWith('}')) {
      if (s === '') return null;
      params[t.slice(1, -1)] = s;
    } else if (t !== s) {
      return null;
    }
  }
  if (segments.length > template.length) params.rest = segments.slice(template.length).join('/');
  return params;
}
