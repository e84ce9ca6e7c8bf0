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
import { listenerUrl, startLanternProcess, writePortConfig, type LanternProcess } from './lantern-process.js';

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
});
