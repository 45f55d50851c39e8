/*
 * A tiny protobuf writer for hand-built test bodies: each helper returns the bytes of one field (tag and
 * value), and `msg` concatenates fields, so a test reads like the message it builds. Independent of the
 * decoder under test and of the SDK's writer, and able to write what neither emits (unknown fields, groups,
 * non-minimal varints, any field order).
 */
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const SGROUP = 3;
export const EGROUP = 4;
export const I32 = 5;

export type Bytes = Uint8Array;

export function concat(...parts: Bytes[]): Bytes {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** A varint; negative numbers as 10-byte two's complement, as int64 fields are written. */
export function varintBytes(value: number | bigint): Bytes {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

export function tag(field: number, wireType: number): Bytes {
  return varintBytes((field << 3) | wireType);
}

export function varint(field: number, value: number | bigint | boolean): Bytes {
  return concat(tag(field, VARINT), varintBytes(typeof value === 'boolean' ? (value ? 1 : 0) : value));
}

export function fixed64(field: number, value: bigint): Bytes {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
  return concat(tag(field, I64), b);
}

export function double(field: number, value: number): Bytes {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, value, true);
  return concat(tag(field, I64), b);
}

export function fixed32(field: number, value: number): Bytes {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value >>> 0, true);
  return concat(tag(field, I32), b);
}

export function bytes(field: number, value: Bytes): Bytes {
  return concat(tag(field, LEN), varintBytes(value.length), value);
}

export function str(field: number, value: string): Bytes {
  return bytes(field, new TextEncoder().encode(value));
}

/** A length-delimited sub-message made of `fields`. */
export function sub(field: number, ...fields: Bytes[]): Bytes {
  return bytes(field, concat(...fields));
}

/** A group (wire types 3 and 4) around `fields`. */
export function group(field: number, ...fields: Bytes[]): Bytes {
  return concat(tag(field, SGROUP), ...fields, tag(field, EGROUP));
}

export const msg = concat;

export function hex(value: string): Bytes {
  return Uint8Array.from(Buffer.from(value, 'hex'));
}

// ── OTLP shorthands ──────────────────────────────────────────────────────────────────────────────────

export const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
export const SPAN_ID = 'b7ad6b7169203331';
export const PARENT_ID = '00f067aa0ba902b7';

/** One unknown field of every wire type (field numbers no trace message uses), including a nested group. */
export function unknownFields(): Bytes {
  return concat(
    varint(1000, 2n ** 63n + 5n),
    fixed64(1001, 0xdeadbeefn),
    str(1002, 'unknown'),
    fixed32(1003, 7),
    group(1004, varint(1, 1), group(2, str(3, 'nested')), fixed32(4, 9)),
  );
}

export function keyValue(key: string, ...anyValueFields: Bytes[]): Bytes {
  return concat(str(1, key), sub(2, ...anyValueFields));
}

/** A span with valid ids and times, plus `extra` fields. */
export function spanBody(...extra: Bytes[]): Bytes {
  return concat(
    bytes(1, hex(TRACE_ID)),
    bytes(2, hex(SPAN_ID)),
    str(5, 'span'),
    fixed64(7, 1787822507530918072n),
    fixed64(8, 1787822508000000001n),
    ...extra,
  );
}

/** A request with one ResourceSpans and one ScopeSpans holding `spans` (each a Span body). */
export function request(...spans: Bytes[]): Bytes {
  return sub(
    1,
    sub(1, sub(1, keyValue('service.name', str(1, 'svc')))),
    sub(2, sub(1, str(1, 'scope')), ...spans.map((s) => sub(2, s))),
  );
}
