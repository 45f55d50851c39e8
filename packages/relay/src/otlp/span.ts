/*
 * What the protobuf and JSON decoders share: the RelaySpan class, exact nanosecond times, OTLP → API mappings
 * (kind, status, flags), id validation, one Resource per ResourceSpans and one scope object per ScopeSpans, and
 * the per-request rejection count. The representation choices are listed in the header of `protobuf.ts`.
 */
import { SpanKind, SpanStatusCode, TraceFlags, createTraceState } from '@opentelemetry/api';
import type { Attributes, HrTime, Link, SpanContext, SpanStatus, TraceState } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { Resource } from '@opentelemetry/resources';
import { attachDecodedResource, attachExact } from './exact.js';
import type { ExactRecord } from './exact.js';
import type { DecodeResult, Rejection, RelayEvent, RelayScope, RelaySpan } from './types.js';

const NANOS_PER_SECOND = 1_000_000_000;
const TWO_POW_32 = 4_294_967_296;

/** OTLP SpanFlags: bits 8 and 9 say whether the parent (or the linked span) is remote, when bit 8 is set. */
const FLAGS_TRACE_FLAGS_MASK = 0xff;
const FLAGS_IS_REMOTE_KNOWN_AND_SET = 0x300;

/** Deepest AnyValue nesting (arrays and kvlists inside each other) a request may carry. */
export const MAX_ANY_VALUE_DEPTH = 64;

/**
 * A decoded span. A class rather than an object literal with a `spanContext` closure: one hidden class for
 * every span and no closure per span. Fields are writable, as on the SDK's own span, because the processor
 * rewrites `attributes` and `name` in place.
 */
export class RelaySpanImpl implements RelaySpan {
  /** Set when the enclosing ResourceSpans has been read (its schema URL may come after its spans). */
  resource!: Resource;
  /** Set when the enclosing ScopeSpans has been read (its scope and schema URL may come after its spans). */
  instrumentationScope!: RelayScope;
  readonly ended = true;
  /**
   * The attribute map as decoded. The processor may replace `attributes` with a normalized copy; the encoders
   * find the exact values (exact.ts) through this one, and tell values as received from values written since.
   */
  readonly decodedAttributes: Attributes;

  constructor(
    public name: string,
    public kind: SpanKind,
    private readonly _spanContext: SpanContext,
    public parentSpanContext: SpanContext | undefined,
    public startTime: HrTime,
    public endTime: HrTime,
    public duration: HrTime,
    public status: SpanStatus,
    public attributes: Attributes,
    public links: Link[],
    public events: RelayEvent[],
    public droppedAttributesCount: number,
    public droppedEventsCount: number,
    public droppedLinksCount: number,
  ) {
    this.decodedAttributes = attributes;
  }

  spanContext(): SpanContext {
    return this._spanContext;
  }
}

/** The SDK's `SpanKind` for an OTLP kind: OTLP is the API's value plus one, and has UNSPECIFIED (0). */
export function apiSpanKind(otlpKind: number): SpanKind {
  // UNSPECIFIED and values no version of the proto defines become INTERNAL, which the API defaults to.
  return otlpKind >= 2 && otlpKind <= 5 ? otlpKind - 1 : SpanKind.INTERNAL;
}

/** The span status; an empty message is left out, as the SDK leaves it undefined. */
export function spanStatus(code: number, message: string): SpanStatus {
  const c =
    code === SpanStatusCode.OK || code === SpanStatusCode.ERROR ? (code as SpanStatusCode) : SpanStatusCode.UNSET;
  return message === '' ? { code: c } : { code: c, message };
}

/**
 * W3C trace flags from an OTLP span's `flags`: the low byte, except that a zero low byte means SAMPLED.
 * Zero is what proto3 decodes when the field is absent (senders older than the field), and it is what the
 * Python SDK sends: it writes only the is-remote bits (0x100, 0x300), never the trace flags
 * (opentelemetry-python `_span_flags` in the OTLP trace encoder, checked at 0a5d76b6, Aug 2026). A span that
 * reached an OTLP receiver was exported, and SDKs export sampled spans only, so SAMPLED is the right reading;
 * unsampled would also make every exporter-side processor drop it (BatchSpanProcessor and
 * GenAiEnrichingProcessor's own batcher skip spans without the SAMPLED bit). A non-zero low byte was written
 * on purpose and is kept as it is. The cost: a span the JS or Java SDK exported with trace flags 0 (only a
 * custom processor exports those) comes out sampled.
 */
