/*
 * Where spans go (next-stage.ts) and how failures are reported (problems.ts). NextStage: a SpanProcessor
 * gets every call passed on, a SpanExporter gets batches (ExportBatcher), anything else gets nothing (and
 * one diag.error); every failing call into `next` is handed to onError with its name and never thrown.
 * Problems: every failure counted, one diag.warn per place.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, createContextKey, diag, DiagLogLevel } from '@opentelemetry/api';
import type { Context, DiagLogger } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resolveConfig } from '../src/config.js';
import { NextStage } from '../src/next-stage.js';
import { Problems } from '../src/problems.js';
import type { SpanExporterLike, SpanProcessorLike } from '../src/types.js';
import {
  FailingExporter,
  HangingExporter,
  RecordingExporter,
  RejectingLifecycleExporter,
  ThrowingExporter,
} from './helpers/exporters.js';
import { FakeClock, settle } from './helpers/fake-clock.js';
import { endedSpan, spanSource, startSpan } from './helpers/sdk-spans.js';

/** What diag printed, by level. */
const logged: Array<{ level: 'error' | 'warn'; message: string; args: unknown[] }> = [];
const logger: DiagLogger = {
  error: (message, ...args) => logged.push({ level: 'error', message, args }),
  warn: (message, ...args) => logged.push({ level: 'warn', message, args }),
  info() {},
  debug() {},
  verbose() {},
};

beforeEach(() => {
  logged.length = 0;
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
});
afterEach(() => diag.disable());

/** A NextStage on a fake clock, with the errors it reported as [where, error]. */
function stage(next: SpanExporterLike | SpanProcessorLike, options: Parameters<typeof resolveConfig>[0] = {}) {
  const clock = new FakeClock(0);
  const errors: Array<[string, unknown]> = [];
  const config = resolveConfig({
    clock,
    scheduledDelayMillis: 100,
    maxExportBatchSize: 2,
    maxQueueSize: 4,
    ...options,
  });
  return { clock, errors, stage: new NextStage(next, config, (where, error) => errors.push([where, error])) };
}

/** InMemorySpanExporter calls back from a real setTimeout(0): lets it, and the batcher's reaction, run. */
async function exportCallback(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  await settle();
}

/** A SpanProcessor that records every call, in order. */
class CallLog implements SpanProcessor {
  readonly calls: Array<[string, unknown?, unknown?]> = [];
  onStart(span: Span, parentContext: Context): void {
    this.calls.push(['onStart', span, parentContext]);
  }
  onEnding(span: Span): void {
    this.calls.push(['onEnding', span]);
  }
  onEnd(span: ReadableSpan): void {
    this.calls.push(['onEnd', span]);
  }
  forceFlush(): Promise<void> {
    this.calls.push(['forceFlush']);
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    this.calls.push(['shutdown']);
    return Promise.resolve();
  }
}

/** A processor in the SDK that hands every span to `stage`, as GenAiEnrichingProcessor does. */
function through(target: NextStage): SpanProcessor {
  return {
    onStart: (span, parentContext) => target.onStart(span, parentContext),
    onEnding: (span) => target.onEnding(span),
    onEnd: (span) => target.forward(span),
    forceFlush: () => target.forceFlush(),
    shutdown: () => target.shutdown(),
  };
}

