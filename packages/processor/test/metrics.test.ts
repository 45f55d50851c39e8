// The `metrics` option with a real MeterProvider (@opentelemetry/sdk-metrics) read by a pull reader: what
// each model-call span records, when (as it leaves, its usage final), what records nothing, the self-metrics
// against stats(), the option's problems, and a meter that throws.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SpanStatusCode, context, trace } from '@opentelemetry/api';
import type { Attributes, Meter, MeterProvider as ApiMeterProvider } from '@opentelemetry/api';
import { DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import {
  METRIC_GEN_AI_CLIENT_CACHE_READ_INPUT_TOKENS,
  METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  METRIC_GEN_AI_CLIENT_REASONING_OUTPUT_TOKENS,
  METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
  OPERATION_DURATION_BUCKETS,
  PROCESSOR_METER_NAME,
  PROCESSOR_METRIC_PREFIX,
  STATS_METRICS,
  TOKEN_USAGE_BUCKETS,
  validateConfig,
} from '../src/index.js';
import type { GenAiEnrichingProcessorMetricsOptions } from '../src/index.js';
import { MAX_CACHED_ATTRIBUTE_SETS } from '../src/metrics/genai-metrics.js';
import { pipeline } from './helpers/pipeline.js';
import type { Pipeline } from './helpers/pipeline.js';

/** Reads on demand, as a Prometheus scrape would. */
class PullReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

interface Point {
  attributes: Attributes;
  /** A sum's value; a histogram's sum. */
  value: number;
  count: number;
  boundaries: number[];
}

async function collect(reader: MetricReader): Promise<Map<string, Point[]>> {
  const { resourceMetrics } = await reader.collect();
  const out = new Map<string, Point[]>();
  for (const scope of resourceMetrics.scopeMetrics) {
    assert.equal(scope.scope.name, PROCESSOR_METER_NAME);
    for (const metric of scope.metrics) out.set(metric.descriptor.name, pointsOf(metric));
  }
  return out;
}

function pointsOf(metric: MetricData): Point[] {
  return metric.dataPoints.map((p) => {
    if (metric.dataPointType === DataPointType.HISTOGRAM) {
      const h = p.value as { sum?: number; count: number; buckets: { boundaries: number[] } };
      return { attributes: p.attributes, value: h.sum ?? 0, count: h.count, boundaries: h.buckets.boundaries };
    }
    return { attributes: p.attributes, value: p.value as number, count: 0, boundaries: [] };
  });
}

function withMetrics(
  metrics: Omit<GenAiEnrichingProcessorMetricsOptions, 'meterProvider'> = {},
  options: { maxOpenMillis?: number; scope?: string } = {},
): Pipeline & { reader: PullReader } {
  const reader = new PullReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const p = pipeline(
    { holdMillis: 1000, maxOpenMillis: options.maxOpenMillis ?? 60_000, metrics: { meterProvider, ...metrics } },
    options.scope,
  );
  return { ...p, reader };
}

const CALL = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
  'server.address': 'api.openai.com',
  'server.port': 443,
};
const USAGE = {
  'gen_ai.usage.input_tokens': 120,
  'gen_ai.usage.output_tokens': 30,
  'gen_ai.usage.cache_read.input_tokens': 64,
  'gen_ai.usage.reasoning.output_tokens': 8,
};
/** The metric attributes of a CALL span: all of CALL's keys are ones the conventions list. */
const METRIC_ATTRIBUTES = CALL;

