/*
 * A hand-written decoder for `opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest` (binary
 * protobuf, the body of an OTLP/HTTP `application/x-protobuf` POST), straight into RelaySpans.
 *
 * What it reads (field numbers checked against open-telemetry/opentelemetry-proto @ac2c4b5d, Aug 2026):
 *   ExportTraceServiceRequest{resource_spans=1}
 *   ResourceSpans{resource=1, scope_spans=2, schema_url=3}     Resource{attributes=1, dropped_attributes_count=2}
 *   ScopeSpans{scope=1, spans=2, schema_url=3}                 InstrumentationScope{name=1, version=2,
 *                                                                attributes=3, dropped_attributes_count=4}
 *   Span{trace_id=1, span_id=2, trace_state=3, parent_span_id=4, name=5, kind=6, start_time_unix_nano=7
 *        (fixed64), end_time_unix_nano=8 (fixed64), attributes=9, dropped_attributes_count=10, events=11,
 *        dropped_events_count=12, links=13, dropped_links_count=14, status=15, flags=16 (fixed32)}
 *   Span.Event{time_unix_nano=1 (fixed64), name=2, attributes=3, dropped_attributes_count=4}
 *   Span.Link{trace_id=1, span_id=2, trace_state=3, attributes=4, dropped_attributes_count=5, flags=6 (fixed32)}
 *   Status{message=2, code=3}   (1 is reserved)
 *   KeyValue{key=1, value=2}    KeyValueList{values=1}    ArrayValue{values=1}
 *   AnyValue{string_value=1, bool_value=2, int_value=3, double_value=4, array_value=5, kvlist_value=6,
 *            bytes_value=7}
 * Skipped like unknown fields: AnyValue.string_value_strindex=8 and KeyValue.key_strindex=3 (profiles only;
 * the proto says other receivers process the data as if they were absent), Resource.entity_refs=3
 * (development; the SDK's Resource has nowhere to keep it).
 *
 * Wire format:
 * - Unknown fields of every wire type are skipped: varint, fixed64, length-delimited, fixed32, and groups
 *   (start/end group, matched by field number, nesting bounded like AnyValue). Wire types 6 and 7, an end
 *   group without its start, field number 0, a known field with the wrong wire type (protobuf-go would keep
 *   it as an unknown field and drop the value silently; gogo-generated decoders reject it, and a broken sender
 *   is better told), a varint longer than 10 bytes, and any length or fixed-size value running past the end
 *   of its enclosing message are errors: OtlpDecodeError, naming the field path and the byte offset.
 * - Fields may come in any order; a repeated singular field keeps its last value, and a repeated singular
 *   message merges into the first (Resource, InstrumentationScope, Status, and an AnyValue's array or kvlist,
 *   whose elements are appended), as protobuf requires. Packed encoding does not arise: every repeated field
 *   of these messages is a message.
 * - Strings: invalid UTF-8 becomes U+FFFD (non-fatal, as TextDecoder does by default) rather than rejecting the
 *   request, since one truncated multi-byte character in an LLM prompt attribute should not lose a batch.
 *   Decoded with Node's Buffer `utf8Slice` (51 vs 81 ns per short attribute string against
 *   `TextDecoder.decode(subarray)`, which also allocates the view; measured), TextDecoder where Buffer is
 *   missing. Strings up to 64 bytes first go through a small per-request cache of earlier occurrences in the
 *   same body (compared byte for byte): attribute keys and many values repeat from span to span, and a cached
 *   string is already internalized, so storing the attribute is cheaper too. It cut decoding a 512-span GenAI
 *   batch by about a fifth.
 * - AnyValue nesting deeper than 64 (MAX_ANY_VALUE_DEPTH) is an error, so a hostile body cannot exhaust the stack.
 *
 * Representation (shared with the JSON decoder). Every attribute gets a plain JS value, which the processor and
 * the normalizer read, and the SDK's OTLP serializers accept too; where a JS value cannot say everything the
 * AnyValue said, the exact value is kept beside it (exact.ts), and the relay's encoders (encode-protobuf.ts,
 * encode-json.ts) write it back. The guarantee: an attribute the processor did not change is forwarded as the
 * same AnyValue, in both protocols and both directions, type and bits included.
 * - times: fixed64 nanoseconds → HrTime [seconds, nanoseconds], exact to the nanosecond over the whole uint64
 *   range, without BigInt (16-bit long division); `duration` = end − start, 0 when negative (as the SDK does).
 * - int_value: a JS number. Beyond ±2^53 it is the nearest double (2^53 + 1 → 2^53), the value JSON.parse and
 *   `Number("…")` give too, and the exact 64 bits are kept beside it (ExactInt64). Chosen over a string because
 *   the attribute keeps its type (a token count stays a number for the normalizer); over BigInt because the
 *   SDK's JSON serializer throws on BigInt, its protobuf serializer writes nothing for it, and the normalizer
 *   reads numbers.
 * - double_value: a number, NaN, ±Infinity and −0 included. An integral double (2.0) is the number 2, marked
 *   exact (ExactDouble), so that it is written back as double_value 2.0, not int_value 2; −0 needs no mark
 *   (no int is −0).
 * - bytes_value: a Uint8Array (a copy, so the request body is not kept alive) → written back as bytes_value.
 * - kvlist_value: a plain object (duplicate keys: the last wins) → written back as kvlist_value. Not a JSON
 *   string: that would change the value's type downstream, and the serializers take objects.
 * - array_value: a JS array of decoded values, also nested or of mixed types (written back element by element;
 *   an array holding an integral double or a big int is kept exact as a whole).
 * - empty AnyValue (no field set): undefined, written back as an empty AnyValue. The SDK's Resource drops
 *   undefined values; the relay keeps the resource's attributes as decoded beside it (exact.ts).
 * - ids: lowercase hex. A span whose trace id is not 16 bytes, whose span id is not 8 bytes, or either all
 *   zeroes, or whose parent span id is neither empty nor 8 bytes, is rejected and counted, not an error; an
 *   all-zero parent span id means no parent. Link ids are kept as they come (a link may point to an invalid
 *   context).
 * - kind: API SpanKind = OTLP kind − 1; UNSPECIFIED and unknown values → INTERNAL (written back as INTERNAL).
 *   Status code: unknown → UNSET.
 * - flags: trace flags = flags & 0xff, SAMPLED when that is 0: absent, or the Python SDK, which writes only
 *   the is-remote bits (see spanTraceFlags); link flags keep their low byte, 0 included. The parent
 *   context's `isRemote` is true when bits 8 and 9 are both set; a root span's bits 8/9 and bits 10–31 are not
 *   kept (the encoders, like the SDK's serializers, rebuild flags from traceFlags and the parent's isRemote,
 *   always with bit 8).
 * - spanContext(): `{traceId, spanId, traceFlags, traceState}` as the SDK builds it, without `isRemote`: the
 *   span itself was created in the sending process; remoteness is a property of its parent, which OTLP carries.
 *   parentSpanContext: `{traceId, spanId, traceFlags (the span's), isRemote}`; no trace state (OTLP has none).
 * - trace_state: `createTraceState(…)`, so invalid list members are dropped and one longer than 512 characters
 *   is dropped whole, as the SDK does when it parses a `tracestate` header. Empty → undefined.
 * - resource: one `resourceFromAttributes(attributes, {schemaUrl})` per ResourceSpans; its attributes as
 *   decoded and its dropped_attributes_count are kept beside it for the relay's encoders (the SDK's
 *   serializers write the Resource's own attributes and a dropped count of 0).
 * - instrumentationScope: one `{name, version?, schemaUrl?, attributes?, droppedAttributesCount?}` per
 *   ScopeSpans; an empty version is left out. The encoders group spans by this object, so two ScopeSpans that
 *   differ only in attributes stay two.
 */
