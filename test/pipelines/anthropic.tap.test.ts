// The real `@anthropic-ai/sdk` 1.12.0 client, whose own tracing (on by default once a global provider is
// registered) makes an `anthropic.messages.create` span, with `fetch: processor.fetch`, against the
// loopback Anthropic mock, through GenAiEnrichingProcessor and the OTLP/HTTP exporter to a receiver.
//
// The SDK's telemetry carries the usage itself, so here the tap must stay out of the way: usage counted
// once, the SDK's values kept, and what the application reads unchanged.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAnthropicMock, type AnthropicMock, type AnthropicMockCall } from '../helpers/anthropic-mock.js';
import type { DecodedSpan } from '../helpers/otlp-json.js';
import { requireCjs, startRealPipeline, type RealPipeline } from '../helpers/real-pipeline.js';
import { assertEverySpanOnce, USAGE, usageSum } from './assertions.js';

const CALLS = ['create', 'create-stream', 'messages-stream', 'early-break'] as const;
type Call = (typeof CALLS)[number];

interface Outcome {
  wire: AnthropicMockCall[];
  spans: DecodedSpan[];
  text: string;
}

describe('@anthropic-ai/sdk 1.12.0 (its own tracing), with the usage tap', () => {
  let pipeline: RealPipeline;
  let anthropic: AnthropicMock;
  const outcomes = new Map<Call, Outcome>();

  before(async () => {
    pipeline = await startRealPipeline({ processor: { holdMillis: 300, maxOpenMillis: 600 } });
    anthropic = await startAnthropicMock({ chunkDelayMs: 10 });
    const { Anthropic } = requireCjs('@anthropic-ai/sdk') as typeof import('@anthropic-ai/sdk');
    const client = new Anthropic({
      apiKey: 'test-key',
      baseURL: anthropic.baseURL,
      maxRetries: 0,
      fetch: pipeline.processor.fetch,
    });
    const request = {
      model: 'claude-sonnet-4-5',
      max_tokens: 64,
      messages: [{ role: 'user' as const, content: 'Say hello.' }],
    };
    const traceIds = new Map<Call, string>();
    for (const call of CALLS) {
      const before = anthropic.calls.length;
      let text = '';
      const { traceId } = await pipeline.inRootSpan(`test ${call}`, async () => {
        switch (call) {
          case 'create': {
            const message = await client.messages.create(request);
            for (const block of message.content) if (block.type === 'text') text += block.text;
            return;
          }
          case 'create-stream': {
            const stream = await client.messages.create({ ...request, stream: true });
            for await (const event of stream)
              if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
            return;
          }
          case 'messages-stream': {
            const message = await client.messages.stream(request).finalMessage();
            for (const block of message.content) if (block.type === 'text') text += block.text;
            return;
          }
          case 'early-break': {
            const stream = await client.messages.create({ ...request, stream: true });
            for await (const _event of stream) break;
            return;
          }
        }
      });
      traceIds.set(call, traceId);
      outcomes.set(call, { wire: anthropic.calls.slice(before), spans: [], text });
    }
    await pipeline.receiver.waitFor((spans) => {
      const seen = new Set(spans.map((s) => s.spanId));
      for (const id of pipeline.started.ids.keys()) if (!seen.has(id)) return false;
      return true;
    }, 10_000);
    for (const call of CALLS) {
      outcomes.get(call)!.spans = pipeline.receiver.spans.filter(
        (s) => s.traceId === traceIds.get(call) && s.parentSpanId !== '',
      );
    }
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
      assert.equal(span.attributes['gen_ai.usage.cache_creation.input_tokens'] ?? 0, w.usage.cacheCreationInputTokens);
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
