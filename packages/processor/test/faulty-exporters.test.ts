/*
 * The processor in exporter mode against the exporters real deployments meet: one that throws, one that
 * returns FAILED, one that never calls back, and a slow one. The host never sees an exception, every
 * span is still handed over once, and failures are counted.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diag } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { GenAiEnrichingProcessor } from '../src/index.js';
import { FakeClock, settle } from './helpers/fake-clock.js';
import type { RecordingExporter } from './helpers/exporters.js';
import { FailingExporter, HangingExporter, SlowExporter, ThrowingExporter } from './helpers/exporters.js';

function run(exporter: RecordingExporter, clock: FakeClock) {
  const processor = new GenAiEnrichingProcessor(exporter, {
    clock,
    maxExportBatchSize: 2,
    exportTimeoutMillis: 1000,
    scheduledDelayMillis: 100,
  });
  const tracer = new BasicTracerProvider({ spanProcessors: [processor] }).getTracer('t');
  const attributes = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.usage.input_tokens': 2,
    'gen_ai.usage.output_tokens': 1,
  };
  assert.doesNotThrow(() => {
    for (let i = 0; i < 5; i++) tracer.startSpan(`s${i}`, { attributes }).end();
  });
  return processor;
}

describe('GenAiEnrichingProcessor with a faulty exporter', () => {
  const quiet = () => diag.setLogger({ error() {}, warn() {}, info() {}, debug() {}, verbose() {} });

  it('an exporter that throws: counted, never thrown', async () => {
    quiet();
    try {
      const clock = new FakeClock();
      const exporter = new ThrowingExporter();
      const processor = run(exporter, clock);
      await processor.forceFlush();
      assert.equal(processor.stats().forwarded, 5);
      assert.ok(processor.stats().errors >= 1);
      await processor.shutdown();
    } finally {
      diag.disable();
    }
  });

  it('an exporter that returns FAILED: counted, the next batches still go', async () => {
    quiet();
    try {
      const clock = new FakeClock();
      const exporter = new FailingExporter();
      const processor = run(exporter, clock);
      await processor.forceFlush();
      assert.equal(exporter.spans.length, 5);
      assert.equal(processor.stats().errors, exporter.exportCalls);
      await processor.shutdown();
    } finally {
      diag.disable();
    }
  });

  it('an exporter that never calls back: each export times out, flush and shutdown still finish', async () => {
    quiet();
    try {
      const clock = new FakeClock();
      const exporter = new HangingExporter();
      const processor = run(exporter, clock);
      const flushed = processor.forceFlush();
      for (let i = 0; i < 5; i++) {
        clock.advance(1000);
        await settle();
      }
      await flushed;
      assert.equal(exporter.spans.length, 5);
      assert.ok(processor.stats().errors >= 3, `${processor.stats().errors} timeouts`);
      const shut = processor.shutdown();
      clock.advance(1000);
      await settle();
      await shut;
      assert.equal(exporter.shutdownCalls, 1);
    } finally {
      diag.disable();
    }
  });

  it('a slow exporter: one export at a time, nothing lost', async () => {
    const clock = new FakeClock();
    const exporter = new SlowExporter(clock, 300);
    const processor = run(exporter, clock);
    const flushed = processor.forceFlush();
    for (let i = 0; i < 5; i++) {
      clock.advance(300);
      await settle();
    }
    await flushed;
    assert.equal(exporter.spans.length, 5);
    assert.equal(exporter.maxInFlight, 1);
    assert.equal(processor.stats().errors, 0);
    await processor.shutdown();
  });
});