import type { Attributes, Link } from '@opentelemetry/api';
import { DecodeProblem } from './errors.js';
import { ExactDouble, ExactInt64, attachExact, isIntegralDouble, noteExact } from './exact.js';
import type { ExactRecord } from './exact.js';
import {
  MAX_ANY_VALUE_DEPTH,
  RelaySpanImpl,
  RequestState,
  ScopeFields,
  apiSpanKind,
  assignResource,
  assignScope,
  hrTimeDuration,
  hrTimeFromUint64,
  idProblem,
  isKvlist,
  isRemoteFlag,
  linkTraceFlags,
  makeResource,
  setAttribute,
  spanStatus,
  spanTraceFlags,
} from './span.js';
import type { AttributeMap } from './span.js';
import type { DecodeResult, RelayEvent } from './types.js';
import { EGROUP, I32, I64, LEN, SGROUP, VARINT } from './wire.js';

const WIRE_TYPE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32'];

/** Known fields of a message, by field number: name and wire type, to report a wire type mismatch. */
type FieldTable = ReadonlyArray<readonly [name: string, wireType: number] | undefined>;

function fields(
  message: string,
  list: ReadonlyArray<readonly [number, string, number]>,
): { message: string; table: FieldTable } {
  const table: Array<readonly [string, number] | undefined> = [];
  for (const [n, name, wt] of list) table[n] = [name, wt];
  return { message, table };
}

