import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { automaticConnectionBound, ConnectionGuard, managementReserve, openFileLimit } from './connection-guard.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             63422                63422                processes
Max open files            1024                 524288               files
`;

describe('the automatic connection bound', () => {
  it('reads the soft open-file limit from /proc/self/limits text', () => {
    assert.equal(openFileLimit(LIMITS), 1024);
    assert.equal(openFileLimit(LIMITS.replace('1024  ', 'unlimited')), Number.MAX_SAFE_INTEGER);
    assert.equal(openFileLimit('nothing here'), null);
  });

  it('leaves a reserve and splits the rest so that all listeners together stay below the limit', () => {
    for (const limit of [256, 1024, 4096, 65536]) {
      const bound = automaticConnectionBound(limit);
      assert.ok(bound >= 1);
      // Five listeners (three HTTP, two gRPC), each with its management reserve, and the descriptors kept back.
      assert.ok(5 * (bound + managementReserve(bound)) + 64 <= limit, `5 × (${bound} + its reserve) + 64 fits in ${limit}`);
    }
    assert.equal(automaticConnectionBound(256), 36);
    assert.equal(automaticConnectionBound(1024), 168);
    assert.equal(automaticConnectionBound(null), automaticConnectionBound(1024), 'an unknown limit is taken as 1024');
  });
});

/** A listening server with a guard, and clients connected to it; the test sees what the guard closed. */
async function guarded(options: Partial<ConstructorParameters<typeof ConnectionGuard>[0]>) {
  const guard = new ConnectionGuard({ maxConnections: 2, log: () => undefined, name: 'test', ...options });
  const accepted: net.Socket[] = [];
  const server = net.createServer((socket) => accepted.push(socket));
  guard.attach(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const clients: net.Socket[] = [];
  const connect = async (): Promise<{ socket: net.Socket; closed: Promise<unknown> }> => {
    const before = accepted.length;
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    clients.push(socket);
    const closed = once(socket, 'close');
    await once(socket, 'connect');
    // The server has run its 'connection' listeners once it has one more socket or has closed this one.
    await Promise.race([closed, new Promise<void>((resolve) => { const t = setInterval(() => { if (accepted.length > before || socket.destroyed) { clearInterval(t); resolve(); } }, 5); })]);
    return { socket, closed };
  };
  const stop = async (): Promise<void> => {
    for (const c of clients) c.destroy();
    for (const a of accepted) a.destroy();
    guard.close();
    await new Promise((resolve) => server.close(resolve));
  };
  return { guard, accepted, connect, stop };
}

describe('the connection guard', () => {
  it('sheds the oldest idle connection at the bound, and refuses when every connection is busy', async () => {
    const g = await guarded({});
    try {
      const first = await g.connect();
      await g.connect();
      const third = await g.connect();
      await first.closed; // shed to make room
      assert.equal(g.guard.size, 2);
      for (const socket of g.accepted.slice(1)) g.guard.requestStarted(socket);
      const fourth = await g.connect();
      await fourth.closed; // refused: both are busy
      assert.equal(g.guard.size, 2);
      assert.equal(third.socket.destroyed, false);
    } finally {
      await g.stop();
    }
  });

  it('keeps a reserve past the bound when every connection is busy, marked for management requests only', async () => {
    const g = await guarded({ managementReserve: 1 });
    try {
      await g.connect();
      await g.connect();
      for (const socket of g.accepted) g.guard.requestStarted(socket);
      const reserved = await g.connect();
      assert.equal(reserved.socket.destroyed, false);
      assert.equal(g.guard.size, 3);
      assert.equal(g.guard.isReserved(g.accepted[2] as net.Socket), true);
      assert.equal(g.guard.isReserved(g.accepted[0] as net.Socket), false);
      g.guard.requestStarted(g.accepted[2] as net.Socket);
      const refused = await g.connect();
      await refused.closed; // the reserve is full too
      assert.equal(g.guard.size, 3);
    } finally {
      await g.stop();
    }
  });

  it('never sheds a connection its busy() predicate holds, and closes silent ones after silentTimeoutMs', async () => {
    const g = await guarded({ busy: (socket) => socket.bytesRead > 0, silentTimeoutMs: 200 });
    try {
      const talking = await g.connect();
      talking.socket.write('x');
      await new Promise<void>((resolve) => { const t = setInterval(() => { if ((g.accepted[0] as net.Socket).bytesRead > 0) { clearInterval(t); resolve(); } }, 5); });
      const silent = await g.connect();
      await silent.closed; // closed for silence, while the talking one stays
      assert.equal(talking.socket.destroyed, false);
      const next = await g.connect();
      const last = await g.connect();
      await next.closed; // at the bound the silent one is shed, the talking one kept
      assert.equal(talking.socket.destroyed, false);
      assert.equal(last.socket.destroyed, false);
    } finally {
      await g.stop();
    }
  });
});
