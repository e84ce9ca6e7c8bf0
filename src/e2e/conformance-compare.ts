// How the conformance suite compares a reply from TorchServe with Lantern's: each is rendered as
// text (status line, headers sorted by name, body) after the masks below, and the two texts must be
// equal. The masks and the allowed differences are the whole list; docs/conformance.md repeats it.
import type { Reply } from './harness.js';

/** Values that differ between any two runs of the same server: replaced on both sides before comparing. */
export const MASKS: ReadonlyArray<{ readonly what: string; readonly pattern: RegExp; readonly replacement: string }> = [
  { what: 'describe startTime (when the model was registered)', pattern: /("startTime": )"[^"]*"/g, replacement: '$1"<time>"' },
  { what: "describe workers' pid", pattern: /("pid": )\d+/g, replacement: '$1<pid>' },
  { what: "describe workers' memoryUsage (bytes)", pattern: /("memoryUsage": )\d+/g, replacement: '$1<memory>' },
];

/** Headers whose value is left out of the comparison (their presence is compared): a new value per request or sequence. */
export const MASKED_HEADERS: ReadonlyArray<{ readonly name: string; readonly why: string }> = [
  { name: 'x-request-id', why: 'a new UUID per request' },
  { name: 'ts_request_sequence_id', why: 'a stateful sequence id each server makes up' },
  { name: 'ts_request_sequence_end', why: "the ended sequence's id (our handlers send it as the value)" },
];

/** Headers one server sends and the other does not, each by a line of docs/compatibility.md: left out on both sides. */
export const ALLOWED_HEADERS: ReadonlyArray<{ readonly name: string; readonly compatibility: string }> = [
  { name: 'date', compatibility: 'Replies carry a `Date` header' },
];

export interface RenderedReply {
  readonly status: number;
  readonly statusText: string;
  readonly text: string;
}

/** A deliberate difference, with the line of docs/compatibility.md that states it. */
export interface AllowedDifference {
  /** The start of the line in docs/compatibility.md (after "- "). */
  readonly compatibility: string;
  /** Rewrites TorchServe's rendered reply into what Lantern answers by that line; null when it does not apply. */
  readonly expectFromLantern: (torchserve: RenderedReply) => RenderedReply | null;
}

export const ALLOWED_DIFFERENCES: readonly AllowedDifference[] = [
  {
    compatibility: 'A prediction, or a describe with `customized=true`, whose handler set no reason phrase is sent with the standard phrase',
    expectFromLantern: (ts) => {
      if (ts.statusText !== '' || !(ts.status in STANDARD_PHRASES)) return null;
      const phrase = STANDARD_PHRASES[ts.status] ?? '';
      return { status: ts.status, statusText: phrase, text: ts.text.replace(/^(\d{3}) $/m, `$1 ${phrase}`) };
    },
  },
];

const STANDARD_PHRASES: Readonly<Record<number, string>> = { 200: 'OK', 201: 'Created', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' };

/** Body text as sent; bytes that are not UTF-8 are shown as base64 so that nothing is lost. */
function bodyText(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : `<base64> ${bytes.toString('base64')}`;
}

export function render(reply: Reply): RenderedReply {
  const masked = new Set([...MASKED_HEADERS, ...ALLOWED_HEADERS].map((h) => h.name));
  const headers = [...reply.headers.entries()]
    .filter(([name]) => !masked.has(name))
    .map(([name, value]) => `${name}: ${value}`)
    .sort();
  const present = MASKED_HEADERS.filter((h) => reply.headers.has(h.name)).map((h) => `${h.name}: <masked>`);
  const sent = bodyText(reply.bytes);
  let body = sent;
  for (const mask of MASKS) body = body.replace(mask.pattern, mask.replacement);
  // A masked value (a pid, a byte count) changes the body's length with it; the rest of the body is still compared.
  const lines = body === sent ? headers : headers.map((h) => (h.startsWith('content-length: ') ? 'content-length: <masked with the body>' : h));
  const text = [`${reply.status} ${reply.statusText}`, ...[...lines, ...present].sort(), '', body].join('\n');
  return { status: reply.status, statusText: reply.statusText, text };
}

/**
 * The text Lantern's reply must equal: TorchServe's, or TorchServe's rewritten by the allowed
 * difference that makes it equal to Lantern's (each one cites its line of docs/compatibility.md).
 */
export function expectedFromLantern(torchserve: RenderedReply, lantern: RenderedReply): { text: string; allowed: string | null } {
  if (torchserve.text === lantern.text) return { text: torchserve.text, allowed: null };
  for (const difference of ALLOWED_DIFFERENCES) {
    const rewritten = difference.expectFromLantern(torchserve);
    if (rewritten !== null && rewritten.text === lantern.text) return { text: rewritten.text, allowed: difference.compatibility };
  }
  return { text: torchserve.text, allowed: null };
}

/** The lines around the first difference of two rendered replies (a body can be megabytes of JSON), after each status line. */
export function firstDifference(expected: string, actual: string, context = 4, shown = 16): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - context);
  const excerpt = (lines: readonly string[]): string =>
    [...(from > 0 ? [`     1| ${lines[0] ?? ''}`, '   ...'] : []), ...lines.slice(from, i + shown).map((l, k) => `${String(from + k + 1).padStart(6)}| ${l.length > 300 ? `${l.slice(0, 300)}…` : l}`)].join('\n');
  return `first difference at line ${i + 1} (TorchServe ${a.length} lines, Lantern ${b.length})\n-- TorchServe:\n${excerpt(a)}\n-- Lantern:\n${excerpt(b)}`;
}
