import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status as GrpcCode } from '@grpc/grpc-js';
import { internal, grpcModelApiDisabled, modelNotFound, noWorker, ServeError, workerFailure } from '../errors.js';
import { asServeError, encodeErrorInfo, grpcCodeForHttpStatus, grpcStatusOf, javaClassName, rpcStatusOf } from './grpc-status.js';
import { sequenceOf } from './inference-calls.js';

describe('HTTP status to gRPC code table', () => {
  it('maps the statuses TorchServe names one by one', () => {
    const expected: Array<[number, GrpcCode]> = [
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
    ];
    for (const [http, grpc] of expected) assert.equal(grpcCodeForHttpStatus(http), grpc, String(http));
  });

  it('maps the rest by class: 2xx OK, other 4xx FAILED_PRECONDITION, other 5xx INTERNAL, anything else UNKNOWN', () => {
    assert.equal(grpcCodeForHttpStatus(200), GrpcCode.OK);
    assert.equal(grpcCodeForHttpStatus(202), GrpcCode.OK);
    assert.equal(grpcCodeForHttpStatus(405), GrpcCode.FAILED_PRECONDITION);
    assert.equal(grpcCodeForHttpStatus(408), GrpcCode.FAILED_PRECONDITION);
    assert.equal(grpcCodeForHttpStatus(500), GrpcCode.INTERNAL);
    assert.equal(grpcCodeForHttpStatus(507), GrpcCode.INTERNAL);
    assert.equal(grpcCodeForHttpStatus(302), GrpcCode.UNKNOWN);
    assert.equal(grpcCodeForHttpStatus(100), GrpcCode.UNKNOWN);
  });
});

describe('gRPC error descriptions', () => {
  it('write the message, a newline and the fully qualified TorchServe exception class', () => {
    assert.deepEqual(grpcStatusOf(modelNotFound('m')), {
      code: GrpcCode.NOT_FOUND,
      details: 'Model not found: m\norg.pytorch.serve.archive.model.ModelNotFoundException',
    });
    assert.deepEqual(grpcStatusOf(grpcModelApiDisabled()), {
      code: GrpcCode.PERMISSION_DENIED,
      details: 'Model API disabled\norg.pytorch.serve.archive.model.ModelException',
    });
    assert.deepEqual(grpcStatusOf(workerFailure(413, 'too big')), {
      code: GrpcCode.INTERNAL,
      details: 'too big\norg.pytorch.serve.http.InternalServerException',
    });
    assert.equal(grpcStatusOf(noWorker('m')).code, GrpcCode.UNAVAILABLE);
    assert.equal(javaClassName('DownloadArchiveException'), 'org.pytorch.serve.archive.DownloadArchiveException');
    assert.equal(javaClassName('WorkerInitializationException'), 'org.pytorch.serve.wlm.WorkerInitializationException');
  });

  it('turn anything that is not a ServeError into a logged internal error', () => {
    const logged: unknown[] = [];
    const error = asServeError(new Error('boom'), (_m, cause) => logged.push(cause));
    assert.equal(error.status, 500);
    assert.equal(error.message, 'boom');
    assert.equal(logged.length, 1);
    const known = internal('x');
    assert.equal(asServeError(known, () => assert.fail('a ServeError is not logged')), known);
  });

  it('report in-band errors as google.rpc.Status with one ErrorInfo naming the class', () => {
    const status = rpcStatusOf(new ServeError(400, 'BadRequestException', 'bad'));
    assert.equal(status.code, GrpcCode.INVALID_ARGUMENT);
    assert.equal(status.message, 'bad');
    assert.deepEqual(status.details.map((d) => d.type_url), ['type.googleapis.com/google.rpc.ErrorInfo']);
    const reason = 'org.pytorch.serve.http.BadRequestException';
    assert.deepEqual(status.details[0]?.value, Buffer.concat([Buffer.from([0x0a, reason.length]), Buffer.from(reason)]));
  });

  it('encode ErrorInfo.reason with a varint length when it is longer than 127 bytes', () => {
    const reason = 'r'.repeat(300);
    const encoded = encodeErrorInfo(reason);
    // 300 = 0b10_0101100 → 0xac 0x02
    assert.deepEqual([...encoded.subarray(0, 3)], [0x0a, 0xac, 0x02]);
    assert.equal(encoded.subarray(3).toString('utf8'), reason);
  });
});

describe('StreamPredictions2 sequences', () => {
  const request = (sequenceId: string | undefined, input: Record<string, string> = {}) => ({
    model_name: 'm',
    model_version: '',
    input: Object.fromEntries(Object.entries(input).map(([k, v]) => [k, Buffer.from(v)])),
    ...(sequenceId === undefined ? {} : { sequence_id: sequenceId }),
  });

  it('pass the sequence id to the handler as ts_request_sequence_id', () => {
    assert.deepEqual(sequenceOf(request('abc')), { id: 'abc', headers: [['ts_request_sequence_id', 'abc']] });
  });

  it('start a new sequence with a generated id when asked to and no id is given', () => {
    const started = sequenceOf(request(undefined, { ts_request_sequence_start: 'TRUE' }));
    assert.match(started.id, /^ts-seq-[0-9a-f-]{36}$/);
    assert.deepEqual(started.headers, [['ts_request_sequence_id', started.id], ['ts_request_sequence_start', 'true']]);
  });

  it('mark the end of a sequence', () => {
    assert.deepEqual(sequenceOf(request('abc', { ts_request_sequence_end: 'true' })).headers, [
      ['ts_request_sequence_id', 'abc'],
      ['ts_request_sequence_end', 'true'],
    ]);
  });

  it('require a sequence id otherwise', () => {
    for (const id of [undefined, '']) {
      assert.throws(() => sequenceOf(request(id)), { status: 400, message: 'Parameter sequenceId is required.' });
    }
  });
});
