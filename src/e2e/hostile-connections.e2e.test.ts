// Hostile connections (issue 21 item 2): connections that never send a byte, opened until the
// server's process runs out of file descriptors, must not lock anyone out. Lantern runs as its own
// process under a low `ulimit -n` so that the limit is reached with a few hundred sockets.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from './harness.js';
import { grpcClient } from './grpc-client.js';
import { freePort, listenerUrl, startLanternProcess, writePortConfig, type LanternProcess } from './lantern-process.js';

const FD_LIMIT = 256;

/** Idle sockets to one listener, and how many of them the server has closed (or reset). */
class IdleFlood {
  readonly sockets: net.Socket[] = [];
  closed = 0;
  connected = 0;

  constructor(url: string, count: number) {
    const { port } = new URL(url);
    for (let i = 0; i < count; i++) {
      const socket = net.connect(Number(port), '127.0.0.1');
      socket.on('connect', () => this.connected++);
      socket.on('error', () => undefined);
      socket.on('close', () => this.closed++);
      // Reads (and drops) what the server sends, such as gRPC's SETTINGS frame, so that its close is seen.
      socket.resume();
      this.sockets.push(socket);
    }
  }

  /** Every socket has connected or been refused. */
  settled(): boolean {
    return this.connected + this.closed >= this.sockets.length;
  }

  destroy(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}

/** The status of a GET, or why there was none: a locked-out listener resets or never answers. */
async function statusOf(url: string): Promise<number | string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    return res.status;
  } catch (err) {
    const cause = (err as Error & { cause?: { code?: string } }).cause;
    return `${(err as Error).name}: ${(err as Error).message}${cause?.code === undefined ? '' : ` (${cause.code})`}`;
  }
}

/** host:port of a gRPC listener, from the line the server prints when it listens. */
function grpcTarget(p: LanternProcess, api: 'inference' | 'management'): string {
  const line = p.output.find((l) => l.includes(`gRPC ${api} API listening on `));
  if (line === undefined) throw new Error(`no gRPC ${api} listener in the output`);
  return line.slice(line.indexOf('grpc://') + 'grpc://'.length).trim();
}

/** A raw HTTP/1.1 exchange on its own connection: the status line's code, or why there was none. */
function rawStatus(port: number, head: string): Promise<number | string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const match = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      if (match !== null && text.includes('\r\n\r\n')) {
        resolve(Number(match[1]));
      }
    });
    socket.on('error', (err) => resolve(err.message));
    socket.on('close', () => resolve(text === '' ? 'closed without an answer' : text));
    setTimeout(() => socket.destroy(), 10_000).unref();
  });
}

