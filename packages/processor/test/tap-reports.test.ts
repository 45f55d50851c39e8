/*
 * TapReports (tap-reports.ts): checking raw reports, each way a report waits (with an open span, by span
 * key, by response id), what its span takes (use: all counts; reconcile: only missing ones, or the provider's
 * numbers where telemetry's differ), and the balance
 * reports = used + superseded + unmatched + pending, asserted after every step of every path.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ExpiryTimer } from '../src/deadlines.js';
import { spanKey } from '../src/held-spans.js';
import { TapReports, cleanTapReport } from '../src/tap-reports.js';
import type { ReadableSpanLike, TapReport } from '../src/types.js';
import { FakeClock } from './helpers/fake-clock.js';
import { chatAttributes, endedSpan, spanSource, startSpan } from './helpers/sdk-spans.js';

const HOLD_MILLIS = 1000;
const USAGE = { inputTokens: 11, outputTokens: 4 };

function report(fields: Partial<TapReport> = {}): TapReport {
  return {
    responseId: undefined,
    spanKey: undefined,
    model: undefined,
    usage: USAGE,
    totalTokens: undefined,
    ...fields,
  };
}

function setup(maxPendingUsage = 3) {
  const clock = new FakeClock(0);
  const timer = new ExpiryTimer(clock, (error) => assert.fail(String(error)));
  let full = 0;
  const taps = new TapReports(timer, { holdMillis: HOLD_MILLIS, maxPendingUsage }, () => full++);
  const source = spanSource();
  /** Receives a report as the processor does (the balance holds again once it is placed or used). */
  const receive = (raw: TapReport): TapReport => {
    const clean = taps.receive(raw);
    assert.ok(clean !== undefined, 'a usable report');
    return clean;
  };
  /** Takes the report for an ended span and uses or fills it, as the processor does; returns it. */
  const settle = (span: ReadableSpanLike, responseId?: string): TapReport | undefined => {
    const taken = taps.take(span, responseId);
    if (taken !== undefined) {
      if ((span.attributes['gen_ai.usage.input_tokens'] ?? 0) !== 0) taps.reconcile(span, taken);
      else taps.use(span, taken);
    }
    assertBalance(taps);
    return taken;
  };
  return { clock, taps, source, receive, settle, full: () => full };
}

function assertBalance(taps: TapReports): void {
  const c = taps.counts;
  assert.equal(
    c.reports,
    c.used + c.superseded + c.unmatched + taps.pending,
    `tap balance: ${JSON.stringify(c)} pending ${taps.pending}`,
  );
}

describe('cleanTapReport', () => {
  it('keeps valid fields and drops junk ones', () => {
    const active = {};
    assert.deepEqual(
      cleanTapReport({
        responseId: 'resp-1',
        spanKey: 'abc',
        model: 'gpt-4o',
        usage: { inputTokens: 3, outputTokens: '2' as unknown as number, cacheReadInputTokens: -1 },
        totalTokens: 5,
        activeSpan: active,
      }),
      {
        responseId: 'resp-1',
        spanKey: 'abc',
        model: 'gpt-4o',
        usage: { inputTokens: 3, outputTokens: 2 },
        totalTokens: 5,
        activeSpan: active,
      },
    );
    const cleaned = cleanTapReport({
      responseId: '',
      spanKey: '',
      model: 7 as unknown as string,
      usage: { outputTokens: 1 },
      totalTokens: 'many' as unknown as number,
      activeSpan: null as unknown as object,
    });
    assert.deepEqual(cleaned, {
      responseId: undefined,
      spanKey: undefined,
      model: undefined,
      usage: { outputTokens: 1 },
      totalTokens: undefined,
    });
    assert.equal(Object.hasOwn(cleaned, 'activeSpan'), false);
  });

  it('is undefined for a report that is not an object, or carries no usable count', () => {
    assert.equal(cleanTapReport(null as unknown as TapReport), undefined);
    assert.equal(cleanTapReport('report' as unknown as TapReport), undefined);
    assert.equal(cleanTapReport(report({ usage: {} })), undefined);
    assert.equal(cleanTapReport(report({ usage: { inputTokens: -3, outputTokens: Number.NaN } })), undefined);
    assert.equal(cleanTapReport(report({ usage: null as unknown as TapReport['usage'] })), undefined);
  });
});