const REQUEST = fields('ExportTraceServiceRequest', [[1, 'resourceSpans', LEN]]);
const RESOURCE_SPANS = fields('ResourceSpans', [
  [1, 'resource', LEN],
  [2, 'scopeSpans', LEN],
  [3, 'schemaUrl', LEN],
]);
const RESOURCE = fields('Resource', [
  [1, 'attributes', LEN],
  [2, 'droppedAttributesCount', VARINT],
]);
const SCOPE_SPANS = fields('ScopeSpans', [
  [1, 'scope', LEN],
  [2, 'spans', LEN],
  [3, 'schemaUrl', LEN],
]);
const SCOPE = fields('InstrumentationScope', [
  [1, 'name', LEN],
  [2, 'version', LEN],
  [3, 'attributes', LEN],
  [4, 'droppedAttributesCount', VARINT],
]);
const SPAN = fields('Span', [
  [1, 'traceId', LEN],
  [2, 'spanId', LEN],
  [3, 'traceState', LEN],
  [4, 'parentSpanId', LEN],
  [5, 'name', LEN],
  [6, 'kind', VARINT],
  [7, 'startTimeUnixNano', I64],
  [8, 'endTimeUnixNano', I64],
  [9, 'attributes', LEN],
  [10, 'droppedAttributesCount', VARINT],
  [11, 'events', LEN],
  [12, 'droppedEventsCount', VARINT],
  [13, 'links', LEN],
  [14, 'droppedLinksCount', VARINT],
  [15, 'status', LEN],
  [16, 'flags', I32],
]);
const EVENT = fields('Span.Event', [
  [1, 'timeUnixNano', I64],
  [2, 'name', LEN],
  [3, 'attributes', LEN],
  [4, 'droppedAttributesCount', VARINT],
]);
const LINK = fields('Span.Link', [
  [1, 'traceId', LEN],
  [2, 'spanId', LEN],
  [3, 'traceState', LEN],
  [4, 'attributes', LEN],
  [5, 'droppedAttributesCount', VARINT],
  [6, 'flags', I32],
]);
const STATUS = fields('Status', [
  [2, 'message', LEN],
  [3, 'code', VARINT],
]);
const KEY_VALUE = fields('KeyValue', [
  [1, 'key', LEN],
  [2, 'value', LEN],
]);
const ANY_VALUE = fields('AnyValue', [
  [1, 'stringValue', LEN],
  [2, 'boolValue', VARINT],
  [3, 'intValue', VARINT],
  [4, 'doubleValue', I64],
  [5, 'arrayValue', LEN],
  [6, 'kvlistValue', LEN],
  [7, 'bytesValue', LEN],
]);
const VALUES_LIST = fields('ArrayValue', [[1, 'values', LEN]]);
const KVLIST = fields('KeyValueList', [[1, 'values', LEN]]);

// Tags (field number << 3 | wire type) of the fields read, so that one switch dispatches on both.
const T1_LEN = (1 << 3) | LEN;
const T2_LEN = (2 << 3) | LEN;
const T3_LEN = (3 << 3) | LEN;
const T4_LEN = (4 << 3) | LEN;
const T5_LEN = (5 << 3) | LEN;
const T6_LEN = (6 << 3) | LEN;
const T7_LEN = (7 << 3) | LEN;
const T9_LEN = (9 << 3) | LEN;
const T11_LEN = (11 << 3) | LEN;
const T13_LEN = (13 << 3) | LEN;
const T15_LEN = (15 << 3) | LEN;
const T1_I64 = (1 << 3) | I64;
const T4_I64 = (4 << 3) | I64;
const T7_I64 = (7 << 3) | I64;
const T8_I64 = (8 << 3) | I64;
const T2_VARINT = (2 << 3) | VARINT;
const T3_VARINT = (3 << 3) | VARINT;
const T4_VARINT = (4 << 3) | VARINT;
const T5_VARINT = (5 << 3) | VARINT;
const T6_VARINT = (6 << 3) | VARINT;
const T10_VARINT = (10 << 3) | VARINT;
const T12_VARINT = (12 << 3) | VARINT;
const T14_VARINT = (14 << 3) | VARINT;
const T6_I32 = (6 << 3) | I32;
const T16_I32 = (16 << 3) | I32;

interface NodeBufferSlices {
  utf8Slice(start: number, end: number): string;
  hexSlice(start: number, end: number): string;
}

const HAS_BUFFER_SLICES =
  typeof Buffer === 'function' &&
  typeof (Buffer.prototype as unknown as Partial<NodeBufferSlices>).utf8Slice === 'function' &&
  typeof (Buffer.prototype as unknown as Partial<NodeBufferSlices>).hexSlice === 'function';

const textDecoder = new TextDecoder();
const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

/** Strings up to this many bytes are looked up in the per-request cache of recent strings. */
const MAX_CACHED_STRING = 64;
const STRING_CACHE_SLOTS = 512;

/** The body and a cursor. `hi` holds the high 32 bits of the last varint read. */
class Reader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  private readonly _slices: NodeBufferSlices | undefined;
  pos = 0;
  hi = 0;
  /** The exact form of the AnyValue just decoded when its plain value loses something (see exact.ts), else undefined. */
  exact: unknown = undefined;
  /** The key and plain value of the KeyValue just decoded. */
  key = '';
  value: unknown = undefined;
  private readonly _cacheStarts = new Int32Array(STRING_CACHE_SLOTS);
  private readonly _cacheLengths = new Int32Array(STRING_CACHE_SLOTS);
  private readonly _cacheStrings: Array<string | undefined> = new Array<string | undefined>(STRING_CACHE_SLOTS).fill(
    undefined,
  );

  constructor(body: Uint8Array) {
    // A plain Uint8Array view even if the caller passed a Buffer, so that slice() copies.
    this.buf = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    this.view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    this._slices = HAS_BUFFER_SLICES
      ? (Buffer.from(body.buffer, body.byteOffset, body.byteLength) as unknown as NodeBufferSlices)
      : undefined;
  }

  utf8(start: number, end: number): string {
    if (start === end) return '';
    const length = end - start;
    if (length > MAX_CACHED_STRING) return this._decode(start, end);
    // Attribute keys and many values repeat from span to span: an earlier occurrence in the same body gives
    // the string back without decoding it, already internalized, which also makes the attribute store cheaper.
    const buf = this.buf;
    const slot =
      (length * 31 + buf[start] * 7 + buf[end - 1] * 3 + buf[start + (length >> 1)]) & (STRING_CACHE_SLOTS - 1);
    const cachedStart = this._cacheStarts[slot];
    if (this._cacheLengths[slot] === length) {
      let i = 0;
      while (i < length && buf[cachedStart + i] === buf[start + i]) i++;
      if (i === length) return this._cacheStrings[slot]!;
    }
    const s = this._decode(start, end);
    this._cacheStarts[slot] = start;
    this._cacheLengths[slot] = length;
    this._cacheStrings[slot] = s;
    return s;
  }

  private _decode(start: number, end: number): string {
    return this._slices !== undefined
      ? this._slices.utf8Slice(start, end)
      : textDecoder.decode(this.buf.subarray(start, end));
  }

  hex(start: number, end: number): string {
    if (this._slices !== undefined) return this._slices.hexSlice(start, end);
    let out = '';
    for (let i = start; i < end; i++) out += HEX[this.buf[i]];
    return out;
  }
}

