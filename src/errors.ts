// The error catalogue. Every error Lantern answers with is built here, so the set of
// TorchServe type names, status codes and message texts lives in one place.

export type ErrorType =
  | 'BadRequestException'
  | 'ModelNotFoundException'
  | 'ModelVersionNotFoundException'
  | 'ResourceNotFoundException'
  | 'InvalidModelException'
  | 'InvalidKeyException'
  | 'ModelException'
  | 'DownloadArchiveException'
  | 'ConflictStatusException'
  | 'RequestTimeoutException'
  | 'MethodNotAllowedException'
  | 'ServiceUnavailableException'
  | 'InvalidModelVersionException'
  | 'InternalServerException'
  | 'WorkerInitializationException'
  | 'RequestEntityTooLargeException';

/**
 * Every error's stable code, with its cause and what to do about it. The code and this text go to
 * the server log with each refused request, never into a response body (bodies stay TorchServe's
 * `{code, type, message}`); docs/errors.md explains each code at more length.
 */
export const ERROR_CODES = {
  BAD_REQUEST: 'the request is malformed or a parameter is invalid; the message names it',
  INVALID_TENSOR_REQUEST: 'an Open Inference request whose JSON header or binary tensor data cannot be read; the message names the input',
  RESOURCE_NOT_FOUND: 'no route matches the path on this listener; check the API (inference 8080, management 8081, metrics 8082)',
  METHOD_NOT_ALLOWED: 'the route exists but not for this HTTP method',
  MODEL_API_DISABLED: 'registering and unregistering models over the API is off; start with --enable-model-api (or enable_model_api=true)',
  INTERNAL: 'an unexpected failure; the server log has the cause',
  REQUEST_TOO_LARGE: 'the request body is over max_request_size; raise it in config.properties or send less',
  INVALID_HTTP: 'the HTTP request could not be parsed',
  REQUEST_TIMED_OUT: 'the client did not send its request in time (slow or stalled connection)',
  INFLIGHT_BYTES_EXCEEDED: 'the request bodies held by requests not yet answered would exceed max_inflight_request_bytes; retry later, send smaller bodies or raise the key',
  MODEL_NOT_FOUND: 'no model of that name is registered; list them with GET /models',
  VERSION_NOT_FOUND: 'the model has no such version; describe the model to see its versions',
  VERSION_CONFLICT: 'that model version is already registered; unregister it first or give the archive another version',
  DEFAULT_VERSION_REMOVAL: 'the default version cannot be unregistered while other versions exist; set another default first',
  PARAMETER_REQUIRED: 'a required parameter is missing',
  INVALID_RUNTIME: 'the runtime parameter is not one Lantern knows (python, python3, LSP, node)',
  INVALID_WORKER_COUNT: 'min_worker/max_worker are out of range',
  INVALID_MODEL_NAME: "model names start with a letter or digit and hold only letters, digits, '_', '.' and '-', at most 255 characters (torch-model-archiver's rule)",
  INVALID_MODEL: 'the archive or its manifest is not valid; the message says what is wrong',
  MODEL_STORE_MISSING: 'no model store is configured; start with --model-store DIR',
  URL_REFUSED: 'the model URL is empty, relative, or not admitted by allowed_urls',
  ARCHIVE_NOT_FOUND: 'no archive at that URL or in the model store',
  DOWNLOAD_FAILED: 'the archive could not be downloaded; the server log says why',
  MODEL_FILE_EXISTS: 'a file of that name is already in the model store',
  UNSAFE_ARCHIVE: 'the archive was refused for safety (path traversal, links, size or entry limits)',
  NO_WORKER: 'the model has no worker that can take the request; scale it up (PUT /models/{name}?min_worker=1)',
  SEQUENCE_CLOSED: 'the request\'s sequence ended (its handler closed it, its gRPC stream closed, or its worker stopped) before the request ran; start a new sequence',
  MODEL_LOAD_FAILED: 'no worker of this version is ready and its last load failed; fix the handler or its dependencies (the model log has the traceback) and scale or register it again',
  WORKER_FAILED: 'the handler raised an error or reported a failure for the batch; the model log has the traceback',
  WORKER_DIED: 'the worker process exited while it served the request (crash, out of memory, response timeout); it is restarted',
  WORKERS_FAILED_TO_START: 'the model could not be loaded by its workers; the model log has the reason',
  MODEL_UNREGISTERED: 'the model was unregistered before the request was served',
  SERVER_STOPPING: 'the server is shutting down',
  CONNECTIONS_RESERVED: "the listener serves inference and management and is at max_connections_per_listener; the connections past it are kept for management requests, so retry, or give inference its own address",
  CLEANUP_TIMEOUT: 'unregistering took longer than unregister_model_timeout',
  RESPONSE_TOO_LARGE: "the handler's response is over max_response_size; raise it in config.properties",
  KEYS_MANAGED_EXTERNALLY: 'the keys come from token_key_file or TS_INFERENCE_KEY/TS_MANAGEMENT_KEY, so the rotation API is off; change the keys where they are kept (the file is read again within seconds)',
  TOKEN_REFUSED: 'the Authorization header is missing, wrong or expired; send "Authorization: Bearer <key>" with the key from key_file.json',
  SNAPSHOT_ARCHIVE_MISSING: 'a snapshot names an archive that is no longer in the model store',
  PIP_INSTALL_FAILED: "pip could not install the archive's requirements file; the server log has pip's output",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ServeError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly code: ErrorCode;

  constructor(status: number, type: ErrorType, message: string, cause?: unknown, code: ErrorCode = 'INTERNAL') {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ServeError';
    this.status = status;
    this.type = type;
    this.code = code;
  }
}

