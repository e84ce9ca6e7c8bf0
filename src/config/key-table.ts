// Every configuration key Lantern knows, in one table. The property name in config.properties is the
// object key (snake_case, as TorchServe spells it). Config's type is derived from this table, and the
// table's type demands a complete spec per key: an entry without a default, env name or parser does not
// compile, and neither does an env name that breaks the `TS_` + upper-case rule.

import { deepFreeze } from './deep-freeze.js';
import type { DefaultPorts, ListenAddress } from './listen-address.js';
import {
  INFERENCE_DEFAULT_PORTS,
  MANAGEMENT_DEFAULT_PORTS,
  MAX_PORT_EXCLUSIVE,
  METRICS_DEFAULT_PORTS,
  parseListenAddress,
} from './listen-address.js';
import type { Parser } from './parse-result.js';
import {
  integerParser,
  parseBoolean,
  parseJsonObject,
  parseLoadModels,
  parseMetricsMode,
  parseModelsSettings,
  parseOptionalPattern,
  parseOptionalString,
  parsePositiveNumber,
  parseRequiredString,
  parseServiceEnvelope,
  parseUrlPatterns,
} from './value-parsers.js';

export interface KeySpec<T> {
  /** The typed value when no source sets the key. */
  readonly default: NoInfer<T>;
  /** The variable read when enable_envvars_config=true; null where the environment must not set the key. */
  readonly env: EnvName;
  readonly parse: Parser<T>;
  /**
   * When present, `env` is read even with enable_envvars_config=false and its value is first mapped to
   * a property value by this function (spec §5.1 item 6).
   */
  readonly envAlways?: (envValue: string) => string;
  /** `torchserve` flags that set this key; the CLI parser (cli/lantern-args.ts) is built from them. */
  readonly cliFlags?: readonly string[];
}

type EnvName = `TS_${string}` | null;

/** Keeps the literal env name so the table can check it against the key. */
const key = <T, E extends EnvName>(spec: KeySpec<T> & { readonly env: E }): KeySpec<T> & { readonly env: E } => {
  deepFreeze(spec.default);
  return Object.freeze(spec);
};

/** `TS_` + upper-cased key, with TorchServe's two exceptions (spec §5.1 items 5 and 6). */
type EnvNameOf<K extends string> = K extends 'token_expiration_min'
  ? 'TS_TOKEN_EXPIRATION_TIME_MIN'
  : K extends 'ts_open_inference_protocol'
    ? 'TS_OPEN_INFERENCE_PROTOCOL'
    : `TS_${Uppercase<K>}`;

type CheckedTable<T> = {
  [K in keyof T]: KeySpec<unknown> & { readonly env: EnvNameOf<K & string> | null };
};

const table = <T extends CheckedTable<T>>(entries: T): Readonly<T> => Object.freeze(entries);

const GIB = 1024 ** 3;
// gRPC ports go up to 65535, as in TorchServe, which refuses 65535 only in HTTP addresses (listen-address.ts).
const port = integerParser({ min: 0, max: MAX_PORT_EXCLUSIVE });
const count = integerParser({ min: 0 });
const positive = integerParser({ min: 1 });
const sizeBytes = integerParser({ min: 1, max: 2 ** 31 - 1 });
const address = <E extends EnvName>(text: string, defaults: DefaultPorts, env: E) => {
  const parse: Parser<ListenAddress> = (raw) => parseListenAddress(raw, defaults);
  const initial = parse(text);
  if (!initial.ok) throw new Error(`bad default address ${text}`);
  return key({ default: initial.value, env, parse });
};

const parseLogFormat: Parser<'text' | 'json'> = (raw) => {
  const text = raw.trim().toLowerCase();
  return text === 'text' || text === 'json' ? { ok: true, value: text } : { ok: false, error: 'must be text or json' };
};

