/*
 * The relay's OTLP/HTTP metric exporter: the same transport as its span exporter (../otlp-exporter.ts: the
 * OpenTelemetry JS exporter base, its headers and OTEL_EXPORTER_OTLP_METRICS_* variables, timeouts, gzip and
 * retries), with the SDK's own metric serializers (metric values need none of the exactness spans do):
 *
 *   ResourceMetrics ─ ProtobufMetricsSerializer / JsonMetricsSerializer ─ createOtlpHttpExportDelegate ─
 *     POST to the forward endpoint's /v1/metrics
 */
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import {
  JsonMetricsSerializer,
  MetricsExporterMetricsHelper,
  ProtobufMetricsSerializer,
} from '@opentelemetry/otlp-transformer';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ForwardProtocol } from '../config.js';

/** The OpenTelemetry semantic conventions' `otel.component.type` of an OTLP/HTTP metric exporter. */
const COMPONENT_TYPE = 'otlp_http_metric_exporter';

/** The traces path the forward URL ends with (config.ts made it so), and the metrics path that replaces it. */
const TRACES_SUFFIX = /\/v1\/traces$/;
const METRICS_PATH = '/v1/metrics';

/** The metrics URL beside a forward traces URL: `…/v1/traces` becomes `…/v1/metrics`. */
export function metricsUrlOf(forwardTracesUrl: string): string {
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
      createOtlpHttpExportDelegate(
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
