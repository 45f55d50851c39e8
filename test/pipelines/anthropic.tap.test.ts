// The real `@anthropic-ai/sdk` 1.12.0 client, whose own tracing (on by default once a global provider is
// registered) makes an `anthropic.messages.create` span, with `fetch: processor.fetch`, against the
// loopback Anthropic mock, through GenAiEnrichingProcessor and the OTLP/HTTP exporter to a receiver.
//
// The SDK's telemetry carries the usage itself, so here the tap must stay out of the way: usage counted
// once, the SDK's values kept, and what the application reads unchanged.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAnthropicMock, type AnthropicMock } from '../helpers/anthropic-mock.js';
import { startRealPipeline, type RealPipeline } from '../helpers/real-pipeline.js';
import { runAnthropicCalls, type AnthropicCallName, type AnthropicCallOutcome } from './anthropic-calls.js';
import { assertEverySpanOnce, USAGE, usageSum } from './assertions.js';

const CALLS = ['create', 'create-stream', 'messages-stream', 'early-break'] as const;

describe('@anthropic-ai/sdk 1.12.0 (its own tracing), with the usage tap', () => {
  let pipeline: RealPipeline;
  let anthropic: AnthropicMock;
  let outcomes: Map<AnthropicCallName, AnthropicCallOutcome>;

  before(async () => {
    pipeline = await startRealPipeline({ processor: { holdMillis: 300, maxOpenMillis: 600 } });
    anthropic = await startAnthropicMock({ chunkDelayMs: 10 });
    outcomes = await runAnthropicCalls(pipeline, anthropic, CALLS, {
      fetch: pipeline.processor.fetch,
      timeoutMs: 10_000,
    });
  });
  after(async () => {
    await pipeline?.close();
    await anthropic?.close();
  });

  it('forwards every span exactly once', () => {
    assertEverySpanOnce(pipeline);
  });

  for (const call of ['create', 'create-stream', 'messages-stream'] as const) {
    it(`${call}: the SDK's usage, counted once, normalized, and the reply read unchanged through the tap`, () => {
      const { wire, spans, text } = outcomes.get(call)!;
      assert.equal(wire.length, 1);
      const w = wire[0];
      assert.ok(w.usage !== undefined && w.completed);
      assert.equal(text, 'Hello from the Anthropic loopback mock.');
      assert.equal(spans.length, 1, 'one span per call');
      const span = spans[0];
      assert.equal(span.attributes['gen_ai.provider.name'], 'anthropic');
      assert.equal(span.attributes['gen_ai.response.id'], w.responseId);
      // Semconv input includes the cache; Anthropic's raw input_tokens does not.
      const input = w.usage.inputTokens + w.usage.cacheReadInputTokens + w.usage.cacheCreationInputTokens;
      assert.equal(span.attributes[USAGE.input], input);
      assert.equal(span.attributes[USAGE.output], w.usage.outputTokens);
      assert.equal(span.attributes[USAGE.cacheRead] ?? 0, w.usage.cacheReadInputTokens);
      assert.equal(span.attributes[USAGE.cacheCreation] ?? 0, w.usage.cacheCreationInputTokens);
      assert.equal(
        span.attributes['gen_ai.usage.cache_write.input_tokens'],
        undefined,
        'the unreleased name is mapped',
      );
      assert.equal(span.attributes[USAGE.source], 'telemetry');
      assert.equal(usageSum(spans, USAGE.input), input);
    });
  }

  it('early break: the SDK ends its span with what it read; the tap saw a partial stream and adds nothing', () => {
    const { wire, spans } = outcomes.get('early-break')!;
    assert.equal(wire.length, 1);
    assert.equal(wire[0].completed, false);
    assert.equal(spans.length, 1);
    const span = spans[0];
    assert.equal(span.attributes[USAGE.source], 'telemetry');
    assert.equal(span.attributes['genai_enrich.force_ended'], undefined);
  });

  it('every tap report is accounted for, and none was needed', () => {
    const s = pipeline.processor.stats();
    assert.equal(s.tapReports, 3, 'one per completed response; none for the cancelled stream');
    assert.equal(s.tapSuperseded, 3);
    assert.equal(s.tapReports, s.tapUsed + s.tapSuperseded + s.tapUnmatched + s.tapPending);
  });
});
