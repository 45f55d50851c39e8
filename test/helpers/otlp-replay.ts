/*
 * Kept apart from the relay's decoder on purpose: the tests read OTLP with code that is not under test, so
 * a relay decoder bug cannot hide in both the input and the check. (The demo uses the relay's decoder.)
 *
 * Turns decoded OTLP spans (test/helpers/otlp-json.ts) back into the ReadableSpan shape the SDK hands to
 * `SpanProcessor.onEnd`, so spans exported by a Python SDK can be replayed through GenAiEnrichingProcessor
 * and the real `@opentelemetry/exporter-trace-otlp-http` serializer.
 *
 * What the serializer (otlp-transformer `sdkSpanToOtlpSpan` / `createExportTraceServiceRequest`) reads, and
 * how each is rebuilt here:
 * - `resource`: spans are grouped into ResourceSpans by Resource *identity*, so every span of one decoded
 *   ResourceSpans shares one `resourceFromAttributes` object (the decoder already shares one attribute
 *   object per ResourceSpans; that identity is the key);
 * - `instrumentationScope`: grouped by `name@version:schemaUrl`, and the processor caches its GenAI verdict
 *   per scope object, so one object per decoded ScopeSpans, as one SDK tracer would have;
 * - `spanContext()`, `parentSpanContext`, `kind` (API enum = OTLP value - 1), hrtime `startTime`/`endTime`/
 *   `duration`, `events[].time`, `links`, `status`, the dropped counts and `ended: true`.
 * Times are bigint nanoseconds split into [seconds, nanoseconds]; a JS number cannot hold epoch nanoseconds.
 *
 * The decoder does not keep `flags`, `traceState`, schema URLs, scope attributes or dropped counts, so
 * replayed spans are sampled, have local parents, no trace state, no schema URL, and report zero drops.
 * Grouping relies on the decoder sharing one resource attribute object per ResourceSpans and one scope
 * object per ScopeSpans.
 */
import { SpanKind, TraceFlags } from '@opentelemetry/api';
import type { Attributes, HrTime, Link, SpanContext, SpanStatus } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpanLike, TimedEventLike } from '@genai-enrich/processor';
import type { DecodedSpan } from './otlp-json.js';

const NANOS_PER_SECOND = 1_000_000_000n;

/** An instrumentation scope as the SDK's ReadableSpan carries it. */
export interface ReplayScope {
  readonly name: string;
  readonly version?: string;
  readonly schemaUrl?: string;
}

/** The SDK's ReadableSpan, rebuilt from a decoded OTLP span: what the processor and the OTLP serializer read. */
export interface ReplaySpan extends ReadableSpanLike {
  readonly resource: Resource;
  readonly instrumentationScope: ReplayScope;
  readonly duration: HrTime;
  readonly droppedAttributesCount: number;
  readonly droppedEventsCount: number;
  readonly droppedLinksCount: number;
}

/** Epoch nanoseconds as an HrTime, exactly. */
export function nanosToHrTime(nanos: bigint): HrTime {
  if (nanos < 0n) throw new RangeError(`negative time ${nanos}`);
  return [Number(nanos / NANOS_PER_SECOND), Number(nanos % NANOS_PER_SECOND)];
}

/** An HrTime as epoch nanoseconds, exactly. */
export function hrTimeToNanos(time: HrTime): bigint {
  return BigInt(time[0]) * NANOS_PER_SECOND + BigInt(time[1]);
}

/** OTLP span kinds are the API's plus one (0 is UNSPECIFIED, which the API cannot express). */
function toApiKind(otlpKind: number): SpanKind {
  switch (otlpKind) {
    case 2:
      return SpanKind.SERVER;
    case 3:
      return SpanKind.CLIENT;
    case 4:
      return SpanKind.PRODUCER;
    case 5:
      return SpanKind.CONSUMER;
    default:
      // UNSPECIFIED (0) and INTERNAL (1) both become INTERNAL, which the exporter writes back as 1.
      return SpanKind.INTERNAL;
  }
}