/** One log line for a refused request: the stable code, the status, the message and what to do. */
export function describeFailure(error: ServeError): string {
  return `[${error.code}] ${error.status} ${error.message.split('\n')[0] ?? ''} (${ERROR_CODES[error.code]})`;
}

export function isServeError(value: unknown): value is ServeError {
  return value instanceof ServeError;
}

/** The one conversion both edges use: a ServeError as it is, anything else a logged 500. */
export function asServeError(err: unknown, logUnexpected: (message: string, cause: unknown) => void): ServeError {
  if (isServeError(err)) return err;
  logUnexpected('Unexpected error while serving a request', err);
  return new ServeError(500, 'InternalServerException', err instanceof Error ? err.message : String(err), err);
}

// ---- generic ----
export const badRequest = (message: string, cause?: unknown): ServeError =>
  new ServeError(400, 'BadRequestException', message, cause, 'BAD_REQUEST');
export const invalidTensorRequest = (message: string): ServeError => new ServeError(400, 'BadRequestException', message, undefined, 'INVALID_TENSOR_REQUEST');
export const resourceNotFound = (): ServeError =>
  new ServeError(404, 'ResourceNotFoundException', 'Requested resource is not found, please refer to API document.', undefined, 'RESOURCE_NOT_FOUND');
export const methodNotAllowed = (): ServeError =>
  new ServeError(405, 'MethodNotAllowedException', 'Requested method is not allowed, please refer to API document.', undefined, 'METHOD_NOT_ALLOWED');
export const keysManagedExternally = (): ServeError =>
  new ServeError(
    405,
    'MethodNotAllowedException',
    'The keys are managed externally (token_key_file or TS_INFERENCE_KEY/TS_MANAGEMENT_KEY); change them where they are kept.',
    undefined,
    'KEYS_MANAGED_EXTERNALLY',
  );
export const internal = (message: string, cause?: unknown): ServeError =>
  new ServeError(500, 'InternalServerException', message, cause, 'INTERNAL');
export const clientGoneMidBody = (cause?: unknown): ServeError =>
  new ServeError(400, 'BadRequestException', 'The connection closed before the request body was complete.', cause, 'BAD_REQUEST');
export const requestTooLarge = (limitBytes: number): ServeError =>
  new ServeError(413, 'RequestEntityTooLargeException', `Request body exceeds max_request_size (${limitBytes} bytes)`, undefined, 'REQUEST_TOO_LARGE');
export const invalidHttpMessage = (): ServeError => new ServeError(400, 'BadRequestException', 'Invalid HTTP message.', undefined, 'INVALID_HTTP');

// ---- models and versions ----
export const modelNotFound = (name: string): ServeError =>
  new ServeError(404, 'ModelNotFoundException', `Model not found: ${name}`, undefined, 'MODEL_NOT_FOUND');
export const versionNotFound = (name: string, version: string): ServeError =>
  new ServeError(404, 'ModelVersionNotFoundException', `Model version: ${version} does not exist for model: ${name}`, undefined, 'VERSION_NOT_FOUND');
/** set-default words it without colons (spec §1.8). */
export const versionNotFoundForDefault = (name: string, version: string): ServeError =>
  new ServeError(404, 'ModelVersionNotFoundException', `Model version ${version} does not exist for model ${name}`, undefined, 'VERSION_NOT_FOUND');
export const versionConflict = (name: string, version: string): ServeError =>
  new ServeError(409, 'ConflictStatusException', `Model version ${version} is already registered for model ${name}`, undefined, 'VERSION_CONFLICT');
