// The HTTP listeners: each request gets a fresh id, is routed through the one route table and
// answered exactly once; API descriptions are served before anything else (spec §0.1–0.2).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { unlink } from 'node:fs/promises';
import type { ListenAddress } from '../config/listen-address.js';
import {
  connectionsReserved,
  invalidHttpMessage,
  methodNotAllowed,
  requestTimedOut,
  resourceNotFound,
  serverStopping,
  tokenAuthenticationFailed,
  tokenAuthorizationFailed,
  type ServeError,
} from '../errors.js';
import type { TokenAuthorization } from '../auth/token-authorization.js';
import { isModelPath, modelOpenApiDocument, openApiDocument } from './openapi.js';
import { sendError, sendJson, sendStatus, writeRawError, type CorsSettings, type ResponseContext } from './respond.js';
import { createHttpsFront, loadTlsMaterial, type TlsFiles } from './https-front.js';
import { connectionBound, ConnectionGuard, ListenerGuards, managementReserve } from './connection-guard.js';
import { InflightBudget, type BudgetEvents } from './inflight-budget.js';
import { admitRequest, afterBody, answersBeforeBody, watchBodyDeadline } from './request-limits.js';
import { matchRoute, pathSegments, type Api, type Route } from './route-table.js';

export interface HttpEdgeOptions {
  readonly routes: readonly Route[];
  readonly cors: CorsSettings;
  readonly version: string;
  readonly logError: (message: string, cause: unknown) => void;
  /** Each error answered, as one line with its stable code (errors.ts ERROR_CODES). */
  readonly logFailure?: (line: string, error: ServeError) => void;
  /** null when token authorization is disabled. */
  readonly auth: TokenAuthorization | null;
  readonly logRefused: (message: string) => void;
  /**
   * GET paths (the liveness and readiness probes) still routed while the server stops: with them the
   * listeners stay open until close(), so that probes tell the truth until the process exits, and
   * every other request gets 503.
   */
  readonly probePaths?: ReadonlySet<string>;
  readonly onResponse?: (api: Api, req: IncomingMessage, status: number, elapsedMs: number) => void;
  /** A declared body larger than this is refused with 413 before anything else (spec §0.1); none when absent. */
  readonly maxRequestBytes?: number;
  /** PEM files for `https://` addresses. */
  readonly tls?: TlsFiles;
  readonly timeouts?: Partial<EdgeTimeouts>;
  /** Throws the usual 404 for an unknown model or version (for `OPTIONS` on a model's paths). */
  readonly requireModel?: (name: string, version: string | null) => void;
  /** Open connections per listener (max_connections_per_listener); 0 or absent: from the open-file limit. */
  readonly maxConnectionsPerListener?: number;
  /** Shared with the gRPC edge, so that running out of descriptors makes every listener shed; one of its own when absent. */
  readonly listenerGuards?: ListenerGuards;
  /** Body bytes held by requests not yet answered (max_inflight_request_bytes); unbounded when absent. */
  readonly maxInflightRequestBytes?: number;
  /** Told when request bodies start and stop being held (main.ts gives memory back after a burst). */
  readonly bodyMemory?: BudgetEvents;
}

/** How long a client may take; every value is deliberate (slowloris, stalled uploads, idle sockets). */
export interface EdgeTimeouts {
  /** From connection (or the end of the previous request) to the end of the request headers. */
  readonly headersMs: number;
  /** From the end of the head to the end of the body (answered 408 past it); the time to answer is not counted. */
  readonly requestMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveMs: number;
  /** How often node:http checks the two limits above, so they hold to within this much. */
  readonly checkIntervalMs: number;
}

export const DEFAULT_EDGE_TIMEOUTS: EdgeTimeouts = Object.freeze({
  headersMs: 30_000,
  requestMs: 300_000,
  keepAliveMs: 60_000,
  checkIntervalMs: 1_000,
});

/** Request line plus headers; a larger head is answered 400 `Invalid HTTP message.` as TorchServe's decoder does. */
export const MAX_HEADER_BYTES = 16 * 1024;

const HTTPS_ONLY = 'This TorchServe instance only accepts HTTPS requests';

export interface BoundListener {
  readonly api: Api;
  readonly url: string;
  readonly port: number | null;
}

