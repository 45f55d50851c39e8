/*
 * An encoder for `ExportTraceServiceRequest` in OTLP/JSON (proto3 JSON as the OTLP spec defines it), from
 * RelaySpans (or SDK spans), writing every attribute value exactly as it was received (exact.ts,
 * encode-shared.ts). A strict proto3 JSON parser (protobuf's own json_format) accepts what it writes:
 *   - ids in lowercase hex (the OTLP spec's exception to proto3 JSON's base64); enums as integers;
 *   - int64 as a decimal string (`"intValue":"9223372036854775807"`), uint64 times as decimal strings, uint32
 *     counts and flags as numbers;
 *   - doubles as numbers, −0 as `-0.0` (a parser that reads `-0` as an integer loses the sign), NaN and
 *     ±Infinity as the strings "NaN", "Infinity", "-Infinity"; a plain number is intValue when it is an
 *     integer within int64, else doubleValue, and ExactDouble is always doubleValue;
 *   - bytes in standard base64; an empty AnyValue as `{}`;
 *   - strings through JSON.stringify; a lone surrogate (only a JSON request can carry one in) becomes U+FFFD,
 *     since proto3 JSON strings must be valid UTF-8.
 * The same fields as the SDK's JsonTraceSerializer writes, in proto field order, spans grouped by Resource
 * object and then scope object (encode-shared.ts), so scopes that differ only in attributes stay apart.
 *
 * Built as one string (V8 concatenates in ropes), then encoded to UTF-8 once.
 */
import type { Attributes, HrTime, Link } from '@opentelemetry/api';
import type { ReadableSpanLike } from '@genai-enrich/processor';
import { ExactDouble, ExactInt64 } from './exact.js';
import { attributeSource, groupSpans, resourceFields, spanAttributeSource, valueToWrite } from './encode-shared.js';
import type { AttributeSource, EncodableSpan } from './encode-shared.js';
import type { RelayScope } from './types.js';

const INT64_LIMIT = 2 ** 63;
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;
const textEncoder = new TextEncoder();

/** Set while re-encoding a request whose strings hold lone surrogates. */
let wellFormed = false;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `s` with every lone surrogate replaced by U+FFFD (String#toWellFormed, where the runtime lacks it). */
function toWellFormed(s: string): string {
  const native = (s as { toWellFormed?: () => string }).toWellFormed;
  return native !== undefined ? native.call(s) : s.replace(LONE_SURROGATE, '\uFFFD');
}

function str(s: string): string {
  return JSON.stringify(wellFormed ? toWellFormed(s) : s);
}

/** A uint64 nanosecond time as its decimal string, exactly. */
function hrTimeString(time: HrTime): string {
  const seconds = time[0];
  const nanos = time[1];
  if (seconds < 9_007_199) return String(seconds * 1e9 + nanos);
  return String(seconds) + String(nanos).padStart(9, '0');
}

/** A double as proto3 JSON writes it. */
function doubleJson(value: number): string {
  if (Number.isFinite(value)) return Object.is(value, -0) ? '-0.0' : String(value);
  return Number.isNaN(value) ? '"NaN"' : value > 0 ? '"Infinity"' : '"-Infinity"';
}

function base64(bytes: Uint8Array): string {
  if (typeof Buffer === 'function')
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let binary = '';
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary);
}

/** An AnyValue object. */
function anyValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return '{"stringValue":' + str(value) + '}';
    case 'number':
      return Number.isInteger(value) && value >= -INT64_LIMIT && value < INT64_LIMIT && !Object.is(value, -0)
        ? '{"intValue":"' + String(value) + '"}'
        : '{"doubleValue":' + doubleJson(value) + '}';
    case 'boolean':
      return value ? '{"boolValue":true}' : '{"boolValue":false}';
    case 'bigint':
      return '{"intValue":"' + BigInt.asIntN(64, value).toString() + '"}';
    case 'object':
      break;
    default:
      return '{}';
  }
  if (value === null) return '{}';
  if (value instanceof ExactDouble) return '{"doubleValue":' + doubleJson(value.value) + '}';
  if (value instanceof ExactInt64) return '{"intValue":"' + value.toDecimal() + '"}';
  if (value instanceof Uint8Array) return '{"bytesValue":"' + base64(value) + '"}';
  if (Array.isArray(value)) {
    let out = '{"arrayValue":{"values":[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + anyValue(value[i]);
    return out + ']}}';
  }
  let out = '{"kvlistValue":{"values":[';
  let first = true;
  const map = value as Record<string, unknown>;
  for (const key in map) {
    if (!Object.prototype.hasOwnProperty.call(map, key)) continue;
    out += (first ? '{"key":' : ',{"key":') + str(key) + ',"value":' + anyValue(map[key]) + '}';
    first = false;
  }
  return out + ']}}';
}

/** A KeyValue list. */
function attributes(map: Attributes, source: AttributeSource): string {
  const lookup = source.lookup;
  let out = '[';
  let first = true;
  for (const key in map) {
    if (!Object.prototype.hasOwnProperty.call(map, key)) continue;
    const value = lookup ? valueToWrite(source, key, map[key]) : map[key];
    out += (first ? '{"key":' : ',{"key":') + str(key) + ',"value":' + anyValue(value) + '}';
    first = false;
  }
  return out + ']';
}

