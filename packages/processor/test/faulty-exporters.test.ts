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

function run(exporter: RecordingExporter, clock: FakeClock, flushTimeoutMillis?: number) {
  const processor = new GenAiEnrichingProcessor(exporter, {
    clock,
    maxExportBatchSize: 2,
    exportTimeoutMillis: 1000,
    scheduledDelayMillis: 100,
    ...(flushTimeoutMillis === undefined ? {} : { flushTimeoutMillis }),
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

  it('an exporter that never calls back: forceFlush and shutdown give up at flushTimeoutMillis, and say so', async () => {
    const warnings: string[] = [];
    diag.setLogger({ error() {}, warn: (m: string) => warnings.push(m), info() {}, debug() {}, verbose() {} });
    try {
      const clock = new FakeClock();
      const exporter = new HangingExporter();
      // Three batches of 2, 1000 ms each to time out: a flush would take 3000 ms; the limit is 1500.
      const processor = run(exporter, clock, 1500);
      let flushed = false;
      const flush = processor.forceFlush().then(() => (flushed = true));
      clock.advance(1499);
      await settle();
      assert.equal(flushed, false, 'still waiting within the limit');
      clock.advance(1);
      await settle();
      await flush;
      assert.equal(processor.stats().flushTimeouts, 1);
      assert.ok(exporter.spans.length < 5, `${exporter.spans.length} of 5 spans handed over`);
      assert.match(
        warnings.join('\n'),
        /next\.forceFlush still waiting after 1500 ms \(flushTimeoutMillis\); \d+ spans not yet exported/,
      );
      let shut = false;
      const shutdown = processor.shutdown().then(() => (shut = true));
      clock.advance(1500);
      await settle();
      await shutdown;
      assert.equal(shut, true);
      assert.equal(processor.stats().flushTimeouts, 2);
      assert.ok(
        clock.timers.every((t) => t.unrefCalled || t.cleared),
        'every timer unref()ed',
      );
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