function toStatus(status: DecodedSpan['status']): SpanStatus {
  // The decoder turns an absent message into ''; the SDK leaves it undefined.
  return status.message === '' ? { code: status.code } : { code: status.code, message: status.message };
}

/**
 * Rebuilds one span per decoded span, in the same order. Spans decoded from the same ResourceSpans share
 * one Resource object and those from the same ScopeSpans one scope object, as spans from one SDK do.
 * Each span gets its own attribute map, so the processor can rewrite it without touching the input.
 */
export function toReplaySpans(decoded: readonly DecodedSpan[]): ReplaySpan[] {
  const resources = new Map<Attributes, Resource>();
  const scopes = new Map<object, ReplayScope>();
  return decoded.map((d) => {
    let resource = resources.get(d.resource);
    if (resource === undefined) {
      resource = resourceFromAttributes({ ...d.resource });
      resources.set(d.resource, resource);
    }
    let scope = scopes.get(d.scope);
    if (scope === undefined) {
      // An empty version means none was set (Python's get_tracer(__name__, "")); the SDK keeps undefined.
      scope = d.scope.version === '' ? { name: d.scope.name } : { name: d.scope.name, version: d.scope.version };
      scopes.set(d.scope, scope);
    }
    const context: SpanContext = { traceId: d.traceId, spanId: d.spanId, traceFlags: TraceFlags.SAMPLED };
    const parent: SpanContext | undefined =
      d.parentSpanId === ''
        ? undefined
        : { traceId: d.traceId, spanId: d.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: false };
    const startTime = nanosToHrTime(d.startTimeUnixNano);
    const endTime = nanosToHrTime(d.endTimeUnixNano);
    const events: TimedEventLike[] = d.events.map((e) => ({
      name: e.name,
      time: nanosToHrTime(e.timeUnixNano),
      attributes: { ...e.attributes },
      droppedAttributesCount: 0,
    }));
    const links: Link[] = d.links.map((l) => ({
      context: { traceId: l.traceId, spanId: l.spanId, traceFlags: TraceFlags.SAMPLED },
      attributes: { ...l.attributes },
      droppedAttributesCount: 0,
    }));
    const span: ReplaySpan = {
      name: d.name,
      kind: toApiKind(d.kind),
      spanContext: () => context,
      parentSpanContext: parent,
      startTime,
      endTime,
      duration: nanosToHrTime(d.endTimeUnixNano >= d.startTimeUnixNano ? d.endTimeUnixNano - d.startTimeUnixNano : 0n),
      status: toStatus(d.status),
      attributes: { ...d.attributes },
      links,
      events,
      ended: true,
      resource,
      instrumentationScope: scope,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
    return span;
  });
}

/**
 * The spans in the order an SDK ends them: by end time, ties kept in input order (a Python OTLP request
 * lists each scope's spans in the order they ended, and spans that end at the same instant, like LiteLLM's,
 * in the order `end()` was called).
 */
export function inEndOrder<T extends ReadableSpanLike>(spans: readonly T[]): T[] {
  return spans
    .map((span, index) => ({ span, index, end: hrTimeToNanos(span.endTime) }))
    .sort((a, b) => (a.end < b.end ? -1 : a.end > b.end ? 1 : a.index - b.index))
    .map((entry) => entry.span);
}

/**
 * Splits spans by the service (Resource) that exported them, keeping first-seen order: each service
 * exports its own requests, so a relay sees each group as separate onEnd batches.
 */
export function byResource<T extends ReplaySpan>(spans: readonly T[]): T[][] {
  const groups = new Map<Resource, T[]>();
  for (const span of spans) {
    const group = groups.get(span.resource);
    if (group === undefined) groups.set(span.resource, [span]);
    else group.push(span);
  }
  return [...groups.values()];
}
