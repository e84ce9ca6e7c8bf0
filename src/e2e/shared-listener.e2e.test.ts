// Equal inference and management addresses share one listener, as TorchServe's "ALL" listener.
import { afterEach, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { lanternPerTest, request, type MarSpec } from './harness.js';

const ECHO: MarSpec = { file: 'echo.mar', handler: 'echo_handler.py', modelName: 'echo' };
const lanterns = lanternPerTest({ afterEach });

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

it('serves both APIs on one port when the inference and management addresses are equal', async () => {
  const port = await freePort();
  const address = `http://127.0.0.1:${port}`;
  const lantern = await lanterns.start({ archives: [ECHO], properties: [`inference_address=${address}`, `management_address=${address}`] });
  assert.equal(lantern.inference, address);
  assert.equal(lantern.management, address);
  const reg = await request('POST', `${address}/models?url=echo.mar&initial_workers=1&synchronous=true`);
  assert.equal(reg.status, 200, reg.text);
  const reply = await request('POST', `${address}/predictions/echo`, { body: 'hi', headers: { 'content-type': 'text/plain' } });
  assert.equal(reply.status, 200, reply.text);
  assert.equal((await request('GET', `${address}/models`)).json<{ models: Array<{ modelName: string }> }>().models[0]?.modelName, 'echo');
  const doc = (await request('OPTIONS', `${address}/`)).json<{ paths: Record<string, unknown> }>();
  assert.ok('/models' in doc.paths && '/predictions/{model_name}' in doc.paths, Object.keys(doc.paths).join(', '));
});
