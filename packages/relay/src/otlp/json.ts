/*
 * A decoder for OTLP/JSON ExportTraceServiceRequest bodies (`application/json`), into the same RelaySpans as
 * the protobuf decoder, with the same representation choices (listed in the header of `protobuf.ts`).
 *
 * proto3 JSON as the OTLP spec (docs/specification.md, "JSON Protobuf Encoding") defines it, read leniently:
 * - keys in lowerCamelCase; the original snake_case names are accepted too (the spec says senders must not use
 *   them, but proto3 JSON parsers accept both, and hand-written emitters do send them). Unknown keys are
 *   ignored; `null` means the field's default.
 * - trace and span ids are hex, case-insensitive (not base64). An id that is not an even number of hex digits,
 *   a well-formed id of the wrong length, or all zeroes, rejects its span only (partial success), as a
 *   wrong-length id does in protobuf; so does a link id that is not hex (link ids of any length are kept, as
 *   in protobuf). An id that is not a string at all is a malformed body (400).
 * - enums (`kind`, `status.code`) as integers, as the spec requires, and also as their names
 *   (`SPAN_KIND_SERVER`, `STATUS_CODE_ERROR`) or decimal strings.
 * - int64/uint64/uint32 as numbers or decimal strings. Times and intValues keep every digit: JSON.parse would
 *   turn 1787822507530918072 into a double, so before parsing, time fields and intValues written as number
 *   literals of 16 or more digits are quoted (see quoteLongIntLiterals), and both accept strings. A quick regex
 *   scan finds none in a body that writes them as strings, as the SDK (times), the Collector and protobuf's
 *   own JSON printers do, and JSON.parse then runs on the text unchanged. Measured on a 512-span, 710 KB body
 *   (Node 20, medians of 3 runs): JSON.parse alone 2.35 ms; scan + JSON.parse 2.40 ms (times as strings) and
 *   2.75 ms (times as literals); a minimal hand-written parser keeping long literals as strings, without full
 *   validation, 3.5 ms either way; quoting long literals anywhere (which needs to track strings) scanned in
 *   0.42 ms instead of 0.08 ms. An intValue beyond ±2^53 is the nearest double plus its exact bits (exact.ts);
 *   one outside int64 is read as the integral double it must have been (the SDK's JSON serializer writes any
 *   integral double as intValue: 2^63 as 9223372036854776000, 1e300 as 1e+300).
 * - `bytesValue` in base64 (standard or URL-safe, padding optional); `doubleValue` also as "NaN",
 *   "Infinity", "-Infinity" or a decimal string, and an integral one (`1`, `2.0`) is kept a double (exact.ts).
 * - wrong JSON types (a string where an object is expected, a fractional or out-of-range integer, …) are
 *   errors naming the field path, e.g. `json: resourceSpans[0].scopeSpans[1].spans[3].kind: expected an
 *   integer or a SpanKind name, got an object`. AnyValue nesting is bounded at 64, like protobuf.
 * - invalid UTF-8 in the body becomes U+FFFD (TextDecoder, non-fatal); a byte order mark is dropped.
 */
import type { Attributes, HrTime, Link } from '@opentelemetry/api';
import { describeValue } from '@genai-enrich/processor/internal';
import { DecodeProblem, OtlpDecodeError } from './errors.js';
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
  hrTimeFromDecimal,
  hrTimeFromNumber,
  idProblem,
  isRemoteFlag,
  linkTraceFlags,
  makeResource,
  setAttribute,
  spanStatus,
  spanTraceFlags,
} from './span.js';
import type { AttributeMap } from './span.js';
import type { DecodeResult, RelayEvent } from './types.js';

type JsonObject = Record<string, unknown>;

const textDecoder = new TextDecoder();
const NO_ITEMS: readonly unknown[] = Object.freeze([]);

const SPAN_KIND_NAMES = new Map<string, number>([
  ['SPAN_KIND_UNSPECIFIED', 0],
  ['SPAN_KIND_INTERNAL', 1],
  ['SPAN_KIND_SERVER', 2],
  ['SPAN_KIND_CLIENT', 3],
  ['SPAN_KIND_PRODUCER', 4],
  ['SPAN_KIND_CONSUMER', 5],
]);
const STATUS_CODE_NAMES = new Map<string, number>([
  ['STATUS_CODE_UNSET', 0],
  ['STATUS_CODE_OK', 1],
  ['STATUS_CODE_ERROR', 2],
]);

// ── long time literals ───────────────────────────────────────────────────────────────────────────

