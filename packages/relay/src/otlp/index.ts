/*
 * OTLP/HTTP trace bodies in and out: `decodeTraceRequest` turns an ExportTraceServiceRequest (protobuf or
 * JSON) into RelaySpans that GenAiEnrichingProcessor and the SDK's OTLP exporters accept,
 * `encodeTraceRequest` writes spans back with every value as it was received, and `encodeTraceResponse`
 * writes the ExportTraceServiceResponse. The decoders are in `protobuf.ts` (whose header lists every
 * representation choice) and `json.ts`; the encoders in `encode-protobuf.ts` and `encode-json.ts`, with the
 * exact values they write back in `exact.ts`.
 */
import type { ReadableSpanLike } from '@genai-enrich/processor';
import { encodeJsonTraceRequest } from './encode-json.js';
import { encodeProtobufTraceRequest } from './encode-protobuf.js';
import { decodeJsonTraceRequest } from './json.js';
import { decodeProtobufTraceRequest } from './protobuf.js';
import type { DecodeResult, OtlpFormat } from './types.js';

export { OtlpDecodeError } from './errors.js';
export { encodeTraceResponse } from './response.js';
export type { DecodeResult, OtlpFormat, Rejection, RelayEvent, RelayScope, RelaySpan } from './types.js';
export { rejectionMessage } from './span.js';

/**
 * Decodes an ExportTraceServiceRequest body (already decompressed). Invalid spans are counted in `rejected`
 * and left out; a body that cannot be decoded throws an OtlpDecodeError (answer 400), and nothing else is
 * thrown.
 */
export function decodeTraceRequest(body: Uint8Array, format: OtlpFormat): DecodeResult {
  return format === 'json' ? decodeJsonTraceRequest(body) : decodeProtobufTraceRequest(body);
}

/**
 * Encodes spans as an ExportTraceServiceRequest body: RelaySpans with every attribute the processor did not
 * change exactly as it was received (integral doubles, 64-bit ints, NaN and ±Infinity, bytes, kvlists,
 * scopes apart), or any SDK ReadableSpan. JSON is proto3 JSON with hex ids, as OTLP/JSON requires.
 */
export function encodeTraceRequest(spans: readonly ReadableSpanLike[], format: OtlpFormat): Uint8Array {
  return format === 'json' ? encodeJsonTraceRequest(spans) : encodeProtobufTraceRequest(spans);
}
