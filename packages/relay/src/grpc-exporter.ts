/*
 * Forwarding over OTLP/gRPC (`--forward-protocol grpc`): the relay's own protobuf encoding, values as
 * received, sent with @grpc/grpc-js as the raw message of TraceService/Export, inside the OpenTelemetry JS
 * exporter's own export machinery:
 *
 *   spans ─ encodeProtobufTraceRequest (otlp/encode-protobuf.ts) ─ createOtlpNetworkExportDelegate
 *     (@opentelemetry/otlp-exporter-base: timeout, bounded concurrent exports, partial success logged)
 *     ─ RetryingSender ─ GrpcTraceSender ─► Export on --forward
 *
 * GrpcTraceSender makes one attempt and never throws. It reads the answer as the OTLP specification says:
 *   OK ──────────────────────────────────────────────────────────────────► success (partial success read)
 *   CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS ─► retryable
 *   RESOURCE_EXHAUSTED with a RetryInfo ─────────────────────────────────► retryable
 *   anything else (RESOURCE_EXHAUSTED without one, INVALID_ARGUMENT, UNAUTHENTICATED…) ─► failure
 * and a RetryInfo's delay (in grpc-status-details-bin) is the wait before the next attempt.
 *
 * RetryingSender retries as the OTLP/HTTP exporter's own transport does (up to 5 more attempts, 1 s × 1.5 up
 * to 5 s, ±20 %, within the export timeout). @opentelemetry/otlp-grpc-exporter-base's transport does not
 * retry at all (every error is a failure), and it serializes with the SDK's serializer, which loses exact
 * values (otlp/exact.ts): hence this file rather than that package.
 *
 * The timeout and compression come from OTEL_EXPORTER_OTLP_TRACES_TIMEOUT / _COMPRESSION (and the general
 * variables), as for the HTTP exporter; headers from --forward-headers (or its variables) as gRPC metadata;
 * TLS when the URL is https:// (the system's root certificates).
 */
import { Client, Metadata, credentials } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { ExporterMetrics, OTLPExporterBase, createOtlpNetworkExportDelegate } from '@opentelemetry/otlp-exporter-base';
import type { ExportResponse, IExporterTransport } from '@opentelemetry/otlp-exporter-base';
import {
  getSharedConfigurationDefaults,
  mergeOtlpSharedConfigurationWithDefaults,
} from '@opentelemetry/otlp-exporter-base';
import { getSharedConfigurationFromEnvironment } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer, TraceExporterMetricsHelper } from '@opentelemetry/otlp-transformer';
import type { IExportTraceServiceResponse, IExporterMetricsHelper, ISerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpanLike } from '@genai-enrich/processor';
import { STATUS_DETAILS_KEY, TRACE_EXPORT_METHOD, rawMessage } from './grpc-method.js';
import { encodeProtobufTraceRequest } from './otlp/encode-protobuf.js';
import { RPC_CODE, readRetryDelayMillis } from './rpc-status.js';
import { VERSION } from './version.js';

type Spans = ReadableSpanLike[];

/** The OpenTelemetry semantic conventions' `otel.component.type` of an OTLP/gRPC span exporter. */
const COMPONENT_TYPE = 'otlp_grpc_span_exporter';

const SERIALIZER: ISerializer<Spans, IExportTraceServiceResponse> = {
  serializeRequest: encodeProtobufTraceRequest,
  deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
};

/** Codes the OTLP specification lists as retryable (RESOURCE_EXHAUSTED only with a RetryInfo). */
const RETRYABLE_CODES = new Set<number>([
  RPC_CODE.CANCELLED,
  RPC_CODE.DEADLINE_EXCEEDED,
  RPC_CODE.ABORTED,
  RPC_CODE.OUT_OF_RANGE,
  RPC_CODE.UNAVAILABLE,
  RPC_CODE.DATA_LOSS,
]);

/** Where and how to send. */
export interface GrpcSenderOptions {
  /** `http://host:port`, or `https://host:port` for TLS. */
  url: string;
  /** Sent as metadata with every call. */
  headers: Record<string, string>;
  compression: 'gzip' | 'none';
}

/** One Export call per send (see the header); the connection is made on the first and kept. */
export class GrpcTraceSender implements IExporterTransport {
  private readonly _options: GrpcSenderOptions;
  private _client: { client: Client; metadata: Metadata } | undefined;

  constructor(options: GrpcSenderOptions) {
    this._options = options;
  }