// A nanosecond time or an intValue written as a number of 16+ digits (15 digits are always exact in a
// double). `UnixNano"` or `intValue"` followed by `:` can only be the end of an object key: inside a JSON
// string a quote is escaped, so no string-state tracking is needed. Anchoring on the key makes the scan ~5×
// cheaper than looking for long numbers everywhere (measured: 0.08 vs 0.42 ms on a 710 KB body).
const LONG_INT_LITERAL = /((?:UnixNano|unix_nano|intValue|int_value)"\s*:\s*)(-?\d{16,})(?=\s*[,}])/g;

/**
 * Quotes the nanosecond times and intValues written as number literals of 16 or more digits, so that
 * JSON.parse keeps their digits (1787822507530918072 would become the double 1787822507530918144). Returns
 * `text` itself when there is nothing to quote.
 */
export function quoteLongIntLiterals(text: string): string {
  LONG_INT_LITERAL.lastIndex = 0;
  if (!LONG_INT_LITERAL.test(text)) return text;
  return text.replace(LONG_INT_LITERAL, '$1"$2"');
}

// ── field readers ────────────────────────────────────────────────────────────────────────────────────

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A bad value from the body, as decode errors show it: scalars with their JSON type (`the string "x"`,
 * shortened, since a body may hold megabytes in one string; `the number 1.5`), everything else as option
 * messages describe it (`null`, `an array`, `an object`).
 */
function describe(value: unknown): string {
  switch (typeof value) {
    case 'string': {
      const shown = value.length > 40 ? value.slice(0, 40) + '…' : value;
      return `the string ${JSON.stringify(shown)}`;
    }
    case 'number':
      return `the number ${value}`;
    case 'boolean':
      return `boolean ${value}`;
    default:
      return describeValue(value);
  }
}

function fieldProblem(field: string, expected: string, value: unknown): DecodeProblem {
  return new DecodeProblem(`expected ${expected}, got ${describe(value)}`).at(field);
}

function listField(value: unknown, field: string): readonly unknown[] {
  if (value === undefined || value === null) return NO_ITEMS;
  if (Array.isArray(value)) return value;
  throw fieldProblem(field, 'an array', value);
}

function objectField(value: unknown, field: string): JsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (isObject(value)) return value;
  throw fieldProblem(field, 'an object', value);
}

function stringField(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  throw fieldProblem(field, 'a string', value);
}

const DIGITS = /^\d+$/;
const SIGNED_DIGITS = /^-?\d+$/;
const UINT32_MAX = 0xffffffff;

function uint32Field(value: unknown, field: string): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value <= UINT32_MAX) return value;
  } else if (typeof value === 'string') {
    if (DIGITS.test(value) && value.length <= 10) {
      const n = Number(value);
      if (n <= UINT32_MAX) return n;
    }
  } else if (value === undefined || value === null) {
    return 0;
  }
  throw fieldProblem(field, 'a uint32', value);
}

function enumField(value: unknown, field: string, names: ReadonlyMap<string, number>, enumName: string): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff) return value;
  } else if (typeof value === 'string') {
    const named = names.get(value);
    if (named !== undefined) return named;
    if (SIGNED_DIGITS.test(value) && value.length <= 11) {
      const n = Number(value);
      if (n >= -0x80000000 && n <= 0x7fffffff) return n;
    }
  } else if (value === undefined || value === null) {
    return 0;
  }
  throw fieldProblem(field, `an integer or a ${enumName} name`, value);
}

function timeField(value: unknown, field: string): HrTime {
  if (typeof value === 'string') {
    const time = hrTimeFromDecimal(value);
    if (time !== undefined) return time;
  } else if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value < 2 ** 64) return hrTimeFromNumber(value);
  } else if (value === undefined || value === null) {
    return [0, 0];
  }
  throw fieldProblem(field, 'a uint64 of nanoseconds', value);
}

const HEX_DIGITS = /^[0-9a-fA-F]*$/;

/**
 * An id as it is in the body: a string ('' when absent), checked by the caller (hexIdProblem), so that an id
 * that is not hex rejects its span only, as an id of the wrong length does in protobuf. Not a string at all
 * is a malformed body.
 */
function idField(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  throw fieldProblem(field, 'a hex string', value);
}

/** Why an id string cannot be decoded to bytes, or undefined when it is hex. */
function hexProblem(field: string, id: string): string | undefined {
  if ((id.length & 1) === 0 && HEX_DIGITS.test(id)) return undefined;
  const shown = id.length > 40 ? id.slice(0, 40) + '…' : id;
  return `${field} ${JSON.stringify(shown)} is not an even number of hex digits (OTLP/JSON ids are hex, not base64)`;
}

