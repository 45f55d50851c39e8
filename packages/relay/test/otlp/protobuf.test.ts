/*
 * The protobuf decoder on hand-built bodies: what the SDK never emits (kvlist and bytes values, nested and
 * mixed arrays, unknown fields of every wire type at every level, shuffled and repeated fields, times and
 * integers beyond 2^53), the flag and id rules, and every kind of malformed input.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { OtlpDecodeError, decodeTraceRequest } from '../../src/otlp/index.js';
import type { DecodeResult, RelaySpan } from '../../src/otlp/index.js';
import { hrTimeFromUint64 } from '../../src/otlp/span.js';
import {
  EGROUP,
  LEN,
  PARENT_ID,
  SGROUP,
  SPAN_ID,
  TRACE_ID,
  bytes,
  concat,
  double,
  fixed32,
  fixed64,
  group,
  hex,
  keyValue,
  msg,
  request,
  spanBody,
  str,
  sub,
  tag,
  unknownFields,
  varint,
  varintBytes,
} from './proto.js';
import { otlpJsonView } from './sdk-spans.js';

const NUM_RUNS = Number(process.env['FC_NUM_RUNS'] ?? 1000);

function decode(body: Uint8Array): DecodeResult {
  return decodeTraceRequest(body, 'protobuf');
}

/** The only span of a one-span request. */
function only(body: Uint8Array): RelaySpan {
  const result = decode(body);
  assert.equal(result.rejected, 0, result.rejectionMessage);
  assert.equal(result.spans.length, 1);
  return result.spans[0];
}

/** The attributes of a span holding `keyValues` (each a KeyValue body). */
function attributesOf(...keyValues: Uint8Array[]): Record<string, unknown> {
  return only(request(spanBody(...keyValues.map((kv) => sub(9, kv))))).attributes;
}

function throwsDecode(body: Uint8Array, message: RegExp): void {
  assert.throws(
    () => decode(body),
    (error: unknown) => {
      assert.ok(error instanceof OtlpDecodeError, `an OtlpDecodeError, got ${String(error)}`);
      assert.match(error.message, message);
      return true;
    },
  );
}

/** `depth` AnyValues nested in array_values, the innermost a string. */
function nestedArrays(depth: number): Uint8Array {
  let value = str(1, 'deep');
  for (let i = 1; i < depth; i++) value = sub(5, sub(1, value));
  return value;
}

