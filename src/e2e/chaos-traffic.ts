// Requests for the chaos soak and how each answer is judged. Every request carries a token of its
// own and its answer must carry it back (the echo handlers report what they received), so an
// answer delivered to the wrong request, or twice, shows up as a mismatch. Anything else must be a
// refusal in TorchServe's error shape {code, type, message} with a reason the soak expects. The
// hostile requests (JSON nested 1,000 deep, invalid UTF-8, a body over max_request_size, a request
// cut off by its client) are mixed into the same traffic.
import http from 'node:http';
import net from 'node:net';

/** What the soak's server is configured with (max_request_size), so that OVERSIZED_BYTES exceeds it. */
export const MAX_REQUEST_SIZE_BYTES = 262_144;
const OVERSIZED_BYTES = MAX_REQUEST_SIZE_BYTES + 40_000;
/** A request still unanswered after this long is a hang, not a slow answer. */
const HANG_MS = 90_000;

export const PREDICTION_KINDS = ['echo', 'echo-1.0', 'echo-2.0', 'batched', 'node'] as const;
export const HOSTILE_KINDS = ['nested', 'invalid-utf8', 'oversized', 'truncated', 'aborted'] as const;
export type Kind = (typeof PREDICTION_KINDS)[number] | (typeof HOSTILE_KINDS)[number];

export interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One HTTP exchange over `agent`'s keep-alive connections; rejects on a connection error or a hang. */
export function send(agent: http.Agent, method: string, url: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const allHeaders = body === undefined ? headers : { ...headers, 'content-length': String(body.length) };
    const req = http.request(url, { method, agent, headers: allHeaders }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('close', () => {
        if (!res.complete) reject(new Error('the response was cut off'));
      });
    });
    req.setTimeout(HANG_MS, () => req.destroy(new HangError(`no answer within ${HANG_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export class HangError extends Error {}

/**
 * Writes `head` and `body` on a fresh connection. `abort` destroys the connection right after
 * writing (no answer can come); `half-close` ends the sending side and reads what comes back;
 * `full` reads until the server closes. The server may answer and close before the whole body is
 * written (413 on the declared length): a write error after an answer arrived is not a failure.
 */
export function rawExchange(url: string, head: string, body: Buffer, mode: 'full' | 'half-close' | 'abort'): Promise<Buffer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new HangError(`no answer within ${HANG_MS} ms`)), HANG_MS);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (err) => {
      if (chunks.length === 0 || err instanceof HangError) {
        clearTimeout(timer);
        reject(err);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.on('connect', () => {
      socket.write(head);
      socket.write(body, () => {
        if (mode === 'abort') socket.destroy();
        else if (mode === 'half-close') socket.end();
      });
    });
  });
}

/** Splits a raw HTTP/1.1 answer with a content-length body into its status and body. */
export function parseRawAnswer(raw: Buffer): Answer | null {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const status = /^HTTP\/1\.1 (\d{3}) /.exec(text);
  if (end < 0 || status === null) return null;
  return { status: Number(status[1]), headers: {}, body: raw.subarray(end + 4) };
}

// ---- building requests ----

export interface Prepared {
  readonly kind: Kind;
  readonly token: string;
  readonly path: string;
  readonly body: Buffer;
  readonly contentType: string;
}

const PATHS: Record<Kind, string> = {
  echo: '/predictions/echo',
  'echo-1.0': '/predictions/echo/1.0',
  'echo-2.0': '/predictions/echo/2.0',
  batched: '/predictions/batched',
  node: '/predictions/nodeecho',
  nested: '/predictions/echo/1.0',
  'invalid-utf8': '/predictions/batched',
  oversized: '/predictions/echo',
  truncated: '/predictions/echo',
  aborted: '/predictions/echo',
};

export function prepare(kind: Kind, token: string): Prepared {
  const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
  let body: Buffer;
  let contentType = 'application/json';
  switch (kind) {
    case 'echo':
    case 'echo-1.0':
    case 'echo-2.0':
    case 'batched':
      body = json({ token });
      break;
    case 'node':
      body = Buffer.from(token);
      contentType = 'text/plain';
      break;
    case 'nested':
      // Deep enough to exhaust Python's recursion limit while decoding (issue 21 item 1).
      body = Buffer.from(`${'['.repeat(1_000)}"${token}"${']'.repeat(1_000)}`);
      break;
    case 'invalid-utf8':
      body = Buffer.concat([Buffer.from('{"token":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(`${token}"}`)]);
      break;
    case 'oversized':
    case 'truncated':
    case 'aborted':
      body = Buffer.alloc(kind === 'oversized' ? OVERSIZED_BYTES : 1_000, 0x61);
      break;
  }
  return { kind, token, path: PATHS[kind], body, contentType };
}

/** The head of a raw request for `prepared`, declaring `declaredBytes` of body. */
export function rawHead(prepared: Prepared, declaredBytes: number): string {
  return `POST ${prepared.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${prepared.contentType}\r\nContent-Length: ${declaredBytes}\r\n\r\n`;
}

// ---- judging answers ----

export type Verdict = { readonly outcome: 'answered' } | { readonly outcome: 'refused'; readonly reason: string } | { readonly outcome: 'problem'; readonly problem: string };

const WORKER_DIED = /^Worker died\.$/;
/** Refusals that faults legitimately cause, by `status type`. */
const EXPECTED_REFUSALS: Record<string, RegExp> = {
  '500 InternalServerException': WORKER_DIED,
  // A worker killed with SIGKILL exits with 137, which TorchServe reports as 507.
  '507 InternalServerException': WORKER_DIED,
  '503 ServiceUnavailableException': /^Model "(echo|batched|nodeecho)"( version [\d.]+)? (has no worker|was unregistered before the request was served)/,
};

interface Echoed {
  request_id?: unknown;
  values?: { body?: { type?: unknown; value?: unknown; hex?: unknown } };
  input?: { type?: unknown; value?: unknown; hex?: unknown };
  batch?: unknown;
}

function ownAnswer(prepared: Prepared, answer: Answer): string | null {
  let echoed: Echoed;
  try {
    echoed = JSON.parse(answer.body.toString('utf8')) as Echoed;
  } catch {
    return `a 200 that is not JSON: ${answer.body.toString('utf8').slice(0, 200)}`;
  }
  if (echoed.request_id !== answer.headers['x-request-id']) return `answer for request ${String(echoed.request_id)} came back on ${String(answer.headers['x-request-id'])}`;
  const hex = prepared.body.toString('hex');
  const seen = prepared.kind === 'node' ? echoed.input : echoed.values?.body;
  const own =
    prepared.kind === 'nested' || prepared.kind === 'invalid-utf8'
      ? seen?.type === 'bytes' && seen.hex === hex
      : (seen?.value as { token?: unknown } | undefined)?.token === prepared.token || seen?.value === prepared.token || seen?.hex === hex;
  return own ? null : `answer to ${prepared.token} (${prepared.kind}) is not its own: ${answer.body.toString('utf8').slice(0, 300)}`;
}

/** Judges the answer to `prepared`: its own answer, an expected refusal, or a problem. */
export function judge(prepared: Prepared, answer: Answer): Verdict {
  if (answer.status === 200 && prepared.kind !== 'oversized') {
    const problem = ownAnswer(prepared, answer);
    return problem === null ? { outcome: 'answered' } : { outcome: 'problem', problem };
  }
  let error: { code?: unknown; type?: unknown; message?: unknown };
  try {
    error = JSON.parse(answer.body.toString('utf8')) as typeof error;
  } catch {
    return { outcome: 'problem', problem: `${prepared.kind}: ${answer.status} without an error body: ${answer.body.toString('utf8').slice(0, 200)}` };
  }
  const message = typeof error.message === 'string' ? error.message : '';
  const shaped = error.code === answer.status && typeof error.type === 'string' && message !== '';
  const key = `${answer.status} ${String(error.type)}`;
  const expected =
    prepared.kind === 'oversized'
      ? key === '413 RequestEntityTooLargeException'
      : prepared.kind === 'echo-2.0' && key === '404 ModelVersionNotFoundException'
        ? message === 'Model version: 2.0 does not exist for model: echo'
        : EXPECTED_REFUSALS[key]?.test(message) === true;
  if (!shaped || !expected) return { outcome: 'problem', problem: `${prepared.kind} ${prepared.token}: unexpected ${answer.status} ${answer.body.toString('utf8').slice(0, 300)}` };
  return { outcome: 'refused', reason: `${prepared.kind} ${key}: ${message.replace(/"[^"]*"/g, '"…"').slice(0, 60)}` };
}

/** The batch size an echo answer reports (echo_handler.py), or 0. */
export function batchOf(answer: Answer): number {
  try {
    const batch = (JSON.parse(answer.body.toString('utf8')) as Echoed).batch;
    return typeof batch === 'number' ? batch : 0;
  } catch {
    return 0;
  }
}
