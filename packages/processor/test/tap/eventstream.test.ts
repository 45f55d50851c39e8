// The AWS event-stream reader against the AWS SDK's own codec: every frame the codec writes is read back, cut
// anywhere; damaged or foreign bytes stop it; payloads it does not want are never held.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { Int64 } from '@smithy/eventstream-codec';
import type { MessageHeaders } from '@smithy/types';
import { crc32 } from '../../src/tap/crc32.js';
import { EventStreamReader, MAX_HEADERS_BYTES, parseHeaders } from '../../src/tap/eventstream.js';
import type { EventStreamHeaders } from '../../src/tap/eventstream.js';
import { codec, converseStream, frame } from './gemini-bedrock-fixtures.js';
import { concat } from './usage-fixtures.js';

const RUNS = Number(process.env['FC_TAP_RUNS'] ?? 300);
const utf8 = new TextEncoder();

interface Read {
  frames: Array<{ headers: EventStreamHeaders; payload: Uint8Array }>;
  reader: EventStreamReader;
  maxBuffered: number;
}

/** Reads `body` cut at `cuts`, wanting the frames `want` accepts. */
function read(
  body: Uint8Array,
  cuts: readonly number[] = [],
  want: (h: EventStreamHeaders) => boolean = () => true,
  max = 1 << 20,
): Read {
  const frames: Read['frames'] = [];
  const reader = new EventStreamReader(
    {
      use: (h) => (want(h) ? 'now' : 'skip'),
      frame: (headers, payload) => frames.push({ headers: { ...headers }, payload: payload.slice() }),
    },
    max,
    { every: true },
  );
  let at = 0;
  let maxBuffered = 0;
  for (const cut of [...cuts, body.length]) {
    if (cut < at) continue;
    reader.push(body.subarray(at, cut));
    maxBuffered = Math.max(maxBuffered, reader.bufferedBytes);
    at = cut;
  }
  return { frames, reader, maxBuffered };
}

