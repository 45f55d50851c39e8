/*
 * The round trip of roundtrip.test.ts on random spans: random attribute values of every kind the SDK's
 * serializers accept (including kvlists as plain objects, bytes, nested and mixed arrays, null/undefined),
 * random uint64 times, ids, flags, trace states, kinds, statuses, events, links, dropped counts, resources
 * and scopes. serialize → decode → serialize must give the same bytes, in both formats. Then the two decoders
 * must agree with each other on the same spans.
 *
 * The relay's own encoders: the same bytes as the SDK's protobuf serializer for SDK spans; and with exact
 * values the SDK cannot write (integral doubles, ints beyond 2^53, -0, NaN and ±Infinity in JSON), bytes they
 * wrote decode and re-encode to the same bytes, directly and by way of their JSON. (The independent check, by
 * protobuf's own Python codec, is independent-codec.test.ts.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createTraceState } from '@opentelemetry/api';
import type { Attributes, HrTime, Link, SpanContext } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { encodeJsonTraceRequest } from '../../src/otlp/encode-json.js';
import { encodeProtobufTraceRequest } from '../../src/otlp/encode-protobuf.js';
import { ExactDouble, ExactInt64 } from '../../src/otlp/exact.js';
import { decodeTraceRequest } from '../../src/otlp/index.js';
import type { OtlpFormat } from '../../src/otlp/index.js';

const NUM_RUNS = Number(process.env['FC_NUM_RUNS'] ?? 1000);

const key = fc.string({ unit: 'binary', maxLength: 12 }).filter((k) => k !== '__proto__');

/**
 * Attribute values. `finiteOnly` for JSON: the SDK's JSON serializer writes NaN and ±Infinity as `null`,
 * which is an empty AnyValue, so they cannot round-trip through JSON (a limitation of the serializer).
 * `exact` adds what only the relay's encoders write: integral doubles (ExactDouble) and int64 bits (ExactInt64).
 */
function attributeValue(finiteOnly: boolean, exact = false): fc.Arbitrary<unknown> {
  const scalars: Array<fc.Arbitrary<unknown>> = [
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.boolean(),
    fc.integer(),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => Number(n)),
    // -0 is a value only the relay's encoders keep (the SDK writes int 0): only with `exact`.
    fc.double({ noNaN: finiteOnly, noDefaultInfinity: finiteOnly }).map((d) => (!exact && Object.is(d, -0) ? 0 : d)),
    fc.uint8Array({ maxLength: 8 }),
    fc.constantFrom(undefined, null),
  ];
  if (exact) {
    scalars.push(
      fc
        .oneof(fc.integer({ min: -1000, max: 1000 }), fc.constantFrom(0, 2 ** 53, 2 ** 63, -(2 ** 63), 1e300))
        .map((n) => new ExactDouble(n)),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => ExactInt64.fromBigInt(n)),
    );
  }
  const scalar = fc.oneof(...scalars);
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      scalar,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(key, tie('value'), { maxKeys: 4 }),
    ),
  }));
  return value;
}

function attributesOf(finiteOnly: boolean, exact = false): fc.Arbitrary<Attributes> {
  return fc.dictionary(key, attributeValue(finiteOnly, exact), {
    maxKeys: 6,
    noNullPrototype: true,
  }) as fc.Arbitrary<Attributes>;
}

const hexId = (bytes: number): fc.Arbitrary<string> =>
  fc
    .uint8Array({ minLength: bytes, maxLength: bytes })
    .filter((b) => b.some((x) => x !== 0))
    .map((b) => Buffer.from(b).toString('hex'));

const hrTime: fc.Arbitrary<HrTime> = fc
  .bigInt({ min: 0n, max: 2n ** 64n - 1n })
  .map((n) => [Number(n / 1_000_000_000n), Number(n % 1_000_000_000n)] as HrTime);

