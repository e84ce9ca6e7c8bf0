// What the `lantern` command says when a start fails, so that a newcomer reads the cause and the
// fix instead of a stack trace: an address already in use, and, for a background start, the
// reason the server wrote to its log before it exited.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const CHOOSE_PORTS =
  'inference_address, management_address, metrics_address, grpc_inference_port or grpc_management_port in config.properties';

interface ErrnoLike {
  code?: unknown;
  address?: unknown;
  port?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** node:net's EADDRINUSE carries the address; gRPC's bind error only says it in words. */
function addressInUse(err: unknown): string | null {
  for (let e = err as ErrnoLike | undefined, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = e.cause as ErrnoLike, depth++) {
    if (e.code === 'EADDRINUSE') {
      if (typeof e.address === 'string' && typeof e.port === 'number') {
        return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
      }
      if (typeof e.address === 'string') return e.address;
    }
    // "The grpc-inference listener cannot listen on 127.0.0.1:7070: No address added out of total 1 resolved"
    const grpc = typeof e.message === 'string' ? /listener cannot listen on (\S+):(\d+): No address added/.exec(e.message) : null;
    if (grpc !== null) return `${grpc[1]}:${grpc[2]}`;
  }
  return null;
}

/**
 * One line for a listener whose address is taken, naming the address and what to do, or null
 * when `err` is something else.
 */
export function addressInUseMessage(err: unknown): string | null {
  const address = addressInUse(err);
  if (address === null) return null;
  return (
    `Cannot listen on ${address}: the address is already in use, probably by another Lantern or TorchServe. ` +
    `Stop it (lantern --stop, or torchserve --stop) or choose other ports with ${CHOOSE_PORTS}.`
  );
}

const QUIET_LEVEL = /\[(INFO|DEBUG|TRACE)\s*\]/;
const STACK_FRAME = /^\s+at /;

/**
 * The reason a background start failed, from what the server wrote to its log during this start:
 * the last lines that are neither informational nor stack frames (errors, warnings, the one-line
 * message of a refused start), at most `maxLines`.
 */
export function failureReason(logText: string, maxLines = 5): string[] {
  const lines = logText.split('\n').filter((l) => l.trim().length > 0);
  const telling = lines.filter((l) => !QUIET_LEVEL.test(l) && !STACK_FRAME.test(l));
  return (telling.length > 0 ? telling : lines).slice(-maxLines);
}

/** What `file` holds from byte `offset` on: what one background start appended to its log. */
export function appendedSince(file: string, offset: number): string {
  const fd = openSync(file, 'r');
  try {
    const bytes = Buffer.alloc(Math.max(0, fstatSync(fd).size - offset));
    readSync(fd, bytes, 0, bytes.length, offset);
    return bytes.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