describe('crc32', () => {
  it("is zlib's CRC-32, also when continued over pieces", () => {
    assert.equal(crc32(utf8.encode('123456789')), 0xcbf43926);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (bytes, cut) => {
        const at = cut % (bytes.length + 1);
        assert.equal(crc32(bytes), zlibCrc32(bytes));
        assert.equal(crc32(bytes.subarray(at), crc32(bytes.subarray(0, at))), zlibCrc32(bytes));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('EventStreamReader', () => {
  it('reads the frames the AWS codec writes, every header type skipped but strings', () => {
    const headers: MessageHeaders = {
      ':event-type': { type: 'string', value: 'metadata' },
      yes: { type: 'boolean', value: true },
      no: { type: 'boolean', value: false },
      b: { type: 'byte', value: 7 },
      s: { type: 'short', value: 300 },
      i: { type: 'integer', value: 70000 },
      l: { type: 'long', value: Int64.fromNumber(5) },
      bin: { type: 'binary', value: new Uint8Array([1, 2, 3]) },
      t: { type: 'timestamp', value: new Date(1_700_000_000_000) },
      u: { type: 'uuid', value: '123e4567-e89b-12d3-a456-426614174000' },
      ':message-type': { type: 'string', value: 'event' },
    };
    const payload = utf8.encode('{"usage":{"inputTokens":1}}');
    const { frames, reader } = read(codec.encode({ headers, body: payload }));
    assert.equal(reader.failed, false);
    assert.equal(reader.atBoundary, true);
    assert.deepEqual(frames, [{ headers: { ':event-type': 'metadata', ':message-type': 'event' }, payload }]);
  });

  it('gives the same frames cut at every offset and in 1-byte pieces, and holds no unwanted payload', () => {
    const { body } = converseStream();
    const expected = codec.decode.bind(codec);
    const whole = read(body);
    assert.equal(whole.frames.length, 8);
    // The codec's own reading of each frame.
    let at = 0;
    for (const f of whole.frames) {
      const total = new DataView(body.buffer, body.byteOffset + at).getUint32(0);
      const message = expected(body.subarray(at, at + total));
      assert.deepEqual(f.payload, message.body);
      assert.equal(f.headers[':event-type'], message.headers[':event-type'].value);
      at += total;
    }
    for (let cut = 0; cut <= body.length; cut++) {
      assert.deepEqual(read(body, [cut]).frames, whole.frames, `cut at ${cut}`);
    }
    const bytes = Array.from({ length: body.length }, (_, i) => i);
    assert.deepEqual(read(body, bytes).frames, whole.frames);
    const onlyMetadata = read(body, bytes, (h) => h[':event-type'] === 'metadata');
    assert.equal(onlyMetadata.frames.length, 1);
    // Headers of one frame (about 90 bytes) and the metadata payload: never a skipped frame's payload.
    assert.ok(onlyMetadata.maxBuffered <= 400, `held ${onlyMetadata.maxBuffered}`);
  });

  it('skips a wanted payload over the bound, and a frame whose message CRC fails, and goes on', () => {
    const big = frame('metadata', { usage: { inputTokens: 1 }, pad: 'x'.repeat(2000) });
    const small = frame('metadata', { usage: { inputTokens: 2 } });
    const bounded = read(concat([big, small]), [100, 1000], () => true, 1024);
    assert.equal(bounded.frames.length, 1);
    assert.ok(bounded.maxBuffered <= 1024);
    const damaged = big.slice();
    damaged[damaged.length - 10] ^= 1; // inside the payload
    const r = read(concat([damaged, small]));
    assert.equal(r.reader.failed, false);
    assert.equal(r.frames.length, 1);
    assert.match(new TextDecoder().decode(r.frames[0].payload), /"inputTokens":2/);
  });

  it('looks only at the last whole frame of each chunk, and at frames chunks cut: the stream’s last is always seen', () => {
    const { body, frameEnds } = converseStream();
    const seen = (cuts: readonly number[]): string[] => {
      const types: string[] = [];
      const reader = new EventStreamReader(
        {
          use: (h) => {
            types.push(h[':event-type']);
            return 'skip';
          },
          frame: () => {},
        },
        1024,
      );
      let at = 0;
      for (const cut of [...cuts, body.length]) {
        reader.push(body.subarray(at, cut));
        at = cut;
      }
      assert.equal(reader.failed, false);
      assert.equal(reader.atBoundary, true);
      return types;
    };
    assert.deepEqual(seen([]), ['metadata'], 'one chunk: only its last frame');
    assert.deepEqual(seen([frameEnds[2]]), ['contentBlockDelta', 'metadata'], 'cut between frames');
    assert.deepEqual(seen([frameEnds[2] + 5]), ['contentBlockDelta', 'contentBlockDelta', 'metadata'], 'cut in one');
    for (let cut = 0; cut <= body.length; cut++) assert.equal(seen([cut]).at(-1), 'metadata', `cut at ${cut}`);
    // A length that cannot be a frame's, on the way to the last one, stops the reader.
    const bad = body.slice();
    new DataView(bad.buffer).setUint32(frameEnds[1], 3);
    const reader = new EventStreamReader({ use: () => 'skip', frame: () => {} }, 1024);
    reader.push(bad);
    assert.equal(reader.failed, true);
  });

  it("'latest' keeps only the last such frame, cut anywhere, and checks its CRC only when taken", () => {
    const frames = [1, 2, 3].map((n) => frame('chunk', { bytes: String(n) }));
    const body = concat([...frames, frame('other', {})]);
    const take = (bytes: Uint8Array, cuts: number[]) => {
      const reader = new EventStreamReader(
        { use: (h) => (h[':event-type'] === 'chunk' ? 'latest' : 'skip'), frame: () => assert.fail('not now') },
        1024,
        { every: true },
      );
      let at = 0;
      for (const cut of [...cuts, bytes.length]) {
        reader.push(bytes.subarray(at, cut));
        at = cut;
      }
      const latest = reader.takeLatest();
      return latest === undefined ? undefined : new TextDecoder().decode(latest.payload);
    };
    for (let cut = 0; cut <= body.length; cut++) assert.equal(take(body, [cut]), '{"bytes":"3"}', `cut at ${cut}`);
    const damaged = body.slice();
    damaged[frames[0].length * 3 - 6] ^= 1; // inside the third chunk's payload
    assert.equal(take(damaged, []), undefined, 'a damaged frame is not used');
  });

  it('stops for good on a prelude that fails its CRC, or lengths that cannot be', () => {
    const good = frame('metadata', { usage: {} });
    const badPrelude = good.slice();
    badPrelude[3] ^= 1;
    const tooShort = good.slice();
    new DataView(tooShort.buffer).setUint32(0, 10);
    new DataView(tooShort.buffer).setUint32(8, crc32(tooShort, 0, 0, 8));
    const hugeHeaders = good.slice();
    new DataView(hugeHeaders.buffer).setUint32(4, MAX_HEADERS_BYTES + 1);
    new DataView(hugeHeaders.buffer).setUint32(8, crc32(hugeHeaders, 0, 0, 8));
    for (const bad of [badPrelude, tooShort, hugeHeaders, utf8.encode('{"not":"an event stream"}')]) {
      const r = read(concat([bad, good]));
      assert.equal(r.reader.failed, true);
      assert.deepEqual(r.frames, []);
      assert.equal(r.reader.bufferedBytes, 0);
    }
  });

  it('parseHeaders refuses a header block that runs past its end or has an unknown type', () => {
    assert.deepEqual({ ...parseHeaders(new Uint8Array(0)) }, {});
    assert.equal(parseHeaders(new Uint8Array([5, 0x61])), undefined);
    assert.equal(parseHeaders(new Uint8Array([1, 0x61, 42])), undefined);
    assert.equal(parseHeaders(new Uint8Array([1, 0x61, 7, 0, 9, 0x62])), undefined);
  });

  it('any frames, cut anywhere, read as the codec reads them (property)', () => {
    const headerArb = fc.dictionary(
      fc.string({ minLength: 1, maxLength: 12 }).filter((k) => utf8.encode(k).length <= 255),
      fc.string({ maxLength: 40 }),
      { maxKeys: 4 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.record({ headers: headerArb, payload: fc.uint8Array({ maxLength: 200 }) }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (messages, rawCuts) => {
          const frames = messages.map((m) =>
            codec.encode({
              headers: Object.fromEntries(
                Object.entries(m.headers).map(([k, v]) => [k, { type: 'string' as const, value: v }]),
              ),
              body: m.payload,
            }),
          );
          const body = concat(frames);
          const cuts = rawCuts.map((c) => c % (body.length + 1)).sort((a, b) => a - b);
          const r = read(body, cuts);
          assert.equal(r.reader.failed, false);
          assert.equal(r.reader.atBoundary, true);
          assert.deepEqual(
            r.frames.map((f) => ({ headers: { ...f.headers }, payload: f.payload })),
            messages.map((m) => ({ headers: { ...m.headers }, payload: m.payload })),
          );
        },
      ),
      { numRuns: RUNS },
    );
  });
});