export const KEY_TABLE = table({
  // ---- listeners (spec §0.1, §11.1) ----
  inference_address: address('http://127.0.0.1:8080', INFERENCE_DEFAULT_PORTS, 'TS_INFERENCE_ADDRESS'),
  management_address: address('http://127.0.0.1:8081', MANAGEMENT_DEFAULT_PORTS, 'TS_MANAGEMENT_ADDRESS'),
  metrics_address: address('http://127.0.0.1:8082', METRICS_DEFAULT_PORTS, 'TS_METRICS_ADDRESS'),
  grpc_inference_address: key({ default: '127.0.0.1', env: 'TS_GRPC_INFERENCE_ADDRESS', parse: parseRequiredString }),
  grpc_management_address: key({ default: '127.0.0.1', env: 'TS_GRPC_MANAGEMENT_ADDRESS', parse: parseRequiredString }),
  grpc_inference_port: key({ default: 7070, env: 'TS_GRPC_INFERENCE_PORT', parse: port }),
  grpc_management_port: key({ default: 7071, env: 'TS_GRPC_MANAGEMENT_PORT', parse: port }),
  enable_grpc_ssl: key({ default: false, env: 'TS_ENABLE_GRPC_SSL', parse: parseBoolean }),

  // ---- TLS and CORS ----
  certificate_file: key({ default: null, env: 'TS_CERTIFICATE_FILE', parse: parseOptionalString }),
  private_key_file: key({ default: null, env: 'TS_PRIVATE_KEY_FILE', parse: parseOptionalString }),
  keystore: key({ default: null, env: 'TS_KEYSTORE', parse: parseOptionalString }),
  cors_allowed_origin: key({ default: null, env: 'TS_CORS_ALLOWED_ORIGIN', parse: parseOptionalString }),
  cors_allowed_methods: key({ default: null, env: 'TS_CORS_ALLOWED_METHODS', parse: parseOptionalString }),
  cors_allowed_headers: key({ default: null, env: 'TS_CORS_ALLOWED_HEADERS', parse: parseOptionalString }),

  // ---- models and stores (spec §5.4); model_store is not canonicalized here: that needs the cwd ----
  model_store: key({ default: null, env: 'TS_MODEL_STORE', parse: parseOptionalString, cliFlags: ['--model-store'] }),
  /** null ⇒ model_store (loadConfig resolves it). */
  workflow_store: key({ default: null, env: 'TS_WORKFLOW_STORE', parse: parseOptionalString, cliFlags: ['--workflow-store'] }),
  load_models: key({ default: [], env: 'TS_LOAD_MODELS', parse: parseLoadModels, cliFlags: ['--models'] }),
  models: key({ default: null, env: 'TS_MODELS', parse: parseModelsSettings }),
  model_snapshot: key({ default: null, env: 'TS_MODEL_SNAPSHOT', parse: parseJsonObject }),
  default_workers_per_model: key({ default: 0, env: 'TS_DEFAULT_WORKERS_PER_MODEL', parse: count }),
  job_queue_size: key({ default: 100, env: 'TS_JOB_QUEUE_SIZE', parse: positive }),
  max_request_size: key({ default: 6553500, env: 'TS_MAX_REQUEST_SIZE', parse: sizeBytes }),
  max_response_size: key({ default: 6553500, env: 'TS_MAX_RESPONSE_SIZE', parse: sizeBytes }),
  default_response_timeout: key({ default: 120, env: 'TS_DEFAULT_RESPONSE_TIMEOUT', parse: positive }),
  default_startup_timeout: key({ default: 120, env: 'TS_DEFAULT_STARTUP_TIMEOUT', parse: positive }),
  unregister_model_timeout: key({ default: 120, env: 'TS_UNREGISTER_MODEL_TIMEOUT', parse: positive }),
  max_worker_rss_mb: key({ default: 0, env: 'TS_MAX_WORKER_RSS_MB', parse: count }),
  worker_threads: key({ default: 0, env: 'TS_WORKER_THREADS', parse: count }),
  /** The configured value; the caller takes min(detected, configured) (spec §5.1 item 4). */
  number_of_gpu: key({ default: 0, env: 'TS_NUMBER_OF_GPU', parse: count }),
  /** One default pattern: it contains `|`, not `,`. */
  allowed_urls: key({ default: [/^(?:file:\/\/.*|http(s)?:\/\/.*)$/i], env: 'TS_ALLOWED_URLS', parse: parseUrlPatterns }),
  // The two gates below have no env twin: the environment must not be able to open its own gate.
  allow_link_local_urls: key({ default: false, env: 'TS_ALLOW_LINK_LOCAL_URLS', parse: parseBoolean }),
  use_env_allowed_urls: key({ default: false, env: null, parse: parseBoolean }),
  enable_envvars_config: key({ default: false, env: null, parse: parseBoolean }),
  install_py_dep_per_model: key({ default: false, env: 'TS_INSTALL_PY_DEP_PER_MODEL', parse: parseBoolean }),
  enable_model_api: key({ default: false, env: 'TS_ENABLE_MODEL_API', parse: parseBoolean, cliFlags: ['--enable-model-api'] }),

  // ---- workers and handlers ----
  /** Full-match pattern of variable names hidden from workers; null ⇒ none. */
  blacklist_env_vars: key({ default: null, env: 'TS_BLACKLIST_ENV_VARS', parse: parseOptionalPattern }),
  decode_input_request: key({ default: true, env: 'TS_DECODE_INPUT_REQUEST', parse: parseBoolean }),
  default_service_handler: key({ default: null, env: 'TS_DEFAULT_SERVICE_HANDLER', parse: parseOptionalString }),
  service_envelope: key({ default: null, env: 'TS_SERVICE_ENVELOPE', parse: parseServiceEnvelope }),
  limit_max_image_pixels: key({ default: true, env: 'TS_LIMIT_MAX_IMAGE_PIXELS', parse: parseBoolean }),
  initial_worker_port: key({ default: 9000, env: 'TS_INITIAL_WORKER_PORT', parse: count }),
  /** null ⇒ the caller picks an interpreter. */
  python: key({ default: null, env: 'TS_PYTHON', parse: parseOptionalString, cliFlags: ['--python'] }),
  debug: key({ default: false, env: 'TS_DEBUG', parse: parseBoolean }),
  ts_open_inference_protocol: key({
    default: false,
    env: 'TS_OPEN_INFERENCE_PROTOCOL',
    parse: parseBoolean,
    envAlways: (envValue) => String(envValue === 'oip'),
  }),

  // ---- metrics and logging ----
  metrics_mode: key({ default: 'log', env: 'TS_METRICS_MODE', parse: parseMetricsMode }),
  metrics_config: key({ default: null, env: 'TS_METRICS_CONFIG', parse: parseOptionalString }),
  enable_metrics_api: key({ default: true, env: 'TS_ENABLE_METRICS_API', parse: parseBoolean }),
  /** Lantern's: the browser console at /console/ on the management listener (docs/console.md). */
  enable_console: key({ default: true, env: 'TS_ENABLE_CONSOLE', parse: parseBoolean }),
  disable_system_metrics: key({ default: false, env: 'TS_DISABLE_SYSTEM_METRICS', parse: parseBoolean }),
  metric_time_interval: key({ default: 60, env: 'TS_METRIC_TIME_INTERVAL', parse: positive }),
  async_logging: key({ default: false, env: 'TS_ASYNC_LOGGING', parse: parseBoolean }),
  model_metrics_auto_detect: key({ default: false, env: 'TS_MODEL_METRICS_AUTO_DETECT', parse: parseBoolean }),
  /** Lantern's: `text` (TorchServe's log4j layouts) or `json` (one object per line) for the log files and console. */
  log_format: key({ default: 'text', env: 'TS_LOG_FORMAT', parse: parseLogFormat }),
  /** Lantern's: a log file is rolled over when it would grow past this size. */
  log_max_file_bytes: key({ default: 100 * 1024 * 1024, env: 'TS_LOG_MAX_FILE_BYTES', parse: positive }),
  /** Lantern's: rolled-over files kept per log (`<name>.1` … `<name>.<n>`). */
  log_backup_count: key({ default: 5, env: 'TS_LOG_BACKUP_COUNT', parse: count }),

  // ---- token authorization (spec §3) ----
  token_expiration_min: key({ default: 60, env: 'TS_TOKEN_EXPIRATION_TIME_MIN', parse: parsePositiveNumber }),
  token_rotation_grace_sec: key({ default: 10, env: 'TS_TOKEN_ROTATION_GRACE_SEC', parse: count }),
  /**
   * Lantern's: keys shared by replicas, from a mounted file (JSON: inference and management) read again
   * every few seconds, or from the environment. The env names are read even with
   * enable_envvars_config=false: a Kubernetes Secret sets them.
   */
  token_key_file: key({ default: null, env: 'TS_TOKEN_KEY_FILE', parse: parseOptionalString, envAlways: (v) => v }),
  inference_key: key({ default: null, env: 'TS_INFERENCE_KEY', parse: parseOptionalString, envAlways: (v) => v }),
  management_key: key({ default: null, env: 'TS_MANAGEMENT_KEY', parse: parseOptionalString, envAlways: (v) => v }),
  disable_token_authorization: key({
    default: false,
    env: 'TS_DISABLE_TOKEN_AUTHORIZATION',
    parse: parseBoolean,
    cliFlags: ['--disable-token-auth', '--dt'],
  }),

  // ---- Lantern's own limits ----
  archive_max_entries: key({ default: 10000, env: 'TS_ARCHIVE_MAX_ENTRIES', parse: positive }),
  archive_max_uncompressed_bytes: key({ default: 4 * GIB, env: 'TS_ARCHIVE_MAX_UNCOMPRESSED_BYTES', parse: positive }),
  download_max_bytes: key({ default: 4 * GIB, env: 'TS_DOWNLOAD_MAX_BYTES', parse: positive }),
  download_timeout_sec: key({ default: 300, env: 'TS_DOWNLOAD_TIMEOUT_SEC', parse: positive }),
  /** The HTTP listeners' bound on open connections each; 0 ⇒ derived from the open-file limit (http/connection-guard.ts). */
  max_connections_per_listener: key({ default: 0, env: 'TS_MAX_CONNECTIONS_PER_LISTENER', parse: count }),
  /** Request body bytes the front end may hold for requests not yet answered; over it a request gets 503. */
  max_inflight_request_bytes: key({ default: 512 * 1024 * 1024, env: 'TS_MAX_INFLIGHT_REQUEST_BYTES', parse: positive }),
  /** From the end of a request's head to the end of its body; a slower body is answered 408. */
  request_body_timeout_ms: key({ default: 300_000, env: 'TS_REQUEST_BODY_TIMEOUT_MS', parse: positive }),
  graceful_shutdown_timeout_sec: key({ default: 30, env: 'TS_GRACEFUL_SHUTDOWN_TIMEOUT_SEC', parse: count }),
  /**
   * Lantern's: after SIGTERM the readiness probes answer 503 at once but requests are still served this
   * long, so that load balancers take the server out before its listeners close (at least one probe interval).
   */
  shutdown_delay_sec: key({ default: 5, env: 'TS_SHUTDOWN_DELAY_SEC', parse: count }),
  /** Autoscaling (max_worker > min_worker): add a worker after requests waited this long with none idle. */
  autoscale_up_after_ms: key({ default: 1000, env: 'TS_AUTOSCALE_UP_AFTER_MS', parse: count }),
  /** Autoscaling: remove a worker above min_worker after this long with an idle worker and an empty queue. */
  autoscale_down_after_sec: key({ default: 60, env: 'TS_AUTOSCALE_DOWN_AFTER_SEC', parse: count }),
});

export type KeyTable = typeof KEY_TABLE;
export type ConfigKey = keyof KeyTable;
export type ConfigValue<K extends ConfigKey> = KeyTable[K] extends KeySpec<infer T> ? T : never;
export type ConfigValues = { readonly [K in ConfigKey]: ConfigValue<K> };

const KEYS: readonly ConfigKey[] = Object.freeze(Object.keys(KEY_TABLE) as ConfigKey[]);

/** Every key, in table order. */
export const configKeys = (): readonly ConfigKey[] => KEYS;

export const isConfigKey = (name: string): name is ConfigKey => Object.hasOwn(KEY_TABLE, name);

/** The spec of one key, typed by its value. */
export const keySpec = <K extends ConfigKey>(name: K): KeySpec<ConfigValue<K>> =>
  KEY_TABLE[name] as unknown as KeySpec<ConfigValue<K>>;
