/*
 * The shapes the OTLP decoders produce. A RelaySpan is the SDK's ReadableSpan rebuilt from the wire: what
 * GenAiEnrichingProcessor reads (ReadableSpanLike) plus what the OTLP serializers of
 * `@opentelemetry/otlp-transformer` read (resource, scope, duration, dropped counts), so a decoded span can go
 * through the processor and out of the SDK's own OTLP exporter (as plain values), or of the relay's encoders
 * (exactly as received).
 */
import type { HrTime, Link } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpanLike, TimedEventLike } from '@genai-enrich/processor';

/** The two OTLP/HTTP body encodings: `application/x-protobuf` and `application/json`. */
export type OtlpFormat = 'protobuf' | 'json';

/**
 * One `InstrumentationScope` plus the `schema_url` of its ScopeSpans, as the SDK's Tracer carries it. Every
 * span of one decoded ScopeSpans shares one such object. `attributes` and `droppedAttributesCount` are set only
 * when the sender sent them (the SDK's own tracers have neither).
 */
export interface RelayScope {
  readonly name: string;
  readonly version?: string;
  readonly schemaUrl?: string;
  readonly attributes?: RelaySpan['attributes'];
  readonly droppedAttributesCount?: number;
}

/** A span event: `time` is exact to the nanosecond. */
export interface RelayEvent extends TimedEventLike {
  droppedAttributesCount: number;
}

/**
 * A decoded span. Every span of one ResourceSpans shares one `resource` object (the serializers group by
 * Resource identity) and every span of one ScopeSpans one `instrumentationScope` object.
 *
 * Attribute values (span, event, link, resource and scope attributes) are plain JS values that the OTLP
 * serializers accept: string, number, boolean, arrays of those, and also, beyond the API's `AttributeValue`
 * type, nested arrays and mixed-type arrays, `Uint8Array` (bytesValue), plain objects (kvlistValue) and
 * `undefined` (an empty AnyValue). What a number cannot say (a double that is integral, an int beyond 2^53) is
 * kept beside the span for the relay's encoders (`encodeTraceRequest`). See the header of `protobuf.ts` for
 * every representation choice.
 */
export interface RelaySpan extends ReadableSpanLike {
  readonly resource: Resource;
  readonly instrumentationScope: RelayScope;
  readonly duration: HrTime;
  readonly events: RelayEvent[];
  readonly links: Link[];
  readonly droppedAttributesCount: number;
  readonly droppedEventsCount: number;
  readonly droppedLinksCount: number;
}

/**
 * What a request decoded to. `rejected` counts the spans left out because they were invalid (a trace id that
 * is not 16 non-zero bytes, a span id that is not 8 non-zero bytes, a parent span id that is neither empty nor
 * 8 bytes); the rest of the request is in `spans`. `rejectionMessage` says why, for the partial-success
 * response; `firstRejection` is the first rejected span, where it was and why.
 */
export interface DecodeResult {
  spans: RelaySpan[];
  rejected: number;
  rejectionMessage?: string;
  firstRejection?: Rejection;
}

/** A rejected span: its place in the request (indexes of its ResourceSpans, ScopeSpans and span) and why. */
export interface Rejection {
  resource: number;
  scope: number;
  span: number;
  why: string;
}
