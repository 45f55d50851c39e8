/*
 * Error bodies and gRPC status details. The OTLP/HTTP specification says a failed request's body is a
 * `google.rpc.Status`, encoded in the request's content type: `{ "code": 3, "message": "…" }` for JSON, or
 * the protobuf message `Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }`
 * (details left out). Over OTLP/gRPC the same Status goes in the `grpc-status-details-bin` trailer, and for a
 * retryable refusal its details carry a `google.rpc.RetryInfo`, which the OTLP specification asks clients to
 * honour as the delay before they retry:
 *
 *   Status{code=1, message=2, details=3: Any{type_url=1 "type.googleapis.com/google.rpc.RetryInfo",
 *                                            value=2: RetryInfo{retry_delay=1: Duration{seconds=1, nanos=2}}}}
 */
import { encodeLengthDelimitedField, encodeNumberAndText, encodeVarintField } from './otlp/protobuf-writer.js';

/** gRPC status codes used here, from google/rpc/code.proto. */
export const RPC_CODE = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
} as const;

/**
 * The code that says what one of the relay's HTTP statuses says: in its error bodies, and as the status of an
 * OTLP/gRPC call refused for the same reason.
 */
export function rpcCodeOf(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
    case 415:
      return RPC_CODE.INVALID_ARGUMENT;
    case 408:
      return RPC_CODE.DEADLINE_EXCEEDED;
    case 413:
    case 429:
      return RPC_CODE.RESOURCE_EXHAUSTED;
    case 503:
      return RPC_CODE.UNAVAILABLE;
    default:
      return RPC_CODE.INTERNAL;
  }
}

const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** A `google.rpc.Status` as protobuf bytes; `code` is one of {@link RPC_CODE} (non-negative). */
export function encodeRpcStatusProtobuf(code: number, message: string): Uint8Array {
  return encodeNumberAndText(code, message);
}

/** A `google.rpc.Status` in the OTLP/JSON mapping. */
export function encodeRpcStatusJson(code: number, message: string): Uint8Array {
  return Buffer.from(JSON.stringify({ code, message }), 'utf8');
}

/** A `google.rpc.Status` whose details hold a `google.rpc.RetryInfo` of `retryDelayMillis` (see the header). */
export function encodeRpcStatusWithRetryInfo(code: number, message: string, retryDelayMillis: number): Uint8Array {
  const millis = Math.max(0, Math.round(retryDelayMillis));
  // A message's fields, one after the other.
  const duration = Buffer.concat([
    encodeVarintField(1, Math.floor(millis / 1000)),
    encodeVarintField(2, (millis % 1000) * 1_000_000),
  ]);
  const any = Buffer.concat([
    encodeLengthDelimitedField(1, textEncoder.encode(RETRY_INFO_TYPE_URL)),
    encodeLengthDelimitedField(2, encodeLengthDelimitedField(1, duration)),
  ]);
  return Buffer.concat([encodeNumberAndText(code, message), encodeLengthDelimitedField(3, any)]);
}

/**
 * The delay a `google.rpc.Status` (a `grpc-status-details-bin` trailer) asks for in its RetryInfo, in ms;
 * undefined when it has none, or is not a Status this can read. Never throws.
 */
export function readRetryDelayMillis(status: Uint8Array): number | undefined {
  try {
    for (const detail of lengthDelimited(status, 3)) {
      const typeUrl = lengthDelimited(detail, 1).at(-1);
      if (typeUrl === undefined || textDecoder.decode(typeUrl) !== RETRY_INFO_TYPE_URL) continue;
      const retryInfo = lengthDelimited(detail, 2).at(-1) ?? new Uint8Array(0);
      const duration = lengthDelimited(retryInfo, 1).at(-1) ?? new Uint8Array(0);
      const { seconds, nanos } = durationOf(duration);
      return seconds * 1000 + Math.round(nanos / 1_000_000);
    }
  } catch {
    // A detail we cannot read is as good as none.
  }
  return undefined;
}

// ── a reader for these few small messages ─────────────────────────────────────────────────────────────

interface Field {
  field: number;
  /** The varint's value (wire type 0), or undefined. */
  varint?: number;
  /** The content (wire type 2), or undefined. */
  bytes?: Uint8Array;
}

/** The fields of a message; fixed-size fields are skipped; anything malformed throws. */
function* fieldsOf(message: Uint8Array): Generator<Field> {
  let at = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (at >= message.length) throw new RangeError('truncated varint');
      const byte = message[at++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new RangeError('varint too long');
  };
  while (at < message.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) yield { field, varint: varint() };
    else if (wire === 2) {
      const length = varint();
      if (at + length > message.length) throw new RangeError('truncated field');
      yield { field, bytes: message.subarray(at, at + length) };
      at += length;
    } else if (wire === 1 || wire === 5) at += wire === 1 ? 8 : 4;
    else throw new RangeError(`wire type ${wire}`);
  }
  if (at > message.length) throw new RangeError('truncated field');
}

/** Every length-delimited occurrence of `field`, in order. */
function lengthDelimited(message: Uint8Array, field: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const f of fieldsOf(message)) if (f.field === field && f.bytes !== undefined) out.push(f.bytes);
  return out;
}

/** A google.protobuf.Duration's fields (negative ones, which a retry delay never is, are read as 0). */
function durationOf(duration: Uint8Array): { seconds: number; nanos: number } {
  let seconds = 0;
  let nanos = 0;
  for (const f of fieldsOf(duration)) {
    if (f.field === 1 && f.varint !== undefined) seconds = f.varint < 2 ** 63 ? f.varint : 0;
    if (f.field === 2 && f.varint !== undefined) nanos = f.varint < 2 ** 31 ? f.varint : 0;
  }
  return { seconds, nanos };
}