/** A hex id in lowercase; anything else as it is, for the rejection message. */
function lowercaseHex(id: string): string {
  return HEX_DIGITS.test(id) ? id.toLowerCase() : id;
}

const ZERO_IDS = /^0*$/;

/** Why a span's or parent's id is invalid (not hex, wrong length, all zeroes), or undefined. */
function hexIdProblem(field: string, id: string, bytes: number): string | undefined {
  return hexProblem(field, id) ?? idProblem(field, id.length / 2, bytes, id.length === bytes * 2 && ZERO_IDS.test(id));
}

/**
 * The exact form of the AnyValue anyValue() just decoded, when its plain value loses something (exact.ts),
 * else undefined. Module state rather than a return pair: the decoder is synchronous and not re-entered.
 */
let lastExact: unknown = undefined;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * intValue: an integer as a number or a decimal string (proto3 JSON writes int64 as a string; long literals
 * were quoted before parsing). The plain value is the nearest double; beyond ±2^53 the exact bits go to
 * `lastExact`. Outside int64 it is read as the double it must have been: the SDK's own JSON serializer writes
 * every integral double as intValue (2^63 as 9223372036854776000, 1e300 as 1e+300).
 */
function int64Value(value: unknown): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value)) {
      if (value >= 2 ** 63 || value < -(2 ** 63)) lastExact = new ExactDouble(value);
      // -0 is not an int64: an intValue of -0 is 0.
      return value + 0;
    }
  } else if (typeof value === 'string' && SIGNED_DIGITS.test(value)) {
    const n = Number(value) + 0;
    if (Number.isSafeInteger(n)) return n;
    if (Number.isFinite(n)) {
      const big = BigInt(value);
      lastExact = big >= INT64_MIN && big <= INT64_MAX ? ExactInt64.fromBigInt(big) : new ExactDouble(n);
      return n;
    }
  }
  throw fieldProblem('intValue', 'an integer', value);
}

/** doubleValue: a number, "NaN", "Infinity", "-Infinity" or a decimal string; an integral one is noted exact. */
function doubleValue(value: unknown): number {
  let n = NaN;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string') {
    if (value === 'NaN') return NaN;
    if (value === 'Infinity') return Infinity;
    if (value === '-Infinity') return -Infinity;
    n = value.trim() === '' ? NaN : Number(value);
  }
  if (Number.isNaN(n)) throw fieldProblem('doubleValue', 'a number, "NaN", "Infinity" or "-Infinity"', value);
  if (isIntegralDouble(n)) lastExact = new ExactDouble(n);
  return n;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function bytesValue(value: unknown): Uint8Array {
  if (typeof value === 'string' && BASE64.test(value)) {
    const unpadded = value.length - (value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0);
    if (unpadded % 4 !== 1 && (unpadded === value.length || value.length % 4 === 0)) {
      if (typeof Buffer === 'function') return new Uint8Array(Buffer.from(value, 'base64'));
      const binary = atob(value.replace(/-/g, '+').replace(/_/g, '/'));
      const out = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
      return out;
    }
  }
  throw fieldProblem('bytesValue', 'base64', value);
}

// ── AnyValue ─────────────────────────────────────────────────────────────────────────────────────────

function rethrowAt(problem: unknown, segment: string): unknown {
  if (problem instanceof DecodeProblem) problem.at(segment);
  return problem;
}

