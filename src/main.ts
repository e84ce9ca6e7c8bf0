// The composition root, and the only one: the process's arguments and environment in, the
// configuration file chosen, logs opened, every part of the server built and wired, signals
// handled. Other modules take what they need through their constructors.
import os from 'node:os';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { ConfigError, loadConfig, type Config } from './config/load-config.js';
import { systemClock, type Clock } from './clock.js';
import { ModelRegistry } from './registry/model-registry.js';
import { ModelHost } from './services/model-host.js';
import { ManagementService } from './services/management-service.js';
import { InferenceService } from './services/inference-service.js';
import type { ServedModel } from './services/served-model.js';
import { HttpEdge, type BoundListener } from './http/http-edge.js';
import { connectionBound, ListenerGuards } from './http/connection-guard.js';
import type { GrpcEdge, GrpcEdgeOptions, GrpcListener } from './grpc/grpc-edge.js';
import { managementRoutes } from './http/management-routes.js';
import { inferenceRoutes } from './http/inference-routes.js';
import { consoleLogger, type Logger } from './logger.js';
import { TokenAuthorization } from './auth/token-authorization.js';
import { KeyFileFollower, readSharedKeyFile, sharedKeysFromValues, type SharedKeys } from './auth/shared-keys.js';
import { isServeError, serverStopping } from './errors.js';
import { healthRoutes, PROBE_PATHS } from './http/health-routes.js';
import type { ServerPhase } from './services/server-health.js';
import { Readiness } from './services/readiness.js';
import { OpenInference } from './services/open-inference.js';
import { oipRoutes } from './http/oip-routes.js';
import { SnapshotStore, snapshotDir } from './snapshot/snapshot-store.js';
import { SnapshotWriter } from './snapshot/snapshot-writer.js';
import { parseModelSnapshot, SNAPSHOT_ONLY_PROPERTIES, SnapshotFormatError } from './snapshot/snapshot-content.js';
import { restoreModels, snapshotVersions } from './snapshot/snapshot-restore.js';
import { ServerMetrics } from './metrics/server-metrics.js';
import { readMetricsConfig } from './metrics/metrics-config.js';
import { metricsRoutes } from './http/metrics-routes.js';
import { accessLine } from './logging/access-line.js';
import { openServerLogs, serverLogSettings, type ConsoleTarget } from './logging/server-logs.js';
import { removeDebris } from './archive/debris.js';
import { parseLanternArgs, USAGE, UsageError, type LanternArgs } from './cli/lantern-args.js';
import { listenerLabel, runBackground, runStop } from './cli/server-control.js';
import { addressInUseMessage } from './cli/start-failure.js';
import { chooseConfigFile, snapshotNotice } from './startup/config-file.js';
import { hostSettings, sameAddress, snapshotProperties, type ServerEnvironment, type StartOptions } from './startup/server-settings.js';
import { loadStartupModels } from './startup/startup-models.js';
import { VERSION } from './version.js';
import { MemoryReclaimer } from './memory-reclaim.js';
import { ModelActivity } from './metrics/model-activity.js';
import { LogTail, tailedLogger } from './logging/log-tail.js';
import { ConsoleView, type ConsoleListener } from './services/console-view.js';
import { consoleRoutes } from './http/console-routes.js';
import { configKeys } from './config/key-table.js';

export { VERSION } from './version.js';
export type { ServerEnvironment, StartOptions } from './startup/server-settings.js';

type Environment = Readonly<Record<string, string | undefined>>;

/** Snapshots kept in $LOG_LOCATION/config; older ones are removed. */
const SNAPSHOTS_KEPT = 10;
/** Request bodies of this much in flight at once make a burst, after which memory is collected. */
const BURST_BYTES = 64 * 1048576;
/** How long the bodies in flight must stay at none before that collection. */
const BURST_QUIET_MS = 2000;

