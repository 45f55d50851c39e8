/*
 * OTLP/HTTP trace bodies in and out: `decodeTraceRequest` turns an ExportTraceServiceRequest (protobuf or
 * JSON) into RelaySpans that GenAiEnrichingProcessor and the SDK's OTLP exporters accept, and
 * `encodeTraceResponse` writes the ExportTraceServiceResponse. The decoders are in `protobuf.ts` (whose header
 * lists every representation choice) and `json.ts`.
 */
import { decodeJsonTraceRequest } from './json.js';
import { decodeProtobufTraceRequest } from './protobuf.js';
import type { DecodeResult, OtlpFormat } from './types.js';

export { OtlpDecodeError } from './errors.js';
export { encodeTraceResponse } from './response.js';
export type { DecodeResult, OtlpFormat, RelayEvent, RelayScope, RelaySpan } from './types.js';

/**
 * Decodes an ExportTraceServiceRequest body (already decompressed). Invalid spans are counted in `rejected`
 * and left out; a body that cannot be decoded throws an OtlpDecodeError (answer 400), and nothing else is
 * thrown.
 */
export function decodeTraceRequest(body: Uint8Array, format: OtlpFormat): DecodeResult {
  return format === 'json' ? decodeJsonTraceRequest(body) : decodeProtobufTraceRequest(body);
}