describe('metrics: the GenAI client metrics of each model call', () => {
  it("records token usage by type and the duration, with the conventions' attributes and buckets", async () => {
    const p = withMetrics();
    const span = p.tracer.startSpan('chat gpt-4o-mini', { attributes: { ...CALL, ...USAGE }, startTime: [100, 0] });
    span.end([101, 500_000_000]);
    const m = await collect(p.reader);
    assert.deepEqual(
      m.get(METRIC_GEN_AI_CLIENT_TOKEN_USAGE)?.map((pt) => [pt.attributes, pt.value, pt.count]),
      [
        [{ ...METRIC_ATTRIBUTES, 'gen_ai.token.type': 'input' }, 120, 1],
        [{ ...METRIC_ATTRIBUTES, 'gen_ai.token.type': 'output' }, 30, 1],
      ],
    );
    assert.deepEqual(m.get(METRIC_GEN_AI_CLIENT_TOKEN_USAGE)![0].boundaries, TOKEN_USAGE_BUCKETS);
    const [duration] = m.get(METRIC_GEN_AI_CLIENT_OPERATION_DURATION)!;
    assert.deepEqual(duration.attributes, METRIC_ATTRIBUTES, 'no error.type on a call that succeeded');
    assert.equal(duration.value, 1.5);
    assert.deepEqual(duration.boundaries, OPERATION_DURATION_BUCKETS);
    assert.deepEqual(
      m.get(METRIC_GEN_AI_CLIENT_CACHE_READ_INPUT_TOKENS)?.map((pt) => [pt.attributes, pt.value]),
      [[METRIC_ATTRIBUTES, 64]],
    );
    assert.deepEqual(
      m.get(METRIC_GEN_AI_CLIENT_REASONING_OUTPUT_TOKENS)?.map((pt) => pt.value),
      [8],
    );
  });

  it('error.type: the span’s own, else _OTHER for an error status; server.port only beside server.address', async () => {
    const p = withMetrics({ stats: false });
    const { 'server.address': _address, ...noAddress } = CALL;
    p.tracer.startSpan('a', { attributes: { ...noAddress, 'error.type': 'RateLimitError' } }).end();
    const failed = p.tracer.startSpan('b', { attributes: { ...CALL, 'gen_ai.request.model': 'other' } });
    failed.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
    failed.end();
    p.clock.advance(1000); // neither had usage: held, then expired
    const durations = (await collect(p.reader)).get(METRIC_GEN_AI_CLIENT_OPERATION_DURATION)!;
    const byModel = new Map(durations.map((d) => [d.attributes['gen_ai.request.model'], d.attributes]));
    assert.equal(byModel.get('gpt-4o-mini')!['error.type'], 'RateLimitError');
    assert.equal(byModel.get('gpt-4o-mini')!['server.port'], undefined, 'no port without an address');
    assert.equal(byModel.get('other')!['error.type'], '_OTHER');
    assert.equal(byModel.get('other')!['server.port'], 443);
  });

  it('records when the span leaves: a held span with the usage joined later, once', async () => {
    const p = withMetrics({ stats: false });
    p.tracer.startSpan('chat', { attributes: { ...CALL, 'gen_ai.response.id': 'chatcmpl-1' } }).end();
    assert.equal((await collect(p.reader)).get(METRIC_GEN_AI_CLIENT_TOKEN_USAGE), undefined, 'held: nothing yet');
    p.processor.recordUsage('chatcmpl-1', { inputTokens: 7, outputTokens: 3 });
    p.processor.recordUsage('chatcmpl-1', { inputTokens: 7, outputTokens: 3 }); // no span waits for it any more
    const tokens = (await collect(p.reader)).get(METRIC_GEN_AI_CLIENT_TOKEN_USAGE)!;
    assert.deepEqual(
      tokens.map((t) => [t.attributes['gen_ai.token.type'], t.value, t.count]),
      [
        ['input', 7, 1],
        ['output', 3, 1],
      ],
    );
  });

  it('records nothing for repeated usage, a root over its calls, or spans that are no model calls', async () => {
    const p = withMetrics({ stats: false });
    // An embeddings root over its batches: the batches are the calls.
    const root = p.tracer.startSpan('embeddings', { attributes: { ...CALL, 'gen_ai.operation.name': 'embeddings' } });
    const ctx = trace.setSpan(context.active(), root);
    for (const n of [5, 6])
      p.tracer
        .startSpan(
          'batch',
          { attributes: { ...CALL, 'gen_ai.operation.name': 'embeddings', 'gen_ai.usage.input_tokens': n } },
          ctx,
        )
        .end();
    root.end();
    // Twins: two spans of one call, same response id and usage; the second is set aside.
    for (const name of ['first', 'twin'])
      p.tracer.startSpan(name, { attributes: { ...CALL, ...USAGE, 'gen_ai.response.id': 'resp-1' } }, ctx).end();
    // Not model calls: a tool, an agent, a span that is no GenAI span at all.
    p.tracer.startSpan('tool', { attributes: { 'gen_ai.operation.name': 'execute_tool', ...USAGE } }).end();
    p.tracer.startSpan('GET /', { attributes: { 'http.request.method': 'GET' } }).end();
    assert.equal(p.processor.stats().usageRepeated, 1);
    const m = await collect(p.reader);
    const tokens = m.get(METRIC_GEN_AI_CLIENT_TOKEN_USAGE)!;
    const input = tokens.filter((t) => t.attributes['gen_ai.token.type'] === 'input');
    assert.deepEqual(
      input.map((t) => [t.attributes['gen_ai.operation.name'], t.value, t.count]),
      [
        ['embeddings', 11, 2],
        ['chat', 120, 1],
      ],
    );
    const calls = m.get(METRIC_GEN_AI_CLIENT_OPERATION_DURATION)!.reduce((n, d) => n + d.count, 0);
    assert.equal(calls, 3, 'two batches and one chat call; not the root, not the twin');
  });

  it('a span the watchdog ended records its usage but no duration (its end is the watchdog’s)', async () => {
    const p = withMetrics({ stats: false }, { maxOpenMillis: 5000 });
    p.tracer.startSpan('stream', { attributes: { ...CALL, ...USAGE } });
    p.clock.advance(5000);
    const m = await collect(p.reader);
    assert.equal(p.processor.stats().forceEnded, 1);
    assert.equal(m.get(METRIC_GEN_AI_CLIENT_TOKEN_USAGE)?.length, 2);
    assert.equal(m.get(METRIC_GEN_AI_CLIENT_OPERATION_DURATION), undefined);
  });

  it('skips scopes that record these metrics themselves: @opentelemetry/instrumentation-openai by default', async () => {
    const skipped = withMetrics({ stats: false }, { scope: '@opentelemetry/instrumentation-openai' });
    skipped.tracer.startSpan('chat', { attributes: { ...CALL, ...USAGE } }).end();
    assert.equal((await collect(skipped.reader)).size, 0);
    const kept = withMetrics({ stats: false, skipScopes: [] }, { scope: '@opentelemetry/instrumentation-openai' });
    kept.tracer.startSpan('chat', { attributes: { ...CALL, ...USAGE } }).end();
    assert.equal((await collect(kept.reader)).get(METRIC_GEN_AI_CLIENT_TOKEN_USAGE)?.length, 2);
  });

  it('more distinct models than attribute sets are kept: each still recorded under its own attributes', async () => {
    const p = withMetrics({ stats: false });
    const models = MAX_CACHED_ATTRIBUTE_SETS + 44;
    for (let i = 0; i < models; i++)
      for (const input of [i, 1000])
        p.tracer
          .startSpan('chat', {
            attributes: { ...CALL, 'gen_ai.request.model': `m${i}`, 'gen_ai.usage.input_tokens': input },
          })
          .end();
    const input = (await collect(p.reader))
      .get(METRIC_GEN_AI_CLIENT_TOKEN_USAGE)!
      .filter((t) => t.attributes['gen_ai.token.type'] === 'input');
    assert.equal(input.length, models);
    for (const t of input) assert.equal(t.value, Number(String(t.attributes['gen_ai.request.model']).slice(1)) + 1000);
  });

  it('genAi: false records none of them', async () => {
    const p = withMetrics({ genAi: false });
    p.tracer.startSpan('chat', { attributes: { ...CALL, ...USAGE } }).end();
    const names = [...(await collect(p.reader)).keys()];
    assert.ok(names.length > 0 && names.every((n) => n.startsWith(PROCESSOR_METRIC_PREFIX)), names.join());
  });
});

