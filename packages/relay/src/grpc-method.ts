/*
 * The OTLP/gRPC methods the relay serves and calls, as raw bytes: grpc-js frames, compresses and limits the
 * messages, and the relay's own codec reads and writes them (otlp/protobuf.ts, otlp/encode-protobuf.ts), so
 * that values stay exact. No .proto file is loaded.
 */

/** `opentelemetry.proto.collector.trace.v1.TraceService/Export`, as a gRPC path. */
export const TRACE_EXPORT_METHOD = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** `opentelemetry.proto.collector.metrics.v1.MetricsService/Export`: the relay's own metrics, with --metrics. */
export const METRICS_EXPORT_METHOD = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

/** grpc-js's (de)serializer for a message the relay encodes or decodes itself: the bytes as they are. */
export function rawMessage(message: Buffer): Buffer {
  return message;
}

/** The trailer that carries a `google.rpc.Status` with details (rpc-status.ts). */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