describe('protobuf: AnyValue representations', () => {
  it('kvlist_value becomes a plain object, nested kvlists and arrays too', () => {
    const attributes = attributesOf(
      keyValue(
        'request',
        sub(
          6,
          sub(1, keyValue('model', str(1, 'gpt-4o'))),
          sub(1, keyValue('temperature', double(4, 0.2))),
          sub(1, keyValue('stop', sub(5, sub(1, str(1, '\n')), sub(1, str(1, 'END'))))),
          sub(1, keyValue('meta', sub(6, sub(1, keyValue('n', varint(3, 2)))))),
        ),
      ),
    );
    assert.deepEqual(attributes, {
      request: { model: 'gpt-4o', temperature: 0.2, stop: ['\n', 'END'], meta: { n: 2 } },
    });
    assert.equal(Object.getPrototypeOf(attributes['request']), Object.prototype);
  });

  it('bytes_value becomes a Uint8Array copy: changing the body afterwards does not change it', () => {
    const body = request(spanBody(sub(9, keyValue('blob', bytes(7, Uint8Array.of(0, 1, 2, 255))))));
    const value = only(body).attributes['blob'] as unknown;
    assert.ok(value instanceof Uint8Array);
    assert.equal(Object.getPrototypeOf(value), Uint8Array.prototype); // not a Buffer view
    assert.deepEqual(value, Uint8Array.of(0, 1, 2, 255));
    body.fill(0);
    assert.deepEqual(value, Uint8Array.of(0, 1, 2, 255));
  });

  it('arrays may nest and mix types; an empty AnyValue is undefined', () => {
    const attributes = attributesOf(
      keyValue(
        'mixed',
        sub(
          5,
          sub(1, str(1, 'a')),
          sub(1, varint(3, 1)),
          sub(1, varint(2, true)),
          sub(1, double(4, 2.5)),
          sub(1, sub(5, sub(1, varint(3, 7)), sub(1, sub(5)))),
          sub(1, sub(6, sub(1, keyValue('k', str(1, 'v'))))),
          sub(1, bytes(7, Uint8Array.of(9))),
          sub(1),
        ),
      ),
      keyValue('empty'),
      concat(str(1, 'no value')),
    );
    assert.deepEqual(attributes, {
      mixed: ['a', 1, true, 2.5, [7, []], { k: 'v' }, Uint8Array.of(9), undefined],
      empty: undefined,
      'no value': undefined,
    });
    assert.ok('empty' in attributes);
  });

  it('the SDK serializer writes each representation back as the same AnyValue', () => {
    const body = request(
      spanBody(
        sub(9, keyValue('kv', sub(6, sub(1, keyValue('a', sub(5, sub(1, str(1, 'x')), sub(1, varint(3, -1)))))))),
        sub(9, keyValue('bytes', bytes(7, Uint8Array.of(1, 2, 3)))),
        sub(9, keyValue('mixed', sub(5, sub(1, str(1, 's')), sub(1, varint(2, false)), sub(1)))),
        sub(9, keyValue('empty')),
      ),
    );
    const once = decode(body).spans;
    const again = decode(ProtobufTraceSerializer.serializeRequest(once)!).spans;
    assert.deepEqual(again[0].attributes, once[0].attributes);
  });

  it('int_value: exact up to 2^53, the nearest double beyond (documented), negatives from 10-byte varints', () => {
    const attributes = attributesOf(
      keyValue('safe', varint(3, 2 ** 53 - 1)),
      keyValue('above', varint(3, 2n ** 53n + 1n)),
      keyValue('pow60', varint(3, 2n ** 60n)),
      keyValue('max', varint(3, 2n ** 63n - 1n)),
      keyValue('min', varint(3, -(2n ** 63n))),
      keyValue('minus1', varint(3, -1)),
      keyValue('negative', varint(3, -1234567890123n)),
    );
    assert.deepEqual(attributes, {
      safe: 2 ** 53 - 1,
      above: 2 ** 53,
      pow60: 2 ** 60,
      max: 2 ** 63,
      min: -(2 ** 63),
      minus1: -1,
      negative: -1234567890123,
    });
  });

  it('int_value is the nearest double for every int64', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
        assert.equal(attributesOf(keyValue('n', varint(3, n)))['n'], Number(n));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('bool from any varint; doubles keep NaN and infinities', () => {
    const attributes = attributesOf(
      keyValue('t', concat(tag(2, 0), Uint8Array.of(0x81, 0x00))), // non-minimal varint 1
      keyValue('f', varint(2, 0)),
      keyValue('big', varint(2, 2n ** 40n)),
      keyValue('nan', double(4, NaN)),
      keyValue('inf', double(4, -Infinity)),
      keyValue('zero', double(4, -0)),
    );
    assert.deepEqual(attributes, { t: true, f: false, big: true, nan: NaN, inf: -Infinity, zero: -0 });
  });

  it('profile-only string_value_strindex and key_strindex are ignored', () => {
    const attributes = attributesOf(concat(str(1, 'k'), sub(2, varint(8, 5)), varint(3, 9)));
    assert.deepEqual(attributes, { k: undefined });
  });

  it('a duplicate key keeps the last value; a __proto__ key is an own property', () => {
    const attributes = attributesOf(
      keyValue('k', str(1, 'first')),
      keyValue('k', str(1, 'last')),
      keyValue('__proto__', str(1, 'p')),
    );
    assert.equal(attributes['k'], 'last');
    assert.equal(Object.getPrototypeOf(attributes), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(attributes, '__proto__')?.value, 'p');
  });

  it('AnyValue nesting: 64 levels decode, 65 are an OtlpDecodeError', () => {
    let value: unknown = attributesOf(keyValue('deep', nestedArrays(64)))['deep'];
    for (let i = 1; i < 64; i++) value = (value as unknown[])[0];
    assert.equal(value, 'deep');
    throwsDecode(
      request(spanBody(sub(9, keyValue('deep', nestedArrays(65))))),
      /attributes\[0\]: AnyValue nested deeper than 64/,
    );
  });

  it('a repeated AnyValue field merges: arrays are appended, an empty repeat keeps the value', () => {
    const attributes = attributesOf(
      concat(str(1, 'twice'), sub(2, sub(5, sub(1, varint(3, 1)))), sub(2, sub(5, sub(1, varint(3, 2))))),
      concat(str(1, 'inner'), sub(2, sub(5, sub(1, str(1, 'a'))), sub(5, sub(1, str(1, 'b'))))),
      concat(str(1, 'kept'), sub(2, str(1, 'x')), sub(2)),
      concat(str(1, 'replaced'), sub(2, str(1, 'x')), sub(2, varint(3, 5))),
    );
    assert.deepEqual(attributes, { twice: [1, 2], inner: ['a', 'b'], kept: 'x', replaced: 5 });
  });

  it('strings that share length, first, middle and last bytes (one cache slot) stay distinct', () => {
    const kv = (k: string, v: string): Uint8Array => sub(9, keyValue(k, str(1, v)));
    const result = decode(
      request(
        spanBody(kv('aXbYc', 'v1XvYz'), kv('aZbWc', 'v1QvRz'), kv('aXbYc', 'v1QvRz')),
        spanBody(kv('aZbWc', 'v1XvYz'), kv('aXbYc', 'v1XvYz'), kv('é', 'é'), kv('e\u0301', 'e\u0301')),
      ),
    );
    assert.deepEqual(
      result.spans.map((s) => s.attributes),
      [
        { aXbYc: 'v1QvRz', aZbWc: 'v1QvRz' },
        { aZbWc: 'v1XvYz', aXbYc: 'v1XvYz', é: 'é', 'e\u0301': 'e\u0301' },
      ],
    );
  });

  it('invalid UTF-8 becomes U+FFFD', () => {
    const name = bytes(5, Uint8Array.of(0x68, 0x69, 0xe2, 0x82)); // "hi" + a truncated 3-byte sequence
    assert.equal(only(request(spanBody(name))).name, 'hi\uFFFD');
  });
});

describe('protobuf: times', () => {
  const cases: Array<[bigint, [number, number]]> = [
    [0n, [0, 0]],
    [999_999_999n, [0, 999_999_999]],
    [1_000_000_000n, [1, 0]],
    [1787822507530918072n, [1787822507, 530918072]],
    [2n ** 53n - 1n, [9007199, 254740991]],
    [2n ** 53n + 1n, [9007199, 254740993]],
    [2n ** 64n - 1n, [18446744073, 709551615]],
  ];
  for (const [nanos, expected] of cases) {
    it(`${nanos} ns is exactly ${JSON.stringify(expected)}`, () => {
      const span = only(
        request(spanBody(fixed64(7, nanos), fixed64(8, nanos), sub(11, fixed64(1, nanos), str(2, 'e')))),
      );
      assert.deepEqual(span.startTime, expected);
      assert.deepEqual(span.endTime, expected);
      assert.deepEqual(span.events[0].time, expected);
      assert.deepEqual(span.duration, [0, 0]);
    });
  }

  it('every uint64, and every value next to a second boundary, converts exactly', () => {
    const exact = (n: bigint): [number, number] => [Number(n / 1_000_000_000n), Number(n % 1_000_000_000n)];
    const split = (n: bigint): [number, number] => [Number(n & 0xffffffffn), Number(n >> 32n)];
    const nearBoundary = fc
      .tuple(fc.bigInt({ min: 0n, max: 18446744072n }), fc.integer({ min: -2, max: 2 }))
      .map(([s, d]) => s * 1_000_000_000n + BigInt(d))
      .filter((n) => n >= 0n && n < 2n ** 64n);
    fc.assert(
      fc.property(fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), nearBoundary), (n) => {
        const [lo, hi] = split(n);
        assert.deepEqual(hrTimeFromUint64(lo, hi), exact(n));
      }),
      { numRuns: NUM_RUNS * 10 },
    );
  });

  it('duration is end − start, exact, and 0 when the span ends before it starts', () => {
    const span = only(request(spanBody(fixed64(7, 1787822507999999999n), fixed64(8, 1787822509000000001n))));
    assert.deepEqual(span.duration, [1, 2]);
    const backwards = only(request(spanBody(fixed64(7, 1787822509000000000n), fixed64(8, 1787822508000000000n))));
    assert.deepEqual(backwards.duration, [0, 0]);
  });
});

