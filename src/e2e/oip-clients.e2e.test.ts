// Real Open Inference and KServe clients against real servers: tritonclient 2.73.0 (HTTP with JSON
// and binary tensors, gRPC) and the KServe SDK 0.21.0 (REST v1 and v2, gRPC typed and raw), run from
// their own virtual environment (scripts/setup-oip-clients.sh; LANTERN_OIP_CLIENTS points at another).
// The two SDKs register the same protobuf names, so each runs in its own process; the checks are
// in test/fixtures/oip/*.py.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { lanternPerTest, onnxMar, REPO_ROOT, request, startLantern, waitFor, type Lantern, type MarSpec } from './harness.js';
import { targetOf } from './grpc-client.js';

const CLIENTS = process.env.LANTERN_OIP_CLIENTS ?? path.join(REPO_ROOT, 'bench', '.cache', 'oip-clients');
const PYTHON = path.join(CLIENTS, 'bin', 'python');
const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'oip');
const TOKENS_ON = 'disable_token_authorization=false';

async function keysOf(lantern: Lantern): Promise<{ inference: string; management: string }> {
  const keys = JSON.parse(await readFile(lantern.server.keyFile ?? '', 'utf8')) as { inference: { key: string }; management: { key: string } };
  return { inference: keys.inference.key, management: keys.management.key };
}

async function runClient(script: string, config: object): Promise<string[]> {
  const { stdout } = await promisify(execFile)(PYTHON, [path.join(FIXTURES, script), JSON.stringify(config)], { timeout: 180_000 }).catch(
    (err: { stdout?: string; stderr?: string }) => assert.fail(`${script} failed:\n${err.stdout ?? ''}\n${err.stderr ?? String(err)}`),
  );
  return (JSON.parse(stdout.trim().split('\n').pop() ?? '') as { checked: string[] }).checked;
}

const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

describe('Open Inference and KServe clients', () => {
  const lanterns = lanternPerTest({ afterEach });

  async function v2Server(): Promise<{ lantern: Lantern; key: string; http: string; grpc: string }> {
    const KV: MarSpec = { file: 'kv.mar', handler: 'kserve_handler.py', modelName: 'kv', version: '3.0' };
    const lantern = await lanterns.start({ archives: [KV], properties: ['service_envelope=kservev2', 'load_models=kv.mar', TOKENS_ON] });
    const keys = await keysOf(lantern);
    await lantern.writeStoreFile('mlp.mar', await onnxMar());
    const registered = await request('POST', `${lantern.management}/models?url=mlp.mar&initial_workers=1&synchronous=true`, { headers: bearer(keys.management) });
    assert.equal(registered.status, 200, registered.text);
    for (const model of ['kv', 'mlp']) {
      await waitFor(`${model} ready`, async () => (await request('GET', `${lantern.inference}/v2/models/${model}/ready`, { headers: bearer(keys.inference) })).status === 200);
    }
    const grpc = targetOf(lantern.server.listeners.find((l) => l.api === 'grpc-inference')?.url ?? '');
    return { lantern, key: keys.inference, http: lantern.inference.replace(/^http:\/\//, ''), grpc };
  }

  it('passes tritonclient over HTTP (JSON and binary) and gRPC, for a Python kservev2 model and an ONNX model', async () => {
    const { key, http, grpc } = await v2Server();
    const checked = await runClient('triton_client.py', { http, grpc, key });
    assert.equal(checked.length, 18, checked.join(', '));
  });

  it('passes the KServe SDK REST client for v1 and v2 and its gRPC client', async () => {
    const { key, http, grpc } = await v2Server();
    // KServe v1 needs the kserve envelope, which is server-wide: a second server.
    const KV1: MarSpec = { file: 'kv1.mar', handler: 'kserve_handler.py', modelName: 'kv1' };
    // lanternPerTest follows one server per test: this one is closed here.
    const v1 = await startLantern({ archives: [KV1], properties: ['service_envelope=kserve', 'load_models=kv1.mar', TOKENS_ON] });
    try {
      const v1Key = (await keysOf(v1)).inference;
      await waitFor('kv1 ready', async () => (await request('GET', `${v1.inference}/v1/models/kv1`, { headers: bearer(v1Key) })).json<{ ready?: boolean }>().ready === true);
      // One key for the script: the v1 server's keys are not the v2 server's, so each call names its own.
      const checked = await runClient('kserve_client.py', { http, grpc, key, v1_http: v1.inference.replace(/^http:\/\//, ''), v1_key: v1Key });
      assert.equal(checked.length, 12, checked.join(', '));
    } finally {
      await v1.close();
    }
  });
});
