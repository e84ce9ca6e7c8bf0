import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { after, describe, it } from 'node:test';
import { decodeInferReply, decodeLoadReply, encodeInference, encodeLoad } from '../protocol/codec.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { NODE_WORKER_ENTRY } from '../workers/launch.js';

interface Worker {
  readonly child: ChildProcess;
  readonly socket: Duplex;
  readonly stdout: string[];
  next(): Promise<Buffer>;
}

function startWorker(cwd: string): Worker {
  const child = spawn(process.execPath, [NODE_WORKER_ENTRY], { cwd, stdio: ['ignore', 'pipe', 'ignore', 'pipe'] });
  const socket = child.stdio[3] as Duplex;
  const stdout: string[] = [];
  child.stdout?.on('data', (c: Buffer) => stdout.push(c.toString()));
  const decoder = new FrameDecoder(1 << 24);
  const frames: Buffer[] = [];
  const waiting: Array<(b: Buffer) => void> = [];
  socket.on('data', (chunk: Buffer) => {
    for (const f of decoder.push(chunk)) {
      const w = waiting.shift();
      if (w) w(f);
      else frames.push(f);
    }
  });
  return { child, socket, stdout, next: () => new Promise((resolve) => (frames.length > 0 ? resolve(frames.shift() as Buffer) : waiting.push(resolve))) };
}

describe('the Node worker process', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'lantern-node-worker-'));
  after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(path.join(dir, 'MAR-INF'));
  await writeFile(path.join(dir, 'MAR-INF', 'MANIFEST.json'), JSON.stringify({ runtime: 'node', model: { modelName: 'up', handler: 'upper.cjs', modelVersion: '1.0' } }));
  await writeFile(path.join(dir, 'upper.cjs'), "exports.handle = (batch) => batch.map((r) => String(r.body).toUpperCase());\n");
  const load = encodeLoad({ modelName: 'up', modelPath: dir, batchSize: 1, handler: 'upper.cjs', gpuId: -1, envelope: '', limitMaxImagePixels: true });

  it('prints its pid, loads, predicts and exits 0 when the socket reaches end of file', async () => {
    const w = startWorker(dir);
    w.socket.write(load);
    assert.deepEqual(decodeLoadReply(await w.next(), 1 << 20), { code: 200, message: 'loaded model up' });
    w.socket.write(Buffer.concat(encodeInference([{ requestId: 'r', headers: [], parameters: [{ name: 'body', contentType: 'text/plain', value: Buffer.from('abc') }] }])));
    const reply = decodeInferReply(await w.next(), 1 << 20);
    assert.equal(reply.responses[0]?.body.toString(), 'ABC');
    const exited = once(w.child, 'exit');
    w.socket.end();
    assert.deepEqual(await exited, [0, null]);
    const out = w.stdout.join('');
    assert.match(out, new RegExp(`^\\[PID\\]${w.child.pid}\\nTorch worker started\\.\\n`));
  });

  it('exits 0 on SIGTERM', async () => {
    const w = startWorker(dir);
    w.socket.write(load);
    await w.next();
    const exited = once(w.child, 'exit');
    w.child.kill('SIGTERM');
    assert.deepEqual(await exited, [0, null]);
  });

  it('answers a failed load with 500 and the reason, then exits 1', async () => {
    const w = startWorker(dir);
    w.socket.write(encodeLoad({ modelName: 'up', modelPath: dir, batchSize: 1, handler: 'missing.mjs', gpuId: -1, envelope: '', limitMaxImagePixels: true }));
    const exited = once(w.child, 'exit');
    const reply = decodeLoadReply(await w.next(), 1 << 20);
    assert.equal(reply.code, 500);
    assert.match(reply.message, /^HandlerLoadError: Handler module not found: missing\.mjs/);
    assert.deepEqual(await exited, [1, null]);
  });
});
