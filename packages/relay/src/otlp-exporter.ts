/*
 * The relay's forwarding exporter: the OpenTelemetry JS OTLP/HTTP exporter's own transport (headers and
 * their environment variables, timeouts, gzip, retries with back-off, the bounded queue of concurrent
 * exports), with the relay's encoders in place of the SDK's serializers:
 *
 *   spans ─ encodeProtobufTraceRequest / encodeJsonTraceRequest (otlp/encode-*.ts: values as received)
 *         ─ createOtlpHttpExportDelegate (@opentelemetry/otlp-exporter-base) ─ POST to --forward
 *
 * The SDK's serializers write every integral number as int_value and lose what a JS number cannot hold
 * (integral doubles, ints beyond 2^53, NaN and ±Infinity in JSON); see otlp/exact.ts. Responses are read
 * by the SDK's own deserializers, so partial success is logged as the SDK's exporters log it.
 */
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import {
  JsonTraceSerializer,
  ProtobufTraceSerializer,
  TraceExporterMetricsHelper,
} from '@opentelemetry/otlp-transformer';
import type { IExportTraceServiceResponse, ISerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpanLike } from '@genai-enrich/processor';
import { encodeJsonTraceRequest } from './otlp/encode-json.js';
import { encodeProtobufTraceRequest } from './otlp/encode-protobuf.js';

/** The OpenTelemetry semantic conventions' `otel.component.type` of an OTLP/HTTP span exporter. */
const COMPONENT_TYPE = 'otlp_http_span_exporter';

type Spans = ReadableSpanLike[];

const PROTOBUF: ISerializer<Spans, IExportTraceServiceResponse> = {
  serializeRequest: encodeProtobufTraceRequest,
  deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
};

const JSON_SERIALIZER: ISerializer<Spans, IExportTraceServiceResponse> = {
  serializeRequest: encodeJsonTraceRequest,
  deserializeResponse: (data) => JsonTraceSerializer.deserializeResponse(data),
};

/** Where and how to forward: the exporter's `url` and `headers` (the OTEL_EXPORTER_OTLP_* variables apply too). */
export interface ForwardOptions {
  url: string;
  headers?: Record<string, string>;
  protocol: 'http/protobuf' | 'http/json';
}

/** An OTLP/HTTP span exporter that forwards attribute values exactly as the relay received them. */
export class ExactOtlpTraceExporter extends OTLPExporterBase<Spans> {
  constructor(options: ForwardOptions) {
    const json = options.protocol === 'http/json';
    super(
      createOtlpHttpExportDelegate(
        convertLegacyHttpOptions({ url: options.url, headers: options.headers }, 'TRACES', 'v1/traces', {
          'Content-Type': json ? 'application/json' : 'application/x-protobuf',
        }),
        json ? JSON_SERIALIZER : PROTOBUF,
        COMPONENT_TYPE,
        TraceExporterMetricsHelper as unknown as Parameters<typeof createOtlpHttpExportDelegate<Spans, unknown>>[3],
        undefined,
      ),
    );
  }
}
