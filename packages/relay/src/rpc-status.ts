/*
 * Error bodies. The OTLP/HTTP specification says a failed request's body is a `google.rpc.Status`, encoded
 * in the request's content type: `{ "code": 3, "message": "…" }` for JSON, or the protobuf message
 * `Status { int32 code = 1; string message = 2; }` (details, field 3, is left out).
 */
import { encodeNumberAndText } from './otlp/protobuf-writer.js';

/** gRPC status codes used here, from google/rpc/code.proto. */
export const RPC_CODE = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** A `google.rpc.Status` as protobuf bytes; `code` is one of {@link RPC_CODE} (non-negative). */
export function encodeRpcStatusProtobuf(code: number, message: string): Uint8Array {
  return encodeNumberAndText(code, message);
}

/** A `google.rpc.Status` in the OTLP/JSON mapping. */
export function encodeRpcStatusJson(code: number, message: string): Uint8Array {
  return Buffer.from(JSON.stringify({ code, message }), 'utf8');
}
