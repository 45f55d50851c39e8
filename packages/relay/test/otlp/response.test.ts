/*
 * ExportTraceServiceResponse bodies: read back with a tiny reader written here, and with the SDK's own
 * response deserializer (what an OTLP exporter does with our answer).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { encodeTraceResponse } from '../../src/otlp/index.js';

interface Field {
  field: number;
  wireType: number;
  value: bigint | Uint8Array;
}

/** Reads the top-level fields of a message (varint and length-delimited only, which is all a response has). */
function readFields(bytes: Uint8Array): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = bytes[pos++];
      assert.ok(b !== undefined, 'truncated varint');
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
    }
  };
  while (pos < bytes.length) {
    const tag = Number(varint());
    const wireType = tag & 7;
    if (wireType === 0) fields.push({ field: tag >> 3, wireType, value: varint() });
    else if (wireType === 2) {
      const length = Number(varint());
      fields.push({ field: tag >> 3, wireType, value: bytes.subarray(pos, pos + length) });
      pos += length;
      assert.ok(pos <= bytes.length, 'length past the end');
    } else assert.fail(`unexpected wire type ${wireType}`);
  }
  return fields;
}

function partialSuccess(bytes: Uint8Array): { rejectedSpans?: bigint; errorMessage?: string } {
  const top = readFields(bytes);
  assert.equal(top.length, 1);
  assert.equal(top[0].field, 1);
  assert.equal(top[0].wireType, 2);
  const out: { rejectedSpans?: bigint; errorMessage?: string } = {};
  for (const f of readFields(top[0].value as Uint8Array)) {
    if (f.field === 1 && f.wireType === 0) out.rejectedSpans = f.value as bigint;
    else if (f.field === 2 && f.wireType === 2) out.errorMessage = new TextDecoder().decode(f.value as Uint8Array);
    else assert.fail(`unexpected field ${f.field}`);
  }
  return out;
}

const json = (bytes: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(bytes));

describe('encodeTraceResponse', () => {
  it('full success: an empty message, zero bytes in protobuf, {} in JSON', () => {
    assert.equal(encodeTraceResponse('protobuf').length, 0);
    assert.equal(encodeTraceResponse('protobuf', { rejectedSpans: 0, errorMessage: '' }).length, 0);
    assert.deepEqual(json(encodeTraceResponse('json')), {});
    assert.deepEqual(json(encodeTraceResponse('json', { rejectedSpans: 0, errorMessage: '' })), {});
  });

  it('partial success in protobuf: rejected_spans (field 1, varint) and error_message (field 2)', () => {
    const message =
      '3 invalid spans rejected: resourceSpans[0].scopeSpans[0].spans[1]: traceId is 0 bytes, expected 16 (and 2 more) ✓';
    const bytes = encodeTraceResponse('protobuf', { rejectedSpans: 3, errorMessage: message });
    assert.deepEqual(partialSuccess(bytes), { rejectedSpans: 3n, errorMessage: message });
    // What the SDK's OTLP exporter reads from it.
    assert.deepEqual(ProtobufTraceSerializer.deserializeResponse(bytes), {
      partialSuccess: { rejectedSpans: 3, errorMessage: message },
    });
  });

  it('counts beyond 2^32, long messages, and a warning without rejections', () => {
    assert.deepEqual(
      partialSuccess(encodeTraceResponse('protobuf', { rejectedSpans: 2 ** 40 + 1, errorMessage: '' })),
      {
        rejectedSpans: 2n ** 40n + 1n,
      },
    );
    const long = 'x'.repeat(70_000);
    assert.deepEqual(partialSuccess(encodeTraceResponse('protobuf', { rejectedSpans: 1, errorMessage: long })), {
      rejectedSpans: 1n,
      errorMessage: long,
    });
    assert.deepEqual(partialSuccess(encodeTraceResponse('protobuf', { rejectedSpans: 0, errorMessage: 'warning' })), {
      errorMessage: 'warning',
    });
  });

  it('partial success in JSON: lowerCamelCase, int64 as a decimal string, defaults left out', () => {
    assert.deepEqual(json(encodeTraceResponse('json', { rejectedSpans: 3, errorMessage: 'bad ids' })), {
      partialSuccess: { rejectedSpans: '3', errorMessage: 'bad ids' },
    });
    assert.equal(
      new TextDecoder().decode(encodeTraceResponse('json', { rejectedSpans: 2, errorMessage: 'a "quoted" ✓' })),
      '{"partialSuccess":{"rejectedSpans":"2","errorMessage":"a \\"quoted\\" ✓"}}',
    );
    assert.deepEqual(json(encodeTraceResponse('json', { rejectedSpans: 0, errorMessage: 'warning' })), {
      partialSuccess: { errorMessage: 'warning' },
    });
    assert.deepEqual(json(encodeTraceResponse('json', { rejectedSpans: 5, errorMessage: '' })), {
      partialSuccess: { rejectedSpans: '5' },
    });
  });

  it('a negative or fractional count is a programming error', () => {
    assert.throws(() => encodeTraceResponse('json', { rejectedSpans: -1, errorMessage: '' }), RangeError);
    assert.throws(() => encodeTraceResponse('protobuf', { rejectedSpans: 1.5, errorMessage: '' }), RangeError);
  });

  it('returns a fresh buffer each time', () => {
    const a = encodeTraceResponse('json');
    a[0] = 0;
    assert.deepEqual(json(encodeTraceResponse('json')), {});
  });
});
