// How GenAiEnrichingProcessor joins what the HTTP usage tap reports (through its tap sink), on real SDK spans
// with a fake clock. The tap itself (fetch wrapper, parser) is tested in test/tap/.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Attributes } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/sdk-trace-base';
import type { TapReport } from '../src/types.js';
import { tapSinkOf } from '../src/tap/sink.js';
import { pipeline } from './helpers/pipeline.js';
import type { Pipeline } from './helpers/pipeline.js';

const CHAT_STREAM: Attributes = {
  'gen_ai.provider.name': 'openai',
  'gen_ai.operation.name': 'chat',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.request.stream': true,
};

const USAGE = { inputTokens: 120, outputTokens: 30, cacheReadInputTokens: 64, reasoningOutputTokens: 8 };

function start(p: Pipeline, attributes: Attributes = CHAT_STREAM): Span {
  return p.tracer.startSpan('chat gpt-4o-mini', { attributes }) as unknown as Span;
}

/** Hands the processor a report as the tap does. */
function tapReport(p: Pipeline, report: TapReport): void {
  tapSinkOf(p.processor, 'test')(report);
}

function keyOf(span: Span): string {
  const c = span.spanContext();
  return c.traceId + c.spanId;
}

function report(overrides: Partial<TapReport> = {}): TapReport {
  return {
    responseId: 'chatcmpl-T1',
    spanKey: undefined,
    model: 'gpt-4o-mini-2024-07-18',
    usage: USAGE,
    totalTokens: 150,
    ...overrides,
  };
}

function assertTapBalance(p: Pipeline): void {
  const s = p.processor.stats();
  assert.equal(s.tapReports, s.tapUsed + s.tapSuperseded + s.tapUnmatched + s.tapPending, JSON.stringify(s));
  assert.equal(s.received, s.forwarded + s.held + s.awaitingDescendants);
  for (const [id, n] of p.next.counts()) assert.equal(n, 1, `span ${id} forwarded ${n} times`);
}