describe('hostile connections', () => {
  let dir = '';
  let lantern: LanternProcess | null = null;
  const floods: IdleFlood[] = [];

  afterEach(async (t) => {
    for (const flood of floods.splice(0)) flood.destroy();
    if (lantern !== null) {
      if ((t as { passed?: boolean }).passed === false) process.stderr.write(`---- Lantern output ----\n${lantern.output.join('\n')}\n----\n`);
      const stopping = lantern;
      stopping.signal('SIGTERM');
      // A server locked out of its descriptors may not manage a graceful stop.
      const timer = setTimeout(() => stopping.signal('SIGKILL'), 20_000);
      await stopping.exited;
      clearTimeout(timer);
      lantern = null;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the management and inference APIs answering while idle connections exhaust the open-file limit', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lantern-fds-'));
    await mkdir(path.join(dir, 'store'));
    await writePortConfig(dir);
    lantern = startLanternProcess(dir, ['--model-store', 'store', '--dt', '--ncs'], {}, false, FD_LIMIT);
    await lantern.ready();
    const inference = listenerUrl(lantern, 'Inference');
    const management = listenerUrl(lantern, 'Management');

    // More idle connections than the process has descriptors: once it has taken what it can, the
    // rest are closed by the server (shed or refused by Lantern; reset by the kernel's accept
    // queue handling when the process is out of descriptors).
    const count = FD_LIMIT + 150;
    const flood = new IdleFlood(inference, count);
    floods.push(flood);
    await waitFor('the idle connections to be accepted or closed', () => flood.settled() && flood.closed >= count - FD_LIMIT, 60_000);

    assert.equal(await statusOf(`${management}/models`), 200, 'the management API answers');
    assert.equal(await statusOf(`${inference}/ping`), 200, 'the inference API answers');

    // Both listeners flooded: each keeps its own bound, so each still answers.
    const second = new IdleFlood(management, count);
    floods.push(second);
    await waitFor('the idle management connections to be accepted or closed', () => second.settled() && second.closed >= count - FD_LIMIT, 60_000);
    assert.equal(await statusOf(`${management}/models`), 200, 'the management API answers');
    assert.equal(await statusOf(`${inference}/ping`), 200, 'the inference API answers');
    // The shedding is logged (once a second at most), naming the key that bounds it.
    const output = lantern.output;
    await waitFor('a log line about shed connections', () => output.some((line) => line.includes('max_connections_per_listener')));
  });

  it('keeps the gRPC listeners answering while silent connections to them exhaust the open-file limit', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lantern-fds-'));
    await mkdir(path.join(dir, 'store'));
    await writePortConfig(dir);
    lantern = startLanternProcess(dir, ['--model-store', 'store', '--dt', '--ncs'], {}, false, FD_LIMIT);
    await lantern.ready();
    const inference = grpcTarget(lantern, 'inference');
    const management = grpcTarget(lantern, 'management');

    const count = FD_LIMIT + 150;
    const flood = new IdleFlood(`http://${inference}`, count);
    floods.push(flood);
    await waitFor('the silent gRPC connections to be accepted or closed', () => flood.settled() && flood.closed >= count - FD_LIMIT, 60_000);

    const ping = grpcClient('inference', inference);
    const models = grpcClient('management', management);
    try {
      const pinged = await ping.unary<{ health: string }>('Ping', {});
      assert.equal(pinged.ok, true, `gRPC Ping answers: ${JSON.stringify(pinged)}`);
      const listed = await models.unary<{ msg: string }>('ListModels', {});
      assert.equal(listed.ok, true, `gRPC ListModels answers: ${JSON.stringify(listed)}`);
      assert.equal(await statusOf(`${listenerUrl(lantern, 'Management')}/models`), 200, 'the management API answers');
      // A channel that has sent its preface is a client's, not shed for the flood that follows.
      const second = new IdleFlood(`http://${inference}`, count);
      floods.push(second);
      await waitFor('the second flood to be accepted or closed', () => second.settled() && second.closed >= count - FD_LIMIT, 60_000);
      const again = await ping.unary<{ health: string }>('Ping', {});
      assert.equal(again.ok, true, `the open channel still answers: ${JSON.stringify(again)}`);
      // A new channel takes the place of a silent connection.
      const fresh = grpcClient('inference', inference);
      const answered = await fresh.unary<{ health: string }>('Ping', {});
      fresh.close();
      assert.equal(answered.ok, true, `a new channel is served: ${JSON.stringify(answered)}`);
    } finally {
      ping.close();
      models.close();
    }
  });

  it('keeps a reserve of connections for management on a shared inference/management listener', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lantern-reserve-'));
    await mkdir(path.join(dir, 'store'));
    const port = await freePort();
    // TorchServe's shared layout: one address for both APIs; a bound of 4 connections (reserve: 1).
    await writePortConfig(dir, ['max_connections_per_listener=4'], { inference: port, management: port });
    lantern = startLanternProcess(dir, ['--model-store', 'store', '--dt', '--ncs']);
    await lantern.ready();

    const list = 'GET /models HTTP/1.1\r\nHost: x\r\n\r\n';
    const ping = 'GET /ping HTTP/1.1\r\nHost: x\r\n\r\n';
    // Four inference requests whose bodies never finish hold every ordinary connection busy.
    const stalled: net.Socket[] = [];
    for (let i = 0; i < 4; i++) {
      const socket = net.connect(port, '127.0.0.1', () =>
        socket.write('POST /predictions/absent HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc'),
      );
      socket.on('error', () => undefined);
      stalled.push(socket);
    }
    try {
      await waitFor('the stalled requests to be sent', () => stalled.every((s) => s.bytesWritten > 0));
      // Management still gets in, through the reserve; an inference request there is told why not.
      await waitFor('a management request to be served through the reserve', async () => (await rawStatus(port, list)) === 200, 10_000);
      const refused = await rawStatus(port, ping);
      assert.equal(refused, 503, `an inference request on a reserved connection: ${String(refused)}`);
      assert.equal(await rawStatus(port, list), 200, 'management again');
      await waitFor('the refusal in the log', () => lantern!.output.some((l) => l.includes('its reserve is for the management API')));
    } finally {
      for (const socket of stalled) socket.destroy();
    }
    // Once the stalled requests end, inference is served again.
    await waitFor('inference to be served again', async () => (await rawStatus(port, ping)) === 200, 10_000);
  });
});
