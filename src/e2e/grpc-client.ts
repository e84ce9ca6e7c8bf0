// End-to-end test support: a real gRPC client built from the repository's proto/ files with
// @grpc/grpc-js, and calls that settle into plain results (messages and the final status) so
// tests can compare them.
import {
  credentials,
  makeClientConstructor,
  Metadata,
  status as GrpcCode,
  type ChannelCredentials,
  type Client,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { LOADER_OPTIONS } from '../grpc/proto-definitions.js';

type ClientConstructor = new (target: string, creds: ChannelCredentials) => Client;
type RawMethod = (...args: unknown[]) => unknown;

export interface CallStatus {
  readonly code: GrpcCode;
  readonly details: string;
}

export interface StreamResult<T> {
  readonly messages: T[];
  readonly status: CallStatus;
}

export type UnaryResult<T> = { readonly ok: true; readonly value: T } | ({ readonly ok: false } & CallStatus);

export interface GrpcTestClient {
  unary<T>(method: string, request: object, key?: string | null): Promise<UnaryResult<T>>;
  serverStream<T>(method: string, request: object, key?: string | null): Promise<StreamResult<T>>;
  /** Sends every request, half-closes, and collects the replies until the call ends. */
  bidi<T>(method: string, requests: readonly object[], key?: string | null): Promise<StreamResult<T>>;
  /** A bidirectional call left open: write requests, wait for replies one by one. */
  bidiOpen<T>(method: string, key?: string | null): OpenCall<T>;
  close(): void;
}

export interface OpenCall<T> {
  write(request: object): void;
  /** Half-closes the call: no more requests. */
  end(): void;
  /** The next reply (already received or still to come). */
  nextMessage(): Promise<T>;
  readonly result: Promise<StreamResult<T>>;
}

const definition = loadSync(['inference.proto', 'management.proto', 'grpc_predict_v2.proto', 'open_inference_grpc.proto'], LOADER_OPTIONS);

/** `oip`: KServe's inference.GRPCInferenceService; `oip-torchserve`: TorchServe's name for the same service. */
export type GrpcTestService = 'inference' | 'management' | 'oip' | 'oip-torchserve';

const SERVICE_NAMES: Readonly<Record<GrpcTestService, string>> = {
  inference: 'org.pytorch.serve.grpc.inference.InferenceAPIsService',
  management: 'org.pytorch.serve.grpc.management.ManagementAPIsService',
  oip: 'inference.GRPCInferenceService',
  'oip-torchserve': 'org.pytorch.serve.grpc.openinference.GRPCInferenceService',
};

function constructorOf(service: GrpcTestService): ClientConstructor {
  const name = SERVICE_NAMES[service];
  const methods = definition[name];
  if (methods === undefined) throw new Error(`${name} missing from proto/`);
  return makeClientConstructor(methods as ServiceDefinition, name) as unknown as ClientConstructor;
}

function metadataWith(key: string | null | undefined): Metadata {
  const metadata = new Metadata();
  if (key !== null && key !== undefined) metadata.set('authorization', `Bearer ${key}`);
  return metadata;
}

/** A client for one service at `target` (host:port); `ca` switches to TLS trusting that certificate. */
export function grpcClient(service: GrpcTestService, target: string, ca?: Buffer): GrpcTestClient {
  const Ctor = constructorOf(service);
  const client = new Ctor(target, ca === undefined ? credentials.createInsecure() : credentials.createSsl(ca));
  const method = (name: string): RawMethod => {
    const fn = (client as unknown as Record<string, RawMethod | undefined>)[name];
    if (fn === undefined) throw new Error(`no method ${name}`);
    return fn.bind(client);
  };
  const collect = <T>(call: NodeJS.EventEmitter): Promise<StreamResult<T>> =>
    new Promise((resolve) => {
      const messages: T[] = [];
      call.on('data', (m: T) => messages.push(m));
      // 'status' comes for every ending; 'error' duplicates it for non-OK endings.
      call.on('error', () => undefined);
      call.on('status', (s: CallStatus) => resolve({ messages, status: { code: s.code, details: s.details } }));
    });
  return {
    unary: <T>(name: string, request: object, key?: string | null) =>
      new Promise<UnaryResult<T>>((resolve) => {
        method(name)(request, metadataWith(key), (err: ServiceError | null, value: T) => {
          resolve(err === null ? { ok: true, value } : { ok: false, code: err.code, details: err.details });
        });
      }),
    serverStream: <T>(name: string, request: object, key?: string | null) =>
      collect<T>(method(name)(request, metadataWith(key)) as NodeJS.EventEmitter),
    bidi: <T>(name: string, requests: readonly object[], key?: string | null) => {
      const call = method(name)(metadataWith(key)) as NodeJS.EventEmitter & { write(m: object): boolean; end(): void };
      const result = collect<T>(call);
      for (const r of requests) call.write(r);
      call.end();
      return result;
    },
    bidiOpen: <T>(name: string, key?: string | null): OpenCall<T> => {
      const call = method(name)(metadataWith(key)) as NodeJS.EventEmitter & { write(m: object): boolean; end(): void };
      const result = collect<T>(call);
      const received: T[] = [];
      const waiting: Array<(m: T) => void> = [];
      call.on('data', (m: T) => {
        const next = waiting.shift();
        if (next === undefined) received.push(m);
        else next(m);
      });
      return {
        write: (request) => {
          call.write(request);
        },
        end: () => call.end(),
        nextMessage: () => {
          const ready = received.shift();
          return ready === undefined ? new Promise<T>((resolve) => waiting.push(resolve)) : Promise.resolve(ready);
        },
        result,
      };
    },
    close: () => client.close(),
  };
}

/** `host:port` of a `grpc://` or `grpcs://` listener URL. */
export const targetOf = (url: string): string => url.replace(/^grpcs?:\/\//, '');

export interface TestCertificate {
  readonly certificateFile: string;
  readonly privateKeyFile: string;
  readonly cert: Buffer;
}

/** A throw-away self-signed certificate for 127.0.0.1 (P-256, one day), made with openssl in `dir`. */
export async function makeTestCertificate(dir: string): Promise<TestCertificate> {
  const certificateFile = path.join(dir, 'grpc-cert.pem');
  const privateKeyFile = path.join(dir, 'grpc-key.pem');
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', privateKeyFile, '-out', certificateFile, '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  return { certificateFile, privateKeyFile, cert: await readFile(certificateFile) };
}
