// HTTPS listeners as TorchServe configures them (spec §0.1, §5.2): `https://` addresses served with
// the PEM files named by certificate_file and private_key_file. One TCP port serves both: the first
// byte tells a TLS handshake from plain HTTP, which gets TorchServe's 403 instead of a torn connection.
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { createSecureContext, TLSSocket } from 'node:tls';

export interface TlsFiles {
  readonly certificateFile: string | null;
  readonly privateKeyFile: string | null;
}

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** TLS 1.2 is TorchServe's only version; Lantern also offers 1.3. */
export const MIN_TLS_VERSION = 'TLSv1.2';

/** Reads and checks the certificate and key once, so a bad pair stops the start instead of failing every handshake. */
export async function loadTlsMaterial(files: TlsFiles, address: string): Promise<TlsMaterial> {
  if (files.certificateFile === null || files.privateKeyFile === null) {
    throw new Error(`${address} is an https address: set certificate_file and private_key_file (PEM files)`);
  }
  const read = async (file: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (err) {
      throw new Error(`Cannot read ${what} ${file}: ${(err as Error).message}`, { cause: err });
    }
  };
  const material = { cert: await read(files.certificateFile, 'certificate_file'), key: await read(files.privateKeyFile, 'private_key_file') };
  try {
    createSecureContext({ ...material, minVersion: MIN_TLS_VERSION });
  } catch (err) {
    throw new Error(`certificate_file and private_key_file do not form a usable TLS key pair: ${(err as Error).message}`, { cause: err });
  }
  return material;
}

const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * A TCP server for an https listener. A connection that opens with a TLS handshake record is
 * decrypted and handed to `secure` (a node:http server) once the handshake is done; anything else
 * goes to `plain` as it is. A connection that sends nothing, or does not finish its handshake,
 * within `handshakeTimeoutMs` is closed. `onSecure` learns which TCP connection carries each TLS socket.
 */
export function createHttpsFront(
  material: TlsMaterial,
  secure: net.Server,
  plain: net.Server,
  handshakeTimeoutMs: number,
  onSecure: (tlsSocket: TLSSocket, socket: net.Socket) => void = () => undefined,
): net.Server {
  const secureContext = createSecureContext({ ...material, minVersion: MIN_TLS_VERSION });
  return net.createServer({ pauseOnConnect: true }, (socket) => {
    const onEarlyError = (): void => void socket.destroy();
    socket.on('error', onEarlyError);
    socket.setTimeout(handshakeTimeoutMs, () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.pause();
      if (first[0] !== TLS_HANDSHAKE_RECORD) {
        socket.setTimeout(0);
        socket.off('error', onEarlyError);
        socket.unshift(first);
        plain.emit('connection', socket);
        socket.resume();
        return;
      }
      const tlsSocket = new TLSSocket(replaying(socket, first), { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] });
      // The peer's address, for logs: the TLS layer cannot ask a JavaScript transport for it.
      Object.defineProperties(tlsSocket, {
        remoteAddress: { value: socket.remoteAddress },
        remotePort: { value: socket.remotePort },
        remoteFamily: { value: socket.remoteFamily },
      });
      tlsSocket.on('error', () => tlsSocket.destroy());
      tlsSocket.once('secure', () => {
        socket.setTimeout(0);
        socket.off('error', onEarlyError);
        tlsSocket.removeAllListeners('error');
        onSecure(tlsSocket, socket);
        secure.emit('connection', tlsSocket);
      });
    });
    socket.resume();
  });
}

/**
 * The socket as a JavaScript stream that first yields the bytes already read. TLS reads a connected
 * socket's native handle directly, where bytes put back with unshift() would be lost.
 */
function replaying(socket: net.Socket, first: Buffer): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, encoding: BufferEncoding, callback: (err?: Error | null) => void) {
      socket.write(chunk, encoding, callback);
    },
    final(callback: (err?: Error | null) => void) {
      socket.end(callback);
    },
    destroy(err: Error | null, callback: (err: Error | null) => void) {
      socket.destroy(err ?? undefined);
      callback(err);
    },
  });
  duplex.push(first);
  socket.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('error', (err) => duplex.destroy(err));
  socket.on('close', () => duplex.destroy());
  return duplex;
}