export function spanTraceFlags(flags: number): number {
  const traceFlags = flags & FLAGS_TRACE_FLAGS_MASK;
  return traceFlags === 0 ? TraceFlags.SAMPLED : traceFlags;
}

/** Whether the parent (span flags) or the linked span (link flags) is remote: known and set. */
export function isRemoteFlag(flags: number): boolean {
  return (flags & FLAGS_IS_REMOTE_KNOWN_AND_SET) === FLAGS_IS_REMOTE_KNOWN_AND_SET;
}

/**
 * Trace flags of a link: the low byte as it is. Unlike a span, nothing says a linked span was sampled, so a
 * zero low byte (absent, or the Python SDK's is-remote-only flags) stays 0.
 */
export function linkTraceFlags(flags: number): number {
  return flags & FLAGS_TRACE_FLAGS_MASK;
}

// ── times ────────────────────────────────────────────────────────────────────────────────────────────

/**
 * A uint64 nanosecond count, given as its low and high 32 bits, as an HrTime, exactly and without BigInt:
 * long division by 1e9 in 16-bit digits keeps every intermediate below 2^53.
 */
export function hrTimeFromUint64(lo: number, hi: number): HrTime {
  if (hi < 0x200000) {
    // Below 2^53 the value itself is exact; the division can round up across a second boundary, so correct.
    const v = hi * TWO_POW_32 + lo;
    let s = Math.floor(v / NANOS_PER_SECOND);
    let n = v - s * NANOS_PER_SECOND;
    if (n < 0) {
      s--;
      n += NANOS_PER_SECOND;
    }
    return [s, n];
  }
  let r = hi >>> 16;
  let cur = r * 0x10000 + (hi & 0xffff);
  const q2 = Math.floor(cur / NANOS_PER_SECOND);
  r = cur - q2 * NANOS_PER_SECOND;
  cur = r * 0x10000 + (lo >>> 16);
  const q1 = Math.floor(cur / NANOS_PER_SECOND);
  r = cur - q1 * NANOS_PER_SECOND;
  cur = r * 0x10000 + (lo & 0xffff);
  const q0 = Math.floor(cur / NANOS_PER_SECOND);
  r = cur - q0 * NANOS_PER_SECOND;
  return [(q2 * 0x10000 + q1) * 0x10000 + q0, r];
}

const UINT64_MAX_DIGITS = '18446744073709551615';

/**
 * A uint64 nanosecond count written in decimal (proto3 JSON int64) as an HrTime, exactly: the last nine digits
 * are the nanoseconds. Returns undefined unless `digits` is 1 to 20 ASCII digits within uint64.
 */
export function hrTimeFromDecimal(digits: string): HrTime | undefined {
  const len = digits.length;
  if (len === 0 || len > 20 || !ALL_DIGITS.test(digits)) return undefined;
  if (len === 20 && digits > UINT64_MAX_DIGITS) return undefined;
  if (len <= 9) return [0, Number(digits)];
  return [Number(digits.slice(0, len - 9)), Number(digits.slice(len - 9))];
}
const ALL_DIGITS = /^\d+$/;

/** A non-negative integer nanosecond count held in a double (exact below 2^53) as an HrTime. */
export function hrTimeFromNumber(nanos: number): HrTime {
  if (nanos > Number.MAX_SAFE_INTEGER) {
    // Only reachable when a sender wrote the time in exponent form; it is already rounded, keep that value.
    const big = BigInt(nanos);
    return [Number(big / 1_000_000_000n), Number(big % 1_000_000_000n)];
  }
  let s = Math.floor(nanos / NANOS_PER_SECOND);
  let n = nanos - s * NANOS_PER_SECOND;
  if (n < 0) {
    s--;
    n += NANOS_PER_SECOND;
  }
  return [s, n];
}

/** end − start, or zero when the span ends before it starts (as the SDK clamps it). */
export function hrTimeDuration(start: HrTime, end: HrTime): HrTime {
  let s = end[0] - start[0];
  let n = end[1] - start[1];
  if (n < 0) {
    s--;
    n += NANOS_PER_SECOND;
  }
  return s < 0 ? [0, 0] : [s, n];
}

// ── attributes, resource, scope ──────────────────────────────────────────────────────────────────────

/** A mutable attribute map under construction. */
export type AttributeMap = Record<string, unknown>;