describe('metrics: stats() as self-metrics', () => {
  it('one instrument per stats() field, named genai_enrich.processor.*, each reading its field', async () => {
    const p = withMetrics();
    p.tracer.startSpan('held', { attributes: { ...CALL, 'gen_ai.response.id': 'x' } }).end();
    p.tracer.startSpan('chat', { attributes: { ...CALL, ...USAGE } }).end();
    p.tracer.startSpan('GET /').end();
    p.processor.recordUsage('nobody', { inputTokens: 1 });
    const m = await collect(p.reader);
    const stats = p.processor.stats();
    assert.deepEqual(Object.keys(stats).sort(), STATS_METRICS.map((s) => s.field).sort(), 'every field, once');
    for (const s of STATS_METRICS) {
      const points = m.get(PROCESSOR_METRIC_PREFIX + s.name);
      assert.equal(points?.length, 1, s.name);
      assert.equal(points[0].value, stats[s.field], `${s.name} = stats().${s.field}`);
    }
    assert.equal(m.get('genai_enrich.processor.hold.spans')![0].value, 1);
    assert.equal(m.get('genai_enrich.processor.spans.received')![0].value, 3);
    assert.equal(m.get('genai_enrich.processor.late_usage.pending')![0].value, 1);
  });

  it('the README lists every self-metric with its field', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### `stats()` as metrics'), readme.indexOf('## Held spans'));
    for (const m of STATS_METRICS) {
      const row = section.split('\n').find((line) => line.includes(`\`${m.name}\``));
      assert.ok(row !== undefined, `a row for ${m.name}`);
      assert.ok(row.includes(`\`${m.field}\``) && row.includes(`\`${m.unit}\``), `${m.name}: ${m.field}, ${m.unit}`);
      assert.ok(row.includes(m.kind), `${m.name} is a ${m.kind}`);
    }
  });

  it('stats: false registers none', async () => {
    const p = withMetrics({ stats: false });
    p.tracer.startSpan('chat', { attributes: { ...CALL, ...USAGE } }).end();
    const names = [...(await collect(p.reader)).keys()];
    assert.ok(!names.some((n) => n.startsWith(PROCESSOR_METRIC_PREFIX)), names.join());
  });
});