describe('NextStage: a SpanProcessor', () => {
  it('gets every call passed on, with the same span and context', async () => {
    const next = new CallLog();
    const { stage: s, errors } = stage(next);
    const source = spanSource({ processors: [through(s)] });
    const parentContext = ROOT_CONTEXT.setValue(createContextKey('test'), 'parent');
    const span = source.tracer.startSpan('work', {}, parentContext) as unknown as Span;
    span.end();
    await s.forceFlush();
    await s.shutdown();
    assert.equal(next.calls.length, 5);
    assert.deepEqual(
      next.calls.map(([name]) => name),
      ['onStart', 'onEnding', 'onEnd', 'forceFlush', 'shutdown'],
    );
    assert.ok(
      next.calls.slice(0, 3).every(([, arg]) => arg === span),
      'the same span object',
    );
    assert.ok(next.calls[0][2] === parentContext, 'the same parent context');
    assert.deepEqual(errors, []);
    assert.equal(s.dropped, 0);
  });

  it('without onEnding (SDK < 2.3): onEnding is skipped, nothing fails', () => {
    const next = new CallLog();
    const withoutOnEnding: SpanProcessorLike = {
      onStart: (span, ctx) => next.onStart(span as unknown as Span, ctx),
      onEnd: (span) => next.onEnd(span as ReadableSpan),
      forceFlush: () => next.forceFlush(),
      shutdown: () => next.shutdown(),
    };
    const { stage: s, errors } = stage(withoutOnEnding);
    startSpan(spanSource({ processors: [through(s)] }), 'work').end();
    assert.deepEqual(
      next.calls.map(([name]) => name),
      ['onStart', 'onEnd'],
    );
    assert.deepEqual(errors, []);
  });

  it('something with both onEnd and export is taken as a processor', () => {
    const next = Object.assign(new CallLog(), { export: () => assert.fail('export called') });
    const { stage: s } = stage(next);
    s.forward(endedSpan(spanSource(), 'work'));
    assert.deepEqual(
      next.calls.map(([name]) => name),
      ['onEnd'],
    );
  });

  it('every call that throws, or rejects, goes to onError with its name; none throws or rejects', async () => {
    const errorsByCall = {
      onStart: new Error('onStart'),
      onEnding: new Error('onEnding'),
      onEnd: new Error('onEnd'),
      forceFlush: new Error('forceFlush'),
      shutdown: new Error('shutdown'),
    };
    const throwing: SpanProcessorLike = {
      onStart: () => {
        throw errorsByCall.onStart;
      },
      onEnding: () => {
        throw errorsByCall.onEnding;
      },
      onEnd: () => {
        throw errorsByCall.onEnd;
      },
      forceFlush: () => {
        throw errorsByCall.forceFlush;
      },
      shutdown: () => {
        throw errorsByCall.shutdown;
      },
    };
    const { stage: s, errors } = stage(throwing);
    const source = spanSource({ processors: [through(s)] });
    startSpan(source, 'work').end(); // the SDK sees no exception
    await s.forceFlush();
    await s.shutdown();
    assert.deepEqual(errors, [
      ['next.onStart', errorsByCall.onStart],
      ['next.onEnding', errorsByCall.onEnding],
      ['next.onEnd', errorsByCall.onEnd],
      ['next.forceFlush', errorsByCall.forceFlush],
      ['next.shutdown', errorsByCall.shutdown],
    ]);

    const rejection = new Error('rejected');
    const rejecting: SpanProcessorLike = {
      onStart() {},
      onEnd() {},
      forceFlush: () => Promise.reject(rejection),
      shutdown: () => Promise.reject(rejection),
    };
    const r = stage(rejecting);
    await r.stage.forceFlush();
    await r.stage.shutdown();
    assert.deepEqual(r.errors, [
      ['next.forceFlush', rejection],
      ['next.shutdown', rejection],
    ]);
  });
});

