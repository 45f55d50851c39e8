/*
 * Error bodies. The OTLP/HTTP specification says a failed request's body is a `google.rpc.Status`, encoded
 * in the request's content type: `{ "code": 3, "message": "…" }` for JSON, or the protobuf message
 * `Status { int32 code = 1; string message = 2; }` (details, field 3, is left out).
 */

/** gRPC status codes used here, from google/rpc/code.proto. */
export const RPC_CODE = {
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** A `google.rpc.Status` as protobuf bytes. */
export function encodeRpcStatusProtobuf(code: number, message: string): Uint8Array {
  const text = Buffer.from(message, 'utf8');
  const out: number[] = [];
  if (code !== 0) {
    out.push(0x08); // field 1, varint
    pushVarint(out, code);
  }
  if (text.length > 0) {
    out.push(0x12); // field 2, length-delimited
    pushVarint(out, text.length);
  }
  const head = Uint8Array.from(out);
  const body = new Uint8Array(head.length + text.length);
  body.set(head);
  body.set(text, head.length);
  return body;
}

/** A `google.rpc.Status` in the OTLP/JSON mapping. */
export function encodeRpcStatusJson(code: number, message: string): Uint8Array {
  return Buffer.from(JSON.stringify({ code, message }), 'utf8');
}

function pushVarint(out: number[], value: number): void {
  let v = value >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}