/** Appends `segment` to a DecodeProblem's path on its way out; anything else passes through untouched. */
function at(problem: unknown, segment: string): unknown {
  if (problem instanceof DecodeProblem) problem.at(segment);
  return problem;
}

// ── primitives ───────────────────────────────────────────────────────────────────────────────────────

/** Reads a varint of up to 64 bits: returns the low 32 bits (unsigned) and leaves the high 32 in `r.hi`. */
function readVarint(r: Reader, end: number): number {
  const buf = r.buf;
  const start = r.pos;
  let pos = start;
  if (pos >= end) throw new DecodeProblem(`truncated varint at byte ${start}`);
  let b = buf[pos++];
  if (b < 0x80) {
    r.pos = pos;
    r.hi = 0;
    return b;
  }
  let lo = b & 0x7f;
  for (let shift = 7; shift < 28; shift += 7) {
    if (pos >= end) throw new DecodeProblem(`truncated varint at byte ${start}`);
    b = buf[pos++]!;
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) {
      r.pos = pos;
      r.hi = 0;
      return lo;
    }
  }
  // Byte 5 holds bits 28–34: four for the low word, three for the high one.
  if (pos >= end) throw new DecodeProblem(`truncated varint at byte ${start}`);
  b = buf[pos++]!;
  lo = (lo | ((b & 0x0f) << 28)) >>> 0;
  let hi = (b & 0x7f) >>> 4;
  if (b >= 0x80) {
    for (let shift = 3; shift < 31; shift += 7) {
      if (pos >= end) throw new DecodeProblem(`truncated varint at byte ${start}`);
      b = buf[pos++]!;
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    if (b >= 0x80) {
      // Byte 10 holds bit 63 only.
      if (pos >= end) throw new DecodeProblem(`truncated varint at byte ${start}`);
      b = buf[pos++]!;
      if (b > 1) throw new DecodeProblem(`varint longer than 64 bits at byte ${start}`);
      hi |= b << 31;
    }
  }
  r.pos = pos;
  r.hi = hi >>> 0;
  return lo;
}

/** The int64 in (lo, r.hi) as the nearest double. */
function int64Value(lo: number, hi: number): number {
  if (hi < 0x80000000) return hi * 4_294_967_296 + lo;
  // Two's complement: −(~value + 1), with one rounding.
  return -((~hi >>> 0) * 4_294_967_296 + ((~lo >>> 0) + 1));
}

function readTag(r: Reader, end: number): number {
  const start = r.pos;
  const tag = readVarint(r, end);
  if (r.hi !== 0 || tag >>> 3 === 0) throw new DecodeProblem(`invalid field number at byte ${start}`);
  return tag;
}

/** Reads a length prefix and returns where the delimited bytes end, checked against the enclosing message. */
function readLengthEnd(r: Reader, end: number): number {
  const start = r.pos;
  const length = readVarint(r, end);
  if (r.hi !== 0 || length > end - r.pos) {
    const shown = r.hi !== 0 ? 'over 2^32' : String(length);
    throw new DecodeProblem(`length ${shown} at byte ${start} runs past the end of its message at byte ${end}`);
  }
  return r.pos + length;
}

function readString(r: Reader, end: number): string {
  const stop = readLengthEnd(r, end);
  const s = r.utf8(r.pos, stop);
  r.pos = stop;
  return s;
}

function need(r: Reader, end: number, bytes: number, what: string): void {
  if (end - r.pos < bytes) throw new DecodeProblem(`truncated ${what} at byte ${r.pos}`);
}

function readFixed32(r: Reader, end: number): number {
  need(r, end, 4, 'fixed32');
  const v = r.view.getUint32(r.pos, true);
  r.pos += 4;
  return v;
}

/** Reads a fixed64: returns the low 32 bits and leaves the high 32 in `r.hi`. */
function readFixed64(r: Reader, end: number): number {
  need(r, end, 8, 'fixed64');
  const lo = r.view.getUint32(r.pos, true);
  r.hi = r.view.getUint32(r.pos + 4, true);
  r.pos += 8;
  return lo;
}

function readDouble(r: Reader, end: number): number {
  need(r, end, 8, 'double');
  const v = r.view.getFloat64(r.pos, true);
  r.pos += 8;
  return v;
}