export class HttpEdge {
  private readonly servers: Server[] = [];
  /** Servers a close() or destroy() is releasing. */
  private readonly releasing: Server[] = [];
  private readonly unixPaths: string[] = [];
  /** The TCP listeners in front of https servers (those are in `servers` and never listen themselves). */
  private readonly fronts: NetServer[] = [];
  /** Requests received and not yet answered (graceful stop waits for them). */
  private active = 0;
  private stopping = false;
  private readonly drainWaiters = new Set<() => void>();
  private readonly guards: ListenerGuards;
  private readonly maxConnections: number;
  private readonly budget: InflightBudget | null;

  constructor(private readonly options: HttpEdgeOptions) {
    this.maxConnections = connectionBound(options.maxConnectionsPerListener ?? 0);
    this.guards = options.listenerGuards ?? new ListenerGuards(options.logRefused, options.logError);
    this.budget = options.maxInflightRequestBytes === undefined ? null : new InflightBudget(options.maxInflightRequestBytes, options.bodyMemory ?? {});
  }

  /** Stops accepting connections; requests arriving on open connections get 503. Idempotent. */
  stopAccepting(): void {
    if (this.stopping) return;
    this.stopping = true;
    const keepListening = (this.options.probePaths?.size ?? 0) > 0;
    if (!keepListening) for (const front of this.fronts) front.close(() => undefined);
    for (const s of this.servers) {
      if (!keepListening) s.close(() => undefined);
      s.closeIdleConnections();
    }
  }

  private isProbe(req: IncomingMessage): boolean {
    return req.method === 'GET' && (this.options.probePaths?.has((req.url ?? '').split('?')[0] ?? '') ?? false);
  }

