/*
 * decodeInSlices (split-request.ts) against decodeTraceRequest: a body decoded a slice at a time gives the
 * same spans, in the same order, grouped the same way (one resource object per ResourceSpans, one scope
 * object per ScopeSpans), so the SDK's serializer writes them back to the same bytes. Checked on real SDK
 * spans (two resources, several scopes, every field), on hand-built bodies whose ScopeSpans put their
 * other fields between and after the spans, and on bodies that do not frame or decode (same error, or the
 * same rejection count). Also EndOrder (end-order.ts): the stable end-time order of the whole request,
 * merged from runs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { EndOrder } from '../src/end-order.js';
import { OtlpDecodeError, decodeTraceRequest } from '../src/otlp/index.js';
import type { RelaySpan } from '../src/otlp/index.js';
import { decodeInSlices } from '../src/split-request.js';
import { bytes, fixed64, group, hex, keyValue, msg, spanBody, str, sub, varint, TRACE_ID } from './otlp/proto.js';
import { sdkSpans } from './otlp/sdk-spans.js';

const serialize = (spans: ReadonlyArray<ReadableSpan | RelaySpan>): Uint8Array =>
  ProtobufTraceSerializer.serializeRequest(spans as ReadableSpan[])!;

/** The same spans, the same order, the same grouping, the same bytes written back. */
async function assertSameAsWhole(body: Uint8Array, slice: number): Promise<void> {
  const whole = decodeTraceRequest(body, 'protobuf');
  const sliced = await decodeInSlices(body, slice, 0);
  assert.equal(sliced.rejected, whole.rejected);
  assert.equal(sliced.rejectionMessage, whole.rejectionMessage);
  assert.deepEqual(
    sliced.spans.map((s) => s.spanContext().spanId),
    whole.spans.map((s) => s.spanContext().spanId),
  );
  assert.equal(new Set(sliced.spans.map((s) => s.resource)).size, new Set(whole.spans.map((s) => s.resource)).size);
  assert.equal(
    new Set(sliced.spans.map((s) => s.instrumentationScope)).size,
    new Set(whole.spans.map((s) => s.instrumentationScope)).size,
  );
  assert.deepEqual(serialize(sliced.spans), serialize(whole.spans));
}

/** A span with its own id (field 2), for hand-built bodies. */
function span(n: number): Uint8Array {
  return msg(
    bytes(1, hex(TRACE_ID)),
    bytes(2, hex(n.toString(16).padStart(16, '0'))),
    str(5, `span ${n}`),
    fixed64(7, 1787822507530918072n),
    fixed64(8, 1787822508000000000n + BigInt(n)),
  );
}

