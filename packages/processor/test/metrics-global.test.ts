// `metrics: { global: true }`: the processor is made before the global MeterProvider is registered (as
// NodeSDK.start() does it) and starts recording once it is. A process of its own: it sets the global provider.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { METRIC_GEN_AI_CLIENT_TOKEN_USAGE, PROCESSOR_METRIC_PREFIX } from '../src/index.js';
import { pipeline } from './helpers/pipeline.js';

class PullReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const CALL = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.usage.input_tokens': 9,
  'gen_ai.usage.output_tokens': 2,
};

async function names(reader: MetricReader): Promise<string[]> {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name));
}

describe('metrics: { global: true }', () => {
  it('records nothing while no MeterProvider is registered, then everything once one is', async () => {
    const p = pipeline({ metrics: { global: true } });
    p.tracer.startSpan('before', { attributes: CALL }).end();
    const reader = new PullReader();
    const provider = new MeterProvider({ readers: [reader] });
    assert.ok(metrics.setGlobalMeterProvider(provider));
    try {
      assert.deepEqual(await names(reader), [], 'nothing made yet: the lookup waits for a model call or a flush');
      p.tracer.startSpan('after', { attributes: CALL }).end();
      const made = await names(reader);
      assert.ok(made.includes(METRIC_GEN_AI_CLIENT_TOKEN_USAGE));
      assert.ok(
        made.some((n) => n.startsWith(PROCESSOR_METRIC_PREFIX)),
        'and the self-metrics',
      );
      const { resourceMetrics } = await reader.collect();
      const tokens = resourceMetrics.scopeMetrics[0].metrics.find(
        (m) => m.descriptor.name === METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
      )!;
      assert.equal(tokens.dataPoints.length, 2, 'the call after registration, input and output');
    } finally {
      metrics.disable();
    }
  });

  it('forceFlush looks the provider up too, so the self-metrics appear without any model call', async () => {
    const p = pipeline({ metrics: { global: true } });
    const reader = new PullReader();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    try {
      await p.processor.forceFlush();
      assert.ok((await names(reader)).some((n) => n.startsWith(PROCESSOR_METRIC_PREFIX)));
    } finally {
      metrics.disable();
    }
  });
});