function event(e: EncodableSpan['events'][number]): string {
  return (
    '{"timeUnixNano":"' +
    hrTimeString(e.time) +
    '","name":' +
    str(e.name) +
    ',"attributes":' +
    (e.attributes === undefined ? '[]' : attributes(e.attributes, attributeSource(e.attributes))) +
    ',"droppedAttributesCount":' +
    String(e.droppedAttributesCount ?? 0) +
    '}'
  );
}

function link(l: Link): string {
  const context = l.context;
  const traceState = context.traceState?.serialize();
  return (
    '{"traceId":' +
    str(context.traceId) +
    ',"spanId":' +
    str(context.spanId) +
    (traceState ? ',"traceState":' + str(traceState) : '') +
    ',"attributes":' +
    (l.attributes === undefined ? '[]' : attributes(l.attributes, attributeSource(l.attributes))) +
    ',"droppedAttributesCount":' +
    String(l.droppedAttributesCount ?? 0) +
    ',"flags":' +
    String((context.traceFlags & 0xff) | HAS_IS_REMOTE | (context.isRemote ? IS_REMOTE : 0)) +
    '}'
  );
}

function span(s: EncodableSpan): string {
  const context = s.spanContext();
  const traceState = context.traceState?.serialize();
  const parent = s.parentSpanContext;
  let out =
    '{"traceId":' +
    str(context.traceId) +
    ',"spanId":' +
    str(context.spanId) +
    (traceState ? ',"traceState":' + str(traceState) : '') +
    (parent?.spanId ? ',"parentSpanId":' + str(parent.spanId) : '') +
    ',"name":' +
    str(s.name) +
    ',"kind":' +
    String(s.kind == null ? 0 : s.kind + 1) +
    ',"startTimeUnixNano":"' +
    hrTimeString(s.startTime) +
    '","endTimeUnixNano":"' +
    hrTimeString(s.endTime) +
    '","attributes":' +
    attributes(s.attributes, spanAttributeSource(s)) +
    ',"droppedAttributesCount":' +
    String(s.droppedAttributesCount ?? 0) +
    ',"events":[';
  for (let i = 0; i < s.events.length; i++) out += (i === 0 ? '' : ',') + event(s.events[i]);
  out += '],"droppedEventsCount":' + String(s.droppedEventsCount ?? 0) + ',"links":[';
  for (let i = 0; i < s.links.length; i++) out += (i === 0 ? '' : ',') + link(s.links[i]);
  return (
    out +
    '],"droppedLinksCount":' +
    String(s.droppedLinksCount ?? 0) +
    ',"status":{' +
    (s.status.message ? '"message":' + str(s.status.message) + ',' : '') +
    '"code":' +
    String(s.status.code) +
    '},"flags":' +
    String((context.traceFlags & 0xff) | HAS_IS_REMOTE | (parent?.isRemote ? IS_REMOTE : 0)) +
    '}'
  );
}

function scope(sc: RelayScope): string {
  let out = '{"name":' + str(sc.name);
  if (sc.version) out += ',"version":' + str(sc.version);
  if (sc.attributes !== undefined) out += ',"attributes":' + attributes(sc.attributes, attributeSource(sc.attributes));
  if (sc.droppedAttributesCount) out += ',"droppedAttributesCount":' + String(sc.droppedAttributesCount);
  return out + '}';
}

function request(spans: readonly ReadableSpanLike[]): string {
  let out = '{"resourceSpans":[';
  let firstResource = true;
  for (const [resource, scopes] of groupSpans(spans)) {
    const fields = resourceFields(resource);
    out +=
      (firstResource ? '' : ',') +
      '{"resource":{"attributes":' +
      attributes(fields.attributes, attributeSource(fields.attributes)) +
      ',"droppedAttributesCount":' +
      String(fields.droppedAttributesCount) +
      '},"scopeSpans":[';
    firstResource = false;
    let firstScope = true;
    for (const [sc, list] of scopes) {
      out += (firstScope ? '' : ',') + '{"scope":' + scope(sc) + ',"spans":[';
      firstScope = false;
      for (let i = 0; i < list.length; i++) out += (i === 0 ? '' : ',') + span(list[i]);
      out += ']' + (sc.schemaUrl ? ',"schemaUrl":' + str(sc.schemaUrl) : '') + '}';
    }
    out += ']' + (resource.schemaUrl ? ',"schemaUrl":' + str(resource.schemaUrl) : '') + '}';
  }
  return out + ']}';
}

/** Whether JSON text holds an escaped surrogate (JSON.stringify writes a lone one as `\udxxx`). */
const ESCAPED_SURROGATE = /\\ud[89a-f]/i;

/** The OTLP/JSON ExportTraceServiceRequest of these spans, as text (one line: JSON.stringify escapes newlines). */
export function encodeJsonTraceRequestText(spans: readonly ReadableSpanLike[]): string {
  const text = request(spans);
  // Rare: look for the escape natively, and only then re-encode with every string made well-formed.
  if (text.indexOf('\\u') === -1 || !ESCAPED_SURROGATE.test(text)) return text;
  wellFormed = true;
  try {
    return request(spans);
  } finally {
    wellFormed = false;
  }
}

/** Encodes spans (RelaySpans, or the SDK's ReadableSpans) as an OTLP/JSON ExportTraceServiceRequest. */
export function encodeJsonTraceRequest(spans: readonly ReadableSpanLike[]): Uint8Array {
  const text = encodeJsonTraceRequestText(spans);
  return typeof Buffer === 'function' ? Buffer.from(text, 'utf8') : textEncoder.encode(text);
}