  send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    let connected: { client: Client; metadata: Metadata };
    try {
      connected = this._client ??= this._connect();
    } catch (error) {
      return Promise.resolve({ status: 'failure', error: asError(error) });
    }
    const message = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return new Promise<ExportResponse>((resolve) => {
      connected.client.makeUnaryRequest(
        TRACE_EXPORT_METHOD,
        rawMessage,
        rawMessage,
        message,
        connected.metadata.clone(),
        { deadline: Date.now() + timeoutMillis },
        (error: ServiceError | null, response?: Buffer) => {
          resolve(error === null ? { status: 'success', data: response } : outcomeOf(error));
        },
      );
    });
  }

  shutdown(): void {
    this._client?.client.close();
    this._client = undefined;
  }

  private _connect(): { client: Client; metadata: Metadata } {
    const url = new URL(this._options.url);
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(this._options.headers)) metadata.set(key, value);
    const client = new Client(
      url.host,
      url.protocol === 'https:' ? credentials.createSsl() : credentials.createInsecure(),
      {
        'grpc.default_compression_algorithm': this._options.compression === 'gzip' ? 2 : 0,
        'grpc.primary_user_agent': `genai-enrich-relay/${VERSION}`,
        // The answer is an ExportTraceServiceResponse: small. The request's size is the target's to limit.
        'grpc.max_receive_message_length': 4 * 1024 * 1024,
      },
    );
    return { client, metadata };
  }
}

/** A failed call, read as the OTLP specification says (see the header). */
function outcomeOf(error: ServiceError): ExportResponse {
  const details = error.metadata?.get(STATUS_DETAILS_KEY)[0];
  const retryInMillis = Buffer.isBuffer(details) ? readRetryDelayMillis(details) : undefined;
  if (RETRYABLE_CODES.has(error.code) || (error.code === RPC_CODE.RESOURCE_EXHAUSTED && retryInMillis !== undefined)) {
    return { status: 'retryable', retryInMillis, error };
  }
  return { status: 'failure', error };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** As the OTLP/HTTP exporter's own retrying transport: see the header. */
const MAX_RETRIES = 5;
const INITIAL_BACKOFF_MILLIS = 1000;
const MAX_BACKOFF_MILLIS = 5000;
const BACKOFF_MULTIPLIER = 1.5;
const JITTER = 0.2;

/** Retries a retryable answer with back-off (or the server's RetryInfo) within the export's timeout. */
export class RetryingSender implements IExporterTransport {
  private readonly _sender: IExporterTransport;

  constructor(sender: IExporterTransport) {
    this._sender = sender;
  }

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const deadline = Date.now() + timeoutMillis;
    let backoff = INITIAL_BACKOFF_MILLIS;
    let result = await this._sender.send(data, timeoutMillis);
    for (let retries = 0; result.status === 'retryable' && retries < MAX_RETRIES; retries++) {
      const jittered = Math.min(MAX_BACKOFF_MILLIS, backoff * (1 + JITTER * (2 * Math.random() - 1)));
      backoff *= BACKOFF_MULTIPLIER;
      const wait = result.retryInMillis ?? jittered;
      if (wait >= deadline - Date.now()) break; // the retry would come after the export's timeout
      await new Promise<void>((resolve) => setTimeout(resolve, wait).unref());
      result = await this._sender.send(data, deadline - Date.now());
    }
    return result;
  }

  shutdown(): void {
    this._sender.shutdown();
  }
}

/** Where to forward: `url` is `http(s)://host:port`. */
export interface GrpcForwardOptions {
  url: string;
  headers?: Record<string, string>;
}

/** An OTLP/gRPC span exporter that forwards attribute values exactly as the relay received them. */
export class ExactOtlpGrpcTraceExporter extends OTLPExporterBase<Spans> {
  constructor(options: GrpcForwardOptions) {
    const shared = mergeOtlpSharedConfigurationWithDefaults(
      {},
      getSharedConfigurationFromEnvironment('TRACES'),
      getSharedConfigurationDefaults(),
    );
    const sender = new GrpcTraceSender({
      url: options.url,
      headers: options.headers ?? {},
      compression: shared.compression,
    });
    const metrics = new ExporterMetrics<Spans>({
      componentType: COMPONENT_TYPE,
      metricsHelper: TraceExporterMetricsHelper as unknown as IExporterMetricsHelper<Spans>,
      url: options.url,
      meterProvider: undefined,
      responseAttributesFromError: () => ({}),
    });
    super(createOtlpNetworkExportDelegate(shared, SERIALIZER, metrics, new RetryingSender(sender)));
  }
}
