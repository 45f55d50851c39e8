/*
 * ExportTraceServiceResponse{partial_success=1: ExportTracePartialSuccess{rejected_spans=1 (int64),
 * error_message=2}} (collector/trace/v1/trace_service.proto). The OTLP spec says the server MUST leave
 * partial_success unset when everything was accepted, and MAY set it with rejected_spans 0 to carry a
 * warning. Fields at their default are left out in both encodings, as proto3 serializers do.
 */
import { encodeLengthDelimitedField, encodeNumberAndText } from './protobuf-writer.js';
import type { OtlpFormat } from './types.js';

const textEncoder = new TextEncoder();
const EMPTY_JSON = textEncoder.encode('{}');

/**
 * The body of the response to an export request, in the request's format. Without `partial` (or with 0
 * rejected spans and no message) it is the empty message: zero bytes in protobuf, `{}` in JSON.
 */
export function encodeTraceResponse(
  format: OtlpFormat,
  partial?: { rejectedSpans: number; errorMessage: string },
): Uint8Array {
  const rejected = partial?.rejectedSpans ?? 0;
  const message = partial?.errorMessage ?? '';
  if (!Number.isSafeInteger(rejected) || rejected < 0) {
    throw new RangeError(`rejectedSpans must be a non-negative integer, got ${String(rejected)}`);
  }
  if (rejected === 0 && message === '') return format === 'json' ? EMPTY_JSON.slice() : new Uint8Array(0);

  if (format === 'json') {
    const partialSuccess: { rejectedSpans?: string; errorMessage?: string } = {};
    // proto3 JSON writes int64 as a decimal string.
    if (rejected !== 0) partialSuccess.rejectedSpans = String(rejected);
    if (message !== '') partialSuccess.errorMessage = message;
    return textEncoder.encode(JSON.stringify({ partialSuccess }));
  }

  // ExportTraceServiceResponse.partial_success, field 1.
  return encodeLengthDelimitedField(1, encodeNumberAndText(rejected, message));
}
