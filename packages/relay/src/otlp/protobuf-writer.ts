/*
 * The little protobuf the relay writes: two small messages of the same shape, a number in field 1 and a
 * string in field 2 (`google.rpc.Status { int32 code = 1; string message = 2; }` for error bodies, and
 * `ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }` for partial success),
 * plus the varints that frame them, and the fields that nest them (`google.rpc.Status.details`, the
 * response's `partial_success`). Fields at their default are left out, as proto3 serializers do.
 */

const textEncoder = new TextEncoder();

/** Appends `value`, a non-negative safe integer, as a base-128 varint. */
export function pushVarint(out: number[], value: number): void {
  // Division rather than `>>>`: an int64 such as rejected_spans may exceed 2^32.
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/**
 * The bytes of a message `{ <varint> = 1; string = 2; }`: `number` (a non-negative safe integer) is left out
 * when 0 and `text` when empty, so both at their defaults give the empty message (zero bytes).
 */
export function encodeNumberAndText(number: number, text: string): Uint8Array {
  const head: number[] = [];
  if (number !== 0) {
    head.push(0x08); // field 1, varint
    pushVarint(head, number);
  }
  const textBytes = textEncoder.encode(text);
  if (textBytes.length !== 0) {
    head.push(0x12); // field 2, length-delimited
    pushVarint(head, textBytes.length);
  }
  const out = new Uint8Array(head.length + textBytes.length);
  out.set(head, 0);
  out.set(textBytes, head.length);
  return out;
}

/** A varint field (`value` a non-negative safe integer); no bytes when `value` is 0, as proto3 leaves defaults out. */
export function encodeVarintField(field: number, value: number): Uint8Array {
  if (value === 0) return new Uint8Array(0);
  const out: number[] = [];
  pushVarint(out, field * 8); // wire type 0
  pushVarint(out, value);
  return Uint8Array.from(out);
}

/** A length-delimited field: a nested message, a string's or bytes' content, written even when empty. */
export function encodeLengthDelimitedField(field: number, content: Uint8Array): Uint8Array {
  const head: number[] = [];
  pushVarint(head, field * 8 + 2);
  pushVarint(head, content.length);
  const out = new Uint8Array(head.length + content.length);
  out.set(head, 0);
  out.set(content, head.length);
  return out;
}