/** Sets `key`; a `__proto__` key becomes an own property instead of replacing the prototype. */
export function setAttribute(target: AttributeMap, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/** Whether a decoded value is a kvlist (a plain object), as opposed to an array, bytes, or a primitive. */
export function isKvlist(value: unknown): value is AttributeMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/**
 * The Resource of one ResourceSpans. `resourceFromAttributes` keeps the values as they are (it only awaits
 * promises), but its `attributes` getter leaves out undefined (empty AnyValue) values and it has no dropped
 * count: the decoded map and the count are kept beside it (exact.ts) for the encoders.
 */
export function makeResource(attributes: AttributeMap, schemaUrl: string, droppedAttributesCount: number): Resource {
  const resource = resourceFromAttributes(attributes as Attributes, schemaUrl === '' ? undefined : { schemaUrl });
  attachDecodedResource(resource, { attributes, droppedAttributesCount });
  return resource;
}

/** Collects one InstrumentationScope (the field may repeat on the wire, and repeats merge). */
export class ScopeFields {
  name = '';
  version = '';
  attributes: AttributeMap | undefined = undefined;
  /** The exact values of `attributes` (exact.ts). */
  exact: ExactRecord | undefined = undefined;
  droppedAttributesCount = 0;

  /**
   * The scope object for every span of the ScopeSpans; only what was sent, like the SDK's `{name, version, schemaUrl}`.
   */
  build(schemaUrl: string): RelayScope {
    const scope: { -readonly [K in keyof RelayScope]: RelayScope[K] } = { name: this.name };
    // Proto3 cannot tell an empty version from none; the SDK leaves it undefined.
    if (this.version !== '') scope.version = this.version;
    if (schemaUrl !== '') scope.schemaUrl = schemaUrl;
    if (this.attributes !== undefined && Object.keys(this.attributes).length > 0) {
      scope.attributes = this.attributes as Attributes;
      attachExact(this.attributes, this.exact);
    }
    if (this.droppedAttributesCount !== 0) scope.droppedAttributesCount = this.droppedAttributesCount;
    return scope;
  }
}

/** Gives `resource` and `scope` to the spans decoded since index `first`. */
export function assignResource(spans: RelaySpanImpl[], first: number, resource: Resource): void {
  for (let i = first; i < spans.length; i++) spans[i].resource = resource;
}

export function assignScope(spans: RelaySpanImpl[], first: number, scope: RelayScope): void {
  for (let i = first; i < spans.length; i++) spans[i].instrumentationScope = scope;
}

// ── per-request state ────────────────────────────────────────────────────────────────────────────────

/** Rejected spans and the trace states parsed so far, for one request. */
export class RequestState {
  rejected = 0;
  private _firstRejection: Rejection | undefined = undefined;
  // Spans of one trace usually repeat one trace state; TraceState objects are immutable, so they can be shared.
  private _traceStates: Map<string, TraceState> | undefined = undefined;

  traceState(serialized: string): TraceState | undefined {
    if (serialized === '') return undefined;
    if (this._traceStates === undefined) this._traceStates = new Map();
    let state = this._traceStates.get(serialized);
    if (state === undefined) {
      state = createTraceState(serialized);
      this._traceStates.set(serialized, state);
    }
    return state;
  }

  reject(resourceIndex: number, scopeIndex: number, spanIndex: number, why: string): void {
    if (this.rejected++ === 0) {
      this._firstRejection = { resource: resourceIndex, scope: scopeIndex, span: spanIndex, why };
    }
  }

  result(spans: RelaySpan[]): DecodeResult {
    const first = this._firstRejection;
    if (this.rejected === 0 || first === undefined) return { spans, rejected: 0 };
    return {
      spans,
      rejected: this.rejected,
      rejectionMessage: rejectionMessage(this.rejected, first),
      firstRejection: first,
    };
  }
}

/** The partial-success message for `count` rejected spans, the first of them `first`. */
export function rejectionMessage(count: number, first: Rejection): string {
  const more = count === 1 ? '' : ` (and ${count - 1} more)`;
  const noun = count === 1 ? 'span' : 'spans';
  const where = `resourceSpans[${first.resource}].scopeSpans[${first.scope}].spans[${first.span}]`;
  return `${count} invalid ${noun} rejected: ${where}: ${first.why}${more}`;
}

/** Why an id of `bytes` bytes (all zero or not) is invalid, or undefined when it is valid. */
export function idProblem(field: string, bytes: number, expected: number, allZero: boolean): string | undefined {
  if (bytes !== expected) return `${field} is ${bytes} bytes, expected ${expected}`;
  if (allZero) return `${field} is all zeroes`;
  return undefined;
}