export const cannotRemoveDefault = (name: string): ServeError =>
  new ServeError(403, 'InvalidModelVersionException', `Cannot remove default version for model ${name}`, undefined, 'DEFAULT_VERSION_REMOVAL');
export const parameterRequired = (name: string): ServeError =>
  new ServeError(400, 'BadRequestException', `Parameter ${name} is required.`, undefined, 'PARAMETER_REQUIRED');
export const invalidRuntime = (value: string): ServeError =>
  new ServeError(400, 'BadRequestException', `Invalid RuntimeType value: ${value}`, undefined, 'INVALID_RUNTIME');
export const maxBelowMin = (): ServeError =>
  new ServeError(400, 'BadRequestException', 'max_worker cannot be less than min_worker.', undefined, 'INVALID_WORKER_COUNT');
export const negativeWorkers = (): ServeError =>
  new ServeError(500, 'InternalServerException', 'min_worker cannot be negative.', undefined, 'INVALID_WORKER_COUNT');

// ---- archives and URLs (spec §1.2, §1.3) ----
export const invalidModel = (message: string, cause?: unknown): ServeError =>
  new ServeError(400, 'InvalidModelException', message, cause, 'INVALID_MODEL');
/** The name is quoted as JSON and cut short, so control characters never reach a log line. */
export const invalidModelName = (name: string): ServeError =>
  new ServeError(400, 'BadRequestException',
    `Invalid model name ${JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name)}: a model name must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$ and have at most 255 characters`,
    undefined, 'INVALID_MODEL_NAME');
export const modelStoreMissing = (): ServeError =>
  new ServeError(404, 'ModelNotFoundException', 'Model store has not been configured.', undefined, 'MODEL_STORE_MISSING');
export const emptyUrl = (): ServeError => new ServeError(404, 'ModelNotFoundException', 'empty url', undefined, 'URL_REFUSED');
export const relativePathInUrl = (url: string): ServeError =>
  new ServeError(404, 'ModelNotFoundException', `Relative path is not allowed in url: ${url}`, undefined, 'URL_REFUSED');
export const urlNotAllowed = (url: string): ServeError =>
  new ServeError(404, 'ModelNotFoundException', `Given URL ${url} does not match any allowed URL(s)`, undefined, 'URL_REFUSED');
export const modelArchiveNotFound = (url: string): ServeError =>
  new ServeError(404, 'ModelNotFoundException', `Model not found at: ${url}`, undefined, 'ARCHIVE_NOT_FOUND');
/** `reason` is given for Lantern's own refusals (limits, redirects); TorchServe's text stays as is otherwise. */
export const downloadFailed = (url: string, cause?: unknown, reason?: string): ServeError =>
  new ServeError(400, 'DownloadArchiveException', `Failed to download archive from: ${url}${reason === undefined ? '' : ` (${reason})`}`, cause, 'DOWNLOAD_FAILED');
export const modelFileExists = (fileName: string): ServeError =>
  new ServeError(500, 'InternalServerException', `Model file already exists ${fileName}`, undefined, 'MODEL_FILE_EXISTS');
/** An archive we refuse to unpack: the message names the reason (Lantern answers 400 where TorchServe said 500). */
export const unsafeArchive = (reason: string): ServeError =>
  new ServeError(400, 'InvalidModelException', `Refused archive: ${reason}`, undefined, 'UNSAFE_ARCHIVE');

// ---- workers and inference ----
export const noWorker = (name: string, version?: string): ServeError =>
  new ServeError(
    503,
    'ServiceUnavailableException',
    (version === undefined ? `Model "${name}"` : `Model "${name}" Version ${version}"`) +
      ' has no worker to serve inference request. Please use scale workers API to add workers.' +
      ' If this is a sequence inference, please check if it is closed, or expired; or exceeds maxSequenceJobQueueSize',
    undefined,
    'NO_WORKER',
  );
export const noWorkerForDescribe = (name: string): ServeError =>
  new ServeError(
    503,
    'ServiceUnavailableException',
    `Model "${name}" has no worker to serve describe request. Please use scale workers API to add workers.`, undefined, 'NO_WORKER');
/** A failure reported by a worker for a whole batch; 413 is shown as 507 as TorchServe does. */
export const workerFailure = (status: number, message: string): ServeError =>
  new ServeError(status === 413 ? 507 : status, 'InternalServerException', message, undefined, 'WORKER_FAILED');
export const workerDied = (exitCode?: number | null): ServeError =>
  new ServeError(exitCode === 137 ? 507 : 500, 'InternalServerException', 'Worker died.', undefined, 'WORKER_DIED');
