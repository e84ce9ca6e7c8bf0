// Keeps a listener reachable when clients hold connections open without sending anything (issue 21):
// each listener has its own bound on open connections, so no listener can take the file descriptors
// another needs, and at the bound the connection that has waited longest without a request in flight
// is closed to make room for the new one. Only when every connection is busy is the new one refused.
// A listener that serves management beside inference keeps a few connections past its bound for
// management requests alone, so a flood of slow inference requests cannot lock the operator out.
import { readFileSync } from 'node:fs';
import type { Server as NetServer, Socket } from 'node:net';

/** Descriptors kept out of the listeners' share: workers' pipes and sockets, log files, gRPC, models. */
const RESERVED_FRACTION = 1 / 8;
const MIN_RESERVED_FDS = 64;
/** Shares of what is left: inference, management, metrics, gRPC inference and gRPC management. */
const LISTENER_SHARES = 5;
/** Assumed when the limit cannot be read (not Linux): the common default soft limit. */
const FALLBACK_OPEN_FILE_LIMIT = 1024;
/** Accept back-off after EMFILE/ENFILE: the first pause, doubled while accept keeps failing, up to the cap. */
const ACCEPT_BACKOFF_MS = 1000;
const MAX_ACCEPT_BACKOFF_MS = 30_000;

/** The soft RLIMIT_NOFILE of this process, from /proc/self/limits; null when it cannot be read. */
export function openFileLimit(limitsText?: string): number | null {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return null;
    }
  }
  const match = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (match === null) return null;
  return match[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(match[1]);
}

/**
 * The per-listener bound used when max_connections_per_listener is 0: a fifth of the descriptors
 * left after a reserve (a management reserve included), so that every listener together stays
 * below the open-file limit.
 */
export function automaticConnectionBound(fdLimit: number | null): number {
  const limit = fdLimit ?? FALLBACK_OPEN_FILE_LIMIT;
  const reserved = Math.max(MIN_RESERVED_FDS, Math.floor(limit * RESERVED_FRACTION));
  const share = Math.max(1, Math.floor((limit - reserved) / LISTENER_SHARES));
  return Math.max(1, share - managementReserve(share));
}

/** max_connections_per_listener as configured, or from the open-file limit when it is 0. */
export function connectionBound(configured: number): number {
  return configured > 0 ? configured : automaticConnectionBound(openFileLimit());
}

/** Connections past the bound that a listener serving management beside inference keeps for management requests. */
export function managementReserve(bound: number): number {
  return Math.min(MAX_MANAGEMENT_RESERVE, Math.max(1, Math.floor(bound / 16)));
}
const MAX_MANAGEMENT_RESERVE = 32;

interface Tracked {
  /** Requests received on this connection and not yet answered. */
  inFlight: number;
  /** Admitted past the bound: it may carry management requests only. */
  reserved: boolean;
}

export interface ConnectionGuardOptions {
  readonly maxConnections: number;
  /** One line per shedding episode (not per connection: a flood must not flood the log too). */
  readonly log: (message: string) => void;
  readonly name: string;
  /** Connections admitted past maxConnections for management requests only (shared listeners); 0 when absent. */
  readonly managementReserve?: number;
  /**
   * A connection the guard cannot see requests on (gRPC's HTTP/2 sessions) counts as busy when this
   * says so; by default a connection is busy while it has requests in flight.
   */
  readonly busy?: (socket: Socket) => boolean;
  /** A connection that has sent no byte this long after it was accepted is closed; none when absent. */
  readonly silentTimeoutMs?: number;
}

/** Connections of one listener: counted on 'connection', shed when idle, refused when all are busy. */
export class ConnectionGuard {
  /** In accept order, so the first idle entry is the one that has been open longest. */
  private readonly sockets = new Map<Socket, Tracked>();
  /** Aliases (a TLS socket) → the TCP socket counted for it. */
  private readonly aliases = new WeakMap<object, Socket>();
  private shedSinceLog = 0;
  private refusedSinceLog = 0;
  private logTimer: NodeJS.Timeout | null = null;
  /** Lowered below maxConnections while accept fails for lack of descriptors; null otherwise. */
  private ceiling: number | null = null;
  /** Open connections admitted into the management reserve. */
  private reservedCount = 0;

  constructor(private readonly options: ConnectionGuardOptions) {}

  get size(): number {
    return this.sockets.size;
  }

  /** Connections admitted past the bound, which may carry management requests only. */
  isReserved(socket: object): boolean {
    return this.lookup(socket)?.reserved ?? false;
  }

  /** Runs before node:http sees the connection, so a refused socket never reaches the parser. */
  attach(server: NetServer): void {
    server.prependListener('connection', (socket: Socket) => this.admit(socket));
  }

  /** Counts a TLS socket (or any wrapper) as the TCP connection under it. */
  alias(wrapper: object, socket: Socket): void {
    this.aliases.set(wrapper, socket);
  }

  requestStarted(socket: object): void {
    const tracked = this.lookup(socket);
    if (tracked !== undefined) tracked.inFlight++;
  }

  requestEnded(socket: object): void {
    const tracked = this.lookup(socket);
    if (tracked !== undefined && tracked.inFlight > 0) tracked.inFlight--;
  }

