// The real pipeline a user builds: NodeTracerProvider → GenAiEnrichingProcessor → OTLPTraceExporter →
// a loopback OTLP/HTTP receiver. Instrumentations are registered before `openai` is required, the way
// require-in-the-middle needs it. With `metrics`, a real MeterProvider (its OTLP/HTTP metric exporter to the
// same receiver) is given to the processor and to the instrumentations, as NodeSDK would.
import { createRequire } from 'node:module';
import { context, trace, type Context, type Tracer } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { MeterProvider, PeriodicExportingMetricReader, type ViewOptions } from '@opentelemetry/sdk-metrics';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { GenAiEnrichingProcessor, type GenAiEnrichingProcessorOptions } from '@genai-enrich/processor';
import { startOpenAiMock, type OpenAiMock, type OpenAiMockOptions } from './openai-mock.js';
import type { DecodedMetricPoint } from './otlp-metrics.js';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.js';

/** Sees every span the SDK starts, so a test can tell whether each one reached the receiver. */
export class StartedSpans implements SpanProcessor {
  readonly ids = new Map<string, string>();

  onStart(span: Span, _parentContext: Context): void {
    this.ids.set(span.spanContext().spanId, span.name);
  }
  onEnd(_span: ReadableSpan): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface RealPipeline {
  provider: NodeTracerProvider;
  processor: GenAiEnrichingProcessor;
  receiver: OtlpReceiver;
  mock: OpenAiMock;
  started: StartedSpans;
  /** A tracer for the test's own root spans, one trace per call. */
  tracer: Tracer;
  /** Runs `fn` inside a new root span, so every span of one call shares a trace id that the test knows. */
  inRootSpan<T>(name: string, fn: () => Promise<T>): Promise<{ traceId: string; result: T }>;
  /** With `metrics`: exports what was recorded so far and returns every metrics export the receiver has. */
  collectMetrics(): Promise<DecodedMetricPoint[][]>;
  close(): Promise<void>;
}

export interface RealPipelineOptions {
  instrumentations?: Instrumentation[];
  processor?: GenAiEnrichingProcessorOptions;
  mock?: OpenAiMockOptions;
  /** Record metrics: the processor's (`skipScopes` as given, else its default) and the instrumentations'. */
  metrics?: { skipScopes?: readonly string[]; views?: ViewOptions[] };
}

export async function startRealPipeline(options: RealPipelineOptions = {}): Promise<RealPipeline> {
  const [mock, receiver] = await Promise.all([startOpenAiMock(options.mock), startOtlpReceiver()]);
  // Exports only when asked (collectMetrics) or at shutdown: the tests read cumulative totals.
  const meterProvider =
    options.metrics === undefined
      ? undefined
      : new MeterProvider({
          views: options.metrics.views,
          readers: [
            new PeriodicExportingMetricReader({
              exporter: new OTLPMetricExporter({ url: receiver.metricsUrl }),
              exportIntervalMillis: 3_600_000,
            }),
          ],
        });
  const processor = new GenAiEnrichingProcessor(new OTLPTraceExporter({ url: receiver.url }), {
    scheduledDelayMillis: 50,
    ...(meterProvider !== undefined
      ? {
          metrics: {
            meterProvider,
            ...(options.metrics?.skipScopes ? { skipScopes: options.metrics.skipScopes } : {}),
          },
        }
      : {}),
    ...options.processor,
  });
  const started = new StartedSpans();
  const provider = new NodeTracerProvider({ spanProcessors: [started, processor] });
  provider.register();
  const unregister =
    options.instrumentations !== undefined && options.instrumentations.length > 0
      ? registerInstrumentations({
          instrumentations: options.instrumentations,
          tracerProvider: provider,
          meterProvider,
        })
      : () => {};
  const tracer = provider.getTracer('genai-enrich-test');

  return {
    provider,
    processor,
    receiver,
    mock,
    started,
    tracer,
    async inRootSpan(name, fn) {
      const root = tracer.startSpan(name, { root: true });
      try {
        const result = await context.with(trace.setSpan(context.active(), root), fn);
        return { traceId: root.spanContext().traceId, result };
      } finally {
        root.end();
      }
    },
    async collectMetrics() {
      if (meterProvider === undefined) throw new Error('startRealPipeline: metrics were not asked for');
      const before = receiver.metrics.length;
      await meterProvider.forceFlush();
      await receiver.waitForMetrics((exports) => exports.length > before, 5000);
      return receiver.metrics;
    },
    async close() {
      unregister();
      await provider.shutdown();
      await meterProvider?.shutdown();
      trace.disable();
      context.disable();
      await Promise.all([mock.close(), receiver.close()]);
    },
  };
}

/** `require` for CommonJS packages that instrumentations patch through require-in-the-middle. */
export const requireCjs = createRequire(import.meta.url);