export const workersFailedToStart = (name: string, version: string | null, status = 500): ServeError =>
  new ServeError(status === 413 ? 507 : status, 'InternalServerException',
    `Failed to start workers for model ${name} version: ${version ?? 'null'}`, undefined, 'WORKERS_FAILED_TO_START');
/** A stateful model's request whose sequence ended before it ran. */
export const sequenceClosed = (sequenceId: string, why: string): ServeError =>
  new ServeError(503, 'ServiceUnavailableException', `Sequence ${sequenceId} is closed: ${why}`, undefined, 'SEQUENCE_CLOSED');
/** No worker of the version is ready and its newest load failed: refused at once instead of queued. */
export const modelLoadFailed = (name: string, version: string, loadMessage: string): ServeError =>
  new ServeError(503, 'ServiceUnavailableException',
    `Model "${name}" version ${version} has no worker ready: its last load failed: ${loadMessage}`, undefined, 'MODEL_LOAD_FAILED');
export const modelUnloaded = (name: string): ServeError =>
  new ServeError(503, 'ServiceUnavailableException', `Model "${name}" was unregistered before the request was served`, undefined, 'MODEL_UNREGISTERED');
export const serverStopping = (): ServeError =>
  new ServeError(503, 'ServiceUnavailableException', 'Server is shutting down', undefined, 'SERVER_STOPPING');
export const connectionsReserved = (): ServeError =>
  new ServeError(503, 'ServiceUnavailableException',
    'Too many connections: this listener is at max_connections_per_listener, and the connections past it serve the management API only', undefined, 'CONNECTIONS_RESERVED');
export const cleanupTimeout = (name: string): ServeError =>
  new ServeError(408, 'RequestTimeoutException', `Timed out while cleaning resources: ${name}`, undefined, 'CLEANUP_TIMEOUT');
export const responseTooLarge = (sizeBytes: number): ServeError =>
  new ServeError(500, 'InternalServerException',
    `Message size exceed limit: ${sizeBytes}\nConsider increasing the 'max_response_size' in 'config.properties' to fix.`, undefined, 'RESPONSE_TOO_LARGE');

// ---- token authorization (spec §3) ----
export const tokenAuthorizationFailed = (): ServeError =>
  new ServeError(400, 'InvalidKeyException', 'Token Authorization failed. Token either incorrect, expired, or not provided correctly', undefined, 'TOKEN_REFUSED');
export const tokenAuthenticationFailed = (): ServeError =>
  new ServeError(400, 'InvalidKeyException', 'Token Authentication failed. Token either incorrect, expired, or not provided correctly', undefined, 'TOKEN_REFUSED');

// ---- snapshots (spec §6) ----
export const snapshotArchiveMissing = (name: string, version: string): ServeError =>
  new ServeError(404, 'ModelNotFoundException', `Model archive file for model :${name}, version :${version} not found in model store`, undefined, 'SNAPSHOT_ARCHIVE_MISSING');

// ---- the HTTP edge (issue #3) ----
/** A client that did not send its request head (or whole request) within the edge's timeouts. */
export const requestTimedOut = (): ServeError =>
  new ServeError(408, 'RequestTimeoutException', 'The request was not received in time.', undefined, 'REQUEST_TIMED_OUT');
/** A body refused before it is buffered: the front end already holds its limit of request bytes (issue 21). */
export const inflightBytesExceeded = (limitBytes: number): ServeError =>
  new ServeError(503, 'ServiceUnavailableException',
    `Server busy: request bodies in flight would exceed max_inflight_request_bytes (${limitBytes} bytes); retry later`, undefined, 'INFLIGHT_BYTES_EXCEEDED');

// ---- model API control (spec §4) ----
/**
 * Register/unregister while enable_model_api=false. REST shows TorchServe's fixed 405 body; the
 * code carries the cause and the fix to the log. gRPC answers PERMISSION_DENIED (grpcModelApiDisabled).
 */
export const modelApiDisabled = (): ServeError =>
  new ServeError(405, 'MethodNotAllowedException', 'Requested method is not allowed, please refer to API document.', undefined, 'MODEL_API_DISABLED');
/** The same refusal as TorchServe's gRPC management API words it. */
export const grpcModelApiDisabled = (): ServeError => new ServeError(403, 'ModelException', 'Model API disabled', undefined, 'MODEL_API_DISABLED');

// ---- per-model Python dependencies (spec §1.2, issue #7) ----
export const customPipInstallFailed = (name: string, cause?: unknown): ServeError =>
  new ServeError(400, 'ModelException', `Custom pip package installation failed for model ${name}`, cause, 'PIP_INSTALL_FAILED');