describe('protobuf: unknown fields, order, repetition', () => {
  /** A request using every message, with `u` (unknown fields or nothing) inserted in each of them. */
  function everyMessage(u: Uint8Array): Uint8Array {
    const anyValue = sub(5, sub(1, str(1, 'x'), u), u); // AnyValue > ArrayValue > AnyValue
    const kvlist = sub(6, sub(1, keyValue('inner', str(1, 'y')), u), u); // KeyValueList > KeyValue
    const span = concat(
      u,
      spanBody(
        sub(9, keyValue('arr', anyValue, u), u),
        sub(9, str(1, 'kv'), sub(2, kvlist, u)),
        sub(11, fixed64(1, 5n), u, str(2, 'event'), sub(3, keyValue('e', str(1, 'v')))),
        sub(13, bytes(1, hex(TRACE_ID)), u, bytes(2, hex(PARENT_ID)), sub(4, keyValue('l', varint(3, 1)))),
        sub(15, u, str(2, 'msg'), varint(3, 2)),
      ),
      u,
    );
    return concat(
      u,
      sub(
        1,
        u,
        sub(1, u, sub(1, keyValue('service.name', str(1, 'svc')), u), varint(2, 0)),
        sub(2, u, sub(1, u, str(1, 'scope'), str(2, '1.0'), sub(3, keyValue('s', str(1, 'a'))), u), sub(2, span), u),
        u,
      ),
      u,
    );
  }

  it('unknown fields of every wire type (groups included) are skipped at every message level', () => {
    const plain = decode(everyMessage(new Uint8Array(0)));
    const withUnknown = decode(everyMessage(unknownFields()));
    assert.equal(withUnknown.spans.length, 1);
    assert.deepEqual(otlpJsonView(withUnknown.spans), otlpJsonView(plain.spans));
    assert.deepEqual(withUnknown.spans[0].attributes, { arr: ['x'], kv: { inner: 'y' } });
    assert.deepEqual(withUnknown.spans[0].status, { code: SpanStatusCode.ERROR, message: 'msg' });
  });

  it('a span decodes the same whatever the order of its fields', () => {
    const fieldsOfSpan = [
      bytes(1, hex(TRACE_ID)),
      bytes(2, hex(SPAN_ID)),
      str(3, 'k=v'),
      bytes(4, hex(PARENT_ID)),
      str(5, 'ordered'),
      varint(6, 3),
      fixed64(7, 1787822507530918072n),
      fixed64(8, 1787822508530918073n),
      sub(9, keyValue('a', str(1, '1'))),
      varint(10, 1),
      sub(11, fixed64(1, 1787822507600000000n), str(2, 'e')),
      varint(12, 2),
      sub(13, bytes(1, hex(TRACE_ID)), bytes(2, hex(PARENT_ID)), fixed32(6, 0x301)),
      varint(14, 3),
      sub(15, str(2, 'bad'), varint(3, 2)),
      fixed32(16, 0x301),
    ];
    const reference = otlpJsonView([only(request(concat(...fieldsOfSpan)))]);
    fc.assert(
      fc.property(fc.shuffledSubarray(fieldsOfSpan, { minLength: fieldsOfSpan.length }), (shuffled) => {
        assert.deepEqual(otlpJsonView([only(request(concat(...shuffled)))]), reference);
      }),
      { numRuns: Math.min(NUM_RUNS, 300) },
    );
  });

  it('scope, resource and schema URLs may come after the spans', () => {
    const body = sub(
      1,
      str(3, 'https://example.com/resource-schema'),
      sub(
        2,
        str(3, 'https://example.com/scope-schema'),
        sub(2, spanBody()),
        sub(1, str(2, '9.9'), str(1, 'late-scope')),
      ),
      sub(1, sub(1, keyValue('service.name', str(1, 'late')))),
    );
    const span = only(body);
    assert.deepEqual(span.instrumentationScope, {
      name: 'late-scope',
      version: '9.9',
      schemaUrl: 'https://example.com/scope-schema',
    });
    assert.deepEqual(span.resource.attributes, { 'service.name': 'late' });
    assert.equal(span.resource.schemaUrl, 'https://example.com/resource-schema');
  });

  it('a repeated singular field keeps its last value; repeated messages merge; repeated lists interleave', () => {
    const span = only(
      request(
        spanBody(
          str(5, 'last name'),
          varint(6, 2),
          varint(6, 3),
          sub(9, keyValue('a', str(1, '1'))),
          sub(11, fixed64(1, 1n), str(2, 'e1')),
          sub(9, keyValue('b', str(1, '2'))),
          sub(15, str(2, 'from the first status')),
          sub(15, varint(3, 1)),
          varint(10, 4),
          varint(10, 5),
        ),
      ),
    );
    assert.equal(span.name, 'last name');
    assert.equal(span.kind, SpanKind.CLIENT);
    assert.deepEqual(span.attributes, { a: '1', b: '2' });
    assert.deepEqual(span.status, { code: SpanStatusCode.OK, message: 'from the first status' });
    assert.equal(span.droppedAttributesCount, 5);

    const merged = only(
      sub(
        1,
        sub(1, sub(1, keyValue('first', str(1, '1')))),
        sub(1, sub(1, keyValue('second', str(1, '2')))),
        sub(2, sub(1, str(1, 'scope')), sub(1, str(2, '2.0')), sub(2, spanBody())),
      ),
    );
    assert.deepEqual(merged.resource.attributes, { first: '1', second: '2' });
    assert.deepEqual(merged.instrumentationScope, { name: 'scope', version: '2.0' });
  });

  it('scope attributes and dropped count are kept when sent', () => {
    const span = only(
      sub(
        1,
        sub(2, sub(1, str(1, 's'), sub(3, keyValue('scope.attr', varint(2, true))), varint(4, 2)), sub(2, spanBody())),
      ),
    );
    assert.deepEqual(span.instrumentationScope, {
      name: 's',
      attributes: { 'scope.attr': true },
      droppedAttributesCount: 2,
    });
  });

  it('spans of one ResourceSpans share one Resource, of one ScopeSpans one scope; others do not', () => {
    const scopeSpans = (name: string): Uint8Array =>
      sub(2, sub(1, str(1, name)), sub(2, spanBody()), sub(2, spanBody()));
    const body = concat(sub(1, scopeSpans('a'), scopeSpans('a')), sub(1, scopeSpans('a')));
    const [s0, s1, s2, s3, s4, s5] = decode(body).spans as [
      RelaySpan,
      RelaySpan,
      RelaySpan,
      RelaySpan,
      RelaySpan,
      RelaySpan,
    ];
    assert.equal(s0.resource, s3.resource);
    assert.notEqual(s0.resource, s4.resource);
    assert.equal(s4.resource, s5.resource);
    assert.equal(s0.instrumentationScope, s1.instrumentationScope);
    assert.notEqual(s1.instrumentationScope, s2.instrumentationScope);
    assert.equal(s2.instrumentationScope, s3.instrumentationScope);
  });
});