describe('GenAiEnrichingProcessor and the HTTP usage tap', () => {
  it('completes a held span that has no response id by the span that was active at the request', () => {
    const p = pipeline();
    const span = start(p);
    span.end();
    assert.equal(p.processor.stats().held, 1);
    tapReport(p, report({ responseId: 'resp_X', spanKey: keyOf(span) }));
    const out = p.next.ended[0];
    assert.equal(out, span);
    assert.equal(out.attributes['gen_ai.usage.input_tokens'], 120);
    assert.equal(out.attributes['gen_ai.usage.output_tokens'], 30);
    assert.equal(out.attributes['gen_ai.usage.cache_read.input_tokens'], 64);
    assert.equal(out.attributes['gen_ai.usage.reasoning.output_tokens'], 8);
    assert.equal(out.attributes['gen_ai.usage.total_tokens'], 150);
    assert.equal(out.attributes['gen_ai.response.id'], 'resp_X', 'the id the span lacked, from the wire');
    assert.equal(out.attributes['gen_ai.response.model'], 'gpt-4o-mini-2024-07-18');
    assert.equal(out.attributes['genai_enrich.usage_source'], 'http_tap');
    assert.equal(out.attributes['genai_enrich.hold_outcome'], 'joined');
    assert.equal(out.attributes['genai_enrich.usage_missing'], undefined);
    assert.equal(p.processor.stats().tapUsed, 1);
    assertTapBalance(p);
  });

  it('completes a held span by its response id', () => {
    const p = pipeline();
    const span = start(p, { ...CHAT_STREAM, 'gen_ai.response.id': 'chatcmpl-T1' });
    span.end();
    tapReport(p, report({ spanKey: 'not-this-span' }));
    assert.equal(p.next.ended[0]?.attributes['gen_ai.usage.input_tokens'], 120);
    assertTapBalance(p);
  });

  it('a report that comes before its span ends waits for it, by span key or by response id', () => {
    const p = pipeline();
    const bySpan = start(p);
    const byId = start(p, { ...CHAT_STREAM, 'gen_ai.response.id': 'chatcmpl-T2' });
    tapReport(p, report({ responseId: undefined, spanKey: keyOf(bySpan), usage: { inputTokens: 7, outputTokens: 2 } }));
    tapReport(p, report({ responseId: 'chatcmpl-T2', spanKey: undefined, usage: { inputTokens: 9, outputTokens: 3 } }));
    assert.equal(p.processor.stats().tapPending, 2);
    bySpan.end();
    byId.end();
    assert.equal(p.processor.stats().held, 0, 'neither span is held: the usage was already there');
    assert.equal(p.next.ended[0]?.attributes['gen_ai.usage.input_tokens'], 7);
    assert.equal(p.next.ended[1]?.attributes['gen_ai.usage.input_tokens'], 9);
    assert.equal(p.next.ended[1]?.attributes['genai_enrich.usage_source'], 'http_tap');
    assert.equal(p.processor.stats().tapPending, 0);
    assertTapBalance(p);
  });

  it('counts an instrumentation set that agree with the tap stay; the tap fills only the counts that are missing', () => {
    const p = pipeline();
    const span = start(p, { ...CHAT_STREAM, 'gen_ai.usage.input_tokens': 120, 'gen_ai.usage.output_tokens': 30 });
    tapReport(p, report({ spanKey: keyOf(span) }));
    span.end();
    const out = p.next.ended[0];
    assert.equal(out.attributes['gen_ai.usage.input_tokens'], 120);
    assert.equal(out.attributes['gen_ai.usage.output_tokens'], 30);
    assert.equal(out.attributes['gen_ai.usage.cache_read.input_tokens'], 64);
    assert.equal(out.attributes['gen_ai.usage.reasoning.output_tokens'], 8);
    assert.equal(out.attributes['genai_enrich.usage_source'], 'telemetry+http_tap');
    assert.equal(out.attributes['genai_enrich.telemetry_usage'], undefined, 'nothing disagreed');
    assert.equal(p.processor.stats().tapDisagreed, 0);
    assertTapBalance(p);
  });

  it("the provider's bill wins over telemetry that differs: its counts on the span, telemetry's kept (issue 10)", () => {
    const p = pipeline();
    const span = start(p, {
      ...CHAT_STREAM,
      'gen_ai.usage.input_tokens': 1,
      'gen_ai.usage.output_tokens': 7,
      'gen_ai.usage.total_tokens': 8,
    });
    tapReport(p, report({ spanKey: keyOf(span), totalTokens: undefined }));
    span.end();
    const out = p.next.ended[0];
    assert.equal(out.attributes['gen_ai.usage.input_tokens'], 120);
    assert.equal(out.attributes['gen_ai.usage.output_tokens'], 30);
    assert.equal(out.attributes['gen_ai.usage.cache_read.input_tokens'], 64);
    assert.equal(out.attributes['gen_ai.usage.reasoning.output_tokens'], 8);
    assert.equal(
      out.attributes['gen_ai.usage.total_tokens'],
      undefined,
      'a total computed from the replaced numbers goes',
    );
    assert.equal(out.attributes['genai_enrich.usage_source'], 'http_tap');
    assert.deepEqual(JSON.parse(String(out.attributes['genai_enrich.telemetry_usage'])), {
      reason: 'provider_disagreed',
      'gen_ai.usage.input_tokens': 1,
      'gen_ai.usage.output_tokens': 7,
      'gen_ai.usage.total_tokens': 8,
    });
    const s = p.processor.stats();
    assert.equal(s.tapUsed, 1);
    assert.equal(s.tapDisagreed, 1);
    assertTapBalance(p);
  });

  it('a report with nothing new for a span with the same telemetry usage is superseded, and zero details fill nothing', () => {
    const p = pipeline();
    const span = start(p, { ...CHAT_STREAM, 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 25 });
    tapReport(
      p,
      report({
        spanKey: keyOf(span),
        usage: { inputTokens: 100, outputTokens: 25, cacheReadInputTokens: 0, reasoningOutputTokens: 0 },
        totalTokens: 125,
      }),
    );
    span.end();
    const out = p.next.ended[0];
    assert.equal(out.attributes['genai_enrich.usage_source'], 'telemetry');
    assert.equal(out.attributes['gen_ai.usage.cache_read.input_tokens'], undefined);
    assert.equal(p.processor.stats().tapSuperseded, 1);
    assertTapBalance(p);
  });

  it('keeps a report for a span still open past holdMillis, and applies it when the watchdog ends the span', () => {
    const p = pipeline({ holdMillis: 100, maxOpenMillis: 1000 });
    const span = start(p);
    tapReport(p, report({ responseId: undefined, spanKey: keyOf(span), activeSpan: span }));
    p.clock.advance(500);
    assert.equal(p.processor.stats().tapPending, 1, 'not expired: its span is still open');
    p.clock.advance(500);
    const out = p.next.ended[0];
    assert.equal(out.attributes['genai_enrich.force_ended'], true);
    assert.equal(out.attributes['gen_ai.usage.input_tokens'], 120);
    assert.equal(out.attributes['genai_enrich.usage_source'], 'http_tap');
    assertTapBalance(p);
  });

  it('a report for an open span that ends as no inference span is counted unmatched, not kept', () => {
    const p = pipeline();
    const span = start(p, { 'gen_ai.provider.name': 'openai', 'gen_ai.operation.name': 'invoke_agent' });
    tapReport(p, report({ spanKey: keyOf(span), activeSpan: span }));
    span.end();
    assert.equal(p.processor.stats().tapUnmatched, 1);
    assertTapBalance(p);
  });

  it('reports without a key, past holdMillis, or beyond maxPendingUsage are counted unmatched', () => {
    const p = pipeline({ holdMillis: 100, maxPendingUsage: 2 });
    tapReport(p, report({ responseId: undefined, spanKey: undefined }));
    tapReport(p, report({ responseId: 'a' }));
    tapReport(p, report({ responseId: 'b' }));
    tapReport(p, report({ responseId: 'c' }));
    assert.equal(p.processor.stats().tapUnmatched, 2);
    assert.equal(p.processor.stats().tapPending, 2);
    p.clock.advance(100);
    assert.equal(p.processor.stats().tapPending, 0);
    assert.equal(p.processor.stats().tapUnmatched, 4);
    assertTapBalance(p);
  });

  it('the first report for a span wins', () => {
    const p = pipeline();
    const span = start(p);
    tapReport(p, report({ responseId: undefined, spanKey: keyOf(span), usage: { inputTokens: 1, outputTokens: 1 } }));
    tapReport(p, report({ responseId: undefined, spanKey: keyOf(span), usage: { inputTokens: 2, outputTokens: 2 } }));
    span.end();
    assert.equal(p.next.ended[0]?.attributes['gen_ai.usage.input_tokens'], 1);
    assertTapBalance(p);
  });

  it('shutdown counts waiting reports as unmatched; reports after shutdown are ignored', async () => {
    const p = pipeline();
    const open = start(p);
    tapReport(p, report({ responseId: 'x' }));
    tapReport(p, report({ responseId: 'y', spanKey: keyOf(open), activeSpan: open }));
    await p.processor.shutdown();
    const s = p.processor.stats();
    assert.equal(s.tapPending, 0);
    assert.equal(s.tapUnmatched, 2);
    tapReport(p, report({ responseId: 'z' }));
    assert.equal(p.processor.stats().tapReports, 2);
  });

  it('never throws on junk reports', () => {
    const p = pipeline();
    for (const junk of [null, undefined, 42, {}, { usage: null }, { spanKey: 5, usage: { inputTokens: 'x' } }]) {
      assert.doesNotThrow(() => tapReport(p, junk as never));
    }
    assertTapBalance(p);
  });
});