  /** Resolves true once every accepted request has been answered, false after `timeoutMs`. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.active === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (drained: boolean): void => {
        clearTimeout(timer);
        this.drainWaiters.delete(waiter);
        resolve(drained);
      };
      const waiter = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.drainWaiters.add(waiter);
    });
  }

  private finished(): void {
    this.active--;
    if (this.active === 0) for (const waiter of [...this.drainWaiters]) waiter();
  }

  async listen(api: Api, address: ListenAddress): Promise<BoundListener> {
    return (await this.listenShared([api], address))[0] as BoundListener;
  }

  /**
   * One listener for several APIs (TorchServe's shared "ALL" listener when the inference and
   * management addresses are equal); returns one entry per API served.
   */
  async listenShared(served: readonly Api[], address: ListenAddress): Promise<BoundListener[]> {
    const where = address.scheme === 'unix' ? `unix:${address.path}` : `${address.scheme}://${address.host}:${address.port}`;
    const sharedWithManagement = served.includes('management') && served.length > 1;
    const guard = new ConnectionGuard({
      maxConnections: this.maxConnections,
      managementReserve: sharedWithManagement ? managementReserve(this.maxConnections) : 0,
      log: this.options.logRefused,
      name: `${served.join('+')} listener ${where}`,
    });
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.handle(served, guard, req, res);
    const server: Server | NetServer =
      address.scheme === 'https'
        ? await this.httpsFront(address.host, address.port, handler, guard)
        : this.limited(createServer(this.serverOptions(), handler));
    this.guards.add(guard, server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const listening = (): void => {
        server.off('error', reject);
        server.on('error', (err: NodeJS.ErrnoException) => this.guards.acceptFailed(err, where));
        resolve();
      };
      if (address.scheme === 'unix') {
        void unlink(address.path).catch(() => undefined).then(() => server.listen(address.path, listening));
      } else {
        server.listen(address.port, address.host, listening);
      }
    });
    if (address.scheme === 'unix') {
      this.unixPaths.push(address.path);
      return served.map((api) => ({ api, url: `unix:${address.path}`, port: null }));
    }
    const port = (server.address() as AddressInfo).port;
    const host = address.host.includes(':') ? `[${address.host}]` : address.host;
    return served.map((api) => ({ api, url: `${address.scheme}://${host}:${port}`, port }));
  }

  private timeouts(): EdgeTimeouts {
    return { ...DEFAULT_EDGE_TIMEOUTS, ...this.options.timeouts };
  }

  private serverOptions(): { maxHeaderSize: number; connectionsCheckingInterval: number } {
    return { maxHeaderSize: MAX_HEADER_BYTES, connectionsCheckingInterval: this.timeouts().checkIntervalMs };
  }

  /** Slow or endless heads and bodies are cut off, and what node:http cannot parse gets an error body. */
  private limited<S extends Server>(server: S): S {
    const timeouts = this.timeouts();
    server.headersTimeout = timeouts.headersMs;
    // A backstop only: the edge answers a slow body with 408 at requestMs after its head (handle()),
    // where node:http would close the connection without an answer.
    server.requestTimeout = timeouts.headersMs + timeouts.requestMs + 2 * timeouts.checkIntervalMs;
    server.keepAliveTimeout = timeouts.keepAliveMs;
    // Every header is kept, so that the whole head can be counted (request-limits.ts).
    server.maxHeadersCount = 0;
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.onClientError(err, socket));
    this.servers.push(server);
    return server;
  }

  /**
   * An https listener: a TCP server that hands decrypted TLS connections to one HTTP server and plain
   * HTTP to another that answers 403, as TorchServe does.
   */
  private async httpsFront(
    host: string,
    port: number,
    handler: (req: IncomingMessage, res: ServerResponse) => void,
    guard: ConnectionGuard,
  ): Promise<NetServer> {
    const material = await loadTlsMaterial(this.options.tls ?? { certificateFile: null, privateKeyFile: null }, `https://${host}:${port}`);
    const secure = this.limited(createServer(this.serverOptions(), handler));
    const plain = this.limited(createServer(this.serverOptions(), (req, res) => this.refusePlainHttp(req, res)));
    // These servers never listen themselves; 'listening' starts node:http's timeout checks for them.
    secure.emit('listening');
    plain.emit('listening');
    const front = createHttpsFront(material, secure, plain, this.timeouts().headersMs, (tlsSocket, socket) => guard.alias(tlsSocket, socket));
    this.fronts.push(front);
    return front;
  }

  private onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    const busy = (socket as Socket & { _httpMessage?: unknown })._httpMessage;
    if (!socket.writable || (busy !== null && busy !== undefined) || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const error: ServeError = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? requestTimedOut() : invalidHttpMessage();
    this.options.logRefused(`Refused a request from ${socket.remoteAddress ?? '-'}: ${err.code ?? err.message}`);
    writeRawError(socket, error);
  }

  private refusePlainHttp(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const ctx: ResponseContext = this.context();
    sendStatus(res, ctx, 403, HTTPS_ONLY);
  }

  /** Stops accepting, lets open requests end (cut after 1 s), releases the ports. Idempotent. */
  close(): Promise<void> {
    return this.release(1000);
  }

  /** Cuts every connection now, answered or not, and releases the ports. Idempotent. */
  destroy(): Promise<void> {
    return this.release(0);
  }

  private async release(graceMs: number): Promise<void> {
    this.stopping = true;
    this.guards.close();
    // A destroy() during a close() cuts what the close is still waiting for.
    if (graceMs === 0) for (const s of this.releasing) s.closeAllConnections();
    this.releasing.push(...this.servers);
    const fronts = this.fronts.splice(0).map((front) => new Promise<void>((resolve) => front.close(() => resolve())));
    await Promise.all(
      this.servers.splice(0).map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeIdleConnections();
            // Connections still open after a grace period (a request body still uploading) are cut.
            if (graceMs === 0) s.closeAllConnections();
            else setTimeout(() => s.closeAllConnections(), graceMs).unref();
          }),
      ),
    );
    await Promise.all(fronts);
    await Promise.all(this.unixPaths.splice(0).map((p) => unlink(p).catch(() => undefined)));
  }

  private context(): ResponseContext {
    const { cors, logError, logFailure } = this.options;
    return logFailure === undefined ? { requestId: randomUUID(), cors, logError } : { requestId: randomUUID(), cors, logError, logFailure };
  }

  private handle(apis: readonly Api[], guard: ConnectionGuard, req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const ctx: ResponseContext = this.context();
    if (this.stopping) {
      // No connection outlives the stop's answers.
      res.setHeader('Connection', 'close');
      if (!this.isProbe(req)) {
        sendError(res, ctx, serverStopping());
        return;
      }
    }
    this.active++;
    guard.requestStarted(req.socket);
    // A response emits each of these once: plain listeners spare the once() wrappers.
    res.on('close', () => {
      guard.requestEnded(req.socket);
      this.finished();
    });
    watchBodyDeadline(req, res, this.timeouts().requestMs, () => this.bodyTimedOut(req, res, ctx));
    res.on('finish', () => {
      const elapsedMs = performance.now() - started;
      this.options.onResponse?.(apis[0] as Api, req, res.statusCode, elapsedMs);
    });
    this.route(apis, req, res, ctx, guard.isReserved(req.socket)).catch((err: unknown) => {
      if (res.headersSent) res.destroy(err instanceof Error ? err : undefined);
      else if (!answersBeforeBody(req, err)) afterBody(req, () => sendError(res, ctx, err));
      else sendError(res, ctx, err);
    });
  }

  /** The body did not arrive in time: 408, then the connection is closed instead of reading on. */
  private bodyTimedOut(req: IncomingMessage, res: ServerResponse, ctx: ResponseContext): void {
    this.options.logRefused(`Refused a request from ${req.socket.remoteAddress ?? '-'}: its body was not received within ${this.timeouts().requestMs} ms`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.once('finish', () => req.socket.end());
    sendError(res, ctx, requestTimedOut());
  }

  /** `reserved`: the connection was admitted into a shared listener's management reserve. */
  private async route(apis: readonly Api[], req: IncomingMessage, res: ServerResponse, ctx: ResponseContext, reserved: boolean): Promise<void> {
    let url: URL;
    let segments: string[];
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
      segments = pathSegments(url.pathname).map((s) => decodeURIComponent(s));
    } catch {
      throw invalidHttpMessage();
    }
    const method = req.method ?? 'GET';
    // As TorchServe's aggregator: an oversized head or body is refused before routing and the token check.
    const allowance = admitRequest(req, res, MAX_HEADER_BYTES, this.options.maxRequestBytes, this.budget);
    if (segments.length === 0 || segments[0] === 'api-description') {
      if (segments.length === 0 && method !== 'OPTIONS') throw methodNotAllowed();
      sendJson(res, ctx, 200, openApiDocument(this.options.routes, apis, this.options.version));
      return;
    }
    // On a shared listener the inference routes are tried first, then the management ones.
    let match = matchRoute(this.options.routes, apis[0] as Api, method, segments);
    for (const other of apis.slice(1)) {
      if (match.kind !== 'not-found') break;
      match = matchRoute(this.options.routes, other, method, segments);
    }
    const api = match.kind === 'not-found' ? (apis[0] as Api) : match.route.api;
    if (reserved && api !== 'management') {
      this.options.logRefused(`Refused ${method} ${url.pathname} from ${req.socket.remoteAddress ?? '-'}: the listener is at its connection bound and its reserve is for the management API`);
      res.setHeader('Connection', 'close');
      throw connectionsReserved();
    }
    // The token check comes before routing, as in TorchServe: without a key an unknown path is a 400.
    const auth = this.options.auth;
    const isPublic = match.kind === 'found' && match.route.scope === 'public';
    if (auth !== null && !isPublic && api !== 'metrics') {
      const scope = match.kind !== 'not-found' && match.route.scope === 'api' ? 'api' : api;
      if (!auth.check(scope, req.headers.authorization)) {
        this.options.logRefused(`Token authorization refused: ${req.socket.remoteAddress ?? '-'} ${method} ${url.pathname} (${scope} key)`);
        throw scope === 'api' ? tokenAuthenticationFailed() : tokenAuthorizationFailed();
      }
    }
    // OPTIONS on a model's paths describes that model's API instead of acting (spec §1.1, §2.1).
    if (method === 'OPTIONS' && match.kind !== 'not-found' && isModelPath(match.route.path)) {
      const name = match.params.model_name as string;
      const version = match.params.model_version ?? match.params.rest?.split('/')[0] ?? null;
      this.options.requireModel?.(name, version);
      sendJson(res, ctx, 200, modelOpenApiDocument(this.options.routes, api, name, this.options.version));
      return;
    }
    switch (match.kind) {
      case 'not-found':
        throw resourceNotFound();
      case 'method-not-allowed':
        throw methodNotAllowed();
      case 'found':
        await match.handler({ req, res, ctx, method, query: url.searchParams, params: match.params, bodyAllowance: allowance });
    }
  }
}
