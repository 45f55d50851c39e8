/*
 * The strongest check: real SDK spans → the SDK's own serializer → our decoder → RelaySpans → the same
 * serializer again must give identical bytes (protobuf) and identical text (JSON). Equal output means every
 * field the serializer reads survived, and the ResourceSpans/ScopeSpans grouping (by Resource identity and
 * scope) came back the same. Field-level asserts say which field broke when it does not.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { decodeTraceRequest } from '../../src/otlp/index.js';
import type { OtlpFormat, RelaySpan } from '../../src/otlp/index.js';
import { ALL_TYPES, LINKED, REMOTE_PARENT, sdkSpans } from './sdk-spans.js';

const serializers = {
  protobuf: (spans: ReadableSpan[]): Uint8Array => ProtobufTraceSerializer.serializeRequest(spans)!,
  json: (spans: ReadableSpan[]): Uint8Array => JsonTraceSerializer.serializeRequest(spans)!,
};

function roundTrip(format: OtlpFormat): {
  original: ReadableSpan[];
  first: Uint8Array;
  decoded: RelaySpan[];
  second: Uint8Array;
} {
  const original = sdkSpans();
  const first = serializers[format](original);
  const result = decodeTraceRequest(first, format);
  assert.equal(result.rejected, 0);
  assert.equal(result.rejectionMessage, undefined);
  const second = serializers[format](result.spans);
  return { original, first, decoded: result.spans, second };
}

/** `value` without its undefined properties (the SDK's scope has `version: undefined`; ours leaves it out). */
function defined(value: object): object {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

/** The JSON serializer's view of a request, for a readable diff when the bytes differ. */
function asJson(spans: ReadableSpan[]): unknown {
  return JSON.parse(new TextDecoder().decode(serializers.json(spans)));
}

for (const format of ['protobuf', 'json'] as const) {
  describe(`round trip through the SDK's ${format} serializer`, () => {
    it('re-serializes to the same bytes', () => {
      const { original, first, decoded, second } = roundTrip(format);
      assert.equal(decoded.length, original.length);
      assert.deepEqual(asJson(decoded), asJson(original)); // readable first
      assert.deepEqual(second, first);
    });

    it('keeps the ResourceSpans and ScopeSpans grouping: one Resource object per resource, one scope object per scope', () => {
      const { original, decoded } = roundTrip(format);
      const resourceOf = new Map<unknown, unknown>();
      const scopeOf = new Map<string, unknown>();
      for (let i = 0; i < original.length; i++) {
        const o = original[i];
        const d = decoded.find((s) => s.spanContext().spanId === o.spanContext().spanId)!;
        // Same original resource ⇔ same decoded resource object.
        if (!resourceOf.has(o.resource)) resourceOf.set(o.resource, d.resource);
        assert.equal(d.resource, resourceOf.get(o.resource));
        const scopeKey = `${o.resource === original[0].resource}/${o.instrumentationScope.name}`;
        if (!scopeOf.has(scopeKey)) scopeOf.set(scopeKey, d.instrumentationScope);
        assert.equal(d.instrumentationScope, scopeOf.get(scopeKey));
        assert.deepEqual(d.resource.attributes, o.resource.attributes);
        assert.equal(d.resource.schemaUrl, o.resource.schemaUrl);
        assert.deepEqual(d.instrumentationScope, defined(o.instrumentationScope));
      }
      assert.equal(new Set(decoded.map((s) => s.resource)).size, 2);
      assert.equal(new Set(decoded.map((s) => s.instrumentationScope)).size, 3);
    });

    it('decodes every field as the SDK had it', () => {
      const { original, decoded } = roundTrip(format);
      for (const o of original) {
        const d = decoded.find((s) => s.spanContext().spanId === o.spanContext().spanId);
        assert.ok(d, `span ${o.name} decoded`);
        assert.equal(d.name, o.name);
        assert.equal(d.kind, o.kind);
        const oc = o.spanContext();
        const dc = d.spanContext();
        assert.equal(dc.traceId, oc.traceId);
        assert.equal(dc.traceFlags, oc.traceFlags);
        assert.equal(dc.traceState?.serialize(), oc.traceState?.serialize());
        assert.equal(d.parentSpanContext?.spanId, o.parentSpanContext?.spanId);
        assert.equal(d.parentSpanContext?.isRemote ?? false, o.parentSpanContext?.isRemote ?? false);
        assert.deepEqual(d.startTime, o.startTime);
        assert.deepEqual(d.endTime, o.endTime);
        assert.deepEqual(d.duration, o.duration);
        assert.deepEqual(d.status, o.status);
        assert.deepEqual(d.attributes, o.attributes);
        assert.equal(d.droppedAttributesCount, o.droppedAttributesCount);
        assert.equal(d.droppedEventsCount, o.droppedEventsCount);
        assert.equal(d.droppedLinksCount, o.droppedLinksCount);
        assert.equal(d.ended, true);
        assert.deepEqual(
          d.events.map((e) => ({ ...e })),
          o.events.map((e) => ({ ...e, droppedAttributesCount: e.droppedAttributesCount ?? 0 })),
        );
        assert.equal(d.links.length, o.links.length);
        d.links.forEach((l, i) => {
          const ol = o.links[i];
          assert.equal(l.context.traceId, ol.context.traceId);
          assert.equal(l.context.spanId, ol.context.spanId);
          assert.equal(l.context.traceFlags, ol.context.traceFlags);
          assert.equal(l.context.isRemote, ol.context.isRemote ?? false);
          assert.equal(l.context.traceState?.serialize(), ol.context.traceState?.serialize());
          // The SDK leaves a link's attributes and dropped count out when there are none.
          assert.deepEqual(l.attributes, ol.attributes ?? {});
          assert.equal(l.droppedAttributesCount, ol.droppedAttributesCount ?? 0);
        });
      }
    });

    it('covers what it claims to: kinds, statuses, drops, parents, trace state', () => {
      const { decoded } = roundTrip(format);
      const byName = new Map(decoded.map((s) => [s.name, s]));
      assert.deepEqual(
        new Set(decoded.map((s) => s.kind)),
        new Set([SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER]),
      );
      const root = byName.get('POST /v1/chat')!;
      assert.deepEqual(root.attributes, ALL_TYPES);
      assert.deepEqual(root.startTime, [1787822507, 530918072]);
      assert.deepEqual(root.parentSpanContext, {
        traceId: REMOTE_PARENT.traceId,
        spanId: REMOTE_PARENT.spanId,
        traceFlags: TraceFlags.SAMPLED,
        isRemote: true,
      });
      assert.equal(root.spanContext().traceState?.serialize(), 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
      assert.equal(root.spanContext().isRemote, undefined);

      const child = byName.get('chat gpt-4o-mini')!;
      assert.equal(child.parentSpanContext?.spanId, root.spanContext().spanId);
      assert.equal(child.parentSpanContext?.isRemote, false);
      assert.deepEqual(child.status, { code: SpanStatusCode.ERROR, message: 'upstream returned 529: overloaded' });
      assert.equal(child.droppedEventsCount, 2);
      assert.equal(child.droppedLinksCount, 1);
      assert.equal(child.events[1].droppedAttributesCount, 1);
      assert.deepEqual(
        child.events.map((e) => e.name),
        ['gen_ai.content.prompt', 'over.limit.attributes', 'no.attributes'],
      );
      assert.deepEqual(child.events[0].time, [1787822507, 700000000]);
      assert.deepEqual(child.events[0].attributes, { 'gen_ai.prompt': 'Hi', index: 0 });
      assert.equal(child.links[0].context.traceState?.serialize(), 'vendor=value');
      assert.equal(child.links[0].context.traceId, LINKED.traceId);
      assert.equal(child.links[1].droppedAttributesCount, 1);
      assert.deepEqual(child.endTime, [1787822509, 999999999]);
      assert.deepEqual(child.duration, [2, 399999998]);

      assert.equal(byName.get('crowded')!.droppedAttributesCount, 4);
      assert.deepEqual(byName.get('crowded')!.status, { code: SpanStatusCode.OK });
      assert.equal(byName.get('enqueue')!.parentSpanContext, undefined);
      assert.equal(byName.get('enqueue')!.resource.schemaUrl, 'https://opentelemetry.io/schemas/1.26.0');
      assert.deepEqual(byName.get('enqueue')!.instrumentationScope, { name: 'worker.jobs', version: '0.3.0' });
      assert.deepEqual(byName.get('bare again')!.instrumentationScope, { name: 'bare-scope' });
      assert.deepEqual(byName.get('POST /v1/chat')!.instrumentationScope, {
        name: '@acme/llm',
        version: '2.0.1',
        schemaUrl: 'https://opentelemetry.io/schemas/1.37.0',
      });
    });
  });
}
