/*
 * The relay's metrics (`--metrics`): one MeterProvider for the processor it runs and for itself.
 *
 *   processor ─ metrics: { meterProvider } ─► gen_ai.client.* from each model-call span, genai_enrich.processor.*
 *   relay     ─ observe(stats) ─► genai_enrich.relay.* (RELAY_METRICS below), read at collection
 *   MeterProvider (resource service.name = genai-enrich-relay)
 *     ├─ a pull reader ─► GET /metrics, Prometheus text (prometheus-text.ts), collected per scrape
 *     └─ with --forward: a periodic reader ─► OTLP to the forward endpoint's /v1/metrics, every
 *        --metrics-interval-millis (otlp-metric-exporter.ts), and once more at shutdown
 */
import type { BatchObservableResult, Observable } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, MetricReader, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { RelayConfig } from '../config.js';
import type { RelayCounters, RelayStats } from '../server.js';
import { VERSION } from '../version.js';
import { OtlpMetricExporter } from './otlp-metric-exporter.js';
import { toPrometheusText } from './prometheus-text.js';

/** The instrumentation scope of the relay's own metrics. */
export const RELAY_METER_NAME = '@genai-enrich/relay';
/** The prefix of the relay's own metrics. */
export const RELAY_METRIC_PREFIX = 'genai_enrich.relay.';
/** The longest one OTLP metric export may take, as the SDK's default (never above the interval). */
const EXPORT_TIMEOUT_MILLIS = 30_000;

type Field = Exclude<keyof RelayCounters, 'responses' | 'grpcResponses'>;

/** One relay counter as a metric: the `/stats` field it reads, its name after the prefix, its kind and unit. */
export interface RelayMetric {
  readonly field: Field;
  readonly name: string;
  readonly kind: 'counter' | 'gauge';
  readonly unit: string;
  readonly description: string;
}

/**
 * Every relay counter of `/stats` (`responses` is `http.responses`, by `http.response.status_code`;
 * `grpcResponses` is `grpc.responses`, by `rpc.response.status_code`, the status name as the OpenTelemetry JS
 * gRPC exporters record it).
 */
export const RELAY_METRICS: readonly RelayMetric[] = Object.freeze([
  {
    field: 'requests',
    name: 'http.requests',
    kind: 'counter',
    unit: '{request}',
    description: 'HTTP requests of any kind.',
  },
  {
    field: 'exportRequests',
    name: 'export_requests.received',
    kind: 'counter',
    unit: '{request}',
    description: 'POST /v1/traces requests and OTLP/gRPC Export calls.',
  },
  {
    field: 'acceptedRequests',
    name: 'export_requests.accepted',
    kind: 'counter',
    unit: '{request}',
    description: 'Export requests answered 200.',
  },
  {
    field: 'throttled',
    name: 'export_requests.throttled',
    kind: 'counter',
    unit: '{request}',
    description:
      'Export requests turned away with 429 or 503 (gRPC: RESOURCE_EXHAUSTED or UNAVAILABLE with RetryInfo).',
  },
  {
    field: 'spansReceived',
    name: 'spans.received',
    kind: 'counter',
    unit: '{span}',
    description: 'Spans handed to the processor.',
  },
  {
    field: 'spansRejected',
    name: 'spans.rejected',
    kind: 'counter',
    unit: '{span}',
    description: 'Spans reported back to clients as rejected.',
  },
  {
    field: 'exportedSpans',
    name: 'spans.exported',
    kind: 'counter',
    unit: '{span}',
    description: 'Spans handed to the exporter.',
  },
  {
    field: 'failedSpans',
    name: 'spans.failed',
    kind: 'counter',
    unit: '{span}',
    description: 'Spans in exports that failed.',
  },
  {
    field: 'bytesReceived',
    name: 'received.bytes',
    kind: 'counter',
    unit: 'By',
    description: 'Request body bytes read off the wire.',
  },
  {
    field: 'bytesDecoded',
    name: 'decoded.bytes',
    kind: 'counter',
    unit: 'By',
    description: 'Request body bytes after gunzip.',
  },
  {
    field: 'queued',
    name: 'queue.spans',
    kind: 'gauge',
    unit: '{span}',
    description: 'Spans waiting in the export queue.',
  },
  {
    field: 'queueBytes',
    name: 'queue.bytes',
    kind: 'gauge',
    unit: 'By',
    description: 'Estimated bytes of spans accepted and not yet exported.',
  },
  {
    field: 'queueBytesPeak',
    name: 'queue.peak_bytes',
    kind: 'gauge',
    unit: 'By',
    description: 'The most queue bytes there have been.',
  },
  {
    field: 'inflightBytes',
    name: 'inflight.bytes',
    kind: 'gauge',
    unit: 'By',
    description: 'Bytes of request bodies being read, on the wire and inflated.',
  },
  {
    field: 'inflightBytesPeak',
    name: 'inflight.peak_bytes',
    kind: 'gauge',
    unit: 'By',
    description: 'The most in-flight bytes there have been.',
  },
  {
    field: 'connections',
    name: 'connections.open',
    kind: 'gauge',
    unit: '{connection}',
    description: 'Connections open now.',
  },
  {
    field: 'connectionsRefused',
    name: 'connections.refused',
    kind: 'counter',
    unit: '{connection}',
    description: 'Connections closed on arrival at maxConnections.',
  },
] satisfies RelayMetric[]);

