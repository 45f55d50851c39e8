import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { context, diag, DiagLogLevel, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Context, ContextManager, DiagLogger } from '@opentelemetry/api';
import {
  isTracingSuppressed as coreIsTracingSuppressed,
  suppressTracing as coreSuppressTracing,
} from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SamplingDecision } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, Sampler, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ExportBatcher } from '../src/export-batcher.js';
import type { ExportBatcherOptions } from '../src/export-batcher.js';
import { isTracingSuppressed, suppressTracing } from '../src/suppress-tracing.js';
import type { ReadableSpanLike, SpanExporterLike } from '../src/types.js';
import { FakeClock, settle } from './helpers/fake-clock.js';
import {
  FAILED,
  FailingExporter,
  HangingExporter,
  RecordingExporter,
  RejectingLifecycleExporter,
  SlowExporter,
  SUCCESS,
  ThrowingExporter,
} from './helpers/exporters.js';

// ---------------------------------------------------------------------------------------------------------
// Real SDK spans

/** Collects ended spans as the SDK hands them to processors (sampled or not). */
class CollectingProcessor implements SpanProcessor {
  readonly ended: ReadableSpan[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.ended.push(span);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Records the span but does not sample it (traceFlags 0), which is what the batcher must skip. */
const recordOnlySampler: Sampler = {
  shouldSample: () => ({ decision: SamplingDecision.RECORD }),
  toString: () => 'RecordOnlySampler',
};

const sampledSpans = new CollectingProcessor();
const sampledTracer = new BasicTracerProvider({ spanProcessors: [sampledSpans] }).getTracer('batcher-test');
const unsampledSpans = new CollectingProcessor();
const unsampledTracer = new BasicTracerProvider({
  sampler: recordOnlySampler,
  spanProcessors: [unsampledSpans],
}).getTracer('batcher-test');

/** An ended, sampled SDK span. */
function span(name = 'span'): ReadableSpan {
  sampledTracer.startSpan(name).end();
  return sampledSpans.ended.at(-1)!;
}

/** `n` ended, sampled SDK spans named `s0`, `s1`, … */
function spans(n: number, prefix = 's'): ReadableSpan[] {
  return Array.from({ length: n }, (_, i) => span(`${prefix}${i}`));
}

function names(list: readonly ReadableSpanLike[]): string[] {
  return list.map((s) => s.name);
}

// ---------------------------------------------------------------------------------------------------------
// Harness

interface Harness {
  batcher: ExportBatcher;
  clock: FakeClock;
  errors: unknown[];
}

function make(
  exporter: SpanExporterLike,
  options: Partial<Omit<ExportBatcherOptions, 'clock'>> = {},
  clock = new FakeClock(1_000),
): Harness {
  const errors: unknown[] = [];
  const batcher = new ExportBatcher(exporter, {
    maxQueueSize: 100,
    maxExportBatchSize: 10,
    scheduledDelayMillis: 1_000,
    exportTimeoutMillis: 30_000,
    clock,
    onError: (error) => errors.push(error),
    ...options,
  });
  return { batcher, clock, errors };
}

function addAll(batcher: ExportBatcher, list: readonly ReadableSpanLike[]): boolean[] {
  return list.map((s) => batcher.add(s));
}

/** Captures `diag` output; reset with `diag.disable()` after each test. */
function captureDiag(): { warn: string[]; debug: string[] } {
  const out = { warn: [] as string[], debug: [] as string[] };
  const logger: DiagLogger = {
    error: () => {},
    warn: (message) => void out.warn.push(message),
    info: () => {},
    debug: (message) => void out.debug.push(message),
    verbose: () => {},
  };
  diag.setLogger(logger, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
  return out;
}

afterEach(() => {
  diag.disable();
});

// ---------------------------------------------------------------------------------------------------------

describe('ExportBatcher batching', () => {
  it('exports as soon as a full batch is queued, in order, and holds the rest', async () => {
    const exporter = new RecordingExporter();
    const { batcher, clock } = make(exporter, { maxExportBatchSize: 3 });
    const all = spans(7);

    assert.deepEqual(addAll(batcher, all.slice(0, 3)), [true, true, true]);
    // The export starts synchronously inside the add() that filled the batch.
    assert.equal(exporter.exportCalls, 1);
    assert.deepEqual(names(exporter.batches[0]), ['s0', 's1', 's2']);

    addAll(batcher, all.slice(3, 6));
    // The first export's completion has not been processed yet: still one export.
    assert.equal(exporter.exportCalls, 1);
    assert.equal(batcher.queued, 3);

    await settle();
    // Its completion found a full batch waiting and exported it straight away.
    assert.equal(exporter.exportCalls, 2);
    assert.deepEqual(names(exporter.batches[1]), ['s3', 's4', 's5']);

    batcher.add(all[6]);
    await settle();
    assert.equal(exporter.exportCalls, 2, 'a partial batch waits for the delay');
    assert.equal(batcher.queued, 1);
    assert.equal(clock.pendingTimers, 1);
    assert.equal(exporter.maxInFlight, 1);
  });

  it('exports a partial batch scheduledDelayMillis after the first waiting span, without restarting the delay', async () => {
    const exporter = new RecordingExporter();
    const { batcher, clock } = make(exporter, { scheduledDelayMillis: 1_000 });
    assert.equal(clock.pendingTimers, 0, 'no timer while idle');

    batcher.add(span('a'));
    clock.advance(500);
    batcher.add(span('b'));
    assert.equal(clock.pendingTimers, 1, 'one delay timer, not one per span');
    clock.advance(499);
    assert.equal(exporter.exportCalls, 0);
    clock.advance(1);
    assert.equal(exporter.exportCalls, 1);
    assert.deepEqual(names(exporter.batches[0]), ['a', 'b']);

    await settle();
    assert.equal(batcher.queued, 0);
    assert.equal(clock.pendingTimers, 0, 'the delay and export timeout timers are gone once idle');

    // The next span starts a fresh delay.
    batcher.add(span('c'));
    clock.advance(999);
    assert.equal(exporter.exportCalls, 1);
    clock.advance(1);
    assert.equal(exporter.exportCalls, 2);
  });

  it('clamps maxExportBatchSize to maxQueueSize with a warning', async () => {
    const logs = captureDiag();
    const exporter = new RecordingExporter();
    const { batcher } = make(exporter, { maxQueueSize: 2, maxExportBatchSize: 5 });
    assert.equal(logs.warn.length, 1);
    assert.match(logs.warn[0], /maxExportBatchSize/);
    addAll(batcher, spans(2));
    assert.equal(exporter.exportCalls, 1, 'a full queue is a full batch');
    assert.equal(exporter.batches[0].length, 2);
  });

  it('exports to a real InMemorySpanExporter', async () => {
    const memory = new InMemorySpanExporter();
    const { batcher, errors } = make(memory, { maxExportBatchSize: 2 });
    const all = spans(5);
    addAll(batcher, all);
    await batcher.forceFlush();
    assert.deepEqual(names(memory.getFinishedSpans()), names(all));
    assert.equal(memory.getFinishedSpans()[0], all[0], 'the very span objects are exported');
    assert.deepEqual(errors, []);
  });
});

describe('ExportBatcher queue limit', () => {
  it('drops and counts spans beyond maxQueueSize and warns once per burst, when a span is accepted again', async () => {
    const logs = captureDiag();
    const clock = new FakeClock();
    const exporter = new SlowExporter(clock, 100);
    const { batcher } = make(exporter, { maxQueueSize: 4, maxExportBatchSize: 2 }, clock);

    addAll(batcher, spans(2, 'first')); // starts an export that holds for 100 ms
    assert.equal(exporter.inFlight, 1);
    assert.deepEqual(addAll(batcher, spans(4, 'q')), [true, true, true, true]);
    assert.deepEqual(addAll(batcher, spans(3, 'drop')), [false, false, false]);
    assert.equal(batcher.dropped, 3);
    assert.equal(batcher.queued, 4);
    assert.deepEqual(logs.warn, [], 'not warned per dropped span');
    assert.equal(logs.debug.filter((m) => /maxQueueSize/.test(m)).length, 1, 'one debug line when the burst starts');

    clock.advance(100);
    await settle();
    // The first export finished and the next full batch started: space freed, but no span accepted yet.
    assert.equal(exporter.exportCalls, 2);
    assert.equal(batcher.queued, 2);
    assert.deepEqual(logs.warn, []);

    assert.equal(batcher.add(span('after1')), true);
    assert.deepEqual(logs.warn, ['Dropped 3 spans because maxQueueSize reached']);

    // A second burst is reported separately, with its own count.
    assert.equal(batcher.add(span('after2')), true);
    assert.deepEqual(addAll(batcher, spans(2, 'drop2-')), [false, false]);
    assert.equal(batcher.dropped, 5);
    clock.advance(100);
    await settle();
    assert.equal(batcher.add(span('after3')), true);
    assert.equal(batcher.add(span('after4')), true, 'accepted spans do not warn again');
    assert.deepEqual(logs.warn, [
      'Dropped 3 spans because maxQueueSize reached',
      'Dropped 2 spans because maxQueueSize reached',
    ]);
    assert.deepEqual(
      exporter.spans.map((s) => s.name).filter((n) => n.startsWith('drop')),
      [],
      'dropped spans are never exported',
    );
  });

  it('reports the last burst on forceFlush rather than never', async () => {
    const logs = captureDiag();
    const exporter = new HangingExporter();
    const { batcher, clock } = make(exporter, { maxQueueSize: 1, maxExportBatchSize: 1, exportTimeoutMillis: 50 });
    batcher.add(span()); // in flight, hangs
    batcher.add(span()); // queued
    assert.equal(batcher.add(span()), false);
    const flushed = batcher.forceFlush();
    clock.advance(50);
    await settle();
    clock.advance(50);
    await flushed;
    assert.deepEqual(logs.warn, ['Dropped 1 spans because maxQueueSize reached']);
  });
});

describe('ExportBatcher concurrency', () => {
  it('never has more than one export in flight, also while flushing', async () => {
    const clock = new FakeClock(1_000);
    const exporter = new SlowExporter(clock, 100);
    const { batcher, errors } = make(exporter, { maxExportBatchSize: 2 }, clock);
    const all = spans(10);
    addAll(batcher, all.slice(0, 7));
    assert.equal(exporter.exportCalls, 1);

    let done = false;
    const flushed = batcher.forceFlush().then(() => (done = true));
    addAll(batcher, all.slice(7)); // arrive during the flush
    for (let i = 0; i < 20 && !done; i++) {
      assert.ok(exporter.inFlight <= 1);
      clock.advance(100);
      await settle();
    }
    await flushed;
    assert.equal(exporter.maxInFlight, 1);
    assert.deepEqual(names(exporter.spans), names(all), 'every span exported once, in order');
    assert.deepEqual(
      exporter.batches.map((b) => b.length),
      [2, 2, 2, 2, 2],
    );
    assert.equal(exporter.forceFlushCalls, 1);
    assert.deepEqual(errors, []);
  });
});

describe('ExportBatcher failures', () => {
  it('times out an export that never calls back, counts it once and ignores the late callback', async () => {
    const exporter = new HangingExporter();
    const { batcher, clock, errors } = make(exporter, { maxExportBatchSize: 1, exportTimeoutMillis: 500 });

    assert.equal(batcher.add(span('a')), true);
    assert.equal(exporter.exportCalls, 1);
    batcher.add(span('b')); // waits behind the hanging export
    clock.advance(499);
    await settle();
    assert.equal(batcher.failed, 0);
    assert.equal(exporter.exportCalls, 1);

    clock.advance(1);
    assert.equal(batcher.failed, 1);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof Error);
    assert.match(errors[0].message, /timed out after 500 ms/);

    await settle();
    assert.equal(exporter.exportCalls, 2, 'the timeout freed the slot for the next export');
    assert.deepEqual(names(exporter.batches[1]), ['b']);

    // The first export calls back long after its timeout: no double accounting, either way.
    exporter.callBack(0, { code: FAILED, error: new Error('late') });
    exporter.callBack(0, { code: SUCCESS });
    await settle();
    assert.equal(batcher.failed, 1);
    assert.equal(errors.length, 1);

    // The second export succeeds in time: its timeout is cleared, nothing is counted.
    exporter.callBack(1, { code: SUCCESS });
    await settle();
    clock.advance(10_000);
    assert.equal(batcher.failed, 1);
    assert.equal(clock.pendingTimers, 0);
  });

  it('clears the timeout of an export that completes in time', async () => {
    const clock = new FakeClock();
    const exporter = new SlowExporter(clock, 50);
    const { batcher, errors } = make(exporter, { maxExportBatchSize: 1, exportTimeoutMillis: 500 }, clock);
    batcher.add(span());
    const timeout = clock.pendingList().find((t) => t.delay === 500)!;
    clock.advance(50);
    await settle();
    assert.equal(timeout.cleared, true);
    assert.equal(timeout.fired, false);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(batcher.failed, 0);
    assert.deepEqual(errors, []);
  });

  it('counts an export() that throws and reports it, never throwing', async () => {
    const exporter = new ThrowingExporter();
    const { batcher, errors, clock } = make(exporter, { maxExportBatchSize: 2 });
    const all = spans(4);
    assert.deepEqual(addAll(batcher, all.slice(0, 2)), [true, true]);
    assert.equal(batcher.failed, 1);
    assert.deepEqual(errors, [exporter.error]);
    await settle();
    addAll(batcher, all.slice(2));
    await settle();
    assert.equal(batcher.failed, 2);
    assert.equal(clock.pendingTimers, 0, 'the timeout of a thrown export is cleared');
    await batcher.forceFlush();
    await batcher.shutdown();
    assert.equal(exporter.shutdownCalls, 1);
  });

  it('counts a FAILED result and reports its error, or a generic one', async () => {
    const exporter = new FailingExporter();
    const { batcher, errors } = make(exporter, { maxExportBatchSize: 1 });
    batcher.add(span());
    await settle();
    batcher.add(span());
    assert.equal(batcher.failed, 2);
    assert.deepEqual(errors, [exporter.error, exporter.error]);

    const bare = new FailingExporter(false);
    const h = make(bare, { maxExportBatchSize: 1 });
    h.batcher.add(span());
    assert.equal(h.batcher.failed, 1);
    assert.ok(h.errors[0] instanceof Error);
    assert.match(h.errors[0].message, /export failed/);
  });

  it('counts a slow exporter that returns FAILED after a while', async () => {
    const clock = new FakeClock();
    const exporter = new SlowExporter(clock, 200, { code: FAILED });
    const { batcher, errors } = make(exporter, { maxExportBatchSize: 1, exportTimeoutMillis: 500 }, clock);
    batcher.add(span());
    clock.advance(199);
    assert.equal(batcher.failed, 0);
    clock.advance(1);
    assert.equal(batcher.failed, 1);
    clock.advance(1_000);
    assert.equal(batcher.failed, 1, 'its timeout was cleared, not counted again');
    assert.equal(errors.length, 1);
  });

  it('survives an onError that throws', async () => {
    const exporter = new ThrowingExporter();
    const clock = new FakeClock();
    const batcher = new ExportBatcher(exporter, {
      maxQueueSize: 10,
      maxExportBatchSize: 1,
      scheduledDelayMillis: 10,
      exportTimeoutMillis: 10,
      clock,
      onError: () => {
        throw new Error('bad onError');
      },
    });
    assert.equal(batcher.add(span()), true);
    assert.equal(batcher.failed, 1);
    await batcher.forceFlush();
    await batcher.shutdown();
  });

  it('never throws from add() for a span whose spanContext() throws', () => {
    const exporter = new RecordingExporter();
    const { batcher, errors } = make(exporter);
    const broken = {
      ...span(),
      spanContext: () => {
        throw new Error('broken span');
      },
    } as ReadableSpanLike;
    assert.equal(batcher.add(broken), false);
    assert.equal(errors.length, 1);
    assert.equal(batcher.queued, 0);
  });

  it('waits for async resource attributes, as the SDK does, and counts a rejection as a failure', async () => {
    const exporter = new RecordingExporter();
    const { batcher, errors } = make(exporter, { maxExportBatchSize: 1 });
    let resolveAttributes!: () => void;
    const waiting = new Promise<void>((resolve) => (resolveAttributes = resolve));
    const real = span('async-resource');
    // A real SDK span whose resource still resolves attributes (shadowing the own `resource` field).
    const pending = Object.create(real, {
      resource: { value: { asyncAttributesPending: true, waitForAsyncAttributes: () => waiting } },
    }) as ReadableSpanLike;
    batcher.add(pending);
    await settle();
    assert.equal(exporter.exportCalls, 0);
    resolveAttributes();
    await settle();
    assert.equal(exporter.exportCalls, 1);
    assert.equal(exporter.batches[0][0], pending);

    const failing = Object.create(real, {
      resource: {
        value: { asyncAttributesPending: true, waitForAsyncAttributes: () => Promise.reject(new Error('no attrs')) },
      },
    }) as ReadableSpanLike;
    batcher.add(failing);
    await settle();
    assert.equal(exporter.exportCalls, 1);
    assert.equal(batcher.failed, 1);
    assert.match((errors[0] as Error).message, /no attrs/);
  });
});

describe('ExportBatcher forceFlush', () => {
  it('exports everything queued in batches, then calls exporter.forceFlush', async () => {
    const exporter = new RecordingExporter();
    const { batcher, clock } = make(exporter, { maxExportBatchSize: 3, scheduledDelayMillis: 10_000 });
    const all = spans(8);
    addAll(batcher, all); // one batch exported by size, five spans waiting
    assert.equal(batcher.queued, 5);
    await batcher.forceFlush();
    assert.deepEqual(names(exporter.spans), names(all));
    assert.deepEqual(
      exporter.batches.map((b) => b.length),
      [3, 3, 2],
    );
    assert.equal(exporter.forceFlushCalls, 1);
    assert.equal(batcher.queued, 0);
    assert.equal(clock.pendingTimers, 0, 'the delay timer is cancelled');
    assert.equal(exporter.maxInFlight, 1);

    await batcher.forceFlush();
    assert.equal(exporter.forceFlushCalls, 2, 'an empty flush still flushes the exporter');
    assert.equal(exporter.exportCalls, 3, 'and exports nothing');
  });

  it('resolves when the exporter has no forceFlush, or when it rejects (reported)', async () => {
    const plain: SpanExporterLike = {
      export: (_spans, done) => done({ code: SUCCESS }),
      shutdown: () => Promise.resolve(),
    };
    const h = make(plain);
    h.batcher.add(span());
    await h.batcher.forceFlush();
    assert.deepEqual(h.errors, []);

    const rejecting = new RejectingLifecycleExporter();
    const r = make(rejecting);
    await r.batcher.forceFlush();
    assert.deepEqual(r.errors, [rejecting.error]);
    assert.equal(r.batcher.failed, 0, 'failed counts export calls only');
  });

  it('resolves even when exports hang, through their timeouts', async () => {
    const exporter = new HangingExporter();
    const { batcher, clock, errors } = make(exporter, { maxExportBatchSize: 2, exportTimeoutMillis: 100 });
    addAll(batcher, spans(5));
    let done = false;
    const flushed = batcher.forceFlush().then(() => (done = true));
    for (let i = 0; i < 10 && !done; i++) {
      clock.advance(100);
      await settle();
    }
    await flushed;
    assert.equal(exporter.exportCalls, 3);
    assert.equal(batcher.failed, 3);
    assert.equal(errors.length, 3);
    assert.equal(exporter.forceFlushCalls, 1);
  });
});

describe('ExportBatcher shutdown', () => {
  it('is idempotent: exports what is queued, calls exporter.shutdown once, then refuses spans', async () => {
    const exporter = new RecordingExporter();
    const { batcher, clock } = make(exporter, { maxExportBatchSize: 2 });
    const all = spans(3);
    addAll(batcher, all); // exports two, the third waits for the delay once that export completes
    await settle();
    assert.equal(clock.pendingTimers, 1);
    const delayTimer = clock.pendingList()[0];

    const first = batcher.shutdown();
    const second = batcher.shutdown();
    assert.equal(first, second, 'later calls return the same promise');
    assert.equal(delayTimer.cleared, true, 'the timer is stopped');
    await first;
    assert.equal(await batcher.shutdown(), undefined);
    assert.equal(exporter.shutdownCalls, 1);
    assert.deepEqual(names(exporter.spans), names(all));

    assert.equal(batcher.add(span()), false);
    assert.equal(batcher.dropped, 0, 'refused after shutdown, not counted as dropped');
    assert.equal(batcher.queued, 0);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(batcher.forceFlush(), first, 'forceFlush after shutdown returns the shutdown promise');
    assert.equal(exporter.exportCalls, 2);
  });

  it('resolves when exporter.shutdown rejects, reporting it once', async () => {
    const exporter = new RejectingLifecycleExporter();
    const { batcher, errors } = make(exporter);
    batcher.add(span());
    await Promise.all([batcher.shutdown(), batcher.shutdown()]);
    assert.deepEqual(errors, [exporter.error]);
    assert.equal(exporter.shutdownCalls, 1);
    assert.equal(exporter.exportCalls, 1);
  });

  it('waits for the export in flight before shutting the exporter down', async () => {
    const clock = new FakeClock();
    const exporter = new SlowExporter(clock, 100);
    const { batcher, errors } = make(exporter, { maxExportBatchSize: 1, exportTimeoutMillis: 1_000 }, clock);
    addAll(batcher, spans(2));
    let done = false;
    const stopped = batcher.shutdown().then(() => (done = true));
    await settle();
    assert.equal(exporter.shutdownCalls, 0);
    for (let i = 0; i < 5 && !done; i++) {
      clock.advance(100);
      await settle();
    }
    await stopped;
    assert.equal(exporter.exportCalls, 2);
    assert.equal(exporter.shutdownCalls, 1);
    assert.equal(exporter.maxInFlight, 1);
    assert.deepEqual(errors, []);
  });
});

describe('ExportBatcher sampling and timers', () => {
  it('skips unsampled spans: not queued, not dropped, no timer', () => {
    unsampledTracer.startSpan('unsampled').end();
    const unsampled = unsampledSpans.ended.at(-1)!;
    assert.equal(unsampled.spanContext().traceFlags & 1, 0, 'the SDK recorded it without sampling it');
    const exporter = new RecordingExporter();
    const { batcher, clock } = make(exporter, { maxQueueSize: 1, maxExportBatchSize: 1 });
    assert.equal(batcher.add(unsampled), false);
    assert.equal(batcher.queued, 0);
    assert.equal(batcher.dropped, 0);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(exporter.exportCalls, 0);
  });

  it('unrefs every timer it creates (delay and export timeout)', async () => {
    const exporter = new HangingExporter();
    const { batcher, clock } = make(exporter, { scheduledDelayMillis: 100, exportTimeoutMillis: 100 });
    batcher.add(span());
    clock.advance(100); // delay fires, export starts with its timeout
    clock.advance(100); // timeout fires
    await settle();
    assert.equal(clock.timers.length, 2);
    assert.deepEqual(
      clock.timers.map((t) => [t.delay, t.unrefCalled]),
      [
        [100, true],
        [100, true],
      ],
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Tracing suppression, with the real SDK registered globally

/** A minimal AsyncLocalStorage context manager (the api's default one does not propagate context at all). */
class AlsContextManager implements ContextManager {
  private readonly _storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this._storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this._storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this._storage.disable();
    return this;
  }
}

describe('suppressTracing', () => {
  it('uses the very key of @opentelemetry/core, both ways', () => {
    assert.equal(coreIsTracingSuppressed(suppressTracing(ROOT_CONTEXT)), true);
    assert.equal(isTracingSuppressed(coreSuppressTracing(ROOT_CONTEXT)), true);
    assert.equal(isTracingSuppressed(ROOT_CONTEXT), false);
    assert.equal(
      isTracingSuppressed(ROOT_CONTEXT.setValue(Symbol('OpenTelemetry SDK Context Key SUPPRESS_TRACING'), true)),
      false,
    );
  });

  describe('inside ExportBatcher exports', () => {
    const globalSpans = new CollectingProcessor();
    beforeEach(() => {
      assert.equal(context.setGlobalContextManager(new AlsContextManager()), true);
      assert.equal(trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [globalSpans] })), true);
    });
    afterEach(() => {
      trace.disable();
      context.disable();
    });

    it('the SDK records no span created by the exporter, while it does outside', async () => {
      const seen: Array<{ core: boolean; ours: boolean; recording: boolean }> = [];
      const exporter = new RecordingExporter();
      exporter.onExport = () => {
        const child = trace.getTracer('x').startSpan('inside-export');
        seen.push({
          core: coreIsTracingSuppressed(context.active()),
          ours: isTracingSuppressed(context.active()),
          recording: child.isRecording(),
        });
        child.end();
      };
      const { batcher } = make(exporter, { maxExportBatchSize: 1 });

      const control = trace.getTracer('x').startSpan('outside-export');
      assert.equal(control.isRecording(), true, 'the global SDK records spans in general');
      control.end();

      batcher.add(span()); // size-triggered export, on the caller's stack
      await settle();
      const { batcher: flushed } = make(exporter, { maxExportBatchSize: 5 });
      flushed.add(span());
      await flushed.forceFlush(); // flush-triggered export
      assert.deepEqual(seen, [
        { core: true, ours: true, recording: false },
        { core: true, ours: true, recording: false },
      ]);
      assert.deepEqual(
        globalSpans.ended.map((s) => s.name),
        ['outside-export'],
      );
      assert.equal(isTracingSuppressed(context.active()), false, 'suppression does not leak out of the export');
    });

    it('suppresses tracing in timer-triggered exports too', () => {
      const seen: boolean[] = [];
      const exporter = new RecordingExporter();
      exporter.onExport = () => {
        seen.push(trace.getTracer('x').startSpan('inside-export').isRecording());
      };
      const { batcher, clock } = make(exporter, { scheduledDelayMillis: 10 });
      batcher.add(span());
      clock.advance(10);
      assert.deepEqual(seen, [false]);
    });
  });
});