const traceState = fc
  .constantFrom(undefined, 'a=1', 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')
  .map((s) => (s === undefined ? undefined : createTraceState(s)));

const count = fc.oneof(fc.constant(0), fc.nat(), fc.integer({ min: 0, max: 0xffffffff }));

function spans(finiteOnly: boolean, sameInBothFormats = false, exact = false): fc.Arbitrary<ReadableSpan[]> {
  const attributes = (f: boolean): fc.Arbitrary<Attributes> => attributesOf(f, exact);
  const resources = fc.array(
    fc
      .record({ attributes: attributes(finiteOnly), schemaUrl: fc.option(fc.webUrl(), { nil: undefined }) })
      .map(({ attributes: a, schemaUrl }) =>
        resourceFromAttributes(a, schemaUrl === undefined ? undefined : { schemaUrl }),
      ),
    { minLength: 1, maxLength: 2 },
  );
  // Unique by name, version and schema URL, as the SDK's tracers are: the serializers group spans by that
  // key, so two different scopes under one key would merge differently in the two formats.
  const scopes = fc
    .uniqueArray(
      fc.record(
        {
          name: fc.string({ maxLength: 10 }),
          version: fc.string({ minLength: 1, maxLength: 5 }),
          schemaUrl: fc.webUrl(),
          attributes: attributes(finiteOnly),
          droppedAttributesCount: count,
        },
        { requiredKeys: ['name'] },
      ),
      {
        minLength: 1,
        maxLength: 3,
        selector: (scope) => `${scope.name}@${scope.version ?? ''}:${scope.schemaUrl ?? ''}`,
      },
    )
    .map((list) =>
      // The JSON serializer writes a scope's dropped count only beside non-empty attributes; protobuf always.
      sameInBothFormats
        ? list.map(({ droppedAttributesCount, ...scope }) =>
            Object.keys(scope.attributes ?? {}).length > 0 ? { ...scope, droppedAttributesCount } : scope,
          )
        : list,
    );
  // A span's trace flags 0 decode as SAMPLED (see spanTraceFlags), so spans get 1–255; links any byte.
  const context = (isRemote: fc.Arbitrary<boolean | undefined>, minFlags = 0): fc.Arbitrary<SpanContext> =>
    fc.record({
      traceId: hexId(16),
      spanId: hexId(8),
      traceFlags: fc.integer({ min: minFlags, max: 255 }),
      isRemote,
      traceState,
    });
  const link: fc.Arbitrary<Link> = fc.record(
    {
      context: context(fc.option(fc.boolean(), { nil: undefined })),
      attributes: attributes(finiteOnly),
      droppedAttributesCount: count,
    },
    { requiredKeys: ['context'] },
  );
  const event = fc.record(
    {
      name: fc.string({ unit: 'binary', maxLength: 10 }),
      time: hrTime,
      attributes: attributes(finiteOnly),
      droppedAttributesCount: count,
    },
    { requiredKeys: ['name', 'time'] },
  );
  return fc.tuple(resources, scopes).chain(([rs, ss]) =>
    // Unique span ids: the decoders-agree property pairs spans up by id, and a real exporter never sends
    // two different spans under one id.
    fc.uniqueArray(
      fc
        .record({
          resource: fc.constantFrom(...rs),
          scope: fc.constantFrom(...ss),
          own: context(fc.constant(undefined), 1),
          parent: fc.option(fc.record({ spanId: hexId(8), isRemote: fc.option(fc.boolean(), { nil: undefined }) }), {
            nil: undefined,
          }),
          name: fc.string({ unit: 'binary', maxLength: 20 }),
          kind: fc.integer({ min: 0, max: 4 }),
          startTime: hrTime,
          endTime: hrTime,
          attributes: attributes(finiteOnly),
          events: fc.array(event, { maxLength: 3 }),
          links: fc.array(link, { maxLength: 3 }),
          status: fc.record({
            code: fc.integer({ min: 0, max: 2 }),
            message: fc.option(fc.string({ minLength: 1, maxLength: 10 }), { nil: undefined }),
          }),
          dropped: fc.tuple(count, count, count),
        })
        .map(
          (s) =>
            ({
              name: s.name,
              kind: s.kind,
              spanContext: () => s.own,
              parentSpanContext:
                s.parent === undefined
                  ? undefined
                  : { traceId: s.own.traceId, traceFlags: s.own.traceFlags, ...s.parent },
              startTime: s.startTime,
              endTime: s.endTime,
              duration: [0, 0],
              status: s.status.message === undefined ? { code: s.status.code } : s.status,
              attributes: s.attributes,
              links: s.links,
              events: s.events,
              ended: true,
              resource: s.resource,
              instrumentationScope: s.scope,
              droppedAttributesCount: s.dropped[0],
              droppedEventsCount: s.dropped[1],
              droppedLinksCount: s.dropped[2],
            }) as unknown as ReadableSpan,
        ),
      { maxLength: 6, selector: (span) => span.spanContext().traceId + span.spanContext().spanId },
    ),
  );
}

const serialize = {
  protobuf: (s: ReadableSpan[]): Uint8Array => ProtobufTraceSerializer.serializeRequest(s)!,
  json: (s: ReadableSpan[]): Uint8Array => JsonTraceSerializer.serializeRequest(s)!,
};

describe('round trip on random spans', () => {
  for (const format of ['protobuf', 'json'] as OtlpFormat[]) {
    it(`${format}: serialize → decode → serialize gives the same bytes`, () => {
      fc.assert(
        fc.property(spans(format === 'json'), (original) => {
          const first = serialize[format](original);
          const decoded = decodeTraceRequest(first, format);
          assert.equal(decoded.rejected, 0);
          assert.deepEqual(serialize[format](decoded.spans), first);
        }),
        { numRuns: NUM_RUNS },
      );
    });
  }

  it('the protobuf and JSON decoders agree', () => {
    fc.assert(
      fc.property(spans(true, true), (original) => {
        const fromProtobuf = decodeTraceRequest(serialize.protobuf(original), 'protobuf').spans;
        const fromJson = decodeTraceRequest(serialize.json(original), 'json').spans;
        // The JSON serializer merges same-named scopes that the protobuf one keeps apart, so compare spans
        // by id through the protobuf serializer, one at a time.
        assert.equal(fromJson.length, fromProtobuf.length);
        const byId = new Map(fromJson.map((s) => [s.spanContext().traceId + s.spanContext().spanId + s.name, s]));
        for (const p of fromProtobuf) {
          const j = byId.get(p.spanContext().traceId + p.spanContext().spanId + p.name);
          assert.ok(j);
          assert.deepEqual(serialize.protobuf([j]), serialize.protobuf([p]));
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe("the relay's encoders on random spans", () => {
  it("protobuf: the SDK serializer's bytes for SDK spans", () => {
    fc.assert(
      fc.property(spans(false), (original) => {
        assert.deepEqual(encodeProtobufTraceRequest(original), serialize.protobuf(original));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('exact values: protobuf → decode → encode, and by way of JSON, give the same bytes', () => {
    fc.assert(
      fc.property(spans(false, false, true), (original) => {
        const first = encodeProtobufTraceRequest(original);
        const decoded = decodeTraceRequest(first, 'protobuf');
        assert.equal(decoded.rejected, 0);
        assert.deepEqual(encodeProtobufTraceRequest(decoded.spans), first);
        const json = encodeJsonTraceRequest(decoded.spans);
        // Valid JSON (no bare NaN) that decodes to the same spans.
        JSON.parse(new TextDecoder().decode(json));
        const fromJson = decodeTraceRequest(json, 'json');
        assert.equal(fromJson.rejected, 0);
        assert.deepEqual(encodeProtobufTraceRequest(fromJson.spans), first);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
