// The access log line TorchServe writes per response: `<remote> "<METHOD> <uri> <protocol>" <status> <ms>`,
// the remote written as Java prints a socket address (`/127.0.0.1:54321`). Only the request line
// is logged: never headers (tokens) or bodies.
import type { IncomingMessage } from 'node:http';

export function accessLine(req: IncomingMessage, status: number, elapsedMs: number): string {
  const { remoteAddress, remotePort } = req.socket;
  const remote = remoteAddress === undefined ? '-' : `/${remoteAddress}:${String(remotePort ?? 0)}`;
  return `${remote} "${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}" ${status} ${Math.floor(elapsedMs)}`;
}
