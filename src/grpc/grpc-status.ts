// How errors leave the gRPC edge (spec §11.5): one table from the HTTP status a ServeError carries
// to a gRPC status code, used by every RPC, and TorchServe's description `<message>\n<Java class>`.
import { status as GrpcCode, type StatusObject } from '@grpc/grpc-js';
import type { ErrorType, ServeError } from '../errors.js';

const EXACT: ReadonlyMap<number, GrpcCode> = new Map([
  [400, GrpcCode.INVALID_ARGUMENT],
  [401, GrpcCode.UNAUTHENTICATED],
  [403, GrpcCode.PERMISSION_DENIED],
  [404, GrpcCode.NOT_FOUND],
  [409, GrpcCode.ABORTED],
  [413, GrpcCode.RESOURCE_EXHAUSTED],
  [429, GrpcCode.RESOURCE_EXHAUSTED],
  [416, GrpcCode.OUT_OF_RANGE],
  [499, GrpcCode.CANCELLED],
  [501, GrpcCode.UNIMPLEMENTED],
  [503, GrpcCode.UNAVAILABLE],
  [504, GrpcCode.DEADLINE_EXCEEDED],
]);

/** TorchServe's `GRPCUtils.getGRPCStatusCode`. */
export function grpcCodeForHttpStatus(httpStatus: number): GrpcCode {
  const exact = EXACT.get(httpStatus);
  if (exact !== undefined) return exact;
  if (httpStatus >= 200 && httpStatus < 300) return GrpcCode.OK;
  if (httpStatus >= 400 && httpStatus < 500) return GrpcCode.FAILED_PRECONDITION;
  if (httpStatus >= 500 && httpStatus < 600) return GrpcCode.INTERNAL;
  return GrpcCode.UNKNOWN;
}

const JAVA_PACKAGE: Record<ErrorType, string> = {
  BadRequestException: 'org.pytorch.serve.http',
  ModelNotFoundException: 'org.pytorch.serve.archive.model',
  ModelVersionNotFoundException: 'org.pytorch.serve.archive.model',
  ResourceNotFoundException: 'org.pytorch.serve.http',
  InvalidModelException: 'org.pytorch.serve.archive.model',
  InvalidKeyException: 'org.pytorch.serve.archive.model',
  ModelException: 'org.pytorch.serve.archive.model',
  DownloadArchiveException: 'org.pytorch.serve.archive',
  ConflictStatusException: 'org.pytorch.serve.http',
  RequestTimeoutException: 'org.pytorch.serve.http',
  MethodNotAllowedException: 'org.pytorch.serve.http',
  ServiceUnavailableException: 'org.pytorch.serve.http',
  InvalidModelVersionException: 'org.pytorch.serve.http',
  InternalServerException: 'org.pytorch.serve.http',
  WorkerInitializationException: 'org.pytorch.serve.wlm',
  RequestEntityTooLargeException: 'org.pytorch.serve.http',
};

/** The fully qualified TorchServe class a client sees after the message. */
export const javaClassName = (type: ErrorType): string => `${JAVA_PACKAGE[type]}.${type}`;

/** Anything thrown becomes a ServeError; what is not one already is logged and answered as a 500. */
export { asServeError } from '../errors.js';

/** The status a call ends with: mapped code, description `<message>\n<class>` as TorchServe writes it. */
export function grpcStatusOf(error: ServeError): Pick<StatusObject, 'code' | 'details'> {
  return { code: grpcCodeForHttpStatus(error.status), details: `${error.message}\n${javaClassName(error.type)}` };
}

/** `google.rpc.Status` for an error reported inside a StreamPredictions2 response. */
export interface RpcStatusMessage {
  readonly code: number;
  readonly message: string;
  readonly details: ReadonlyArray<{ readonly type_url: string; readonly value: Buffer }>;
}

const ERROR_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.ErrorInfo';

/**
 * google.rpc.ErrorInfo carrying only `reason` (field 1, a string), encoded by hand: it is the one
 * message Lantern packs into an Any, and a length-delimited field needs no library.
 */
export function encodeErrorInfo(reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8');
  const length: number[] = [];
  let n = text.length;
  while (n >= 0x80) {
    length.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  length.push(n);
  return Buffer.concat([Buffer.from([0x0a, ...length]), text]);
}

export function rpcStatusOf(error: ServeError): RpcStatusMessage {
  return {
    code: grpcCodeForHttpStatus(error.status),
    message: error.message,
    details: [{ type_url: ERROR_INFO_TYPE_URL, value: encodeErrorInfo(javaClassName(error.type)) }],
  };
}
