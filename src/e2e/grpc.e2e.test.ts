// gRPC end to end with a Node client built from proto/: every RPC of TorchServe's inference and
// management services against a real server with real Python workers and token authorization on.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status as GrpcCode } from '@grpc/grpc-js';
import { lanternPerTest, type Lantern, type LanternOptions } from './harness.js';
import { grpcClient, makeTestCertificate, targetOf, type GrpcTestClient, type UnaryResult } from './grpc-client.js';
import { ECHO_HANDLER, writeModelDir } from './grpc-models.js';

interface Keys {
  readonly inference: string;
  readonly management: string;
}

interface Running {
  readonly lantern: Lantern;
  readonly keys: Keys;
  readonly inference: GrpcTestClient;
  readonly management: GrpcTestClient;
}

const TOKEN_FAILURE = 'Token Authorization failed. Token either incorrect, expired, or not provided correctly';
const decode = (r: { prediction: Buffer }): string => r.prediction.toString('utf8');

function expectOk<T>(result: UnaryResult<T>): T {
  if (!result.ok) assert.fail(`expected OK, got ${GrpcCode[result.code]}: ${result.details}`);
  return result.value;
}

function expectStatus(result: UnaryResult<unknown>, code: GrpcCode, details: string): void {
  assert.deepEqual(result.ok ? { ok: true } : { code: GrpcCode[result.code], details: result.details }, { code: GrpcCode[code], details });
}