describe('NextStage: a SpanExporter', () => {
  it('batches spans: a full batch at once, a partial one after scheduledDelayMillis', async () => {
    const exporter = new InMemorySpanExporter();
    const { stage: s, clock, errors } = stage(exporter);
    const source = spanSource();
    s.forward(endedSpan(source, 'a'));
    assert.deepEqual(exporter.getFinishedSpans(), [], 'waits for a batch');
    s.forward(endedSpan(source, 'b'));
    assert.deepEqual(
      exporter.getFinishedSpans().map((x) => x.name),
      ['a', 'b'],
      'a full batch (maxExportBatchSize 2) goes at once',
    );
    await exportCallback();
    s.forward(endedSpan(source, 'c'));
    clock.advance(99);
    await settle();
    assert.equal(exporter.getFinishedSpans().length, 2);
    clock.advance(1);
    await settle();
    assert.deepEqual(
      exporter.getFinishedSpans().map((x) => x.name),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(errors, []);
  });

  it('ignores onStart and onEnding; forceFlush exports what waits and flushes the exporter; shutdown shuts it down', async () => {
    const exporter = new RecordingExporter();
    const { stage: s } = stage(exporter);
    const source = spanSource({ processors: [through(s)] });
    startSpan(source, 'only').end();
    assert.equal(exporter.exportCalls, 0);
    await s.forceFlush();
    assert.deepEqual(
      exporter.spans.map((x) => x.name),
      ['only'],
    );
    assert.equal(exporter.forceFlushCalls, 1);
    await s.shutdown();
    assert.equal(exporter.shutdownCalls, 1);
  });

  it('counts spans dropped because the queue was full', async () => {
    const exporter = new HangingExporter();
    const { stage: s } = stage(exporter, { maxQueueSize: 2, maxExportBatchSize: 2 });
    const source = spanSource();
    for (const name of ['1', '2']) s.forward(endedSpan(source, name)); // in flight, never called back
    for (const name of ['3', '4', '5', '6']) s.forward(endedSpan(source, name));
    assert.equal(exporter.exportCalls, 1);
    assert.equal(s.dropped, 2);
  });

  it('a failing export goes to onError as "export", and nothing throws', async () => {
    for (const exporter of [new FailingExporter(), new ThrowingExporter()]) {
      const { stage: s, errors } = stage(exporter);
      const source = spanSource();
      s.forward(endedSpan(source, 'a'));
      s.forward(endedSpan(source, 'b'));
      await s.forceFlush();
      assert.deepEqual(errors, [['export', exporter.error]], exporter.constructor.name);
    }
  });

  it('an exporter\'s rejecting forceFlush and shutdown are reported too (as "export"), and resolve', async () => {
    const exporter = new RejectingLifecycleExporter();
    const { stage: s, errors } = stage(exporter);
    await s.forceFlush();
    await s.shutdown();
    assert.deepEqual(errors, [
      ['export', exporter.error],
      ['export', exporter.error],
    ]);
  });
});

describe('NextStage: neither', () => {
  it('says so once through diag.error; forwards nothing, never fails', async () => {
    for (const next of [{}, null, 'exporter']) {
      logged.length = 0;
      const { stage: s, errors } = stage(next as unknown as SpanProcessorLike);
      assert.deepEqual(
        logged.map((l) => [l.level, l.message]),
        [['error', 'GenAiEnrichingProcessor: next is neither a SpanExporter nor a SpanProcessor; spans go nowhere']],
      );
      const source = spanSource({ processors: [through(s)] });
      startSpan(source, 'lost').end();
      await s.forceFlush();
      await s.shutdown();
      assert.deepEqual(errors, []);
      assert.equal(s.dropped, 0);
    }
  });
});

describe('Problems', () => {
  it('counts every failure and warns once per place, naming it, with the first error', () => {
    const problems = new Problems();
    const first = new Error('first');
    problems.error('next.onEnd', first);
    problems.error('next.onEnd', new Error('second'));
    problems.error('export', new Error('third'));
    assert.equal(problems.errors, 3);
    assert.deepEqual(
      logged.map((l) => [l.level, l.message]),
      [
        ['warn', 'GenAiEnrichingProcessor: next.onEnd failed; further failures there are only counted'],
        ['warn', 'GenAiEnrichingProcessor: export failed; further failures there are only counted'],
      ],
    );
    assert.equal(logged[0].args[0], first);
  });

  it('warnOnce reports a condition once per key and counts nothing', () => {
    const problems = new Problems();
    problems.warnOnce('pending-full', 'maxPendingUsage reached');
    problems.warnOnce('pending-full', 'maxPendingUsage reached');
    problems.warnOnce('open-full', 'maxOpenSpans reached');
    assert.deepEqual(
      logged.map((l) => l.message),
      ['maxPendingUsage reached', 'maxOpenSpans reached'],
    );
    assert.equal(problems.errors, 0);
    // A failure at a place whose key was already warned about is counted, but not warned again.
    problems.error('open-full', new Error('x'));
    assert.equal(problems.errors, 1);
    assert.equal(logged.length, 2);
  });
});
