import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  ProtocolError,
  decodeInferReply,
  decodeLoadReply,
  decodeToWorker,
  encodeInferReply,
  encodeInference,
  encodeLoad,
  encodeLoadReply,
} from './codec.js';
import { expectsMore, type ResponseEntry } from './messages.js';

// ---- the golden frames, in the JSON form of docs/protocol.md ----

type Pair = [string, string];

interface GoldenLoad {
  kind: 'load';
  modelName: string;
  modelPath: string;
  batchSize: number;
  handler: string;
  gpuId: number;
  envelope: string;
  limitMaxImagePixels: boolean;
}

interface GoldenInfer {
  kind: 'infer';
  requests: Array<{
    requestId: string;
    headers: Pair[];
    parameters: Array<{ name: string; contentType: string; valueB64: string }>;
  }>;
}

interface GoldenLoadReply {
  kind: 'loadReply';
  code: number;
  message: string;
}

interface GoldenInferReply {
  kind: 'inferReply';
  code: number;
  message: string;
  responses: Array<{
    requestId: string;
    contentType: string;
    status: number;
    reason: string;
    headers: Pair[];
    bodyB64: string;
  }>;
  metricLines?: string[];
}

type GoldenMessage = GoldenLoad | GoldenInfer | GoldenLoadReply | GoldenInferReply;

interface GoldenFrame {
  name: string;
  direction: 'to-worker' | 'to-frontend';
  message: GoldenMessage;
  hex: string;
}

const golden = JSON.parse(
  readFileSync(new URL('../../test/fixtures/frames.json', import.meta.url), 'utf8'),
) as GoldenFrame[];

const NO_LIMIT = Number.MAX_SAFE_INTEGER;

const frameOf = (g: GoldenFrame): Buffer => Buffer.from(g.hex, 'hex');
const payloadOf = (g: GoldenFrame): Buffer => frameOf(g).subarray(4);
const goldenNamed = (name: string): GoldenFrame => {
  const g = golden.find((f) => f.name === name);
  assert.ok(g, `golden frame "${name}" is in the fixture`);
  return g;
};

const pairs = (headers: ReadonlyArray<readonly [string, string]>): Pair[] => headers.map(([k, v]) => [k, v]);

/** Decodes a payload with the decoder the golden message's kind calls for, into the JSON form. */
function decodeGolden(kind: GoldenMessage['kind'], payload: Buffer, maxFieldBytes = NO_LIMIT): GoldenMessage {
  switch (kind) {
    case 'load':
    case 'infer': {
      const m = decodeToWorker(payload, maxFieldBytes);
      if (m.kind === 'load') return { kind: 'load', ...m.message };
      return {
        kind: 'infer',
        requests: m.requests.map((r) => ({
          requestId: r.requestId,
          headers: pairs(r.headers),
          parameters: r.parameters.map((p) => ({
            name: p.name,
            contentType: p.contentType,
            valueB64: p.value.toString('base64'),
          })),
        })),
      };
    }
    case 'loadReply':
      return { kind: 'loadReply', ...decodeLoadReply(payload, maxFieldBytes) };
    case 'inferReply': {
      const r = decodeInferReply(payload, maxFieldBytes);
      return {
        kind: 'inferReply',
        code: r.code,
        message: r.message,
        responses: r.responses.map((e) => ({
          requestId: e.requestId,
          contentType: e.contentType,
          status: e.status,
          reason: e.reason,
          headers: pairs(e.headers),
          bodyB64: e.body.toString('base64'),
        })),
        ...(r.metricLines === undefined ? {} : { metricLines: [...r.metricLines] }),
      };
    }
  }
}

/** An inference frame in one buffer. */
const inferenceFrame = (requests: Parameters<typeof encodeInference>[0]): Buffer => Buffer.concat(encodeInference(requests));