/** Returns the plain value of an AnyValue and leaves its exact form, if it needs one, in `lastExact`. */
function anyValue(value: unknown, depth: number): unknown {
  lastExact = undefined;
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new DecodeProblem(`expected an AnyValue object, got ${describe(value)}`);
  if (depth > MAX_ANY_VALUE_DEPTH) throw new DecodeProblem(`AnyValue nested deeper than ${MAX_ANY_VALUE_DEPTH}`);
  let out: unknown = undefined;
  let exact: unknown = undefined;
  // One pass over the (usually single) key handles both spellings of every member.
  for (const key in value) {
    const member = value[key];
    if (member === undefined || member === null) continue;
    lastExact = undefined;
    switch (key) {
      case 'stringValue':
      case 'string_value':
        if (typeof member !== 'string') throw fieldProblem('stringValue', 'a string', member);
        out = member;
        break;
      case 'boolValue':
      case 'bool_value':
        if (typeof member !== 'boolean') throw fieldProblem('boolValue', 'a boolean', member);
        out = member;
        break;
      case 'intValue':
      case 'int_value':
        out = int64Value(member);
        break;
      case 'doubleValue':
      case 'double_value':
        out = doubleValue(member);
        break;
      case 'arrayValue':
      case 'array_value': {
        if (!isObject(member)) throw fieldProblem('arrayValue', 'an object', member);
        const values = listField(member['values'], 'values');
        const array: unknown[] = new Array(values.length);
        let exactArray: unknown[] | undefined;
        for (let i = 0; i < values.length; i++) {
          try {
            array[i] = anyValue(values[i], depth + 1);
          } catch (problem) {
            throw rethrowAt(rethrowAt(rethrowAt(problem, `[${i}]`), 'values'), 'arrayValue');
          }
          // The exact array exists once one element needs it: the plain elements so far, then exact or plain.
          if (lastExact !== undefined) (exactArray ??= array.slice(0, i))[i] = lastExact;
          else if (exactArray !== undefined) exactArray[i] = array[i];
        }
        out = array;
        lastExact = exactArray;
        break;
      }
      case 'kvlistValue':
      case 'kvlist_value': {
        if (!isObject(member)) throw fieldProblem('kvlistValue', 'an object', member);
        const values = listField(member['values'], 'values');
        const kvlist: AttributeMap = {};
        let exactKvlist: AttributeMap | undefined;
        for (let i = 0; i < values.length; i++) {
          let key: string;
          try {
            key = keyValue(values[i], kvlist, depth + 1);
          } catch (problem) {
            throw rethrowAt(rethrowAt(rethrowAt(problem, `[${i}]`), 'values'), 'kvlistValue');
          }
          if (lastExact !== undefined) setAttribute((exactKvlist ??= { ...kvlist }), key, lastExact);
          else if (exactKvlist !== undefined) setAttribute(exactKvlist, key, kvlist[key]);
        }
        out = kvlist;
        lastExact = exactKvlist;
        break;
      }
      case 'bytesValue':
      case 'bytes_value':
        out = bytesValue(member);
        break;
      default:
        // Unknown members (and the profiles-only stringValueStrindex) are ignored.
        continue;
    }
    exact = lastExact;
  }
  lastExact = exact;
  return out;
}

/** Reads one KeyValue into `target` and returns its key; its value's exact form is left in `lastExact`. */
function keyValue(kv: unknown, target: AttributeMap, depth: number): string {
  if (!isObject(kv)) throw new DecodeProblem(`expected a KeyValue object, got ${describe(kv)}`);
  const key = stringField(kv['key'], 'key');
  let value: unknown;
  try {
    value = anyValue(kv['value'], depth);
  } catch (problem) {
    throw rethrowAt(problem, 'value');
  }
  setAttribute(target, key, value);
  return key;
}

/** Reads a list of KeyValues into `target` and attaches the exact values of those that need one (exact.ts). */
function attributeList(list: unknown, target: AttributeMap, field: string): void {
  const items = listField(list, field);
  let record: ExactRecord | undefined;
  for (let i = 0; i < items.length; i++) {
    let key: string;
    try {
      key = keyValue(items[i], target, 1);
    } catch (problem) {
      throw rethrowAt(rethrowAt(problem, `[${i}]`), field);
    }
    if (lastExact !== undefined || record !== undefined) record = noteExact(record, key, target[key], lastExact);
  }
  attachExact(target, record);
}

// ── trace messages ───────────────────────────────────────────────────────────────────────────────────

function event(value: unknown): RelayEvent {
  if (!isObject(value)) throw new DecodeProblem(`expected an Event object, got ${describe(value)}`);
  const attributes: AttributeMap = {};
  attributeList(value['attributes'], attributes, 'attributes');
  return {
    name: stringField(value['name'], 'name'),
    attributes: attributes as Attributes,
    time: timeField(value['timeUnixNano'] ?? value['time_unix_nano'], 'timeUnixNano'),
    droppedAttributesCount: uint32Field(
      value['droppedAttributesCount'] ?? value['dropped_attributes_count'],
      'droppedAttributesCount',
    ),
  };
}

