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

export class ServeError extends Error {
  readonly status: number;
  readonly type: ErrorType;

  constructor(status: number, type: ErrorType, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ServeError';
    this.status = status;
    this.type = type;
  }
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
  new ServeError(400, 'BadRequestException', message, cause);
export const resourceNotFound = (): ServeError =>
  new ServeError(404, 'ResourceNotFoundException', 'Requested resource is not found, please refer to API document.');
export const methodNotAllowed = (): ServeError =>
  new ServeError(405, 'MethodNotAllowedException', 'Requested method is not allowed, please refer to API document.');
export const internal = (message: string, cause?: unknown): ServeError =>
  new ServeError(500, 'InternalServerException', message, cause);
export const requestTooLarge = (limitBytes: number): ServeError =>
  new ServeError(413, 'RequestEntityTooLargeException', `Request body exceeds max_request_size (${limitBytes} bytes)`);
export const invalidHttpMessage = (): ServeError => badRequest('Invalid HTTP message.');

// ---- models and versions ----
export const modelNotFound = (name: string): ServeError =>
  new ServeError(404, 'ModelNotFoundException', `Model not found: ${name}`);
export const versionNotFound = (name: string, version: string): ServeError =>
  new ServeError(404, 'ModelVersionNotFoundException', `Model version: ${version} does not exist for model: ${name}`);
/** set-default words it without colons (spec §1.8). */
export const versionNotFoundForDefault = (name: string, version: string): ServeError =>
  new ServeError(404, 'ModelVersionNotFoundException', `Model version ${version} does not exist for model ${name}`);
export const versionConflict = (name: string, version: string): ServeError =>
  new ServeError(409, 'ConflictStatusException', `Model version ${version} is already registered for model ${name}`);
export const cannotRemoveDefault = (name: string): ServeError =>
  new ServeError(403, 'InvalidModelVersionException', `Cannot remove default version for model ${name}`);
export const parameterRequired = (name: string): ServeError => badRequest(`Parameter ${name} is required.`);
export const invalidRuntime = (value: string): ServeError => badRequest(`Invalid RuntimeType value: ${value}`);
export const maxBelowMin = (): ServeError => badRequest('max_worker cannot be less than min_worker.');
export const negativeWorkers = (): ServeError => internal('min_worker cannot be negative.');

// ---- archives and URLs (spec §1.2, §1.3) ----
export const invalidModel = (message: string, cause?: unknown): ServeError =>
  new ServeError(400, 'InvalidModelException', message, cause);
export const modelStoreMissing = (): ServeError =>
  new ServeError(404, 'ModelNotFoundException', 'Model store has not been configured.');
export const emptyUrl = (): ServeError => new ServeError(404, 'ModelNotFoundException', 'empty url');
export const relativePathInUrl = (url: string): ServeError =>
  new ServeError(404, 'ModelNotFoundException', `Relative path is not allowed in url: ${url}`);
export const urlNotAllowed = (url: string): ServeError =>
  new ServeError(404, 'ModelNotFoundException', `Given URL ${url} does not match any allowed URL(s)`);
export const modelArchiveNotFound = (url: string): ServeError =>
  new ServeError(404, 'ModelNotFoundException', `Model not found at: ${url}`);
/** `reason` is given for Lantern's own refusals (limits, redirects); TorchServe's text stays as is otherwise. */
export const downloadFailed = (url: string, cause?: unknown, reason?: string): ServeError =>
  new ServeError(400, 'DownloadArchiveException', `Failed to download archive from: ${url}${reason === undefined ? '' : ` (${reason})`}`, cause);
export const modelFileExists = (fileName: string): ServeError =>
  internal(`Model file already exists ${fileName}`);
/** An archive we refuse to unpack: the message names the reason (Lantern answers 400 where TorchServe said 500). */
export const unsafeArchive = (reason: string): ServeError =>
  new ServeError(400, 'InvalidModelException', `Refused archive: ${reason}`);

// ---- workers and inference ----
export const noWorker = (name: string, version?: string): ServeError =>
  new ServeError(
    503,
    'ServiceUnavailableException',
    (version === undefined ? `Model "${name}"` : `Model "${name}" Version ${version}"`) +
      ' has no worker to serve inference request. Please use scale workers API to add workers.' +
      ' If this is a sequence inference, please check if it is closed, or expired; or exceeds maxSequenceJobQueueSize',
  );
export const noWorkerForDescribe = (name: string): ServeError =>
  new ServeError(
    503,
    'ServiceUnavailableException',
    `Model "${name}" has no worker to serve describe request. Please use scale workers API to add workers.`,
  );
/** A failure reported by a worker for a whole batch; 413 is shown as 507 as TorchServe does. */
export const workerFailure = (status: number, message: string): ServeError =>
  new ServeError(status === 413 ? 507 : status, 'InternalServerException', message);
export const workerDied = (exitCode?: number | null): ServeError =>
  new ServeError(exitCode === 137 ? 507 : 500, 'InternalServerException', 'Worker died.');
export const workersFailedToStart = (name: string, version: string | null, status = 500): ServeError =>
  new ServeError(status === 413 ? 507 : status, 'InternalServerException',
    `Failed to start workers for model ${name} version: ${version ?? 'null'}`);
export const modelUnloaded = (name: string): ServeError =>
  new ServeError(503, 'ServiceUnavailableException', `Model "${name}" was unregistered before the request was served`);
export const serverStopping = (): ServeError =>
  new ServeError(503, 'ServiceUnavailableException', 'Server is shutting down');
export const cleanupTimeout = (name: string): ServeError =>
  new ServeError(408, 'RequestTimeoutException', `Timed out while cleaning resources: ${name}`);
export const responseTooLarge = (sizeBytes: number): ServeError =>
  internal(`Message size exceed limit: ${sizeBytes}\nConsider increasing the 'max_response_size' in 'config.properties' to fix.`);

// ---- token authorization (spec §3) ----
export const tokenAuthorizationFailed = (): ServeError =>
  new ServeError(400, 'InvalidKeyException', 'Token Authorization failed. Token either incorrect, expired, or not provided correctly');
export const tokenAuthenticationFailed = (): ServeError =>
  new ServeError(400, 'InvalidKeyException', 'Token Authentication failed. Token either incorrect, expired, or not provided correctly');

// ---- snapshots (spec §6) ----
export const snapshotArchiveMissing = (name: string, version: string): ServeError =>
  new ServeError(404, 'ModelNotFoundException', `Model archive file for model :${name}, version :${version} not found in model store`);

// ---- the HTTP edge (issue #3) ----
/** A client that did not send its request head (or whole request) within the edge's timeouts. */
export const requestTimedOut = (): ServeError =>
  new ServeError(408, 'RequestTimeoutException', 'The request was not received in time.');

// ---- model API control over gRPC (spec §4) ----
/** gRPC Register/Unregister while enable_model_api=false: PERMISSION_DENIED (REST answers 405). */
export const modelApiDisabled = (): ServeError => new ServeError(403, 'ModelException', 'Model API disabled');

// ---- per-model Python dependencies (spec §1.2, issue #7) ----
export const customPipInstallFailed = (name: string, cause?: unknown): ServeError =>
  new ServeError(400, 'ModelException', `Custom pip package installation failed for model ${name}`, cause);