describe('protobuf: ids, flags, kind and status', () => {
  it('flags: a zero low byte (absent, or the is-remote-only flags of the Python SDK) means SAMPLED; bits 8+9 make the parent remote', () => {
    const withParent = (flags?: number): RelaySpan =>
      only(request(spanBody(bytes(4, hex(PARENT_ID)), ...(flags === undefined ? [] : [fixed32(16, flags)]))));
    const absent = withParent();
    assert.equal(absent.spanContext().traceFlags, TraceFlags.SAMPLED);
    assert.deepEqual(absent.parentSpanContext, {
      traceId: TRACE_ID,
      spanId: PARENT_ID,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: false,
    });
    // What the Python SDK sends: 0x100, or 0x300 under a remote parent, never the trace flags.
    assert.equal(withParent(0x100).spanContext().traceFlags, TraceFlags.SAMPLED);
    assert.deepEqual(withParent(0x300).parentSpanContext, {
      traceId: TRACE_ID,
      spanId: PARENT_ID,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    // A low byte written on purpose is kept, sampled or not (0x02 is W3C level 2's random flag).
    assert.equal(withParent(0x102).spanContext().traceFlags, 0x02);
    assert.equal(withParent(0x103).spanContext().traceFlags, 0x03);
    assert.equal(withParent(0x301).parentSpanContext?.isRemote, true);
    assert.equal(withParent(0x201).parentSpanContext?.isRemote, false); // remote bit without "known": unknown
    assert.equal(withParent(0xfffffc01).spanContext().traceFlags, TraceFlags.SAMPLED); // bits 10–31 ignored
    assert.equal(withParent(0x301).spanContext().isRemote, undefined);
  });

  it('link flags: the low byte and the remote bits; none means not sampled, not remote', () => {
    const span = only(
      request(
        spanBody(
          sub(13, bytes(1, hex(TRACE_ID)), bytes(2, hex(PARENT_ID))),
          sub(13, bytes(1, hex(TRACE_ID)), bytes(2, hex(PARENT_ID)), fixed32(6, 0x301), str(3, 'a=1,bad key=2,b=3')),
        ),
      ),
    );
    assert.deepEqual(
      span.links.map((l) => ({ ...l.context, traceState: l.context.traceState?.serialize() })),
      [
        { traceId: TRACE_ID, spanId: PARENT_ID, traceFlags: 0, isRemote: false, traceState: undefined },
        { traceId: TRACE_ID, spanId: PARENT_ID, traceFlags: 1, isRemote: true, traceState: 'a=1,b=3' }, // invalid member dropped
      ],
    );
  });

  it('a link to an invalid context is kept as it is', () => {
    const span = only(request(spanBody(sub(13, sub(4, keyValue('only', str(1, 'attributes')))))));
    assert.deepEqual(span.links[0].context.traceId, '');
    assert.deepEqual(span.links[0].attributes, { only: 'attributes' });
  });

  it('kind: OTLP − 1; UNSPECIFIED and unknown values are INTERNAL; unknown status codes are UNSET', () => {
    const kinds = [0, 1, 2, 3, 4, 5, 6, 2 ** 31].map((k) => only(request(spanBody(varint(6, k)))).kind);
    assert.deepEqual(kinds, [
      SpanKind.INTERNAL,
      SpanKind.INTERNAL,
      SpanKind.SERVER,
      SpanKind.CLIENT,
      SpanKind.PRODUCER,
      SpanKind.CONSUMER,
      SpanKind.INTERNAL,
      SpanKind.INTERNAL,
    ]);
    const codes = [0, 1, 2, 3, -1].map((c) => only(request(spanBody(sub(15, varint(3, c))))).status.code);
    assert.deepEqual(codes, [
      SpanStatusCode.UNSET,
      SpanStatusCode.OK,
      SpanStatusCode.ERROR,
      SpanStatusCode.UNSET,
      SpanStatusCode.UNSET,
    ]);
  });

  it('invalid ids reject the span, counted, with a message; the other spans are kept', () => {
    const zeros16 = new Uint8Array(16);
    const spanWith = (traceId: Uint8Array, spanId: Uint8Array, ...extra: Uint8Array[]): Uint8Array =>
      concat(bytes(1, traceId), bytes(2, spanId), str(5, 'x'), ...extra);
    const result = decode(
      request(
        spanBody(str(5, 'good 1')),
        spanWith(new Uint8Array(0), hex(SPAN_ID)),
        spanWith(hex(TRACE_ID).subarray(1), hex(SPAN_ID)),
        spanWith(zeros16, hex(SPAN_ID)),
        spanWith(hex(TRACE_ID), hex(SPAN_ID).subarray(1)),
        spanWith(hex(TRACE_ID), new Uint8Array(8)),
        spanWith(hex(TRACE_ID), hex(SPAN_ID), bytes(4, Uint8Array.of(1, 2, 3, 4))),
        concat(str(5, 'no ids at all')),
        spanBody(str(5, 'good 2'), bytes(4, new Uint8Array(8))), // an all-zero parent: a root span
      ),
    );
    assert.deepEqual(
      result.spans.map((s) => s.name),
      ['good 1', 'good 2'],
    );
    assert.equal(result.spans[1].parentSpanContext, undefined);
    assert.equal(result.rejected, 7);
    assert.equal(
      result.rejectionMessage,
      '7 invalid spans rejected: resourceSpans[0].scopeSpans[0].spans[1]: traceId is 0 bytes, expected 16 (and 6 more)',
    );
  });

  it('rejection messages name each problem', () => {
    const reason = (body: Uint8Array): string | undefined => decode(request(body)).rejectionMessage;
    assert.match(
      reason(concat(bytes(1, new Uint8Array(16)), bytes(2, hex(SPAN_ID))))!,
      /spans\[0\]: traceId is all zeroes$/,
    );
    assert.match(reason(concat(bytes(1, hex(TRACE_ID)), bytes(2, hex(TRACE_ID))))!, /spanId is 16 bytes, expected 8$/);
    assert.match(
      reason(spanBody(bytes(4, hex(TRACE_ID))))!,
      /^1 invalid span rejected: .*parentSpanId is 16 bytes, expected 0 or 8$/,
    );
  });
});

describe('protobuf: malformed bodies are OtlpDecodeErrors that say what and where', () => {
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['a truncated varint', Uint8Array.of(0x0a, 0x80), /^protobuf: truncated varint at byte 1$/],
    [
      'a length past the end',
      Uint8Array.of(0x0a, 0x05, 0x00),
      /^protobuf: length 5 at byte 1 runs past the end of its message at byte 3$/,
    ],
    [
      'a nested length past its parent, though inside the body',
      concat(sub(1, concat(tag(2, LEN), varintBytes(10))), new Uint8Array(20)),
      /^protobuf: resourceSpans\[0\]: length 10 at byte 3 runs past the end of its message at byte 4$/,
    ],
    ['wire type 7', Uint8Array.of((5 << 3) | 7), /^protobuf: invalid wire type 7 \(field 5\) at byte 0$/],
    [
      'wire type 6 inside a span',
      request(spanBody(varintBytes((99 << 3) | 6))),
      /spans\[0\]: invalid wire type 6 \(field 99\) at byte \d+$/,
    ],
    ['field number 0', Uint8Array.of(0x02, 0x00), /^protobuf: invalid field number at byte 0$/],
    ['an end group without a start', tag(7, EGROUP), /end-group without a start-group \(field 7\) at byte 0$/],
    [
      'an unterminated group',
      concat(tag(7, SGROUP), varint(1, 1)),
      /unterminated group \(field 7\) starting at byte 0$/,
    ],
    [
      'a mismatched end group',
      concat(tag(7, SGROUP), tag(8, EGROUP)),
      /end-group for field 8 at byte 1 closes the group of field 7/,
    ],
    [
      'groups nested 65 deep',
      concat(...Array.from({ length: 65 }, () => tag(7, SGROUP)), ...Array.from({ length: 65 }, () => tag(7, EGROUP))),
      /groups nested deeper than 64/,
    ],
    [
      'a varint over 10 bytes',
      concat(tag(1000, 0), new Uint8Array(10).fill(0xff), Uint8Array.of(1)),
      /truncated varint|varint longer than 64 bits/,
    ],
    [
      'a 10th varint byte over 1',
      concat(tag(1000, 0), new Uint8Array(9).fill(0xff), Uint8Array.of(0x02)),
      /^protobuf: varint longer than 64 bits at byte 2$/,
    ],
    [
      'a known field with the wrong wire type',
      request(spanBody(str(6, 'SERVER'))),
      /^protobuf: resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]: Span\.kind \(field 6\) has wire type 2 \(length-delimited\), expected 0 \(varint\) at byte \d+$/,
    ],
    [
      'a varint where the time is fixed64',
      request(spanBody(varint(7, 5))),
      /Span\.startTimeUnixNano \(field 7\) has wire type 0/,
    ],
    [
      'a truncated fixed64 time',
      request(concat(bytes(1, hex(TRACE_ID)), tag(7, 1), Uint8Array.of(1, 2, 3))),
      /spans\[0\]: truncated fixed64 at byte \d+$/,
    ],
    [
      'a broken attribute deep in an event',
      request(spanBody(sub(11, sub(3, keyValue('ok', str(1, 'v'))), sub(3, concat(tag(1, LEN), varintBytes(9)))))),
      /^protobuf: resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.events\[0\]\.attributes\[1\]: length 9 at byte \d+ runs past/,
    ],
    [
      'a string where a message is expected (bad nested tags)',
      request(spanBody(sub(15, Uint8Array.of(0xff)))),
      /status: truncated varint/,
    ],
    [
      'a string AnyValue for bool',
      request(spanBody(sub(9, keyValue('b', str(2, 'true'))))),
      /attributes\[0\]: AnyValue\.boolValue \(field 2\) has wire type 2/,
    ],
  ];
  for (const [what, body, message] of cases) {
    it(what, () => throwsDecode(body, message));
  }

  it('an empty body is an empty request', () => {
    assert.deepEqual(decode(new Uint8Array(0)), { spans: [], rejected: 0 });
  });

  it('a Buffer body decodes like a Uint8Array, including an offset into a larger buffer', () => {
    const body = request(spanBody(sub(9, keyValue('k', bytes(7, Uint8Array.of(7))))));
    const pooled = Buffer.concat([Buffer.from('garbage'), Buffer.from(body), Buffer.from('tail')]);
    const view = pooled.subarray(7, 7 + body.length);
    assert.deepEqual(otlpJsonView(decode(view).spans), otlpJsonView(decode(body).spans));
  });

  it('names the message the error is in, with a group at top level', () => {
    throwsDecode(
      msg(group(3, varint(1, 1)), Uint8Array.of(0x0a, 0x01)),
      /^protobuf: length 1 at byte 5 runs past the end of its message at byte 6$/,
    );
  });
});