/** Skips a field this decoder does not read, or throws if it is a known field with the wrong wire type. */
function skipField(
  r: Reader,
  tag: number,
  tagStart: number,
  end: number,
  known: { message: string; table: FieldTable },
): void {
  const field = tag >>> 3;
  const wireType = tag & 7;
  const expected = known.table[field];
  if (expected !== undefined) {
    throw new DecodeProblem(
      `${known.message}.${expected[0]} (field ${field}) has wire type ${wireType} ` +
        `(${WIRE_TYPE_NAMES[wireType] ?? 'invalid'}), ` +
        `expected ${expected[1]} (${WIRE_TYPE_NAMES[expected[1]]}) at byte ${tagStart}`,
    );
  }
  skipValue(r, tag, tagStart, end, 0);
}

function skipValue(r: Reader, tag: number, tagStart: number, end: number, depth: number): void {
  switch (tag & 7) {
    case VARINT:
      readVarint(r, end);
      return;
    case I64:
      need(r, end, 8, 'fixed64');
      r.pos += 8;
      return;
    case LEN:
      r.pos = readLengthEnd(r, end);
      return;
    case I32:
      need(r, end, 4, 'fixed32');
      r.pos += 4;
      return;
    case SGROUP:
      skipGroup(r, tag >>> 3, tagStart, end, depth + 1);
      return;
    case EGROUP:
      throw new DecodeProblem(`end-group without a start-group (field ${tag >>> 3}) at byte ${tagStart}`);
    default:
      throw new DecodeProblem(`invalid wire type ${tag & 7} (field ${tag >>> 3}) at byte ${tagStart}`);
  }
}

function skipGroup(r: Reader, field: number, groupStart: number, end: number, depth: number): void {
  if (depth > MAX_ANY_VALUE_DEPTH)
    throw new DecodeProblem(`groups nested deeper than ${MAX_ANY_VALUE_DEPTH} at byte ${groupStart}`);
  for (;;) {
    if (r.pos >= end) throw new DecodeProblem(`unterminated group (field ${field}) starting at byte ${groupStart}`);
    const tagStart = r.pos;
    const tag = readTag(r, end);
    if ((tag & 7) === EGROUP) {
      if (tag >>> 3 !== field) {
        throw new DecodeProblem(
          `end-group for field ${tag >>> 3} at byte ${tagStart} ` +
            `closes the group of field ${field} started at byte ${groupStart}`,
        );
      }
      return;
    }
    skipValue(r, tag, tagStart, end, depth);
  }
}

/** Whether `length` bytes at `start` are all zero. */
function allZero(buf: Uint8Array, start: number, length: number): boolean {
  for (let i = start; i < start + length; i++) if (buf[i] !== 0) return false;
  return true;
}

// ── AnyValue ─────────────────────────────────────────────────────────────────────────────────────────

/**
 * Reads one KeyValue into `target`. `depth` is the nesting of the value it holds (1 for an attribute). Leaves
 * the key and value in `r.key` and `r.value`, and the value's exact form, if it needs one, in `r.exact`.
 */
function decodeKeyValue(r: Reader, end: number, target: AttributeMap, depth: number): void {
  let key = '';
  let value: unknown = undefined;
  let exact: unknown = undefined;
  while (r.pos < end) {
    const tagStart = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case T1_LEN:
        key = readString(r, end);
        break;
      case T2_LEN: {
        const stop = readLengthEnd(r, end);
        // A repeated value field merges into the earlier one, exact form included.
        r.exact = exact;
        value = decodeAnyValue(r, stop, depth, value);
        exact = r.exact;
        break;
      }
      default:
        skipField(r, tag, tagStart, end, KEY_VALUE);
    }
  }
  setAttribute(target, key, value);
  r.key = key;
  r.value = value;
  r.exact = exact;
}

/**
 * Reads one AnyValue and returns its plain value; leaves its exact form in `r.exact` when the plain value
 * loses something (see exact.ts), undefined otherwise. `previous` is what an earlier occurrence of the same
 * field decoded to, and `r.exact` on entry its exact form: they merge.
 */
function decodeAnyValue(r: Reader, end: number, depth: number, previous: unknown): unknown {
  if (depth > MAX_ANY_VALUE_DEPTH)
    throw new DecodeProblem(`AnyValue nested deeper than ${MAX_ANY_VALUE_DEPTH} at byte ${r.pos}`);
  let value = previous;
  let exact = r.exact;
  while (r.pos < end) {
    const tagStart = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case T1_LEN:
        value = readString(r, end);
        exact = undefined;
        break;
      case T2_VARINT:
        value = readVarint(r, end) !== 0 || r.hi !== 0;
        exact = undefined;
        break;
      case T3_VARINT: {
        const lo = readVarint(r, end);
        const hi = r.hi;
        const n = int64Value(lo, hi);
        value = n;
        exact = Number.isSafeInteger(n) ? undefined : new ExactInt64(lo, hi);
        break;
      }
      case T4_I64: {
        const d = readDouble(r, end);
        value = d;
        exact = isIntegralDouble(d) ? new ExactDouble(d) : undefined;
        break;
      }
      case T5_LEN: {
        const stop = readLengthEnd(r, end);
        const merging = Array.isArray(value);
        r.exact = merging && Array.isArray(exact) ? exact : undefined;
        value = decodeArrayValue(r, stop, depth, merging ? (value as unknown[]) : []);
        exact = r.exact;
        break;
      }
      case T6_LEN: {
        const stop = readLengthEnd(r, end);
        // `exact` always has the shape of `value` (or is undefined), so a kvlist value has a kvlist exact form.
        const merging = isKvlist(value);
        r.exact = merging && exact !== undefined && isKvlist(exact) ? exact : undefined;
        value = decodeKvlist(r, stop, depth, merging ? (value as AttributeMap) : {});
        exact = r.exact;
        break;
      }
      case T7_LEN: {
        const stop = readLengthEnd(r, end);
        value = r.buf.slice(r.pos, stop);
        r.pos = stop;
        exact = undefined;
        break;
      }
      default:
        skipField(r, tag, tagStart, end, ANY_VALUE);
    }
  }
  r.exact = exact;
  return value;
}

