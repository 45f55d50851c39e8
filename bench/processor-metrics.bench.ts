/*
 * What the `metrics` option costs (issue 16): GenAiEnrichingProcessor with and without metrics, on full span
 * lifecycles through the real SDK (`@opentelemetry/sdk-trace-base` 2.x) into the no-op exporter, and the
 * metrics recorded by a real `@opentelemetry/sdk-metrics` MeterProvider. Cases interleaved round by round,
 * order shuffled (bench/harness.ts runRounds):
 *
 *   (1)  BatchSpanProcessor, HTTP spans (10 attributes)                        — the baseline
 *   (2)  GenAiEnrichingProcessor, the same HTTP spans, no metrics
 *   (2m) the same with metrics (GenAI metrics and stats)                       — target: (2m) ≈ (2)
 *   (3)  GenAiEnrichingProcessor, complete GenAI chat spans (15 attributes), no metrics
 *   (3m) the same with metrics: two token.usage records and one duration record per span
 *   (4)  BatchSpanProcessor, the chat spans of (3)
 *   (4m) the same, and after each span the same three records made directly on the same kind of
 *        MeterProvider: the floor that any recorder of these metrics pays (the OTel openai instrumentation
 *        records the same three)
 *
 * (3m) − (3) is what metrics cost per model-call span; (2m) − (2) what they cost a span that is not GenAI;
 * (4m) − (4) what sdk-metrics itself takes for the three records.
 * The MeterProvider's reader is a pull reader, collected after every batch of chat spans, untimed (a scrape or an
 * export happens every few seconds, not per span). Batches of 500 spans, every processor flushed after each,
 * untimed (as in processor.bench.ts). The chat spans come from a scope the processor does not skip
 * (`skipScopes: []`), so every one records.
 *
 * Run: `npm run bench:metrics` (about 10 s on 2 cores).
 */
import type { Attributes, Tracer } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { GenAiEnrichingProcessor, METRIC_GEN_AI_CLIENT_TOKEN_USAGE } from '@genai-enrich/processor';
import type { GenAiEnrichingProcessorOptions } from '@genai-enrich/processor';
import { HTTP_SCOPE, OPENAI_SCOPE, chatSpan, httpSpan } from './lifecycle-spans.js';
import { NoopExporter } from './noop-exporter.js';
import { machineLine, runRounds } from './harness.js';
import type { RoundCase } from './harness.js';

const SPANS_PER_BATCH = 500;
const BATCHES_PER_ROUND = 4;
const ROUNDS = 101;
const WARMUP_ROUNDS = 5;

const QUEUE = { maxQueueSize: 100_000, maxExportBatchSize: 512, scheduledDelayMillis: 5000 };
const PROCESSOR_OPTIONS: GenAiEnrichingProcessorOptions = { ...QUEUE, holdMillis: 600_000 };

let nextId = 0;
/** A complete chat span (15 attributes, usage included), each with its own response id. */
function completeChatSpan(tracer: Tracer): void {
  chatSpan(tracer, `chatcmpl-${(nextId++).toString(36)}`, true);
}

/** Collects on demand; the bench collects after each batch, untimed. */
class PullReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

interface Case extends RoundCase {
  label: string;
  exporter: NoopExporter;
  enriching: GenAiEnrichingProcessor | undefined;
  reader: PullReader | undefined;
  spans: number;
}

/** The three records the processor makes for a chat span, made directly: the attribute sets built once. */
function directRecorder(meterProvider: MeterProvider): () => void {
  const meter = meterProvider.getMeter('direct');
  const tokens = meter.createHistogram('gen_ai.client.token.usage', { unit: '{token}' });
  const duration = meter.createHistogram('gen_ai.client.operation.duration', { unit: 's' });
  const call: Attributes = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.response.model': 'gpt-4o-2024-08-06',
    'server.address': 'api.openai.com',
    'server.port': 443,
  };
  const input = { ...call, 'gen_ai.token.type': 'input' };
  const output = { ...call, 'gen_ai.token.type': 'output' };
  return () => {
    tokens.record(24, input);
    tokens.record(2, output);
    duration.record(0.5, call);
  };
}

