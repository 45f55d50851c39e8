/*
 * The relay's OTLP metric exporter, with the SDK's own metric serializers (metric values need none of the
 * exactness spans do), over the forward protocol:
 *
 *   ResourceMetrics ─ ProtobufMetricsSerializer / JsonMetricsSerializer ─ createOtlpHttpExportDelegate (the
 *     OpenTelemetry JS exporter base: headers and OTEL_EXPORTER_OTLP_METRICS_* variables, timeouts, gzip,
 *     retries) ─ POST to the forward endpoint's /v1/metrics
 *   --forward-protocol grpc: ProtobufMetricsSerializer ─ the relay's gRPC sender (../delivery/grpc-sender.ts)
 *     ─ MetricsService/Export on the forward endpoint
 */
import {
  ExporterMetrics,
  OTLPExporterBase,
  createOtlpNetworkExportDelegate,
  getSharedConfigurationDefaults,
  mergeOtlpSharedConfigurationWithDefaults,
} from '@opentelemetry/otlp-exporter-base';
import type { ExportResponse, IExporterTransport, IOtlpExportDelegate } from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
  getSharedConfigurationFromEnvironment,
} from '@opentelemetry/otlp-exporter-base/node-http';
import {
  JsonMetricsSerializer,
  MetricsExporterMetricsHelper,
  ProtobufMetricsSerializer,
} from '@opentelemetry/otlp-transformer';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ForwardProtocol } from '../config.js';
import { GrpcSender } from '../delivery/grpc-sender.js';
import type { Sender } from '../delivery/http-sender.js';
import { METRICS_EXPORT_METHOD } from '../grpc-method.js';

/** The OpenTelemetry semantic conventions' `otel.component.type` of an OTLP/HTTP metric exporter. */
const COMPONENT_TYPE = 'otlp_http_metric_exporter';

/** The traces path the forward URL ends with (config.ts made it so), and the metrics path that replaces it. */
const TRACES_SUFFIX = /\/v1\/traces$/;
const METRICS_PATH = '/v1/metrics';

/**
 * The metrics URL beside a forward traces URL: `…/v1/traces` becomes `…/v1/metrics`. Over gRPC the endpoint
 * is the same for both (`http://host:port`: the method names the signal).
 */
export function metricsUrlOf(forwardTracesUrl: string, protocol: ForwardProtocol = 'http/protobuf'): string {
  if (protocol === 'grpc') return forwardTracesUrl;
  const url = new URL(forwardTracesUrl);
  url.pathname = TRACES_SUFFIX.test(url.pathname)
    ? url.pathname.replace(TRACES_SUFFIX, METRICS_PATH)
    : url.pathname.replace(/\/+$/, '') + METRICS_PATH;
  return url.toString();
}

export interface MetricForwardOptions {
  /** The forward endpoint's traces URL (`RelayConfig.forward`). */
  forward: string;
  headers?: Record<string, string>;
  protocol: ForwardProtocol;
}

export class OtlpMetricExporter extends OTLPExporterBase<ResourceMetrics> implements PushMetricExporter {
  constructor(options: MetricForwardOptions) {
    const json = options.protocol === 'http/json';
    super(
      options.protocol === 'grpc'
        ? grpcDelegate(options)
        : createOtlpHttpExportDelegate(
            convertLegacyHttpOptions(
              { url: metricsUrlOf(options.forward), headers: options.headers },
              'METRICS',
              'v1/metrics',
              { 'Content-Type': json ? 'application/json' : 'application/x-protobuf' },
            ),
            json ? JsonMetricsSerializer : ProtobufMetricsSerializer,
            COMPONENT_TYPE,
            MetricsExporterMetricsHelper,
            undefined,
          ),
    );
  }
}

/**
 * Over gRPC: the relay's gRPC sender (delivery/grpc-sender.ts) with MetricsService/Export, in the exporter's
 * own export machinery (timeout, compression from OTEL_EXPORTER_OTLP_METRICS_*). Not retried: the next export,
 * `--metrics-interval-millis` later, carries the same cumulative values.
 */
function grpcDelegate(options: MetricForwardOptions): IOtlpExportDelegate<ResourceMetrics> {
  const shared = mergeOtlpSharedConfigurationWithDefaults(
    {},
    getSharedConfigurationFromEnvironment('METRICS'),
    getSharedConfigurationDefaults(),
  );
  const sender = new GrpcSender({
    url: options.forward,
    method: METRICS_EXPORT_METHOD,
    headers: options.headers ?? {},
    gzip: shared.compression === 'gzip',
    readPartialSuccess: () => ({ rejectedSpans: 0, message: undefined }),
  });
  const metrics = new ExporterMetrics<ResourceMetrics>({
    componentType: 'otlp_grpc_metric_exporter',
    metricsHelper: MetricsExporterMetricsHelper,
    url: options.forward,
    meterProvider: undefined,
    responseAttributesFromError: () => ({}),
  });
  return createOtlpNetworkExportDelegate(shared, ProtobufMetricsSerializer, metrics, new SenderTransport(sender));
}

/** A relay Sender as the exporter base's transport. */
class SenderTransport implements IExporterTransport {
  private readonly _sender: Sender;

  constructor(sender: Sender) {
    this._sender = sender;
  }

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const outcome = await this._sender.send(data, timeoutMillis);
    if (outcome.status === 'success') return { status: 'success' };
    const error = new Error(outcome.reason);
    return outcome.status === 'retryable'
      ? { status: 'retryable', retryInMillis: outcome.retryInMillis, error }
      : { status: 'failure', error };
  }

  shutdown(): void {
    this._sender.shutdown();
  }
}
