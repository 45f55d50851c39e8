// The Prometheus text the relay serves on GET /metrics, written from a real MeterProvider's collection:
// names, units, counters' _total, histograms' cumulative buckets, label escaping, one family per name.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { prometheusName, toPrometheusText } from '../src/metrics/prometheus-text.js';

class PullReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

async function textOf(record: (provider: MeterProvider) => void): Promise<string> {
  const reader = new PullReader();
  const provider = new MeterProvider({ readers: [reader] });
  record(provider);
  return toPrometheusText((await reader.collect()).resourceMetrics);
}

describe('toPrometheusText', () => {
  it('names: dots to underscores, seconds and bytes units, _total on counters only, once', () => {
    assert.equal(prometheusName('gen_ai.client.token.usage', '{token}', false), 'gen_ai_client_token_usage');
    assert.equal(
      prometheusName('gen_ai.client.operation.duration', 's', false),
      'gen_ai_client_operation_duration_seconds',
    );
    assert.equal(prometheusName('genai_enrich.relay.queue.bytes', 'By', false), 'genai_enrich_relay_queue_bytes');
    assert.equal(prometheusName('x.received', 'By', true), 'x_received_bytes_total');
    assert.equal(prometheusName('requests_total', '{request}', true), 'requests_total');
    assert.equal(prometheusName('1st-metric', '', false), '_1st_metric');
  });

  it('a counter, an up-down counter and a histogram with labels, exactly', async () => {
    const text = await textOf((provider) => {
      const meter = provider.getMeter('m');
      meter.createCounter('a.count', { description: 'Counted\nthings.', unit: '{thing}' }).add(3, { 'k.x': 'q"\\\n' });
      meter.createUpDownCounter('a.level', { unit: 'By' }).add(-2);
      const h = meter.createHistogram('a.time', { unit: 's', advice: { explicitBucketBoundaries: [1, 10] } });
      h.record(0.5, { model: 'm1' });
      h.record(5, { model: 'm1' });
      h.record(50, { model: 'm1' });
    });
    assert.equal(
      text,
      [
        '# HELP a_count_total Counted\\nthings.',
        '# TYPE a_count_total counter',
        'a_count_total{k_x="q\\"\\\\\\n"} 3',
        '# TYPE a_level_bytes gauge',
        'a_level_bytes -2',
        '# TYPE a_time_seconds histogram',
        'a_time_seconds_bucket{model="m1",le="1"} 1',
        'a_time_seconds_bucket{model="m1",le="10"} 2',
        'a_time_seconds_bucket{model="m1",le="+Inf"} 3',
        'a_time_seconds_sum{model="m1"} 55.5',
        'a_time_seconds_count{model="m1"} 3',
        '',
      ].join('\n'),
    );
  });

  it('the same name from two meters is one family', async () => {
    const text = await textOf((provider) => {
      provider.getMeter('one').createCounter('c').add(1, { from: 'one' });
      provider.getMeter('two').createCounter('c').add(2, { from: 'two' });
    });
    assert.equal(text, ['# TYPE c_total counter', 'c_total{from="one"} 1', 'c_total{from="two"} 2', ''].join('\n'));
  });
});
