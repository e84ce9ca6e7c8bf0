// The gRPC listeners (spec §11.1): InferenceAPIsService (and the Open Inference Protocol's
// GRPCInferenceService) on grpc_inference_address:port and
// ManagementAPIsService on grpc_management_address:port, TLS when enable_grpc_ssl, inbound messages
// limited to max_request_size, and token authorization from `authorization: Bearer <key>` metadata
// (spec §3) checked before any handler runs. Lantern accepts the TCP connections itself and hands
// them to grpc-js, so each listener has the same connection bound as the HTTP listeners (issue 21):
// a connection that has sent nothing is closed after a while and shed first at the bound.
import { readFile } from 'node:fs/promises';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import {
  Server,
  ServerCredentials,
  status as GrpcCode,
  type MethodDefinition,
  type ServiceDefinition,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { tokenAuthorizationFailed } from '../errors.js';
import type { KeyScope, TokenAuthorization } from '../auth/token-authorization.js';
import { TIMED_OUT, withTimeout, type Clock } from '../clock.js';
import type { InferenceService } from '../services/inference-service.js';
import type { ManagementService } from '../services/management-service.js';
import { loadLanternServices, type LanternServices } from './proto-definitions.js';
import { inferenceCalls } from './inference-calls.js';
import { openInferenceCalls } from './open-inference-calls.js';
import type { OpenInference } from '../services/open-inference.js';
import { managementCalls } from './management-calls.js';
import { ConnectionGuard, type ListenerGuards } from '../http/connection-guard.js';

/** A connection that has not sent a byte (the HTTP/2 preface) this long after it was accepted is closed. */
const SILENT_CONNECTION_MS = 30_000;

export type GrpcApi = 'grpc-inference' | 'grpc-management';

export interface GrpcListener {
  readonly api: GrpcApi;
  /** `grpc://host:port`, or `grpcs://host:port` with TLS. */
  readonly url: string;
  readonly port: number;
}

export interface GrpcTls {
  readonly certificateFile: string;
  readonly privateKeyFile: string;
}

export interface GrpcEdgeOptions {
  readonly inference: InferenceService;
  readonly management: ManagementService;
  readonly openInference: OpenInference;
  /** null when token authorization is disabled. */
  readonly auth: TokenAuthorization | null;
  readonly maxRequestBytes: number;
  readonly maxResponseBytes: number;
  readonly tls: GrpcTls | null;
  readonly clock: Clock;
  readonly logError: (message: string, cause: unknown) => void;
  readonly logRefused: (message: string) => void;
  /** Open connections per listener (max_connections_per_listener, resolved). */
  readonly maxConnections: number;
  /** The accept back-off every listener shares. */
  readonly listenerGuards: ListenerGuards;
}

export class GrpcEdge {
  private readonly servers: Server[] = [];
  private readonly tcpServers: NetServer[] = [];
  private readonly shutdowns = new Map<Server, Promise<void>>();
  private readonly stopping = new AbortController();
  private readonly services: LanternServices = loadLanternServices();

  constructor(private readonly options: GrpcEdgeOptions) {}

  /** Binds one API's server; port 0 picks a free port. */
  async listen(api: GrpcApi, host: string, port: number): Promise<GrpcListener> {
    const server = new Server({ 'grpc.max_receive_message_length': this.options.maxRequestBytes });
    const { inference, management, auth, logError } = this.options;
    if (api === 'grpc-inference') {
      const calls = inferenceCalls({ inference, maxResponseBytes: this.options.maxResponseBytes, logError, stopping: this.stopping.signal });
      server.addService(this.services.inference, this.guarded(this.services.inference, calls, 'inference', auth));
      // The Open Inference Protocol beside TorchServe's service, under both of its names.
      const oipCalls = openInferenceCalls({ inference, openInference: this.options.openInference, logError });
      for (const definition of this.services.openInference) server.addService(definition, this.guarded(definition, oipCalls, 'inference', auth));
    } else {
      const calls = managementCalls({ management, logError });
      server.addService(this.services.management, this.guarded(this.services.management, calls, 'management', auth));
    }
    this.servers.push(server);
    const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    const where = `${bracketed}:${port}`;
    const injector = server.createConnectionInjector(await this.credentials());
    const guard = new ConnectionGuard({
      maxConnections: this.options.maxConnections,
      log: this.options.logRefused,
      name: `${api} listener ${where}`,
      // grpc-js owns the HTTP/2 sessions: a connection that has sent its preface is a client's channel
      // and is never shed; one that has sent nothing is, and is closed after SILENT_CONNECTION_MS.
      busy: (socket) => socket.bytesRead > 0,
      silentTimeoutMs: SILENT_CONNECTION_MS,
    });
    const tcp = createNetServer((socket) => injector.injectConnection(socket));
    this.options.listenerGuards.add(guard, tcp);
    this.tcpServers.push(tcp);
    const boundPort = await new Promise<number>((resolve, reject) => {
      tcp.once('error', (err) => reject(new Error(`The ${api} listener cannot listen on ${where}: ${err.message}`, { cause: err })));
      tcp.listen(port, host.replace(/^\[|\]$/g, ''), () => {
        tcp.removeAllListeners('error');
        tcp.on('error', (err: NodeJS.ErrnoException) => this.options.listenerGuards.acceptFailed(err, `${api} ${where}`));
        resolve((tcp.address() as AddressInfo).port);
      });
    });
    return { api, url: `${this.options.tls === null ? 'grpc' : 'grpcs'}://${bracketed}:${boundPort}`, port: boundPort };
  }

  /** Refuses new calls from now on; calls in flight go on (a StreamPredictions2 call up to its current request). Idempotent. */
  stopAccepting(): void {
    this.stopping.abort();
    for (const tcp of this.tcpServers.splice(0)) tcp.close(() => undefined);
    for (const server of this.servers) {
      if (this.shutdowns.has(server)) continue;
      this.shutdowns.set(server, new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
    }
  }

  /** Resolves true once every call in flight has ended, false if that takes longer than `timeoutMs`. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.stopAccepting();
    const outcome = await withTimeout(Promise.all(this.shutdowns.values()), timeoutMs, this.options.clock);
    return outcome !== TIMED_OUT;
  }

  /** Refuses new calls, waits for the calls in flight to end, releases the ports. Idempotent. */
  async close(): Promise<void> {
    this.stopAccepting();
    await Promise.all(this.shutdowns.values());
  }

  /** Cancels the calls still open (each ends with CANCELLED) and releases the ports. Idempotent. */
  async destroy(): Promise<void> {
    this.stopAccepting();
    for (const server of this.servers) server.forceShutdown();
    await Promise.all(this.shutdowns.values());
  }

  private async credentials(): Promise<ServerCredentials> {
    const tls = this.options.tls;
    if (tls === null) return ServerCredentials.createInsecure();
    const [certChain, privateKey] = await Promise.all([readFile(tls.certificateFile), readFile(tls.privateKeyFile)]);
    return ServerCredentials.createSsl(null, [{ cert_chain: certChain, private_key: privateKey }], false);
  }

  /** Wraps every method so that a call without the scope's key ends PERMISSION_DENIED before it is handled. */
  private guarded(
    definition: ServiceDefinition,
    calls: UntypedServiceImplementation,
    scope: KeyScope,
    auth: TokenAuthorization | null,
  ): UntypedServiceImplementation {
    if (auth === null) return calls;
    const refused = tokenAuthorizationFailed();
    const status = { code: GrpcCode.PERMISSION_DENIED, details: refused.message };
    const out: UntypedServiceImplementation = {};
    for (const [name, handler] of Object.entries(calls)) {
      const method = definition[name] as MethodDefinition<unknown, unknown> | undefined;
      if (method === undefined) throw new Error(`${name} is not in the service definition`);
      const answersOnce = !method.responseStream;
      out[name] = ((call: { metadata: { get(key: string): unknown[] }; getPeer(): string; emit(event: string, value: unknown): boolean }, callback?: (error: unknown) => void) => {
        const header = call.metadata.get('authorization')[0];
        if (auth.check(scope, typeof header === 'string' ? header : undefined)) {
          return (handler as (...args: unknown[]) => void)(call, callback);
        }
        this.options.logRefused(`Token authorization refused: ${call.getPeer()} gRPC ${method.path} (${scope} key)`);
        if (answersOnce && callback !== undefined) callback(status);
        else call.emit('error', status);
      }) as UntypedHandleCall;
    }
    return out;
  }
}
