// The HTTP listeners: each request gets a fresh id, is routed through the one route table and
// answered exactly once; API descriptions are served before anything else (spec §0.1–0.2).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { unlink } from 'node:fs/promises';
import type { ListenAddress } from '../config/listen-address.js';
import { invalidHttpMessage, methodNotAllowed, resourceNotFound, tokenAuthenticationFailed, tokenAuthorizationFailed } from '../errors.js';
import type { TokenAuthorization } from '../auth/token-authorization.js';
import { openApiDocument } from './openapi.js';
import { sendError, sendJson, type CorsSettings, type ResponseContext } from './respond.js';
import { matchRoute, pathSegments, type Api, type Route } from './route-table.js';

export interface HttpEdgeOptions {
  readonly routes: readonly Route[];
  readonly cors: CorsSettings;
  readonly version: string;
  readonly logError: (message: string, cause: unknown) => void;
  /** null when token authorization is disabled. */
  readonly auth: TokenAuthorization | null;
  readonly logRefused: (message: string) => void;
  readonly onResponse?: (api: Api, req: IncomingMessage, status: number, elapsedMs: number) => void;
}

export interface BoundListener {
  readonly api: Api;
  readonly url: string;
  readonly port: number | null;
}

export class HttpEdge {
  private readonly servers: Server[] = [];
  private readonly unixPaths: string[] = [];

  constructor(private readonly options: HttpEdgeOptions) {}

  async listen(api: Api, address: ListenAddress): Promise<BoundListener> {
    if (address.scheme === 'https') throw new Error('HTTPS listeners are not supported yet (issue #3)');
    const server = createServer((req, res) => this.handle(api, req, res));
    // Slow or endless headers and bodies are cut off instead of holding sockets forever.
    server.headersTimeout = 30_000;
    server.requestTimeout = 300_000;
    server.keepAliveTimeout = 60_000;
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (address.scheme === 'unix') {
        void unlink(address.path).catch(() => undefined).then(() => server.listen(address.path, resolve));
      } else {
        server.listen(address.port, address.host, resolve);
      }
    });
    if (address.scheme === 'unix') {
      this.unixPaths.push(address.path);
      return { api, url: `unix:${address.path}`, port: null };
    }
    const port = (server.address() as AddressInfo).port;
    const host = address.host.includes(':') ? `[${address.host}]` : address.host;
    return { api, url: `http://${host}:${port}`, port };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.splice(0).map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeIdleConnections();
          }),
      ),
    );
    await Promise.all(this.unixPaths.splice(0).map((p) => unlink(p).catch(() => undefined)));
  }

  private handle(api: Api, req: IncomingMessage, res: ServerResponse): void {
    const started = process.hrtime.bigint();
    const ctx: ResponseContext = { requestId: randomUUID(), cors: this.options.cors, logError: this.options.logError };
    res.once('finish', () => {
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      this.options.onResponse?.(api, req, res.statusCode, elapsedMs);
    });
    this.route(api, req, res, ctx).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, ctx, err);
      else res.destroy(err instanceof Error ? err : undefined);
    });
  }

  private async route(api: Api, req: IncomingMessage, res: ServerResponse, ctx: ResponseContext): Promise<void> {
    let url: URL;
    let segments: string[];
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
      segments = pathSegments(url.pathname).map((s) => decodeURIComponent(s));
    } catch {
      throw invalidHttpMessage();
    }
    const method = req.method ?? 'GET';
    if (segments.length === 0 || segments[0] === 'api-description') {
      if (segments.length === 0 && method !== 'OPTIONS') throw methodNotAllowed();
      sendJson(res, ctx, 200, openApiDocument(this.options.routes, api, this.options.version));
      return;
    }
    const match = matchRoute(this.options.routes, api, method, segments);
    // The token check comes before routing, as in TorchServe: without a key an unknown path is a 400.
    const auth = this.options.auth;
    if (auth !== null) {
      const scope = match.kind !== 'not-found' && match.route.scope === 'api' ? 'api' : api;
      if (!auth.check(scope, req.headers.authorization)) {
        this.options.logRefused(`Token authorization refused: ${req.socket.remoteAddress ?? '-'} ${method} ${url.pathname} (${scope} key)`);
        throw scope === 'api' ? tokenAuthenticationFailed() : tokenAuthorizationFailed();
      }
    }
    switch (match.kind) {
      case 'not-found':
        throw resourceNotFound();
      case 'method-not-allowed':
        throw methodNotAllowed();
      case 'found':
        await match.handler({ req, res, ctx, method, query: url.searchParams, params: match.params });
    }
  }
}