describe('gRPC APIs', () => {
  const servers = lanternPerTest({ afterEach });
  const clients: GrpcTestClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  async function start(options: LanternOptions = {}, ca?: Buffer): Promise<Running> {
    const lantern = await servers.start({ ...options, properties: ['disable_token_authorization=false', 'metrics_address=http://127.0.0.1:0', ...(options.properties ?? [])] });
    const keyFile = lantern.server.keyFile;
    assert.ok(keyFile !== null);
    const parsed = JSON.parse(await readFile(keyFile, 'utf8')) as { inference: { key: string }; management: { key: string } };
    const url = (api: string): string => {
      const l = lantern.server.listeners.find((x) => x.api === api);
      assert.ok(l !== undefined, `${api} listener`);
      return targetOf(l.url);
    };
    const inference = grpcClient('inference', url('grpc-inference'), ca);
    const management = grpcClient('management', url('grpc-management'), ca);
    clients.push(inference, management);
    return { lantern, keys: { inference: parsed.inference.key, management: parsed.management.key }, inference, management };
  }

  it('manages models: register, list, describe, scale, set-default and unregister answer with TorchServe messages', async () => {
    const { lantern, keys, management } = await start();
    const m = keys.management;
    await writeModelDir(lantern.store, { dir: 'echo-v1', modelName: 'echo', version: '1.0', handlerSource: ECHO_HANDLER });
    await writeModelDir(lantern.store, { dir: 'echo-v2', modelName: 'echo', version: '2.0', handlerSource: ECHO_HANDLER });

    assert.deepEqual(expectOk(await management.unary('RegisterModel', { url: 'echo-v1', initial_workers: 1, synchronous: true }, m)), {
      msg: 'Model "echo" Version: 1.0 registered with 1 initial workers',
    });
    // gRPC's synchronous default is false; no workers asked for: registered with 0 workers.
    assert.deepEqual(expectOk(await management.unary('RegisterModel', { url: 'echo-v2' }, m)), {
      msg: 'Model "echo" Version: 2.0 registered with 0 initial workers. Use scale workers API to add workers for the model.',
    });
    expectStatus(
      await management.unary('RegisterModel', { url: 'echo-v1' }, m),
      GrpcCode.ABORTED,
      'Model version 1.0 is already registered for model echo\norg.pytorch.serve.http.ConflictStatusException',
    );
    expectStatus(await management.unary('RegisterModel', {}, m), GrpcCode.INVALID_ARGUMENT, 'Parameter url is required.\norg.pytorch.serve.http.BadRequestException');

    // An unset limit (0) lists with the default page size.
    const list = expectOk(await management.unary<{ msg: string }>('ListModels', {}, m));
    assert.equal(list.msg, JSON.stringify({ models: [{ modelName: 'echo', modelUrl: 'echo-v1' }] }, null, 2));
    const page = expectOk(await management.unary<{ msg: string }>('ListModels', { limit: 1 }, m));
    assert.deepEqual(JSON.parse(page.msg), { nextPageToken: '1', models: [{ modelName: 'echo', modelUrl: 'echo-v1' }] });

    const described = JSON.parse(expectOk(await management.unary<{ msg: string }>('DescribeModel', { model_name: 'echo' }, m)).msg);
    assert.equal(described.length, 1);
    assert.equal(described[0].modelVersion, '1.0');
    assert.equal(described[0].workers.length, 1);
    const customized = JSON.parse(expectOk(await management.unary<{ msg: string }>('DescribeModel', { model_name: 'echo', customized: true }, m)).msg);
    assert.equal(customized.length, 1);
    assert.ok('customizedMetadata' in customized[0], JSON.stringify(customized[0]));
    const all = JSON.parse(expectOk(await management.unary<{ msg: string }>('DescribeModel', { model_name: 'echo', model_version: 'all' }, m)).msg);
    assert.deepEqual(all.map((d: { modelVersion: string }) => d.modelVersion).sort(), ['1.0', '2.0']);
    expectStatus(
      await management.unary('DescribeModel', { model_name: 'nope' }, m),
      GrpcCode.NOT_FOUND,
      'Model not found: nope\norg.pytorch.serve.archive.model.ModelNotFoundException',
    );

    assert.deepEqual(expectOk(await management.unary('ScaleWorker', { model_name: 'echo', model_version: '2.0', min_worker: 1, synchronous: true }, m)), {
      msg: 'Workers scaled to 1 for model: echo, version: 2.0',
    });
    assert.deepEqual(expectOk(await management.unary('ScaleWorker', { model_name: 'echo', min_worker: 2 }, m)), { msg: 'Processing worker updates...' });
    expectStatus(
      await management.unary('ScaleWorker', { model_name: 'echo', model_version: '9.9' }, m),
      GrpcCode.NOT_FOUND,
      'Model version: 9.9 does not exist for model: echo\norg.pytorch.serve.archive.model.ModelVersionNotFoundException',
    );
    expectStatus(
      await management.unary('ScaleWorker', { model_name: 'echo', min_worker: 3, max_worker: 2 }, m),
      GrpcCode.INVALID_ARGUMENT,
      'max_worker cannot be less than min_worker.\norg.pytorch.serve.http.BadRequestException',
    );

    assert.deepEqual(expectOk(await management.unary('SetDefault', { model_name: 'echo', model_version: '2.0' }, m)), {
      msg: 'Default version successfully updated for model "echo" to "2.0"',
    });
    expectStatus(
      await management.unary('SetDefault', { model_name: 'echo', model_version: '3.0' }, m),
      GrpcCode.NOT_FOUND,
      'Model version 3.0 does not exist for model echo\norg.pytorch.serve.archive.model.ModelVersionNotFoundException',
    );
    expectStatus(
      await management.unary('UnregisterModel', { model_name: 'echo' }, m),
      GrpcCode.PERMISSION_DENIED,
      'Cannot remove default version for model echo\norg.pytorch.serve.http.InvalidModelVersionException',
    );
    assert.deepEqual(expectOk(await management.unary('UnregisterModel', { model_name: 'echo', model_version: '1.0' }, m)), { msg: 'Model "echo" unregistered' });
    expectStatus(
      await management.unary('UnregisterModel', { model_name: 'gone' }, m),
      GrpcCode.NOT_FOUND,
      'Model not found: gone\norg.pytorch.serve.archive.model.ModelNotFoundException',
    );
  });

  it('predicts over gRPC with raw input bytes, and maps unknown models, missing names and missing workers to status codes', async () => {
    const { lantern, keys, inference, management } = await start();
    await writeModelDir(lantern.store, { dir: 'echo', modelName: 'echo', version: '1.0', handlerSource: ECHO_HANDLER });
    expectOk(await management.unary('RegisterModel', { url: 'echo', initial_workers: 1, synchronous: true }, keys.management));
    const k = keys.inference;

    assert.deepEqual(expectOk(await inference.unary('Ping', {}, k)), { health: '{\n  "status": "Healthy"\n}' });
    const reply = expectOk(await inference.unary<{ prediction: Buffer }>('Predictions', { model_name: 'echo', input: { data: Buffer.from('héllo'), n: Buffer.from('7') } }, k));
    assert.deepEqual(JSON.parse(decode(reply)), { inputs: { data: 'héllo', n: '7' }, sequence: {} });
    const versioned = expectOk(await inference.unary<{ prediction: Buffer }>('Predictions', { model_name: 'echo', model_version: '1.0', input: {} }, k));
    assert.deepEqual(JSON.parse(decode(versioned)), { inputs: {}, sequence: {} });

    expectStatus(
      await inference.unary('Predictions', { model_name: 'nope', input: {} }, k),
      GrpcCode.NOT_FOUND,
      'Model not found: nope\norg.pytorch.serve.archive.model.ModelNotFoundException',
    );
    expectStatus(
      await inference.unary('Predictions', { model_name: 'echo', model_version: '2.0', input: {} }, k),
      GrpcCode.NOT_FOUND,
      'Model version: 2.0 does not exist for model: echo\norg.pytorch.serve.archive.model.ModelVersionNotFoundException',
    );
    expectStatus(
      await inference.unary('Predictions', { input: {} }, k),
      GrpcCode.INVALID_ARGUMENT,
      'Parameter model_name is required.\norg.pytorch.serve.http.BadRequestException',
    );
    const streamed = await inference.serverStream('StreamPredictions', { model_name: 'nope', input: {} }, k);
    assert.deepEqual(streamed, {
      messages: [],
      status: { code: GrpcCode.NOT_FOUND, details: 'Model not found: nope\norg.pytorch.serve.archive.model.ModelNotFoundException' },
    });

    await writeModelDir(lantern.store, { dir: 'idle', modelName: 'idle', version: '1.0', handlerSource: ECHO_HANDLER });
    expectOk(await management.unary('RegisterModel', { url: 'idle' }, keys.management));
    const noWorker = await inference.unary('Predictions', { model_name: 'idle', input: {} }, k);
    assert.ok(!noWorker.ok && noWorker.code === GrpcCode.UNAVAILABLE, JSON.stringify(noWorker));
    assert.match(noWorker.details, /^Model "idle" has no worker to serve inference request\. .*\norg\.pytorch\.serve\.http\.ServiceUnavailableException$/s);
  });

  it('refuses calls without the right key with PERMISSION_DENIED, on both ports and for streams', async () => {
    const { keys, inference, management } = await start();
    for (const key of [null, 'wrong-key', keys.management]) {
      expectStatus(await inference.unary('Ping', {}, key), GrpcCode.PERMISSION_DENIED, TOKEN_FAILURE);
      expectStatus(await inference.unary('Predictions', { model_name: 'x', input: {} }, key), GrpcCode.PERMISSION_DENIED, TOKEN_FAILURE);
      const stream = await inference.serverStream('StreamPredictions', { model_name: 'x', input: {} }, key);
      assert.deepEqual(stream, { messages: [], status: { code: GrpcCode.PERMISSION_DENIED, details: TOKEN_FAILURE } });
      const bidi = await inference.bidi('StreamPredictions2', [{ model_name: 'x', input: {}, sequence_id: 's' }], key);
      assert.deepEqual(bidi, { messages: [], status: { code: GrpcCode.PERMISSION_DENIED, details: TOKEN_FAILURE } });
    }
    for (const key of [null, 'wrong-key', keys.inference]) {
      expectStatus(await management.unary('ListModels', {}, key), GrpcCode.PERMISSION_DENIED, TOKEN_FAILURE);
      expectStatus(await management.unary('RegisterModel', { url: 'x' }, key), GrpcCode.PERMISSION_DENIED, TOKEN_FAILURE);
    }
    expectOk(await inference.unary('Ping', {}, keys.inference));
    expectOk(await management.unary('ListModels', {}, keys.management));
  });

  it('answers Register and Unregister with PERMISSION_DENIED "Model API disabled" when model API control is off', async () => {
    const { keys, management } = await start({ enableModelApi: false });
    const disabled = 'Model API disabled\norg.pytorch.serve.archive.model.ModelException';
    expectStatus(await management.unary('RegisterModel', { url: 'anything' }, keys.management), GrpcCode.PERMISSION_DENIED, disabled);
    expectStatus(await management.unary('UnregisterModel', { model_name: 'anything' }, keys.management), GrpcCode.PERMISSION_DENIED, disabled);
    // Everything else still works.
    assert.deepEqual(expectOk(await management.unary('ListModels', { limit: 5 }, keys.management)), { msg: '{\n  "models": []\n}' });
  });

  it('serves both services over TLS when enable_grpc_ssl is set, and refuses plaintext clients', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lantern-grpc-tls-'));
    try {
      const cert = await makeTestCertificate(dir);
      const tls = ['enable_grpc_ssl=true', `certificate_file=${cert.certificateFile}`, `private_key_file=${cert.privateKeyFile}`];
      const { lantern, keys, inference, management } = await start({ properties: tls }, cert.cert);
      const listener = lantern.server.listeners.find((l) => l.api === 'grpc-inference');
      assert.match(listener?.url ?? '', /^grpcs:\/\/127\.0\.0\.1:\d+$/);
      assert.deepEqual(expectOk(await inference.unary('Ping', {}, keys.inference)), { health: '{\n  "status": "Healthy"\n}' });
      assert.deepEqual(expectOk(await management.unary('ListModels', {}, keys.management)), { msg: '{\n  "models": []\n}' });
      const plain = grpcClient('inference', targetOf(listener?.url ?? ''));
      clients.push(plain);
      const refused = await plain.unary('Ping', {}, keys.inference);
      assert.ok(!refused.ok && refused.code === GrpcCode.UNAVAILABLE, JSON.stringify(refused));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start with an error naming the listener when a gRPC port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = blocker.address() as net.AddressInfo;
      await assert.rejects(servers.start({ properties: ['metrics_address=http://127.0.0.1:0', `grpc_management_port=${port}`] }), {
        message: new RegExp(`^The grpc-management listener cannot listen on 127\\.0\\.0\\.1:${port}: `),
      });
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('limits inbound messages to max_request_size', async () => {
    const { keys, inference } = await start({ properties: ['max_request_size=1000'] });
    const big = await inference.unary('Predictions', { model_name: 'x', input: { data: Buffer.alloc(5000) } }, keys.inference);
    assert.ok(!big.ok && big.code === GrpcCode.RESOURCE_EXHAUSTED, JSON.stringify(big));
    const small = await inference.unary('Predictions', { model_name: 'x', input: { data: Buffer.alloc(10) } }, keys.inference);
    assert.ok(!small.ok && small.code === GrpcCode.NOT_FOUND, JSON.stringify(small));
  });
});