export interface RunningServer {
  readonly listeners: ReadonlyArray<BoundListener | GrpcListener>;
  readonly registry: ModelRegistry<ServedModel>;
  /** Where the keys are, or null when token authorization is disabled or the keys come from the environment. */
  readonly keyFile: string | null;
  /** Generated per process (TorchServe's way), shared by replicas (a mounted file or the environment), or off. */
  readonly keys: 'generated' | 'shared' | 'off';
  /**
   * Readiness answers "not ready" from now on while everything else is still served: the first step
   * of a stop behind a load balancer (shutdown_delay_sec). Idempotent.
   */
  leaveRotation(): void;
  /** Stops accepting, drains, stops every worker and removes temporary files. Idempotent. */
  close(): Promise<void>;
}

/** `lantern` (bin/lantern.js): start in the foreground or the background, stop, version, help. */
export async function main(argv: readonly string[]): Promise<void> {
  const env: Environment = process.env;
  try {
    const args = parseLanternArgs(argv);
    switch (args.action) {
      case 'help':
        process.stdout.write(USAGE);
        return;
      case 'version':
        console.log(`Lantern Version is ${VERSION}`);
        return;
      case 'stop':
        await runStop(env);
        return;
      case 'start':
        if (args.foreground) await runForeground(args, env, process.cwd());
        else await runBackground(argv.filter((a) => a !== '--start'), env);
    }
  } catch (err) {
    const inUse = addressInUseMessage(err);
    if (inUse !== null) {
      process.stderr.write(`${inUse}\n`);
    } else if (err instanceof UsageError || err instanceof ConfigError || isServeError(err) || err instanceof SnapshotFormatError) {
      process.stderr.write(`${err.message}\n`);
    } else {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    process.exit(1);
  }
}

/** Configuration in (file, flags, env), logs opened, the server started, signals handled. */
async function runForeground(args: LanternArgs, env: Environment, cwd: string): Promise<void> {
  let logger: Logger = consoleLogger();
  for (const w of args.warnings) logger.warn(w);
  const file = await chooseConfigFile(args, env, cwd);
  if (file.path !== null) logger.info(`Reading configuration from ${file.path}`);
  const { config, warnings } = loadConfig({ fileText: file.text, cli: args.cli, env, fileIsRestoredSnapshot: file.snapshot });
  const snapshotOnly = new Set(SNAPSHOT_ONLY_PROPERTIES.map((name) => `Unknown configuration key "${name}" ignored`));
  for (const w of warnings) if (!snapshotOnly.has(w)) logger.warn(w);
  if (config.model_store === null && !(file.named && /^\s*model_store\s*[=:]/m.test(file.text ?? ''))) {
    throw new UsageError('Missing mandatory parameter --model-store');
  }
  if (config.model_store !== null && !statSync(path.resolve(cwd, config.model_store), { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`--model-store is not a directory: ${config.model_store}`);
  }
  // From here on every line also goes to the log files under LOG_LOCATION (docs/metrics.md#logs).
  const terminal: ConsoleTarget = {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    outBytes: (bytes) => process.stdout.write(bytes),
  };
  const logs = openServerLogs(serverLogSettings(config, env, cwd, terminal));
  logger = logs;
  logger.info(`Logs are written to ${serverLogSettings(config, env, cwd, null).logDir}`);
  const notice = snapshotNotice(file, args, cwd);
  if (notice !== null) logger.warn(notice);
  if (!config.enable_model_api) {
    logger.info('The model API is off: registering and unregistering models over the API is refused (405); --enable-model-api allows it');
  }
  const server = await startServer(config, processEnvironment(logger, env, cwd), { snapshots: !args.noSnapshots, configFile: file.path });
  for (const l of server.listeners) logger.info(`${listenerLabel(l.api)} listening on ${l.url}`);
  if (server.keys === 'shared') {
    const where = server.keyFile ?? 'TS_INFERENCE_KEY and TS_MANAGEMENT_KEY';
    logger.info(`Token authorization is on with keys shared by replicas from ${where} (Authorization: Bearer <key>); the rotation API is off`);
  } else if (server.keyFile !== null) {
    logger.info(`Token authorization is on: the keys are in ${server.keyFile} (Authorization: Bearer <key>)`);
  } else {
    logger.warn('Token authorization is disabled: anyone who reaches the listeners can use the APIs');
  }
  logger.info('Lantern is ready');
  process.send?.({ ready: true, listeners: server.listeners, keyFile: server.keyFile });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      // A second signal skips the wait; workers exit on their own once the server is gone.
      logger.warn(`Received ${signal} again; exiting without waiting for open requests`);
      process.exit(1);
    }
    stopping = true;
    server.leaveRotation();
    const delayMs = config.shutdown_delay_sec * 1000;
    logger.info(
      `Received ${signal}; not ready from now on, still serving for shutdown_delay_sec=${config.shutdown_delay_sec}, ` +
        `then stopping (open requests get up to graceful_shutdown_timeout_sec=${config.graceful_shutdown_timeout_sec})`,
    );
    delay(delayMs).then(() => server.close()).then(
      () => logs.close().then(() => process.exit(0)),
      (err: unknown) => {
        logger.error('Error while stopping', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function processEnvironment(logger: Logger, env: Environment, cwd: string): ServerEnvironment {
  return { env, cwd, tmpDir: env.TEMP ?? os.tmpdir(), cpuCount: os.availableParallelism(), logger };
}

/** One step of the stop, in order; a step that fails is logged and the next ones still run. */
interface StopStep {
  readonly what: string;
  readonly run: () => Promise<void>;
}

async function runStopSteps(steps: readonly StopStep[], logger: Logger): Promise<void> {
  for (const step of steps) {
    try {
      await step.run();
    } catch (err) {
      logger.error(`Stopping: ${step.what} failed`, err);
    }
  }
}

/** The domain: registry, metrics, model host, snapshots, services and keys. */
async function buildCore(config: Config, environment: ServerEnvironment, options: StartOptions, modelStore: string | null) {
  const { logger } = environment;
  const clock = environment.clock ?? systemClock;
  // First: a key file that cannot be used stops the start before anything holds a timer or a process.
  const { auth, keyFollower } = await buildAuth(config, environment, clock);
  const registry = new ModelRegistry<ServedModel>();
  const activity = config.enable_console ? new ModelActivity(() => clock.now()) : null;
  registry.on('change', (event) => {
    if (event.kind === 'removed') activity?.forget(event.name, event.version);
  });
  // Metrics listen to the services' and pools' events (docs/metrics.md).
  const metricsConfig = await readMetricsConfig(config.metrics_config, environment.cwd);
  const metrics = new ServerMetrics({
    mode: config.metrics_mode,
    config: metricsConfig,
    hostname: os.hostname(),
    autoDetectModelMetrics: config.model_metrics_auto_detect,
    systemIntervalSec: config.disable_system_metrics ? null : config.metric_time_interval,
    lines: { frontend: (line) => logger.metric?.('ts', line), backend: (line) => logger.metric?.('model', line) },
    log: (message) => logger.info(message),
    ...(activity === null ? {} : { activity }),
    models: () =>
      registry.entries().map(({ name, version, entry }) => ({
        modelName: name,
        modelVersion: version,
        queueDepth: entry.queue.pending,
        queueCapacity: entry.queue.capacity,
        workersReady: entry.pool.readyCount(),
        workersBusy: entry.pool.busyCount(),
      })),
  });
  let nextWorkerId = config.initial_worker_port;
  const host = new ModelHost(
    hostSettings(config, environment, modelStore, metricsConfig.backend),
    registry,
    clock,
    () => nextWorkerId++,
    (model, version, id, line, stream) => {
      // `[METRICS]` lines are metrics, not model log (as in TorchServe).
      if (!metrics.workerOutput(line)) logger.model(`W-${id}-${model}_${version}`, line, stream);
    },
    metrics,
  );
  const snapshots =
    options.snapshots === false
      ? null
      : new SnapshotWriter({
          store: new SnapshotStore(snapshotDir(environment.env, environment.cwd), SNAPSHOTS_KEPT),
          state: () => ({ properties: snapshotProperties(config, modelStore, options), models: snapshotVersions(registry) }),
          clock,
          log: (message, cause) => logger.error(message, cause),
        });
  const inference = new InferenceService(registry, clock, metrics);
  const management = new ManagementService(registry, host, inference, clock, {
    modelApiEnabled: config.enable_model_api,
    unregisterTimeoutMs: config.unregister_model_timeout * 1000,
    defaultWorkersPerModel: config.default_workers_per_model,
    ...(snapshots === null ? {} : { persisted: () => snapshots.settled() }),
    log: (line) => logger.warn(line),
  });
  return { clock, registry, metrics, host, snapshots, inference, management, auth, keyFollower, activity };
}

/**
 * Token authorization: keys generated per process into ./key_file.json (TorchServe's way), or shared
 * by replicas from token_key_file (followed for changes) or inference_key/management_key.
 */
async function buildAuth(
  config: Config,
  environment: ServerEnvironment,
  clock: Clock,
): Promise<{ auth: TokenAuthorization | null; keyFollower: KeyFileFollower | null }> {
  if (config.disable_token_authorization) return { auth: null, keyFollower: null };
  const graceMs = config.token_rotation_grace_sec * 1000;
  const fromValues = config.inference_key !== null || config.management_key !== null;
  const problem = (key: string, value: string, reason: string): ConfigError => new ConfigError([{ key, value, source: 'file', reason }]);
  if (config.token_key_file !== null) {
    if (fromValues) throw problem('token_key_file', config.token_key_file, 'set either token_key_file or inference_key/management_key, not both');
    const file = path.resolve(environment.cwd, config.token_key_file);
    const keys = await readSharedKeyFile(file).catch((err: Error) => {
      throw problem('token_key_file', config.token_key_file as string, err.message);
    });
    const auth = new TokenAuthorization(file, config.token_expiration_min, clock, graceMs, keys);
    const keyFollower = new KeyFileFollower(file, keys, clock, (next) => {
      auth.replaceKeys(next);
      environment.logger.info(`The keys in ${file} changed; the replaced ones stay valid for token_rotation_grace_sec=${config.token_rotation_grace_sec}`);
    }, (message) => environment.logger.warn(message));
    return { auth, keyFollower };
  }
  if (fromValues) {
    let keys: SharedKeys;
    try {
      keys = sharedKeysFromValues(config.inference_key, config.management_key);
    } catch (err) {
      throw problem('inference_key', '(hidden)', (err as Error).message);
    }
    return { auth: new TokenAuthorization(null, config.token_expiration_min, clock, graceMs, keys), keyFollower: null };
  }
  return {
    auth: new TokenAuthorization(path.join(environment.cwd, 'key_file.json'), config.token_expiration_min, clock, graceMs),
    keyFollower: null,
  };
}

type Core = Awaited<ReturnType<typeof buildCore>>;

/** What the browser console reads, when enable_console is on (docs/console.md). */
interface ConsoleParts {
  readonly view: ConsoleView;
  readonly tail: LogTail;
}

function buildConsole(config: Config, core: Core, tail: LogTail | null, modelStore: string | null, listeners: () => readonly ConsoleListener[]): ConsoleParts | null {
  if (tail === null || core.activity === null) return null;
  const { snapshots } = core;
  const view = new ConsoleView({
    registry: core.registry,
    activity: core.activity,
    clock: core.clock,
    version: VERSION,
    startedAtMs: core.clock.now(),
    modelApiEnabled: config.enable_model_api,
    tokenAuthorization: core.auth !== null,
    modelStore,
    listeners,
    config: () => configKeys().map((key) => [key, config[key]] as const),
    snapshots: snapshots === null ? null : () => snapshots.status(),
  });
  return { view, tail };
}

/** The HTTP edge: one route table over the inference, management and metrics listeners. */
/** What the HTTP edge is built from besides the core: made in startServer, shared with the gRPC edge. */
interface EdgeParts {
  readonly readiness: Readiness;
  readonly openInference: OpenInference;
  readonly bodyMemory: MemoryReclaimer;
  readonly listenerGuards: ListenerGuards;
  readonly consoleParts: ConsoleParts | null;
}

function buildHttpEdge(config: Config, logger: Logger, core: Core, parts: EdgeParts): HttpEdge {
  const { inference, management, auth, metrics } = core;
  const { readiness, openInference, bodyMemory, listenerGuards, consoleParts } = parts;
  return new HttpEdge({
    routes: [
      ...healthRoutes({ isReady: () => readiness.isReady() }),
      ...inferenceRoutes({ inference, maxRequestBytes: config.max_request_size, isModelReady: (name, version) => readiness.isModelReady(name, version) }),
      ...oipRoutes({ inference, openInference, maxRequestBytes: config.max_request_size }),
      ...managementRoutes({ management, maxRequestBytes: config.max_request_size, auth, isModelReady: (name) => readiness.isModelReady(name) }),
      ...(consoleParts === null ? [] : consoleRoutes(consoleParts)),
      ...(config.enable_metrics_api ? metricsRoutes(metrics) : []),
    ],
    cors: {
      allowedOrigin: config.cors_allowed_origin,
      allowedMethods: config.cors_allowed_methods,
      allowedHeaders: config.cors_allowed_headers,
    },
    version: VERSION,
    logError: (message, cause) => logger.error(message, cause),
    // Server errors are warnings; a client's mistakes are information, with the fix beside them.
    logFailure: (line, error) => (error.status >= 500 ? logger.warn(line) : logger.info(line)),
    auth,
    logRefused: (message) => logger.warn(message),
    probePaths: PROBE_PATHS,
    maxRequestBytes: config.max_request_size,
    maxConnectionsPerListener: config.max_connections_per_listener,
    listenerGuards,
    maxInflightRequestBytes: config.max_inflight_request_bytes,
    bodyMemory: { drained: (peak) => bodyMemory.drained(peak), busy: () => bodyMemory.busy() },
    timeouts: { requestMs: config.request_body_timeout_ms },
    tls: { certificateFile: config.certificate_file, privateKeyFile: config.private_key_file },
    requireModel: (name, version) => inference.requireModel(name, version),
    onResponse: (_api, req, status, ms) => {
      metrics.httpResponse(status);
      logger.access(accessLine(req, status, ms));
    },
  });
}

function grpcOptions(config: Config, logger: Logger, core: Core, { openInference, listenerGuards }: EdgeParts): GrpcEdgeOptions {
  if (config.enable_grpc_ssl && (config.certificate_file === null || config.private_key_file === null)) {
    throw new ConfigError([{ key: 'enable_grpc_ssl', value: 'true', source: 'file', reason: 'needs certificate_file and private_key_file' }]);
  }
  return {
    inference: core.inference,
    management: core.management,
    openInference,
    auth: core.auth,
    maxRequestBytes: config.max_request_size,
    maxResponseBytes: config.max_response_size,
    tls: config.enable_grpc_ssl ? { certificateFile: config.certificate_file as string, privateKeyFile: config.private_key_file as string } : null,
    clock: core.clock,
    logError: (message, cause) => logger.error(message, cause),
    logRefused: (message) => logger.warn(message),
    maxConnections: connectionBound(config.max_connections_per_listener),
    listenerGuards,
  };
}

export async function startServer(config: Config, given: ServerEnvironment, options: StartOptions = {}): Promise<RunningServer> {
  // The console's live log tail sees every server and worker line from here on.
  const tail = config.enable_console ? new LogTail(() => (given.clock ?? systemClock).now()) : null;
  const environment: ServerEnvironment = tail === null ? given : { ...given, logger: tailedLogger(given.logger, tail) };
  const { logger } = environment;
  const modelStore = config.model_store === null ? null : path.resolve(environment.cwd, config.model_store);
  await mkdir(path.join(environment.tmpDir, 'models'), { recursive: true });
  const sweepDebris = async (when: string): Promise<void> => {
    const parents = ['models', 'dependencies'].map((dir) => path.join(environment.tmpDir, dir));
    const removed = await removeDebris(parents, modelStore, config.download_timeout_sec * 1000, Date.now());
    if (removed.folders + removed.partFiles > 0) {
      logger.info(`Removed what stopped servers left ${when}: ${removed.folders} extracted model folders, ${removed.partFiles} partial downloads`);
    }
  };
  await sweepDebris('(at start)');

  const core = await buildCore(config, environment, options, modelStore);
  const { registry, host, snapshots, auth, metrics, keyFollower } = core;
  let phase: ServerPhase = 'starting';
  const reclaimer = new MemoryReclaimer(core.clock, BURST_BYTES, BURST_QUIET_MS, (line) => logger.info(line));
  const listeners: Array<BoundListener | GrpcListener> = [];
  const readiness = new Readiness(registry);
  const parts: EdgeParts = {
    readiness,
    openInference: new OpenInference(registry, core.inference, readiness, VERSION),
    bodyMemory: reclaimer,
    // One accept back-off for every listener: out of descriptors, all of them shed idle connections.
    listenerGuards: new ListenerGuards((message) => logger.warn(message), (message, cause) => logger.error(message, cause)),
    consoleParts: buildConsole(config, core, tail, modelStore, () => listeners),
  };
  const edge = buildHttpEdge(config, logger, core, parts);
  const grpcSettings = grpcOptions(config, logger, core, parts);
  // Set once the gRPC libraries are loaded, after the startup models' workers are started (below).
  let grpc: GrpcEdge | null = null;
  let wasServing = false;

  // The graceful stop, in order (docs/reliability.md, "Graceful stop").
  const drainMs = config.graceful_shutdown_timeout_sec * 1000;
  const stopSteps: StopStep[] = [
    { what: 'stop accepting', run: async () => {
      leaveRotation();
      edge.stopAccepting();
      grpc?.stopAccepting();
    } },
    { what: 'drain open requests', run: async () => {
      if (!(await Promise.all([edge.drain(drainMs), grpc?.drain(drainMs) ?? true])).every(Boolean)) {
        logger.warn(`Requests still open after graceful_shutdown_timeout_sec=${config.graceful_shutdown_timeout_sec}; answering them with 503`);
      }
    } },
    { what: 'write the shutdown snapshot', run: async () => {
      await snapshots?.close();
      if (wasServing) await snapshots?.write('shutdown');
    } },
    // Whatever outlived the drain is answered now.
    { what: 'stop the models', run: () => Promise.all(registry.entries().map(({ entry }) => host.remove(entry, serverStopping(), 'abort'))).then(() => undefined) },
    { what: 'remove temporary files', run: () => sweepDebris('(at stop)') },
    { what: 'close the listeners', run: async () => {
      await edge.close();
      // The drain is over: a call still open (a StreamPredictions2 the client keeps) is cancelled.
      await grpc?.destroy();
    } },
    { what: 'remove the key file', run: async () => {
      keyFollower?.close();
      await auth?.close();
    } },
    { what: 'stop the metrics', run: () => metrics.close() },
    { what: 'stop the memory reclaimer', run: async () => reclaimer.close() },
  ];
  function leaveRotation(): void {
    if (phase === 'stopping') return;
    wasServing = phase === 'serving';
    phase = 'stopping';
    readiness.stop();
  }
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => (closed ??= runStopSteps(stopSteps, logger));

  try {
    // The keys exist on disk before any listener accepts a request.
    await auth?.writeKeyFile();
    keyFollower?.start();
    listeners.push(
      ...(sameAddress(config.inference_address, config.management_address)
        ? await edge.listenShared(['inference', 'management'], config.inference_address)
        : [await edge.listen('inference', config.inference_address), await edge.listen('management', config.management_address)]),
      ...(config.enable_metrics_api ? [await edge.listen('metrics', config.metrics_address)] : []),
    );
    if (config.model_snapshot !== null) {
      await restoreModels(parseModelSnapshot(config.model_snapshot), modelStore, host, registry, logger);
    } else {
      await loadStartupModels(config, modelStore, host, environment);
    }
    // Loading the gRPC libraries takes a fifth of a cold start: done here, it overlaps the startup
    // models' workers starting up in their own processes. The server is ready only once gRPC listens.
    const { GrpcEdge: Edge } = await import('./grpc/grpc-edge.js');
    grpc = new Edge(grpcSettings);
    listeners.push(
      await grpc.listen('grpc-inference', config.grpc_inference_address, config.grpc_inference_port),
      await grpc.listen('grpc-management', config.grpc_management_address, config.grpc_management_port),
    );
    metrics.start();
    await snapshots?.write('startup');
    snapshots?.follow(registry);
    phase = 'serving';
    readiness.serving();
    const keys = auth === null ? 'off' : auth.managedExternally ? 'shared' : 'generated';
    return { listeners, registry, keyFile: auth?.keyFilePath ?? null, keys, leaveRotation, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The environment of this process (tests build their own). */
export const defaultEnvironment = (logger: Logger): ServerEnvironment => processEnvironment(logger, process.env, process.cwd());