/** Appends to `into`; `r.exact` holds the exact form of `into` on entry and of the result on return. */
function decodeArrayValue(r: Reader, end: number, depth: number, into: unknown[]): unknown[] {
  let exactList = r.exact as unknown[] | undefined;
  while (r.pos < end) {
    const tagStart = r.pos;
    const tag = readTag(r, end);
    if (tag === T1_LEN) {
      const stop = readLengthEnd(r, end);
      r.exact = undefined;
      const item = decodeAnyValue(r, stop, depth + 1, undefined);
      // The exact list exists once one element needs it: the plain elements so far, then exact or plain ones.
      if (r.exact !== undefined) (exactList ??= into.slice()).push(r.exact);
      else if (exactList !== undefined) exactList.push(item);
      into.push(item);
    } else {
      skipField(r, tag, tagStart, end, VALUES_LIST);
    }
  }
  r.exact = exactList;
  return into;
}

/** Adds to `into`; `r.exact` holds the exact form of `into` on entry and of the result on return. */
function decodeKvlist(r: Reader, end: number, depth: number, into: AttributeMap): AttributeMap {
  let exactMap = r.exact as AttributeMap | undefined;
  while (r.pos < end) {
    const tagStart = r.pos;
    const tag = readTag(r, end);
    if (tag === T1_LEN) {
      const stop = readLengthEnd(r, end);
      r.exact = undefined;
      decodeKeyValue(r, stop, into, depth + 1);
      if (r.exact !== undefined) {
        // The exact map exists once one entry needs it: a copy of the plain entries (this key's plain value is
        // overwritten at once), then exact or plain ones.
        if (exactMap === undefined) exactMap = { ...into };
        setAttribute(exactMap, r.key, r.exact);
      } else if (exactMap !== undefined) {
        setAttribute(exactMap, r.key, r.value);
      }
    } else {
      skipField(r, tag, tagStart, end, KVLIST);
    }
  }
  r.exact = exactMap;
  return into;
}

/**
 * Reads one attribute (a KeyValue field of a message) into `target`, with its index in the error path, and
 * notes its exact form in `record` when it needs one; returns the record (created on demand).
 */
function decodeAttribute(
  r: Reader,
  end: number,
  target: AttributeMap,
  index: number,
  field: string,
  record: ExactRecord | undefined,
): ExactRecord | undefined {
  const stop = readLengthEnd(r, end);
  try {
    r.exact = undefined;
    decodeKeyValue(r, stop, target, 1);
  } catch (problem) {
    throw at(at(problem, `[${index}]`), field);
  }
  return r.exact === undefined && record === undefined ? undefined : noteExact(record, r.key, r.value, r.exact);
}

// ── trace messages ───────────────────────────────────────────────────────────────────────────────────

/** The attributes, their exact record and the dropped count of one ResourceSpans' Resource, as they merge. */
class ResourceFields {
  readonly attributes: AttributeMap = {};
  exact: ExactRecord | undefined = undefined;
  droppedAttributesCount = 0;
  index = 0;
}

function decodeResource(r: Reader, end: number, resource: ResourceFields): void {
  while (r.pos < end) {
    const tagStart = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case T1_LEN:
        resource.exact = decodeAttribute(r, end, resource.attributes, resource.index++, 'attributes', resource.exact);
        break;
      case T2_VARINT:
        resource.droppedAttributesCount = readVarint(r, end);
        break;
      default:
        skipField(r, tag, tagStart, end, RESOURCE);
    }
  }
}

function decodeScope(r: Reader, end: number, scope: ScopeFields): void {
  let index = 0;
  let exact = scope.exact;
  while (r.pos < end) {
    const tagStart = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case T1_LEN:
        scope.name = readString(r, end);
        break;
      case T2_LEN:
        scope.version = readString(r, end);
        break;
      case T3_LEN:
        exact = decodeAttribute(r, end, (scope.attributes ??= {}), index++, 'attributes', exact);
        break;
      case T4_VARINT:
        scope.droppedAttributesCount = readVarint(r, end);
        break;
      default:
        skipField(r, tag, tagStart, end, SCOPE);
    }
  }
  scope.exact = exact;
}