function link(value: unknown, state: RequestState): Link {
  if (!isObject(value)) throw new DecodeProblem(`expected a Link object, got ${describe(value)}`);
  const flags = uint32Field(value['flags'], 'flags');
  const attributes: AttributeMap = {};
  attributeList(value['attributes'], attributes, 'attributes');
  return {
    context: {
      // Any length, as in protobuf (a link may point to an invalid context); not hex rejects the span.
      traceId: lowercaseHex(idField(value['traceId'] ?? value['trace_id'], 'traceId')),
      spanId: lowercaseHex(idField(value['spanId'] ?? value['span_id'], 'spanId')),
      traceFlags: linkTraceFlags(flags),
      isRemote: isRemoteFlag(flags),
      traceState: state.traceState(stringField(value['traceState'] ?? value['trace_state'], 'traceState')),
    },
    attributes: attributes as Attributes,
    droppedAttributesCount: uint32Field(
      value['droppedAttributesCount'] ?? value['dropped_attributes_count'],
      'droppedAttributesCount',
    ),
  };
}

/** Why a link's id cannot be decoded (not hex), or undefined. */
function linkIdProblem(links: readonly Link[]): string | undefined {
  for (let i = 0; i < links.length; i++) {
    const { traceId, spanId } = links[i].context;
    const problem = hexProblem(`links[${i}].traceId`, traceId) ?? hexProblem(`links[${i}].spanId`, spanId);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function span(
  value: unknown,
  state: RequestState,
  out: RelaySpanImpl[],
  resourceIndex: number,
  scopeIndex: number,
  spanIndex: number,
): void {
  if (!isObject(value)) throw new DecodeProblem(`expected a Span object, got ${describe(value)}`);
  const traceId = lowercaseHex(idField(value['traceId'] ?? value['trace_id'], 'traceId'));
  const spanId = lowercaseHex(idField(value['spanId'] ?? value['span_id'], 'spanId'));
  const parentSpanId = lowercaseHex(idField(value['parentSpanId'] ?? value['parent_span_id'], 'parentSpanId'));
  const traceState = stringField(value['traceState'] ?? value['trace_state'], 'traceState');
  const flags = uint32Field(value['flags'], 'flags');
  const name = stringField(value['name'], 'name');
  const kind = enumField(value['kind'], 'kind', SPAN_KIND_NAMES, 'SpanKind');
  const startTime = timeField(value['startTimeUnixNano'] ?? value['start_time_unix_nano'], 'startTimeUnixNano');
  const endTime = timeField(value['endTimeUnixNano'] ?? value['end_time_unix_nano'], 'endTimeUnixNano');
  const attributes: AttributeMap = {};
  attributeList(value['attributes'], attributes, 'attributes');
  const droppedAttributes = uint32Field(
    value['droppedAttributesCount'] ?? value['dropped_attributes_count'],
    'droppedAttributesCount',
  );

  const eventList = listField(value['events'], 'events');
  const events: RelayEvent[] = new Array(eventList.length);
  for (let i = 0; i < eventList.length; i++) {
    try {
      events[i] = event(eventList[i]);
    } catch (problem) {
      throw rethrowAt(rethrowAt(problem, `[${i}]`), 'events');
    }
  }
  const droppedEvents = uint32Field(value['droppedEventsCount'] ?? value['dropped_events_count'], 'droppedEventsCount');

  const linkList = listField(value['links'], 'links');
  const links: Link[] = new Array(linkList.length);
  for (let i = 0; i < linkList.length; i++) {
    try {
      links[i] = link(linkList[i], state);
    } catch (problem) {
      throw rethrowAt(rethrowAt(problem, `[${i}]`), 'links');
    }
  }
  const droppedLinks = uint32Field(value['droppedLinksCount'] ?? value['dropped_links_count'], 'droppedLinksCount');

  let statusCode = 0;
  let statusMessage = '';
  const status = objectField(value['status'], 'status');
  if (status !== undefined) {
    try {
      statusMessage = stringField(status['message'], 'message');
      statusCode = enumField(status['code'], 'code', STATUS_CODE_NAMES, 'StatusCode');
    } catch (problem) {
      throw rethrowAt(problem, 'status');
    }
  }

  const problem =
    hexIdProblem('traceId', traceId, 16) ??
    hexIdProblem('spanId', spanId, 8) ??
    hexProblem('parentSpanId', parentSpanId) ??
    (parentSpanId.length !== 0 && parentSpanId.length !== 16
      ? `parentSpanId is ${parentSpanId.length / 2} bytes, expected 0 or 8`
      : undefined) ??
    linkIdProblem(links);
  if (problem !== undefined) {
    state.reject(resourceIndex, scopeIndex, spanIndex, problem);
    return;
  }

  const traceFlags = spanTraceFlags(flags);
  out.push(
    new RelaySpanImpl(
      name,
      apiSpanKind(kind),
      { traceId, spanId, traceFlags, traceState: state.traceState(traceState) },
      parentSpanId.length === 0 || ZERO_IDS.test(parentSpanId)
        ? undefined
        : { traceId, spanId: parentSpanId, traceFlags, isRemote: isRemoteFlag(flags) },
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

function scopeSpans(
  value: unknown,
  state: RequestState,
  out: RelaySpanImpl[],
  resourceIndex: number,
  scopeIndex: number,
): void {
  if (!isObject(value)) throw new DecodeProblem(`expected a ScopeSpans object, got ${describe(value)}`);
  const first = out.length;
  const scope = new ScopeFields();
  const scopeJson = objectField(value['scope'], 'scope');
  if (scopeJson !== undefined) {
    try {
      scope.name = stringField(scopeJson['name'], 'name');
      scope.version = stringField(scopeJson['version'], 'version');
      const list = scopeJson['attributes'];
      if (list !== undefined && list !== null) attributeList(list, (scope.attributes = {}), 'attributes');
      scope.droppedAttributesCount = uint32Field(
        scopeJson['droppedAttributesCount'] ?? scopeJson['dropped_attributes_count'],
        'droppedAttributesCount',
      );
    } catch (problem) {
      throw rethrowAt(problem, 'scope');
    }
  }
  const spans = listField(value['spans'], 'spans');
  for (let i = 0; i < spans.length; i++) {
    try {
      span(spans[i], state, out, resourceIndex, scopeIndex, i);
    } catch (problem) {
      throw rethrowAt(rethrowAt(problem, `[${i}]`), 'spans');
    }
  }
  assignScope(out, first, scope.build(stringField(value['schemaUrl'] ?? value['schema_url'], 'schemaUrl')));
}

function resourceSpans(value: unknown, state: RequestState, out: RelaySpanImpl[], resourceIndex: number): void {
  if (!isObject(value)) throw new DecodeProblem(`expected a ResourceSpans object, got ${describe(value)}`);
  const first = out.length;
  const attributes: AttributeMap = {};
  let dropped = 0;
  const resource = objectField(value['resource'], 'resource');
  if (resource !== undefined) {
    try {
      attributeList(resource['attributes'], attributes, 'attributes');
      dropped = uint32Field(
        resource['droppedAttributesCount'] ?? resource['dropped_attributes_count'],
        'droppedAttributesCount',
      );
    } catch (problem) {
      throw rethrowAt(problem, 'resource');
    }
  }
  const list = listField(value['scopeSpans'] ?? value['scope_spans'], 'scopeSpans');
  for (let i = 0; i < list.length; i++) {
    try {
      scopeSpans(list[i], state, out, resourceIndex, i);
    } catch (problem) {
      throw rethrowAt(rethrowAt(problem, `[${i}]`), 'scopeSpans');
    }
  }
  assignResource(
    out,
    first,
    makeResource(attributes, stringField(value['schemaUrl'] ?? value['schema_url'], 'schemaUrl'), dropped),
  );
}

/** Decodes an OTLP/JSON ExportTraceServiceRequest. Throws OtlpDecodeError only. */
export function decodeJsonTraceRequest(body: Uint8Array): DecodeResult {
  return decodeJsonTraceText(textDecoder.decode(body));
}

/** The same, from the body's text (a piece of a large body, see split-json.ts). Throws OtlpDecodeError only. */
export function decodeJsonTraceText(text: string): DecodeResult {
  let root: unknown;
  try {
    root = JSON.parse(quoteLongIntLiterals(text));
  } catch (error) {
    // A SyntaxError, or a RangeError when the nesting exhausts the stack.
    throw new OtlpDecodeError(`json: ${error instanceof Error ? error.message : String(error)}`);
  }
  const state = new RequestState();
  const out: RelaySpanImpl[] = [];
  try {
    if (!isObject(root)) throw new DecodeProblem(`expected an ExportTraceServiceRequest object, got ${describe(root)}`);
    const list = listField(root['resourceSpans'] ?? root['resource_spans'], 'resourceSpans');
    for (let i = 0; i < list.length; i++) {
      try {
        resourceSpans(list[i], state, out, i);
      } catch (problem) {
        throw rethrowAt(rethrowAt(problem, `[${i}]`), 'resourceSpans');
      }
    }
  } catch (problem) {
    if (problem instanceof DecodeProblem) throw problem.toError('json');
    throw problem;
  }
  return state.result(out);
}