describe('TapReports', () => {
  it('receive() counts only usable reports', () => {
    const { taps } = setup();
    assert.equal(taps.receive(report({ usage: {} })), undefined);
    assert.equal(taps.counts.reports, 0);
    assertBalance(taps);
    const r = taps.receive(report({ responseId: 'r' }));
    assert.equal(r?.responseId, 'r');
    assert.equal(taps.counts.reports, 1);
    taps.wait(r);
    assert.equal(taps.pending, 1);
    assertBalance(taps);
  });

  it('use(): a span without usage takes every count, the total, and the response id and model it lacks', () => {
    const { taps, source, receive } = setup();
    const span = endedSpan(source, 'chat', chatAttributes());
    const r = receive(
      report({
        responseId: 'resp-1',
        model: 'gpt-4o-mini-2024-07-18',
        totalTokens: 15,
        usage: { ...USAGE, cacheReadInputTokens: 2 },
      }),
    );
    taps.use(span, r);
    assert.equal(span.attributes['gen_ai.usage.input_tokens'], 11);
    assert.equal(span.attributes['gen_ai.usage.output_tokens'], 4);
    assert.equal(span.attributes['gen_ai.usage.cache_read.input_tokens'], 2);
    assert.equal(span.attributes['gen_ai.usage.total_tokens'], 15);
    assert.equal(span.attributes['gen_ai.response.id'], 'resp-1');
    assert.equal(span.attributes['gen_ai.response.model'], 'gpt-4o-mini-2024-07-18');
    assert.equal(span.attributes['genai_enrich.usage_source'], 'http_tap');
    assert.equal(taps.counts.used, 1);
    assertBalance(taps);

    // A response id and model the span has are kept.
    const own = endedSpan(
      source,
      'chat',
      chatAttributes({ 'gen_ai.response.id': 'own', 'gen_ai.response.model': 'own-model' }),
    );
    taps.use(own, receive(report({ responseId: 'other', model: 'other-model' })));
    assert.equal(own.attributes['gen_ai.response.id'], 'own');
    assert.equal(own.attributes['gen_ai.response.model'], 'own-model');
    assertBalance(taps);
  });

  it('marks genai_enrich.usage_adjusted where the span ends up with the provider row’s adjusted count', () => {
    const { taps, source, receive } = setup();
    const adjusted = report({
      usage: { inputTokens: 1259, outputTokens: 52, cacheReadInputTokens: 1184, cacheCreationInputTokens: 64 },
      adjusted: ['input+cache_read', 'input+cache_creation'],
    });
    // use(): all counts are the report's.
    const empty = endedSpan(source, 'chat', chatAttributes({ 'gen_ai.provider.name': 'aws.bedrock' }));
    taps.use(empty, receive(adjusted));
    assert.deepEqual(empty.attributes['genai_enrich.usage_adjusted'], ['input+cache_read', 'input+cache_creation']);
    // reconcile(), the provider's bill wins over a cache-less input: marked.
    const cacheless = endedSpan(
      source,
      'chat',
      chatAttributes({ 'gen_ai.usage.input_tokens': 5000, 'gen_ai.usage.output_tokens': 52 }),
    );
    taps.reconcile(cacheless, receive(adjusted));
    assert.equal(cacheless.attributes['gen_ai.usage.input_tokens'], 1259);
    assert.deepEqual(cacheless.attributes['genai_enrich.usage_adjusted'], ['input+cache_read', 'input+cache_creation']);
    // A span that keeps only its output count from telemetry, and has no input: the input filled is marked.
    const own = endedSpan(source, 'chat', chatAttributes({ 'gen_ai.usage.output_tokens': 52 }));
    taps.reconcile(own, receive(adjusted));
    assert.deepEqual(own.attributes['genai_enrich.usage_adjusted'], ['input+cache_read', 'input+cache_creation']);
    // Junk entries from a foreign sink are dropped.
    assert.deepEqual(
      cleanTapReport({ ...adjusted, adjusted: ['input+x', 'nonsense' as never, 3 as never] })?.adjusted,
      ['input+x'],
    );
    assertBalance(taps);
  });

  it('reconcile(): telemetry that agrees keeps its counts; missing ones are filled (telemetry+http_tap), or the report is superseded', () => {
    const { taps, source, receive } = setup();
    // Spans whose telemetry reported input and output counts.
    const telemetrySpan = () =>
      endedSpan(
        source,
        'chat',
        chatAttributes({
          'gen_ai.usage.input_tokens': 9,
          'gen_ai.usage.output_tokens': 2,
          'genai_enrich.usage_source': 'telemetry',
        }),
      );
    const partial = telemetrySpan();
    taps.reconcile(partial, receive(report({ usage: { inputTokens: 9, outputTokens: 2, cacheReadInputTokens: 6 } })));
    assert.equal(partial.attributes['gen_ai.usage.input_tokens'], 9);
    assert.equal(partial.attributes['gen_ai.usage.output_tokens'], 2);
    assert.equal(partial.attributes['gen_ai.usage.cache_read.input_tokens'], 6);
    assert.equal(partial.attributes['genai_enrich.usage_source'], 'telemetry+http_tap');
    assert.deepEqual([taps.counts.used, taps.counts.superseded, taps.counts.disagreed], [1, 0, 0]);

    const complete = telemetrySpan();
    taps.reconcile(
      complete,
      receive(report({ responseId: 'resp-c', usage: { inputTokens: 9, outputTokens: 2, reasoningOutputTokens: 0 } })),
    );
    assert.equal(complete.attributes['gen_ai.usage.input_tokens'], 9);
    assert.equal(complete.attributes['gen_ai.usage.reasoning.output_tokens'], undefined, 'a zero detail fills nothing');
    assert.equal(complete.attributes['genai_enrich.usage_source'], 'telemetry');
    assert.equal(complete.attributes['gen_ai.response.id'], 'resp-c', 'the identity is filled even so');
    assert.deepEqual([taps.counts.used, taps.counts.superseded], [1, 1]);

    // Another source is kept; a span with none gets http_tap.
    const joined = endedSpan(
      source,
      'chat',
      chatAttributes({ 'gen_ai.usage.input_tokens': USAGE.inputTokens, 'genai_enrich.usage_source': 'record_usage' }),
    );
    taps.reconcile(joined, receive(report()));
    assert.equal(joined.attributes['genai_enrich.usage_source'], 'record_usage');
    const unnamed = endedSpan(source, 'chat', chatAttributes({ 'gen_ai.usage.input_tokens': USAGE.inputTokens }));
    taps.reconcile(unnamed, receive(report()));
    assert.equal(unnamed.attributes['genai_enrich.usage_source'], 'http_tap');
    assert.deepEqual([taps.counts.used, taps.counts.superseded], [3, 1]);
    assertBalance(taps);
  });

  it("reconcile(): the provider's bill wins over telemetry that differs, which is kept with its reason", () => {
    const { taps, source, receive } = setup();
    const span = endedSpan(
      source,
      'chat',
      chatAttributes({
        'gen_ai.usage.input_tokens': 9,
        'gen_ai.usage.output_tokens': 2,
        'gen_ai.usage.total_tokens': 11,
      }),
    );
    taps.reconcile(span, receive(report({ usage: { inputTokens: 42, outputTokens: 17 }, totalTokens: 59 })));
    assert.equal(span.attributes['gen_ai.usage.input_tokens'], 42);
    assert.equal(span.attributes['gen_ai.usage.output_tokens'], 17);
    assert.equal(span.attributes['gen_ai.usage.total_tokens'], 59);
    assert.equal(span.attributes['genai_enrich.usage_source'], 'http_tap');
    assert.deepEqual(JSON.parse(String(span.attributes['genai_enrich.telemetry_usage'])), {
      reason: 'provider_disagreed',
      'gen_ai.usage.input_tokens': 9,
      'gen_ai.usage.output_tokens': 2,
      'gen_ai.usage.total_tokens': 11,
    });
    assert.deepEqual([taps.counts.used, taps.counts.disagreed], [1, 1]);
    assertBalance(taps);
  });

  it('reconcile(): names the estimate when the instrumentation is known to make one (OpenLLMetry 0.27 on a stream)', () => {
    const { taps, receive } = setup();
    const traceloop = spanSource({ scope: '@traceloop/instrumentation-openai', scopeVersion: '0.27.0' });
    const estimated = () =>
      endedSpan(
        traceloop,
        'openai.chat',
        chatAttributes({ 'gen_ai.usage.input_tokens': 1, 'gen_ai.usage.output_tokens': 7 }),
      );
    const streamed = estimated();
    taps.reconcile(streamed, receive(report({ usage: { inputTokens: 42, outputTokens: 17 }, streamed: true })));
    const kept = JSON.parse(String(streamed.attributes['genai_enrich.telemetry_usage'])) as Record<string, unknown>;
    assert.match(String(kept['estimate']), /enrichTokens/);
    const plain = estimated();
    taps.reconcile(plain, receive(report({ usage: { inputTokens: 42, outputTokens: 17 } })));
    const keptPlain = JSON.parse(String(plain.attributes['genai_enrich.telemetry_usage'])) as Record<string, unknown>;
    assert.equal(keptPlain['estimate'], undefined, 'not a stream: the numbers differ, but no estimate is known');
  });

  describe('waitForOpenSpan', () => {
    it('keeps the report with the open span past holdMillis; the span takes it when it ends', () => {
      const { taps, source, receive, settle, clock } = setup();
      const span = startSpan(source, 'chat', chatAttributes());
      taps.waitForOpenSpan(span, receive(report({ activeSpan: span })));
      assert.equal(taps.pending, 1);
      assertBalance(taps);
      clock.advance(HOLD_MILLIS * 10);
      assert.equal(taps.pending, 1, 'not bound by holdMillis');
      span.end();
      assert.deepEqual(settle(span)?.usage, USAGE);
      assert.equal(span.attributes['gen_ai.usage.input_tokens'], 11);
      assert.deepEqual(
        { ...taps.counts, pending: taps.pending },
        { reports: 1, used: 1, superseded: 0, unmatched: 0, disagreed: 0, pending: 0 },
      );
    });

    it('a second report for the same open span is unmatched (the first wins)', () => {
      const { taps, source, receive, settle } = setup();
      const span = startSpan(source, 'chat', chatAttributes());
      const first = receive(report({ responseId: 'first' }));
      taps.waitForOpenSpan(span, first);
      taps.waitForOpenSpan(span, receive(report({ responseId: 'second' })));
      assert.equal(taps.counts.unmatched, 1);
      assert.equal(taps.pending, 1);
      assertBalance(taps);
      span.end();
      assert.equal(settle(span), first);
    });

    it('discardFor(): the span ended as something that takes no usage, so its report is unmatched', () => {
      const { taps, source, receive } = setup();
      const span = startSpan(source, 'chat', chatAttributes());
      taps.waitForOpenSpan(span, receive(report()));
      span.end();
      taps.discardFor(span);
      assert.deepEqual([taps.counts.unmatched, taps.pending], [1, 0]);
      assertBalance(taps);
      taps.discardFor(span);
      taps.discardFor(endedSpan(source, 'other'));
      assert.equal(taps.counts.unmatched, 1, 'nothing else to discard');
      assertBalance(taps);
    });
  });

  describe('wait', () => {
    it('by span key: the span with that key takes it', () => {
      const { taps, source, receive, settle } = setup();
      const span = startSpan(source, 'chat', chatAttributes());
      taps.wait(receive(report({ spanKey: spanKey(span) })));
      assert.equal(taps.pending, 1);
      assertBalance(taps);
      const other = endedSpan(source, 'chat', chatAttributes());
      assert.equal(settle(other), undefined, 'another span takes nothing');
      span.end();
      assert.ok(settle(span) !== undefined, 'the span with the key takes it');
      assert.equal(taps.pending, 0);
      assert.equal(taps.counts.used, 1);
    });

    it('by response id: the span that ends with that id takes it, once', () => {
      const { taps, source, receive, settle } = setup();
      taps.wait(receive(report({ responseId: 'resp-1' })));
      const span = endedSpan(source, 'chat', chatAttributes({ 'gen_ai.response.id': 'resp-1' }));
      assert.equal(settle(span, 'resp-2'), undefined);
      assert.ok(settle(span, 'resp-1') !== undefined, 'taken by response id');
      assert.equal(settle(endedSpan(source, 'chat', chatAttributes()), 'resp-1'), undefined, 'taken once');
    });

    it('by span key and response id: taking it by either forgets the other', () => {
      const { taps, source, receive, settle } = setup();
      const a = endedSpan(source, 'chat a', chatAttributes());
      const b = endedSpan(source, 'chat b', chatAttributes());
      taps.wait(receive(report({ spanKey: spanKey(a), responseId: 'resp-a' })));
      taps.wait(receive(report({ spanKey: 'still-waiting-too' })));
      assert.ok(settle(b, 'resp-a') !== undefined, 'taken by its response id');
      assert.equal(settle(a), undefined, 'and no longer by its key');

      const c = endedSpan(source, 'chat c', chatAttributes());
      taps.wait(receive(report({ spanKey: spanKey(c), responseId: 'resp-c' })));
      taps.wait(receive(report({ spanKey: 'still-waiting' }))); // so that the store is not empty
      assert.ok(settle(c) !== undefined, 'taken by its key');
      assert.equal(settle(b, 'resp-c'), undefined, 'and no longer by its response id');
      assert.deepEqual([taps.counts.used, taps.pending], [2, 2]);
    });

    it('a report with neither key nor response id is unmatched', () => {
      const { taps, receive } = setup();
      taps.wait(receive(report({ model: 'gpt-4o' })));
      assert.deepEqual([taps.counts.unmatched, taps.pending], [1, 0]);
      assertBalance(taps);
    });

    it('a second report for the same span key or the same response id is unmatched (the first wins)', () => {
      const { taps, source, receive, settle } = setup(10);
      const span = endedSpan(source, 'chat', chatAttributes());
      const first = receive(report({ spanKey: spanKey(span), responseId: 'resp-1' }));
      taps.wait(first);
      taps.wait(receive(report({ spanKey: spanKey(span) }))); // same key
      taps.wait(receive(report({ responseId: 'resp-1' }))); // same id, keyed by id
      taps.wait(receive(report({ spanKey: 'another-key', responseId: 'resp-1' }))); // same id, another key
      assert.deepEqual([taps.counts.unmatched, taps.pending], [3, 1]);
      assertBalance(taps);
      assert.equal(settle(span), first);

      taps.wait(receive(report({ responseId: 'resp-2' })));
      taps.wait(receive(report({ spanKey: 'key-2', responseId: 'resp-2' }))); // its id already waits
      assert.deepEqual([taps.counts.unmatched, taps.pending], [4, 1]);
      assertBalance(taps);
    });

    it('beyond maxPendingUsage waiting reports, a report is unmatched and onFull is told', () => {
      const { taps, receive, full } = setup(2);
      taps.wait(receive(report({ responseId: 'r1' })));
      taps.wait(receive(report({ responseId: 'r2' })));
      taps.wait(receive(report({ responseId: 'r3' })));
      taps.wait(receive(report({ spanKey: 'k4' })));
      assert.deepEqual([taps.counts.unmatched, taps.pending, full()], [2, 2, 2]);
      assertBalance(taps);
    });

    it('holdMillis after it arrived, a report whose span never ended is unmatched, and its id forgotten', () => {
      const { taps, source, receive, settle, clock } = setup();
      taps.wait(receive(report({ spanKey: 'never-ends', responseId: 'resp-late' })));
      clock.advance(HOLD_MILLIS - 1);
      assert.equal(taps.pending, 1);
      clock.advance(1);
      assert.deepEqual([taps.counts.unmatched, taps.pending], [1, 0]);
      assertBalance(taps);
      assert.equal(settle(endedSpan(source, 'chat', chatAttributes()), 'resp-late'), undefined);
      // The id is free again for a new report.
      taps.wait(receive(report({ responseId: 'resp-late' })));
      assert.equal(taps.pending, 1);
      assertBalance(taps);
    });
  });

  it('take() prefers the report kept with the open span over one waiting by key', () => {
    const { taps, source, receive, settle } = setup();
    const span = startSpan(source, 'chat', chatAttributes());
    const withSpan = receive(report({ responseId: 'with-span' }));
    taps.waitForOpenSpan(span, withSpan);
    const byKey = receive(report({ spanKey: spanKey(span) }));
    taps.wait(byKey);
    span.end();
    assert.equal(settle(span), withSpan);
    assert.equal(settle(span), byKey, 'the other is still there for it');
    assert.equal(taps.pending, 0);
  });

  it('clear(): every waiting report is unmatched, and nothing expires later', () => {
    const { taps, source, receive, clock } = setup();
    const open = startSpan(source, 'chat', chatAttributes());
    taps.waitForOpenSpan(open, receive(report()));
    taps.wait(receive(report({ responseId: 'r1' })));
    taps.wait(receive(report({ spanKey: 'k2' })));
    taps.clear();
    assert.deepEqual([taps.counts.unmatched, taps.pending], [3, 0]);
    assertBalance(taps);
    clock.advance(HOLD_MILLIS * 2);
    assert.equal(taps.counts.unmatched, 3);
    open.end();
    assert.equal(taps.take(open as ReadableSpan, 'r1'), undefined);
    assertBalance(taps);
  });
});