function decodeEvent(r: Reader, end: number): RelayEvent {
  let timeLo = 0;
  let timeHi = 0;
  let name = '';
  const attributes: AttributeMap = {};
  let exact: ExactRecord | undefined;
  let dropped = 0;
  let index = 0;
  while (r.pos < end) {
    const tagStart = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case T1_I64:
        timeLo = readFixed64(r, end);
        timeHi = r.hi;
        break;
      case T2_LEN:
        name = readString(r, end);
        break;
      case T3_LEN:
        exact = decodeAttribute(r, end, attributes, index++, 'attributes', exact);
        break;
      case T4_VARINT:
        dropped = readVarint(r, end);
        break;
      default:
        skipField(r, tag, tagStart, end, EVENT);
    }
  }
  attachExact(attributes, exact);
  return {
    name,
    attributes: attributes as Attributes,
    time: hrTimeFromUint64(timeLo, timeHi),
    droppedAttributesCount: dropped,
  };
}

function decodeLink(r: Reader, end: number, state: RequestState): Link {
  let traceStart = 0;
  let traceEnd = 0;
  let spanStart = 0;
  let spanEnd = 0;
  let traceState = '';
  const attributes: AttributeMap = {};
  let exact: ExactRecord | undefined;
  let dropped = 0;
  let flags = 0;
  let index = 0;
  while (r.pos < end) {
    const tagStart = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case T1_LEN:
        traceEnd = readLengthEnd(r, end);
        traceStart = r.pos;
        r.pos = traceEnd;
        break;
      case T2_LEN:
        spanEnd = readLengthEnd(r, end);
        spanStart = r.pos;
        r.pos = spanEnd;
        break;
      case T3_LEN:
        traceState = readString(r, end);
        break;
      case T4_LEN:
        exact = decodeAttribute(r, end, attributes, index++, 'attributes', exact);
        break;
      case T5_VARINT:
        dropped = readVarint(r, end);
        break;
      case T6_I32:
        flags = readFixed32(r, end);
        break;
      default:
        skipField(r, tag, tagStart, end, LINK);
    }
  }
  attachExact(attributes, exact);
  return {
    context: {
      traceId: r.hex(traceStart, traceEnd),
      spanId: r.hex(spanStart, spanEnd),
      traceFlags: linkTraceFlags(flags),
      isRemote: isRemoteFlag(flags),
      traceState: state.traceState(traceState),
    },
    attributes: attributes as Attributes,
    droppedAttributesCount: dropped,
  };
}

function decodeSpan(
  r: Reader,
  end: number,
  state: RequestState,
  out: RelaySpanImpl[],
  resourceIndex: number,
  scopeIndex: number,
  spanIndex: number,
): void {
  let traceStart = 0;
  let traceEnd = 0;
  let spanStart = 0;
  let spanEnd = 0;
  let parentStart = 0;
  let parentEnd = 0;
  let traceState = '';
  let flags = 0;
  let name = '';
  let kind = 0;
  let startLo = 0;
  let startHi = 0;
  let endLo = 0;
  let endHi = 0;
  const attributes: AttributeMap = {};
  let exact: ExactRecord | undefined;
  let droppedAttributes = 0;
  const events: RelayEvent[] = [];
  let droppedEvents = 0;
  const links: Link[] = [];
  let droppedLinks = 0;
  let statusCode = 0;
  let statusMessage = '';
  let attributeIndex = 0;
  while (r.pos < end) {
    const tagStart = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case T1_LEN:
        traceEnd = readLengthEnd(r, end);
        traceStart = r.pos;
        r.pos = traceEnd;
        break;
      case T2_LEN:
        spanEnd = readLengthEnd(r, end);
        spanStart = r.pos;
        r.pos = spanEnd;
        break;
      case T3_LEN:
        traceState = readString(r, end);
        break;
      case T4_LEN:
        parentEnd = readLengthEnd(r, end);
        parentStart = r.pos;
        r.pos = parentEnd;
        break;
      case T5_LEN:
        name = readString(r, end);
        break;
      case T6_VARINT:
        kind = readVarint(r, end);
        break;
      case T7_I64:
        startLo = readFixed64(r, end);
        startHi = r.hi;
        break;
      case T8_I64:
        endLo = readFixed64(r, end);
        endHi = r.hi;
        break;
      case T9_LEN:
        exact = decodeAttribute(r, end, attributes, attributeIndex++, 'attributes', exact);
        break;
      case T10_VARINT:
        droppedAttributes = readVarint(r, end);
        break;
      case T11_LEN: {
        const stop = readLengthEnd(r, end);
        try {
          events.push(decodeEvent(r, stop));
        } catch (problem) {
          throw at(at(problem, `[${events.length}]`), 'events');
        }
        break;
      }
      case T12_VARINT:
        droppedEvents = readVarint(r, end);
        break;
      case T13_LEN: {
        const stop = readLengthEnd(r, end);
        try {
          links.push(decodeLink(r, stop, state));
        } catch (problem) {
          throw at(at(problem, `[${links.length}]`), 'links');
        }
        break;
      }
      case T14_VARINT:
        droppedLinks = readVarint(r, end);
        break;
      case T15_LEN: {
        // Inline: a repeated status merges field by field into the same two variables.
        const stop = readLengthEnd(r, end);
        try {
          while (r.pos < stop) {
            const statusTagStart = r.pos;
            const statusTag = readTag(r, stop);
            if (statusTag === T2_LEN) statusMessage = readString(r, stop);
            else if (statusTag === T3_VARINT) statusCode = readVarint(r, stop) | 0;
            else skipField(r, statusTag, statusTagStart, stop, STATUS);
          }
        } catch (problem) {
          throw at(problem, 'status');
        }
        break;
      }
      case T16_I32:
        flags = readFixed32(r, end);
        break;
      default:
        skipField(r, tag, tagStart, end, SPAN);
    }
  }

  const buf = r.buf;
  const traceLength = traceEnd - traceStart;
  const spanLength = spanEnd - spanStart;
  const parentLength = parentEnd - parentStart;
  const problem =
    idProblem('traceId', traceLength, 16, traceLength === 16 && allZero(buf, traceStart, 16)) ??
    idProblem('spanId', spanLength, 8, spanLength === 8 && allZero(buf, spanStart, 8)) ??
    (parentLength !== 0 && parentLength !== 8 ? `parentSpanId is ${parentLength} bytes, expected 0 or 8` : undefined);
  if (problem !== undefined) {
    state.reject(resourceIndex, scopeIndex, spanIndex, problem);
    return;
  }

  attachExact(attributes, exact);
  const traceId = r.hex(traceStart, traceEnd);
  const traceFlags = spanTraceFlags(flags);
  const startTime = hrTimeFromUint64(startLo, startHi);
  const endTime = hrTimeFromUint64(endLo, endHi);
  out.push(
    new RelaySpanImpl(
      name,
      apiSpanKind(kind),
      { traceId, spanId: r.hex(spanStart, spanEnd), traceFlags, traceState: state.traceState(traceState) },
      parentLength === 0 || allZero(buf, parentStart, 8)
        ? undefined
        : { traceId, spanId: r.hex(parentStart, parentEnd), traceFlags, isRemote: isRemoteFlag(flags) },
      startTime,
      endTime,
      hrTimeDuration(startTime, endTime),
      spanStatus(statusCode, statusMessage),
      attributes as Attributes,
      links,
      events,
      droppedAttributes,
      droppedEvents,
      droppedLinks,
    ),
  );
}