function encodeGolden(m: GoldenMessage): Buffer {
  switch (m.kind) {
    case 'load': {
      const { kind: _kind, ...message } = m;
      return encodeLoad(message);
    }
    case 'infer':
      return inferenceFrame(
        m.requests.map((r) => ({
          requestId: r.requestId,
          headers: r.headers,
          parameters: r.parameters.map((p) => ({
            name: p.name,
            contentType: p.contentType,
            value: Buffer.from(p.valueB64, 'base64'),
          })),
        })),
      );
    case 'loadReply':
      return encodeLoadReply({ code: m.code, message: m.message });
    case 'inferReply':
      return encodeInferReply({
        code: m.code,
        message: m.message,
        responses: m.responses.map((e) => ({
          requestId: e.requestId,
          contentType: e.contentType,
          status: e.status,
          reason: e.reason,
          headers: e.headers,
          body: Buffer.from(e.bodyB64, 'base64'),
        })),
        ...(m.metricLines === undefined ? {} : { metricLines: m.metricLines }),
      });
  }
}

// ---- small builders for hand-made payloads ----

const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
};
const str = (s: string): Buffer => {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([int32(bytes.length), bytes]);
};
const isProtocolError =
  (message?: RegExp) =>
  (err: unknown): boolean => {
    assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${String(err)}`);
    assert.equal(err.name, 'ProtocolError');
    if (message !== undefined) assert.match(err.message, message);
    return true;
  };

const entry = (headers: Array<[string, string]>): ResponseEntry => ({
  requestId: 'r',
  contentType: '',
  status: 200,
  reason: '',
  headers,
  body: Buffer.alloc(0),
});

// ---- tests ----

describe('golden frames', () => {
  it('cover every message kind in both directions', () => {
    const kinds = new Set(golden.map((g) => g.message.kind));
    assert.deepEqual([...kinds].sort(), ['infer', 'inferReply', 'load', 'loadReply']);
    for (const g of golden) {
      const toWorker = g.message.kind === 'load' || g.message.kind === 'infer';
      assert.equal(g.direction, toWorker ? 'to-worker' : 'to-frontend', g.name);
    }
  });

  for (const g of golden) {
    it(`decodes "${g.name}" to the documented message`, () => {
      assert.deepEqual(decodeGolden(g.message.kind, payloadOf(g)), g.message);
    });

    it(`encodes "${g.name}" to the golden bytes`, () => {
      assert.equal(encodeGolden(g.message).toString('hex'), g.hex);
    });

    it(`gives "${g.name}" a length prefix equal to its payload length`, () => {
      const frame = frameOf(g);
      assert.equal(frame.readUInt32BE(0), frame.length - 4);
    });

    it(`refuses every truncation of "${g.name}" with a ProtocolError`, () => {
      const payload = payloadOf(g);
      for (let n = 0; n < payload.length; n++) {
        assert.throws(() => decodeGolden(g.message.kind, payload.subarray(0, n)), isProtocolError(), `prefix ${n}`);
      }
    });

    it(`refuses "${g.name}" followed by a trailing byte`, () => {
      const payload = Buffer.concat([payloadOf(g), Buffer.from([0])]);
      assert.throws(() => decodeGolden(g.message.kind, payload), isProtocolError(/1 trailing bytes after message/));
    });
  }
});

describe('decodeToWorker', () => {
  it('refuses an unknown command byte', () => {
    assert.throws(() => decodeToWorker(Buffer.from([0x58, 0xff, 0xff, 0xff, 0xff])), isProtocolError(/Unknown command byte 0x58/));
  });

  it('refuses an empty payload as truncated', () => {
    assert.throws(() => decodeToWorker(Buffer.alloc(0)), isProtocolError(/Truncated message/));
  });

  it('refuses a negative string length', () => {
    const payload = Buffer.concat([Buffer.from([0x4c]), int32(-2)]);
    assert.throws(() => decodeToWorker(payload), isProtocolError(/Negative field length: -2/));
  });

  it('refuses a string length larger than what follows', () => {
    const payload = Buffer.concat([Buffer.from([0x4c]), int32(100), Buffer.from('short')]);
    assert.throws(() => decodeToWorker(payload), isProtocolError(/Truncated message/));
  });

  it('enforces the field limit on parameter values', () => {
    const payload = inferenceFrame([
      { requestId: 'r', headers: [], parameters: [{ name: 'body', contentType: '', value: Buffer.alloc(64, 7) }] },
    ]).subarray(4);
    assert.equal(decodeToWorker(payload, 64).kind, 'infer');
    assert.throws(() => decodeToWorker(payload, 63), isProtocolError(/Message size exceed limit: 64/));
  });

  it('keeps binary parameter values byte for byte', () => {
    const value = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0xc3]);
    const payload = inferenceFrame([
      { requestId: 'r', headers: [['h', 'v']], parameters: [{ name: 'data', contentType: 'x/y', value }] },
    ]).subarray(4);
    const m = decodeToWorker(payload);
    assert.equal(m.kind, 'infer');
    if (m.kind !== 'infer') return;
    assert.deepEqual(m.requests[0]?.parameters[0]?.value, value);
  });
});

describe('decodeLoadReply', () => {
  it('refuses a reply that carries predictions', () => {
    const payload = encodeInferReply({
      code: 200,
      message: 'ok',
      responses: [{ requestId: 'r', contentType: '', status: 200, reason: '', headers: [], body: Buffer.from('x') }],
    }).subarray(4);
    assert.throws(() => decodeLoadReply(payload, NO_LIMIT), isProtocolError(/Load reply carries predictions/));
  });

  it('enforces the field limit on the message', () => {
    const payload = encodeLoadReply({ code: 500, message: 'x'.repeat(20) }).subarray(4);
    assert.deepEqual(decodeLoadReply(payload, 20), { code: 500, message: 'x'.repeat(20) });
    assert.throws(() => decodeLoadReply(payload, 19), isProtocolError(/Message size exceed limit: 20/));
  });
});

describe('decodeInferReply', () => {
  it('enforces the field limit (max_response_size) on the body', () => {
    const payload = encodeInferReply({
      code: 200,
      message: 'ok',
      responses: [{ requestId: 'r', contentType: '', status: 200, reason: '', headers: [], body: Buffer.alloc(1000) }],
    }).subarray(4);
    assert.equal(decodeInferReply(payload, 1000).responses[0]?.body.length, 1000);
    assert.throws(() => decodeInferReply(payload, 999), isProtocolError(/Message size exceed limit: 1000/));
  });

  it('enforces the field limit on a header value', () => {
    const payload = encodeInferReply({
      code: 200,
      message: 'ok',
      responses: [{ requestId: 'r', contentType: '', status: 200, reason: '', headers: [['k', 'v'.repeat(50)]], body: Buffer.alloc(1) }],
    }).subarray(4);
    assert.throws(() => decodeInferReply(payload, 49), isProtocolError(/Message size exceed limit: 50/));
  });

  it('refuses a negative header count', () => {
    const payload = Buffer.concat([int32(200), str('ok'), str('r'), str(''), int32(200), str(''), int32(-2), str('body'), int32(-1)]);
    assert.throws(() => decodeInferReply(payload, NO_LIMIT), isProtocolError(/Negative header count: -2/));
  });

  it('reads a reply without responses', () => {
    const payload = Buffer.concat([int32(200), str('Prediction success'), int32(-1), str('')]);
    assert.deepEqual(decodeInferReply(payload, NO_LIMIT), { code: 200, message: 'Prediction success', responses: [] });
  });
});

describe('expectsMore', () => {
  it('is true for the golden streaming intermediate reply', () => {
    const g = goldenNamed('streaming intermediate reply');
    const reply = decodeInferReply(payloadOf(g), NO_LIMIT);
    assert.equal(reply.responses.length, 1);
    assert.equal(expectsMore(reply.responses[0] as ResponseEntry), true);
  });

  it('is false for the golden final replies', () => {
    const reply = decodeInferReply(payloadOf(goldenNamed('inference reply with 2 responses')), NO_LIMIT);
    for (const e of reply.responses) assert.equal(expectsMore(e), false);
  });

  it('matches the header name case-insensitively', () => {
    assert.equal(expectsMore(entry([['TS_Stream_Next', 'true']])), true);
  });

  it('is false when the header says false or anything but true', () => {
    assert.equal(expectsMore(entry([['ts_stream_next', 'false']])), false);
    assert.equal(expectsMore(entry([['ts_stream_next', 'yes']])), false);
  });

  it('is false without the header', () => {
    assert.equal(expectsMore(entry([['content-type', 'text/plain']])), false);
  });
});

describe('frame writing', () => {
  it('refers to the chunks of a large chunked value, and copies a small one', () => {
    const chunks = [Buffer.alloc(40_000, 1), Buffer.alloc(30_000, 2)];
    const joined = Buffer.concat(chunks);
    const large = { name: 'body', contentType: 'x/y', chunks, get value(): Buffer { throw new Error('the chunks were joined'); } };
    const pieces = encodeInference([{ requestId: 'r', headers: [], parameters: [large] }]);
    assert.ok(pieces.includes(chunks[0] as Buffer) && pieces.includes(chunks[1] as Buffer));
    const frame = Buffer.concat(pieces);
    assert.equal(frame.readUInt32BE(0), frame.length - 4);
    const decoded = decodeToWorker(frame.subarray(4));
    assert.equal(decoded.kind, 'infer');
    if (decoded.kind !== 'infer') return;
    assert.deepEqual(decoded.requests[0]?.parameters[0]?.value, joined);
    const small = { name: 'body', contentType: '', chunks: [Buffer.from('a'), Buffer.from('b')], value: Buffer.from('ab') };
    assert.equal(encodeInference([{ requestId: 's', headers: [], parameters: [small] }]).length, 1, 'one buffer');
  });

  it('writes short ASCII, text that turns multi-byte late, empty and long strings byte-exact', () => {
    const strings = ['', 'x', 'plain-ascii-header', `${'a'.repeat(100)}é`, `${'b'.repeat(127)}\u007f`, 'c'.repeat(128), 'd'.repeat(129), `e${'ü'.repeat(200)}`, '😀 emoji'];
    const requests = [{ requestId: 'r', headers: strings.map((v, i) => [`h${i}`, v] as const), parameters: [] }];
    const frame = Buffer.concat(encodeInference(requests));
    assert.deepEqual(decodeToWorker(frame.subarray(4)), { kind: 'infer', requests });
    // Each value is its UTF-8 bytes after a 4-byte length, as a decoder in any language reads it.
    for (const value of strings) {
      const bytes = Buffer.from(value, 'utf8');
      const field = Buffer.concat([Buffer.alloc(4), bytes]);
      field.writeInt32BE(bytes.length, 0);
      assert.ok(frame.includes(field), `field for ${JSON.stringify(value.slice(0, 12))}`);
    }
  });

  it('round-trips messages far larger than the writer first reserves, with multi-byte text', () => {
    const headers = Array.from({ length: 200 }, (_, i) => [`x-header-${i}`, `välue ${'é'.repeat(i)}`] as const);
    const requests = [
      { requestId: 'ä-1', headers, parameters: [{ name: 'body', contentType: 'application/octet-stream', value: Buffer.alloc(70_000, 7) }] },
      { requestId: 'ä-2', headers: [], parameters: [{ name: 'data', contentType: '', value: Buffer.from('€uro') }] },
    ];
    const pieces = encodeInference(requests);
    // The 70,000-byte body is not copied: the frame refers to it as one of its pieces.
    assert.ok(pieces.includes(requests[0]?.parameters[0]?.value as Buffer));
    const frame = Buffer.concat(pieces);
    assert.equal(frame.readUInt32BE(0), frame.length - 4);
    assert.deepEqual(decodeToWorker(frame.subarray(4)), { kind: 'infer', requests });
    const reply = { code: 200, message: 'Prediction success', responses: [{ requestId: 'ä-1', contentType: 'text/plain', status: 200, reason: 'ÓK', headers, body: Buffer.alloc(5000, 1) }] };
    const encoded = encodeInferReply(reply);
    assert.deepEqual(decodeInferReply(encoded.subarray(4), 1 << 20), reply);
  });
});
