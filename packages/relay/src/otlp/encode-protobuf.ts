/*
 * A hand-written encoder for `ExportTraceServiceRequest` in binary protobuf, from RelaySpans (or SDK spans),
 * writing every attribute value exactly as it was received (exact.ts, encode-shared.ts). The field numbers are
 * those read by protobuf.ts (see its header).
 *
 * For values a JS number represents exactly, the bytes are the same as the SDK's ProtobufTraceSerializer
 * writes (same fields, same order, same defaults; the tests compare them), so the two are interchangeable
 * except where the SDK loses something:
 *   - a plain number is int_value when it is an integer within int64, else double_value; −0 is double_value;
 *   - ExactDouble → double_value, ExactInt64 → int_value with its 64 bits, a bigint → int_value;
 *   - Uint8Array → bytes_value, arrays → array_value, plain objects → kvlist_value, undefined/null → an empty
 *     AnyValue;
 *   - resource attributes as decoded (empty AnyValues included) and the resource's dropped count as received;
 *   - spans grouped by Resource object, then scope object (encode-shared.ts).
 * Span and link flags are rebuilt as the SDK does: the trace flags, bit 8 (is-remote known), and bit 9 when
 * the parent (a link: the linked context) is remote.
 *
 * Writing: one growable buffer, sized from the previous request; a length-delimited field reserves the bytes
 * its length will probably take and moves its content (copyWithin) in the rare case it takes another number.
 * Strings go in through a JS loop when short and ASCII, through Buffer#utf8Write otherwise (lone surrogates
 * become U+FFFD).
 */
import type { Attributes, HrTime, Link, SpanContext } from '@opentelemetry/api';
import type { ReadableSpanLike } from '@genai-enrich/processor';
import { ExactDouble, ExactInt64 } from './exact.js';
import { attributeSource, groupSpans, resourceFields, spanAttributeSource, valueToWrite } from './encode-shared.js';
import type { AttributeSource, EncodableSpan } from './encode-shared.js';
import type { RelayScope } from './types.js';
import { I32, I64, LEN, VARINT } from './wire.js';

const TWO_POW_32 = 4_294_967_296;
const INT64_LIMIT = 2 ** 63;
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

interface NodeBufferWrite {
  utf8Write(string: string, offset: number, length?: number): number;
}
const HAS_UTF8_WRITE =
  typeof Buffer === 'function' &&
  typeof (Buffer.prototype as unknown as Partial<NodeBufferWrite>).utf8Write === 'function';
const textEncoder = new TextEncoder();

/** Hex digit values by char code; -1 for anything else. */
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  NIBBLE[65 + i] = 10 + i;
  NIBBLE[97 + i] = 10 + i;
}

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/** The size of the last request encoded: the next one starts with a buffer about that size. */
let lastSize = 64 * 1024;