function decodeScopeSpans(
  r: Reader,
  end: number,
  state: RequestState,
  out: RelaySpanImpl[],
  resourceIndex: number,
  scopeIndex: number,
): void {
  const first = out.length;
  const scope = new ScopeFields();
  let schemaUrl = '';
  let spanIndex = 0;
  while (r.pos < end) {
    const tagStart = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case T1_LEN: {
        const stop = readLengthEnd(r, end);
        try {
          decodeScope(r, stop, scope);
        } catch (problem) {
          throw at(problem, 'scope');
        }
        break;
      }
      case T2_LEN: {
        const stop = readLengthEnd(r, end);
        try {
          decodeSpan(r, stop, state, out, resourceIndex, scopeIndex, spanIndex);
        } catch (problem) {
          throw at(at(problem, `[${spanIndex}]`), 'spans');
        }
        spanIndex++;
        break;
      }
      case T3_LEN:
        schemaUrl = readString(r, end);
        break;
      default:
        skipField(r, tag, tagStart, end, SCOPE_SPANS);
    }
  }
  assignScope(out, first, scope.build(schemaUrl));
}

function decodeResourceSpans(
  r: Reader,
  end: number,
  state: RequestState,
  out: RelaySpanImpl[],
  resourceIndex: number,
): void {
  const first = out.length;
  const resource = new ResourceFields();
  let schemaUrl = '';
  let scopeIndex = 0;
  while (r.pos < end) {
    const tagStart = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case T1_LEN: {
        const stop = readLengthEnd(r, end);
        try {
          decodeResource(r, stop, resource);
        } catch (problem) {
          throw at(problem, 'resource');
        }
        break;
      }
      case T2_LEN: {
        const stop = readLengthEnd(r, end);
        try {
          decodeScopeSpans(r, stop, state, out, resourceIndex, scopeIndex);
        } catch (problem) {
          throw at(at(problem, `[${scopeIndex}]`), 'scopeSpans');
        }
        scopeIndex++;
        break;
      }
      case T3_LEN:
        schemaUrl = readString(r, end);
        break;
      default:
        skipField(r, tag, tagStart, end, RESOURCE_SPANS);
    }
  }
  // Spans come before the schema URL on the wire (the SDK writes it last), so the resource is made here.
  attachExact(resource.attributes, resource.exact);
  assignResource(out, first, makeResource(resource.attributes, schemaUrl, resource.droppedAttributesCount));
}

/** Decodes a binary protobuf ExportTraceServiceRequest. Throws OtlpDecodeError only. */
export function decodeProtobufTraceRequest(body: Uint8Array): DecodeResult {
  const r = new Reader(body);
  const end = r.buf.length;
  const state = new RequestState();
  const out: RelaySpanImpl[] = [];
  let resourceIndex = 0;
  try {
    while (r.pos < end) {
      const tagStart = r.pos;
      const tag = readTag(r, end);
      if (tag === T1_LEN) {
        const stop = readLengthEnd(r, end);
        try {
          decodeResourceSpans(r, stop, state, out, resourceIndex);
        } catch (problem) {
          throw at(at(problem, `[${resourceIndex}]`), 'resourceSpans');
        }
        resourceIndex++;
      } else {
        skipField(r, tag, tagStart, end, REQUEST);
      }
    }
  } catch (problem) {
    if (problem instanceof DecodeProblem) throw problem.toError('protobuf');
    throw problem;
  }
  return state.result(out);
}