function makeCase(
  label: string,
  name: string,
  kind: 'batch' | 'batch+records' | 'off' | 'on',
  workload: 'http' | 'chat',
): Case {
  const exporter = new NoopExporter();
  const reader = kind === 'on' || kind === 'batch+records' ? new PullReader() : undefined;
  const meterProvider = reader === undefined ? undefined : new MeterProvider({ readers: [reader] });
  const metrics = kind === 'on' ? { metrics: { meterProvider, skipScopes: [] } } : {};
  const enriching = kind.startsWith('batch')
    ? undefined
    : new GenAiEnrichingProcessor(exporter, { ...PROCESSOR_OPTIONS, ...metrics });
  const processor: SpanProcessor = enriching ?? new BatchSpanProcessor(exporter, QUEUE);
  const tracer = new BasicTracerProvider({ spanProcessors: [processor] }).getTracer(
    workload === 'http' ? HTTP_SCOPE : OPENAI_SCOPE,
  );
  const records = kind === 'batch+records' ? directRecorder(meterProvider!) : undefined;
  const make =
    workload === 'http'
      ? httpSpan
      : records === undefined
        ? completeChatSpan
        : (t: Tracer): void => {
            completeChatSpan(t);
            records();
          };
  const c: Case = {
    label,
    name,
    exporter,
    enriching,
    reader,
    spans: 0,
    run: () => {
      for (let i = 0; i < SPANS_PER_BATCH; i++) make(tracer);
      c.spans += SPANS_PER_BATCH;
    },
    after: async () => {
      await processor.forceFlush();
      if (workload === 'chat') await reader?.collect();
    },
  };
  return c;
}

const t0 = Date.now();
console.log(machineLine());
const cases = [
  makeCase('(1)', 'BatchSpanProcessor, HTTP spans (baseline)', 'batch', 'http'),
  makeCase('(2)', 'GenAiEnrichingProcessor, HTTP spans, no metrics', 'off', 'http'),
  makeCase('(2m)', 'GenAiEnrichingProcessor, HTTP spans, metrics on', 'on', 'http'),
  makeCase('(3)', 'GenAiEnrichingProcessor, complete GenAI chat spans, no metrics', 'off', 'chat'),
  makeCase('(3m)', 'GenAiEnrichingProcessor, complete GenAI chat spans, metrics on', 'on', 'chat'),
  makeCase('(4)', 'BatchSpanProcessor, the chat spans of (3)', 'batch', 'chat'),
  makeCase(
    '(4m)',
    'BatchSpanProcessor, the chat spans of (3), and three records made directly',
    'batch+records',
    'chat',
  ),
];
const results = await runRounds(cases, {
  opsPerBatch: SPANS_PER_BATCH,
  batches: BATCHES_PER_ROUND,
  rounds: ROUNDS,
  warmupRounds: WARMUP_ROUNDS,
});

// The cases did what they claim: every span exported, and with metrics every chat span recorded once.
for (const c of cases) {
  if (c.exporter.exported !== c.spans) throw new Error(`${c.name}: ${c.spans} spans, ${c.exporter.exported} exported`);
  const s = c.enriching?.stats();
  if (s !== undefined && (s.errors !== 0 || s.held !== 0)) throw new Error(`${c.name}: ${JSON.stringify(s)}`);
}
const recorded = async (c: Case): Promise<number> => {
  const { resourceMetrics } = await c.reader!.collect();
  const tokens = resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === METRIC_GEN_AI_CLIENT_TOKEN_USAGE);
  return tokens?.dataPoints.reduce((n, p) => n + (p.value as { count: number }).count, 0) ?? 0;
};
const chatOn = cases.find((c) => c.label === '(3m)')!;
if ((await recorded(chatOn)) !== 2 * chatOn.spans) throw new Error('(3m): not every chat span recorded its tokens');
if ((await recorded(cases.find((c) => c.label === '(2m)')!)) !== 0) throw new Error('(2m): HTTP spans recorded');

const ns = new Map(cases.map((c, i) => [c.label, results[i].nsPerOp]));
const base = ns.get('(1)')!;
const us = (x: number): string => (x / 1000).toFixed(2);
console.log(
  `\n### Metrics on and off, median of ${ROUNDS} rounds of ${BATCHES_PER_ROUND} × ${SPANS_PER_BATCH} spans\n`,
);
const spread = (samples: number[]): string => {
  const sorted = [...samples].sort((a, b) => a - b);
  return `${us(sorted[Math.floor(sorted.length / 4)])}–${us(sorted[Math.floor((3 * sorted.length) / 4)])}`;
};
console.log('| case | µs/span | IQR µs/span | × (1) | × the same case without metrics |');
console.log('|---|---:|---:|---:|---:|');
for (const [i, c] of cases.entries()) {
  const n = ns.get(c.label)!;
  const off = c.label.endsWith('m)') ? ns.get(c.label.replace('m)', ')'))! : undefined;
  const vsOff = off === undefined ? '' : (n / off).toFixed(2);
  console.log(
    `| ${c.label} ${c.name} | ${us(n)} | ${spread(results[i].samples)} | ${(n / base).toFixed(2)} | ${vsOff} |`,
  );
}
const perCall = ns.get('(3m)')! - ns.get('(3)')!;
const perOther = ns.get('(2m)')! - ns.get('(2)')!;
const floor = ns.get('(4m)')! - ns.get('(4)')!;
console.log(
  `\nmetrics cost ${us(perCall)} µs per model-call span, of which sdk-metrics' three records take ${us(floor)} µs, ` +
    `and ${us(perOther)} µs per span that is not GenAI (differences of medians).`,
);
console.log(`\n(${((Date.now() - t0) / 1000).toFixed(1)} s)`);