describe('decodeInSlices', () => {
  it('gives what decodeTraceRequest gives on real SDK spans, at every slice size', async () => {
    // Several copies of the fixture's spans: two resources, several scopes of different sizes.
    const spans = Array.from({ length: 5 }, () => sdkSpans()).flat();
    const body = serialize(spans);
    for (const slice of [1, 2, 3, 7, 16, spans.length - 1, spans.length, spans.length + 1]) {
      await assertSameAsWhole(body, slice);
    }
  });

  it('repeats a ScopeSpans’ other fields in every piece, wherever they sit among the spans', async () => {
    const spans = Array.from({ length: 12 }, (_, i) => sub(2, span(i + 1)));
    const body = sub(
      1,
      sub(
        2,
        ...spans.slice(0, 3),
        sub(1, str(1, 'scope'), str(2, '1.0')),
        ...spans.slice(3, 8),
        str(3, 'https://schema/1'),
        ...spans.slice(8),
      ),
      sub(1, sub(1, keyValue('service.name', str(1, 'svc')))),
      str(3, 'https://resource-schema/1'),
    );
    for (const slice of [1, 2, 4, 5, 11]) await assertSameAsWhole(body, slice);
    const sliced = await decodeInSlices(body, 4, 0);
    assert.equal(sliced.spans[0].instrumentationScope.name, 'scope');
    assert.equal(sliced.spans[0].instrumentationScope.schemaUrl, 'https://schema/1');
    assert.equal(sliced.spans[0].resource.attributes['service.name'], 'svc');
  });

  it('counts rejected spans as the whole decode does', async () => {
    const bad = sub(2, spanBody(bytes(2, hex('0000000000000000'))));
    const spans = [sub(2, span(1)), bad, sub(2, span(2)), sub(2, span(3)), bad, sub(2, span(4))];
    const body = sub(1, sub(2, sub(1, str(1, 'scope')), ...spans));
    await assertSameAsWhole(body, 2);
    assert.equal((await decodeInSlices(body, 2, 0)).rejected, 2);
    // The first rejected span is named where it is in the whole request, not in its piece.
    const later = msg(
      sub(1, sub(2, sub(2, span(5))), sub(2, sub(2, span(6)))),
      sub(1, sub(2, sub(2, span(7))), sub(2, sub(2, span(8)), sub(2, span(9)), bad, sub(2, span(10)))),
    );
    for (const slice of [1, 2, 3, 4]) await assertSameAsWhole(later, slice);
    assert.match(
      (await decodeInSlices(later, 2, 0)).rejectionMessage!,
      /^1 invalid span rejected: resourceSpans\[1\]\.scopeSpans\[1\]\.spans\[2\]: /,
    );
  });

  it('a body that does not frame or does not decode throws what decodeTraceRequest throws', async () => {
    const good = sub(1, sub(2, sub(1, str(1, 'scope')), sub(2, span(1)), sub(2, span(2)), sub(2, span(3))));
    const cases = [
      good.subarray(0, good.length - 3), // truncated
      msg(good, group(1, varint(1, 1))), // a group where a ResourceSpans goes
      sub(1, sub(2, sub(2, span(1)), sub(2, span(2)), varint(2, 7))), // a span that is not length-delimited
      sub(1, sub(2, sub(2, span(1)), sub(2, span(2)), sub(2, msg(span(3), fixed64(7, 1n).subarray(0, 4))))),
    ];
    for (const body of cases) {
      let expected: unknown;
      try {
        decodeTraceRequest(body, 'protobuf');
      } catch (error) {
        expected = error;
      }
      assert.ok(expected instanceof OtlpDecodeError, 'the case is a bad body');
      await assert.rejects(decodeInSlices(body, 1, 0), (error: unknown) => {
        assert.ok(error instanceof OtlpDecodeError);
        assert.equal(error.message, expected.message);
        return true;
      });
    }
  });

  it('leaves small bodies to decodeTraceRequest (under 1 MiB by default)', async () => {
    const body = serialize(sdkSpans());
    const sliced = await decodeInSlices(body, 1);
    assert.deepEqual(serialize(sliced.spans), serialize(decodeTraceRequest(body, 'protobuf').spans));
  });
});

describe('EndOrder', () => {
  it('takes spans in the stable end-time order of the whole request, and counts their bytes', async () => {
    const base = decodeTraceRequest(serialize(sdkSpans()), 'protobuf').spans[0];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 3 })), { maxLength: 40 }),
        async (times) => {
          const spans = times.map(([s, ns], i): RelaySpan => {
            const span = Object.create(base) as RelaySpan;
            return Object.assign(span, { endTime: [s, ns] as [number, number], name: `s${i}` });
          });
          const order = await EndOrder.of(spans, (span) => Number(span.name.slice(1)) + 1);
          const taken: RelaySpan[] = [];
          for (let next = order.take(); next !== undefined; next = order.take()) taken.push(next.span);
          const expected = [...spans].sort((a, b) => a.endTime[0] - b.endTime[0] || a.endTime[1] - b.endTime[1]);
          assert.deepEqual(
            taken.map((s) => s.name),
            expected.map((s) => s.name),
          );
          assert.equal(
            order.totalBytes,
            spans.reduce((sum, _s, i) => sum + i + 1, 0),
          );
          assert.equal(order.remainingBytes, 0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