/** Collects on demand, for `GET /metrics`. */
class PullReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export class RelayMetrics {
  /** Given to the processor (`metrics: { meterProvider }`). */
  readonly meterProvider: MeterProvider;
  private readonly _pull = new PullReader();

  constructor(config: RelayConfig) {
    const readers: MetricReader[] = [this._pull];
    if (config.forward !== undefined) {
      readers.push(
        new PeriodicExportingMetricReader({
          exporter: new OtlpMetricExporter({
            forward: config.forward,
            headers: { ...config.forwardHeaders },
            protocol: config.forwardProtocol,
          }),
          exportIntervalMillis: config.metricsIntervalMillis,
          exportTimeoutMillis: Math.min(EXPORT_TIMEOUT_MILLIS, config.metricsIntervalMillis),
        }),
      );
    }
    this.meterProvider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'genai-enrich-relay', 'service.version': VERSION }),
      readers,
    });
  }

  /** The relay's own counters, read from `stats` once per collection. */
  observe(stats: () => RelayStats): void {
    const meter = this.meterProvider.getMeter(RELAY_METER_NAME, VERSION);
    const instruments = RELAY_METRICS.map((m): [RelayMetric, Observable] => {
      const name = RELAY_METRIC_PREFIX + m.name;
      const options = { unit: m.unit, description: m.description };
      return [
        m,
        m.kind === 'counter'
          ? meter.createObservableCounter(name, options)
          : meter.createObservableUpDownCounter(name, options),
      ];
    });
    const responses = meter.createObservableCounter(RELAY_METRIC_PREFIX + 'http.responses', {
      unit: '{response}',
      description: 'Answers, by status code.',
    });
    const grpcResponses = meter.createObservableCounter(RELAY_METRIC_PREFIX + 'grpc.responses', {
      unit: '{response}',
      description: 'Answers to OTLP/gRPC Export calls, by status.',
    });
    meter.addBatchObservableCallback(
      (result: BatchObservableResult) => {
        const { relay } = stats();
        for (const [m, instrument] of instruments) result.observe(instrument, relay[m.field]);
        for (const [status, count] of Object.entries(relay.responses))
          result.observe(responses, count, { 'http.response.status_code': Number(status) });
        for (const [status, count] of Object.entries(relay.grpcResponses))
          result.observe(grpcResponses, count, { 'rpc.response.status_code': status });
      },
      [...instruments.map(([, instrument]) => instrument), responses, grpcResponses],
    );
  }

  /** Everything recorded, as Prometheus text. */
  async prometheusText(): Promise<string> {
    const { resourceMetrics } = await this._pull.collect();
    return toPrometheusText(resourceMetrics);
  }

  /** The last OTLP export (with --forward), then no more collections. */
  shutdown(): Promise<void> {
    return this.meterProvider.shutdown();
  }
}
