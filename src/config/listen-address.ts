// Listener addresses as TorchServe writes them (spec §0.1): `(http|https)://host[:port]` or `unix:/path`.

import type { ParseResult } from './parse-result.js';
import { fail, ok } from './parse-result.js';

export type ListenAddress =
  | {
      readonly scheme: 'http' | 'https';
      /** Bare host: brackets of an IPv6 literal are removed (`[::1]` → `::1`), as node:net expects. */
      readonly host: string;
      /** 0 asks the OS for a free port (used by tests). */
      readonly port: number;
      readonly path: null;
    }
  | { readonly scheme: 'unix'; readonly host: null; readonly port: null; readonly path: string };

/** Ports used when an address names none; they differ per listener (spec §0.1). */
export interface DefaultPorts {
  readonly http: number;
  readonly https: number;
}

export const INFERENCE_DEFAULT_PORTS: DefaultPorts = { http: 80, https: 443 };
export const MANAGEMENT_DEFAULT_PORTS: DefaultPorts = { http: 8081, https: 8444 };
export const METRICS_DEFAULT_PORTS: DefaultPorts = { http: 8082, https: 8445 };

/** TorchServe rejects 65535 itself (port must be < 65535); 0 is allowed so tests can bind a free port. */
export const MAX_PORT_EXCLUSIVE = 65535;

const HTTP_ADDRESS = /^(https?):\/\/(\[[0-9a-f:.]+\]|[^:/[\]\s]+)(?::(\d+))?$/i;
const UNIX_ADDRESS = /^unix:(\/.*)$/i;

export function parseListenAddress(raw: string, defaults: DefaultPorts): ParseResult<ListenAddress> {
  const text = raw.trim();
  const unix = UNIX_ADDRESS.exec(text);
  if (unix !== null) {
    return ok({ scheme: 'unix', host: null, port: null, path: unix[1] ?? '' });
  }
  const match = HTTP_ADDRESS.exec(text);
  if (match === null) {
    return fail('expected (http|https)://host[:port] or unix:/path');
  }
  const scheme = (match[1] ?? '').toLowerCase() === 'https' ? 'https' : 'http';
  const hostPart = match[2] ?? '';
  const host = hostPart.startsWith('[') ? hostPart.slice(1, -1) : hostPart;
  const portText = match[3];
  const port = portText === undefined ? defaults[scheme] : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port >= MAX_PORT_EXCLUSIVE) {
    return fail(`port must be between 0 and ${MAX_PORT_EXCLUSIVE - 1}`);
  }
  return ok({ scheme, host, port, path: null });
}

/** The address written back in TorchServe's syntax (IPv6 hosts in brackets). */
export function formatListenAddress(address: ListenAddress): string {
  if (address.scheme === 'unix') return `unix:${address.path}`;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `${address.scheme}://${host}:${address.port}`;
}
