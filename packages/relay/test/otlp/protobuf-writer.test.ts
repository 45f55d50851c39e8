// The relay's one protobuf writer: varints across their byte boundaries, and the {number = 1, string = 2}
// message that both google.rpc.Status and ExportTracePartialSuccess are.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeNumberAndText, pushVarint } from '../../src/otlp/protobuf-writer.js';
import { encodeRpcStatusProtobuf } from '../../src/rpc-status.js';

function varint(value: number): number[] {
  const out: number[] = [];
  pushVarint(out, value);
  return out;
}

/** The value of a varint, read back with BigInt so that nothing above 2^32 is lost on the way. */
function readVarint(bytes: readonly number[]): bigint {
  let result = 0n;
  bytes.forEach((b, i) => {
    assert.equal(b >= 0x80, i < bytes.length - 1, `continuation bit of byte ${i}`);
    result |= BigInt(b & 0x7f) << BigInt(7 * i);
  });
  return result;
}

describe('pushVarint', () => {
  it('writes the known encodings', () => {
    assert.deepEqual(varint(0), [0x00]);
    assert.deepEqual(varint(1), [0x01]);
    assert.deepEqual(varint(127), [0x7f]);
    assert.deepEqual(varint(128), [0x80, 0x01]);
    assert.deepEqual(varint(300), [0xac, 0x02]);
  });

  it('round-trips values across every 7-bit boundary up to 2^53 - 1, beyond 32 bits too', () => {
    for (let bits = 1; bits <= 53; bits++) {
      for (const value of [2 ** bits - 1, 2 ** bits]) {
        if (!Number.isSafeInteger(value)) continue;
        const bytes = varint(value);
        assert.equal(readVarint(bytes), BigInt(value), String(value));
        assert.equal(bytes.length, Math.ceil(value.toString(2).length / 7), `length of ${value}`);
      }
    }
  });
});

describe('encodeNumberAndText', () => {
  it('is the empty message when both fields are at their defaults', () => {
    assert.equal(encodeNumberAndText(0, '').length, 0);
  });

  it('writes field 1 as a varint and field 2 as UTF-8 bytes, leaving out a default field', () => {
    assert.deepEqual([...encodeNumberAndText(3, 'ok')], [0x08, 0x03, 0x12, 0x02, 0x6f, 0x6b]);
    assert.deepEqual([...encodeNumberAndText(0, 'ü')], [0x12, 0x02, 0xc3, 0xbc]);
    assert.deepEqual([...encodeNumberAndText(2 ** 40, '')], [0x08, ...varint(2 ** 40)]);
    const long = 'x'.repeat(200);
    assert.deepEqual([...encodeNumberAndText(1, long).subarray(0, 5)], [0x08, 0x01, 0x12, 0xc8, 0x01]);
  });

  it('is what a google.rpc.Status error body is made of', () => {
    assert.deepEqual(encodeRpcStatusProtobuf(14, 'shutting down'), encodeNumberAndText(14, 'shutting down'));
  });
});