  /**
   * Accept is failing (EMFILE/ENFILE): frees descriptors by closing up to a tenth of the idle
   * connections, and admits no more than are open now until `lift()`.
   */
  backOff(): void {
    this.ceiling = Math.max(1, Math.min(this.ceiling ?? Number.MAX_SAFE_INTEGER, this.sockets.size));
    const idle = this.idleCount();
    const toShed = Math.max(1, Math.ceil(idle / 10));
    for (let i = 0; i < toShed && (this.shedOldestIdle(false) || this.shedOldestIdle(true)); i++);
  }

  lift(): void {
    this.ceiling = null;
  }

  close(): void {
    if (this.logTimer !== null) clearTimeout(this.logTimer);
    this.logTimer = null;
    this.flushLog();
  }

  private admit(socket: Socket): void {
    const bound = Math.min(this.options.maxConnections, this.ceiling ?? Number.MAX_SAFE_INTEGER);
    let reserved = false;
    if (this.sockets.size - this.reservedCount >= bound && !this.shedOldestIdle(false)) {
      // Every ordinary connection is busy: a management connection may still come in through the
      // reserve (not while out of descriptors), shedding an idle one of the reserve if it is full.
      const reserve = this.ceiling === null ? (this.options.managementReserve ?? 0) : 0;
      if (reserve === 0 || (this.reservedCount >= reserve && !this.shedOldestIdle(true))) {
        this.refusedSinceLog++;
        this.scheduleLog();
        socket.destroy();
        return;
      }
      reserved = true;
    }
    this.sockets.set(socket, { inFlight: 0, reserved });
    if (reserved) this.reservedCount++;
    socket.once('close', () => this.forget(socket));
    const silentMs = this.options.silentTimeoutMs;
    if (silentMs !== undefined) {
      const timer = setTimeout(() => {
        if (socket.bytesRead === 0) socket.destroy();
      }, silentMs);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    }
  }

  private forget(socket: Socket): void {
    const tracked = this.sockets.get(socket);
    if (tracked === undefined) return;
    this.sockets.delete(socket);
    if (tracked.reserved) this.reservedCount--;
  }

  private lookup(socket: object): Tracked | undefined {
    return this.sockets.get((this.aliases.get(socket) ?? socket) as Socket);
  }

  private isIdle(socket: Socket, tracked: Tracked): boolean {
    return tracked.inFlight === 0 && !(this.options.busy?.(socket) ?? false);
  }

  private idleCount(): number {
    let idle = 0;
    for (const [socket, tracked] of this.sockets) if (this.isIdle(socket, tracked)) idle++;
    return idle;
  }

  /** Closes the idle connection open longest, of the reserve or of the others; false when there is none. */
  private shedOldestIdle(reserved: boolean): boolean {
    for (const [socket, tracked] of this.sockets) {
      if (tracked.reserved !== reserved || !this.isIdle(socket, tracked)) continue;
      this.forget(socket);
      socket.destroy();
      this.shedSinceLog++;
      this.scheduleLog();
      return true;
    }
    return false;
  }

  private scheduleLog(): void {
    if (this.logTimer !== null) return;
    this.logTimer = setTimeout(() => {
      this.logTimer = null;
      this.flushLog();
    }, 1000);
    this.logTimer.unref();
  }

  private flushLog(): void {
    if (this.shedSinceLog === 0 && this.refusedSinceLog === 0) return;
    this.options.log(
      `${this.options.name}: at max_connections_per_listener=${this.options.maxConnections}` +
        `${this.ceiling === null ? '' : ` (backing off at ${this.ceiling}: out of file descriptors)`}, ` +
        `closed ${this.shedSinceLog} idle connection(s) and refused ${this.refusedSinceLog} new one(s)`,
    );
    this.shedSinceLog = 0;
    this.refusedSinceLog = 0;
  }
}

/** Every listener's guard, and the back-off they share when the process runs out of descriptors. */
export class ListenerGuards {
  private readonly guards: ConnectionGuard[] = [];
  private backoffMs = 0;
  private backoffTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly logRefused: (message: string) => void,
    private readonly logError: (message: string, cause: unknown) => void,
  ) {}

  add(guard: ConnectionGuard, server: NetServer): void {
    guard.attach(server);
    this.guards.push(guard);
  }

  /**
   * A listening server's 'error': accept failed, almost always for lack of descriptors (libuv resets
   * the waiting connections itself and reports only what it could not handle that way). Every
   * listener closes some idle connections and admits none past its current count until the
   * back-off ends; the pause doubles while the failures go on.
   */
  acceptFailed(err: NodeJS.ErrnoException, where: string): void {
    if (err.code !== 'EMFILE' && err.code !== 'ENFILE') {
      this.logError(`Listener ${where} failed to accept a connection`, err);
      return;
    }
    this.backoffMs = Math.min(MAX_ACCEPT_BACKOFF_MS, this.backoffMs === 0 ? ACCEPT_BACKOFF_MS : this.backoffMs * 2);
    this.logRefused(`Out of file descriptors accepting on ${where} (${err.code}): closing idle connections, backing off for ${this.backoffMs} ms`);
    for (const guard of this.guards) guard.backOff();
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer);
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = null;
      this.backoffMs = 0;
      for (const guard of this.guards) guard.lift();
    }, this.backoffMs);
    this.backoffTimer.unref();
  }

  close(): void {
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer);
    this.backoffTimer = null;
    for (const guard of this.guards.splice(0)) guard.close();
  }
}