describe('metrics: never in the host’s way', () => {
  it('a meter whose instruments throw: counted in errors, spans still forwarded; other spans never touch it', () => {
    let records = 0;
    const throwing = (): never => {
      records++;
      throw new Error('instrument');
    };
    const instrument = { record: throwing, add: throwing };
    const meter = new Proxy({} as Meter, {
      get: (_target, name) =>
        name === 'addBatchObservableCallback' ? () => {} : () => ({ ...instrument, addCallback() {} }),
    });
    const meterProvider: ApiMeterProvider = { getMeter: () => meter };
    const p = pipeline({ metrics: { meterProvider } });
    for (let i = 0; i < 100; i++) p.tracer.startSpan('GET /', { attributes: { 'http.route': '/' } }).end();
    assert.equal(records, 0, 'spans that are not GenAI never reach the instruments');
    assert.doesNotThrow(() => p.tracer.startSpan('chat', { attributes: { ...CALL, ...USAGE } }).end());
    assert.equal(records, 1);
    assert.equal(p.processor.stats().errors, 1);
    assert.equal(p.next.ended.length, 101, 'every span forwarded');
  });

  it('a provider that fails to make instruments: one error, asked once', () => {
    let asked = 0;
    const meterProvider: ApiMeterProvider = {
      getMeter: () => {
        asked++;
        throw new Error('no meter');
      },
    };
    const p = pipeline({ metrics: { meterProvider } });
    for (let i = 0; i < 3; i++) p.tracer.startSpan('chat', { attributes: { ...CALL, ...USAGE } }).end();
    assert.equal(asked, 1);
    assert.equal(p.processor.stats().errors, 1);
    assert.equal(p.next.ended.length, 3);
  });

  it('validateConfig names every problem of the metrics option', () => {
    const provider = new MeterProvider();
    assert.deepEqual(validateConfig({ metrics: { meterProvider: provider } }), []);
    assert.deepEqual(validateConfig({ metrics: { global: true, skipScopes: [] } }), []);
    assert.deepEqual(validateConfig({ metrics: 5 as never }), ['metrics must be an object, got 5']);
    assert.deepEqual(validateConfig({ metrics: {} }), [
      'metrics needs a meterProvider, or global: true; no metrics are recorded',
    ]);
    assert.deepEqual(
      validateConfig({
        metrics: { meterProvider: {} as never, genAi: 'yes' as never, skipScopes: 'x' as never, globl: true } as never,
      }),
      [
        'metrics.meterProvider must be a MeterProvider (with getMeter), got an object',
        'metrics.genAi must be a boolean, got "yes"',
        'metrics.skipScopes must be an array of scope names, got "x"',
        'unknown option "metrics.globl"',
      ],
    );
    assert.deepEqual(validateConfig({ metrics: { meterProvider: provider, global: true } }), [
      'metrics takes meterProvider or global: true, not both; meterProvider is used',
    ]);
  });
});