class Writer {
  buf: Uint8Array;
  view: DataView;
  node: NodeBufferWrite | undefined;
  pos = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
    this.node = HAS_UTF8_WRITE ? (Buffer.from(this.buf.buffer) as unknown as NodeBufferWrite) : undefined;
  }

  ensure(bytes: number): void {
    if (this.pos + bytes > this.buf.length) this._grow(this.pos + bytes);
  }

  private _grow(needed: number): void {
    let size = this.buf.length * 2;
    while (size < needed) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
    this.node = HAS_UTF8_WRITE ? (Buffer.from(next.buffer) as unknown as NodeBufferWrite) : undefined;
  }

  /** A tag of a field number below 16 (one byte), as every field here has except Span's 16. */
  tag(field: number, wireType: number): void {
    this.ensure(1);
    this.buf[this.pos++] = (field << 3) | wireType;
  }

  /** An unsigned 32-bit varint. */
  uint32(value: number): void {
    this.ensure(5);
    const buf = this.buf;
    let v = value >>> 0;
    while (v > 0x7f) {
      buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[this.pos++] = v;
  }

  /** A 64-bit varint from its two 32-bit halves. */
  uint64(lo: number, hi: number): void {
    this.ensure(10);
    const buf = this.buf;
    let l = lo >>> 0;
    let h = hi >>> 0;
    while (h !== 0 || l > 0x7f) {
      buf[this.pos++] = (l & 0x7f) | 0x80;
      l = ((l >>> 7) | (h << 25)) >>> 0;
      h >>>= 7;
    }
    buf[this.pos++] = l;
  }

  /** An integral number within int64 as a varint (two's complement for negatives). */
  int64(value: number): void {
    if (value >= 0) {
      if (value < TWO_POW_32) this.uint32(value);
      else this.uint64(value % TWO_POW_32, Math.floor(value / TWO_POW_32));
      return;
    }
    const abs = -value;
    const lo = abs % TWO_POW_32;
    const hi = Math.floor(abs / TWO_POW_32);
    // −x = ~x + 1, carried from the low half into the high one.
    const negLo = (~lo + 1) >>> 0;
    this.uint64(negLo, (~hi + (negLo === 0 ? 1 : 0)) >>> 0);
  }

  fixed32(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, value >>> 0, true);
    this.pos += 4;
  }

  double(value: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  /** A uint64 nanosecond time from an HrTime, exactly, without BigInt. */
  hrTime(time: HrTime): void {
    const seconds = time[0];
    // seconds × 1e9 + nanos = (high × 65536 + low) × 1e9 + nanos; each product stays below 2^53.
    const secondsHigh = Math.floor(seconds / 65536);
    const a = (seconds - secondsHigh * 65536) * 1e9 + time[1];
    const b = secondsHigh * 1e9;
    const bLow16 = b % 65536;
    const lowSum = bLow16 * 65536 + (a % TWO_POW_32);
    this.ensure(8);
    this.view.setUint32(this.pos, lowSum >>> 0, true);
    this.view.setUint32(
      this.pos + 4,
      ((b - bLow16) / 65536 + Math.floor(a / TWO_POW_32) + Math.floor(lowSum / TWO_POW_32)) >>> 0,
      true,
    );
    this.pos += 8;
  }

  /** Reserves `reserve` bytes for a length and returns where they start; close with {@link end}. */
  begin(reserve: number): number {
    this.ensure(reserve);
    const start = this.pos;
    this.pos += reserve;
    return start;
  }

  /** Writes the length of what followed {@link begin}, moving it when the length takes other than `reserve` bytes. */
  end(start: number, reserve: number): void {
    const length = this.pos - start - reserve;
    const size = varintSize(length);
    if (size !== reserve) {
      if (size > reserve) this.ensure(size - reserve);
      this.buf.copyWithin(start + size, start + reserve, this.pos);
      this.pos += size - reserve;
    }
    const buf = this.buf;
    let p = start;
    let v = length;
    while (v > 0x7f) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p] = v;
  }

  /** A string's length and UTF-8 bytes. */
  string(s: string): void {
    const n = s.length;
    this.ensure(n * 3 + 5);
    const buf = this.buf;
    if (n <= 42) {
      // At most 126 bytes: the length takes one byte whatever the characters.
      const start = this.pos;
      let p = start + 1;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          p = this._utf8(s, start + 1);
          break;
        }
        buf[p++] = c;
      }
      buf[start] = p - start - 1;
      this.pos = p;
      return;
    }
    // Between n and 3n bytes: reserve for the most, move back if fewer.
    const reserve = varintSize(n * 3);
    const start = this.begin(reserve);
    this.pos = this._utf8(s, this.pos);
    this.end(start, reserve);
  }

  /** Writes `s` as UTF-8 at `at` (room ensured) and returns the position after it. */
  private _utf8(s: string, at: number): number {
    if (this.node !== undefined) return at + this.node.utf8Write(s, at);
    return at + textEncoder.encodeInto(s, this.buf.subarray(at)).written;
  }

  bytes(value: Uint8Array): void {
    this.uint32(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** Hex (an id) as its bytes, length-prefixed; a character that is not hex counts as 0. */
  hex(hex: string): void {
    const n = hex.length >> 1;
    this.uint32(n);
    this.ensure(n);
    const buf = this.buf;
    for (let i = 0; i < n; i++) {
      const hi = NIBBLE[hex.charCodeAt(2 * i) & 0x7f];
      const lo = NIBBLE[hex.charCodeAt(2 * i + 1) & 0x7f];
      buf[this.pos++] = ((hi < 0 ? 0 : hi) << 4) | (lo < 0 ? 0 : lo);
    }
  }

  finish(): Uint8Array {
    lastSize = this.pos;
    return this.buf.subarray(0, this.pos);
  }
}

// ── AnyValue ─────────────────────────────────────────────────────────────────────────────────────────

/** The AnyValue fields of `value` (without the enclosing length). */
function writeAnyValue(w: Writer, value: unknown): void {
  switch (typeof value) {
    case 'string':
      w.tag(1, LEN);
      w.string(value);
      return;
    case 'number':
      if (Number.isInteger(value) && value >= -INT64_LIMIT && value < INT64_LIMIT && !Object.is(value, -0)) {
        w.tag(3, VARINT);
        w.int64(value);
      } else {
        w.tag(4, I64);
        w.double(value);
      }
      return;
    case 'boolean':
      w.tag(2, VARINT);
      w.uint32(value ? 1 : 0);
      return;
    case 'bigint': {
      const bits = BigInt.asUintN(64, value);
      w.tag(3, VARINT);
      w.uint64(Number(bits & 0xffffffffn), Number(bits >> 32n));
      return;
    }
    case 'object':
      break;
    default:
      return; // undefined (an empty AnyValue), functions, symbols
  }
  if (value === null) return;
  if (value instanceof ExactDouble) {
    w.tag(4, I64);
    w.double(value.value);
  } else if (value instanceof ExactInt64) {
    w.tag(3, VARINT);
    w.uint64(value.lo, value.hi);
  } else if (value instanceof Uint8Array) {
    w.tag(7, LEN);
    w.bytes(value);
  } else if (Array.isArray(value)) {
    w.tag(5, LEN);
    const list = w.begin(1);
    for (const item of value as unknown[]) {
      w.tag(1, LEN);
      const start = w.begin(1);
      writeAnyValue(w, item);
      w.end(start, 1);
    }
    w.end(list, 1);
  } else {
    w.tag(6, LEN);
    const list = w.begin(1);
    const map = value as Record<string, unknown>;
    for (const key in map) {
      if (!Object.prototype.hasOwnProperty.call(map, key)) continue;
      w.tag(1, LEN);
      const start = w.begin(1);
      writeKeyValue(w, key, map[key]);
      w.end(start, 1);
    }
    w.end(list, 1);
  }
}

function writeKeyValue(w: Writer, key: string, value: unknown): void {
  w.tag(1, LEN);
  w.string(key);
  w.tag(2, LEN);
  const start = w.begin(1);
  writeAnyValue(w, value);
  w.end(start, 1);
}

/** Each attribute as a KeyValue in field `field`. */
function writeAttributes(w: Writer, field: number, attributes: Attributes, source: AttributeSource): void {
  const lookup = source.lookup;
  for (const key in attributes) {
    if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue;
    const value = lookup ? valueToWrite(source, key, attributes[key]) : attributes[key];
    w.tag(field, LEN);
    const start = w.begin(1);
    writeKeyValue(w, key, value);
    w.end(start, 1);
  }
}

// ── trace messages ───────────────────────────────────────────────────────────────────────────────────

/** Each item as a length-delimited message in field `field`. */
function writeMessages<T>(w: Writer, field: number, items: readonly T[], write: (w: Writer, item: T) => void): void {
  for (const item of items) {
    w.tag(field, LEN);
    const start = w.begin(1);
    write(w, item);
    w.end(start, 1);
  }
}

function writeEvent(w: Writer, event: EncodableSpan['events'][number]): void {
  w.tag(1, I64);
  w.hrTime(event.time);
  w.tag(2, LEN);
  w.string(event.name);
  if (event.attributes !== undefined) writeAttributes(w, 3, event.attributes, attributeSource(event.attributes));
  w.tag(4, VARINT);
  w.uint32(event.droppedAttributesCount ?? 0);
}

/** trace_id, span_id and trace_state: fields 1 to 3 of both Span and Span.Link. */
function writeContext(w: Writer, context: SpanContext): void {
  w.tag(1, LEN);
  w.hex(context.traceId);
  w.tag(2, LEN);
  w.hex(context.spanId);
  const traceState = context.traceState?.serialize();
  if (traceState) {
    w.tag(3, LEN);
    w.string(traceState);
  }
}

function writeLink(w: Writer, link: Link): void {
  const context = link.context;
  writeContext(w, context);
  if (link.attributes !== undefined) writeAttributes(w, 4, link.attributes, attributeSource(link.attributes));
  w.tag(5, VARINT);
  w.uint32(link.droppedAttributesCount ?? 0);
  w.tag(6, I32);
  w.fixed32((context.traceFlags & 0xff) | HAS_IS_REMOTE | (context.isRemote ? IS_REMOTE : 0));
}

function writeSpan(w: Writer, span: EncodableSpan): void {
  const context = span.spanContext();
  writeContext(w, context);
  const parent = span.parentSpanContext;
  if (parent?.spanId) {
    w.tag(4, LEN);
    w.hex(parent.spanId);
  }
  w.tag(5, LEN);
  w.string(span.name);
  const kind = span.kind == null ? 0 : span.kind + 1;
  if (kind !== 0) {
    w.tag(6, VARINT);
    w.uint32(kind);
  }
  w.tag(7, I64);
  w.hrTime(span.startTime);
  w.tag(8, I64);
  w.hrTime(span.endTime);
  writeAttributes(w, 9, span.attributes, spanAttributeSource(span));
  w.tag(10, VARINT);
  w.uint32(span.droppedAttributesCount ?? 0);
  writeMessages(w, 11, span.events, writeEvent);
  w.tag(12, VARINT);
  w.uint32(span.droppedEventsCount ?? 0);
  writeMessages(w, 13, span.links, writeLink);
  w.tag(14, VARINT);
  w.uint32(span.droppedLinksCount ?? 0);
  w.tag(15, LEN);
  const status = w.begin(1);
  if (span.status.message) {
    w.tag(2, LEN);
    w.string(span.status.message);
  }
  w.tag(3, VARINT);
  w.uint32(span.status.code);
  w.end(status, 1);
  // Field 16 takes a two-byte tag.
  w.ensure(2);
  w.buf[w.pos++] = 0x85; // (16 << 3 | I32) as a varint: 0x85 0x01
  w.buf[w.pos++] = 0x01;
  w.fixed32((context.traceFlags & 0xff) | HAS_IS_REMOTE | (parent?.isRemote ? IS_REMOTE : 0));
}

function writeScope(w: Writer, scope: RelayScope): void {
  w.tag(1, LEN);
  w.string(scope.name);
  if (scope.version) {
    w.tag(2, LEN);
    w.string(scope.version);
  }
  if (scope.attributes !== undefined) writeAttributes(w, 3, scope.attributes, attributeSource(scope.attributes));
  if (scope.droppedAttributesCount) {
    w.tag(4, VARINT);
    w.uint32(scope.droppedAttributesCount);
  }
}

/** Encodes spans (RelaySpans, or the SDK's ReadableSpans) as a binary protobuf ExportTraceServiceRequest. */
export function encodeProtobufTraceRequest(spans: readonly ReadableSpanLike[]): Uint8Array {
  const w = new Writer(Math.max(1024, lastSize + (lastSize >> 3)));
  for (const [resource, scopes] of groupSpans(spans)) {
    w.tag(1, LEN);
    const resourceSpans = w.begin(3);
    w.tag(1, LEN);
    const resourceStart = w.begin(1);
    const fields = resourceFields(resource);
    writeAttributes(w, 1, fields.attributes, attributeSource(fields.attributes));
    w.tag(2, VARINT);
    w.uint32(fields.droppedAttributesCount);
    w.end(resourceStart, 1);
    for (const [scope, list] of scopes) {
      w.tag(2, LEN);
      const scopeSpans = w.begin(3);
      w.tag(1, LEN);
      const scopeStart = w.begin(1);
      writeScope(w, scope);
      w.end(scopeStart, 1);
      for (const span of list) {
        w.tag(2, LEN);
        const start = w.begin(2);
        writeSpan(w, span);
        w.end(start, 2);
      }
      if (scope.schemaUrl) {
        w.tag(3, LEN);
        w.string(scope.schemaUrl);
      }
      w.end(scopeSpans, 3);
    }
    if (resource.schemaUrl) {
      w.tag(3, LEN);
      w.string(resource.schemaUrl);
    }
    w.end(resourceSpans, 3);
  }
  return w.finish();
}
