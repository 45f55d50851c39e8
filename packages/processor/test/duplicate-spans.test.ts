/*
 * The same span twice: what the relay sees when an exporter retries a request it had already delivered.
 * The processor is handed ended SDK spans through onEnd, as the relay hands it decoded ones (no onStart).
 * Decided: both copies are forwarded (at-least-once), each exactly once; a copy of a held span waits with
 * it, and the usage that joins reaches both. The invariant received = forwarded + held + awaitingDescendants
 * holds at every step, and nothing waits outside maxHeldSpans (the issue: a copy left in the indexes,
 * never forwarded, its usage lost).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Attributes } from '@opentelemetry/api';
import type { IdGenerator, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { GenAiEnrichingProcessor } from '../src/index.js';
import type { GenAiEnrichingProcessorOptions } from '../src/index.js';
import { FakeClock } from './helpers/fake-clock.js';
import { RecordingProcessor } from './helpers/pipeline.js';
import { chatAttributes, endedSpan, spanSource, startSpan } from './helpers/sdk-spans.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';

/** Ids from a list, then fresh ones: the spans made with the same listed ids are copies of one another. */
function listedIds(spanIds: string[]): IdGenerator {
  let n = 0;
  return {
    generateTraceId: () => TRACE,
    generateSpanId: () => spanIds.shift() ?? (++n).toString(16).padStart(16, 'f'),
  };
}

function setup(options: GenAiEnrichingProcessorOptions = {}) {
  const clock = new FakeClock(1_000_000);
  const next = new RecordingProcessor();
  const processor = new GenAiEnrichingProcessor(next, { clock, ...options });
  const check = (): void => {
    const s = processor.stats();
    assert.equal(s.received, s.forwarded + s.held + s.awaitingDescendants, JSON.stringify(s));
    assert.equal(s.holds, s.joined + s.expired + s.evicted + s.flushed + s.held, JSON.stringify(s));
    assert.equal(next.ended.length, s.forwarded);
  };
  return { clock, next, processor, check };
}

/** Two ended SDK spans with the same ids and attributes: a request and its retry. */
function twoCopies(name: string, attributes: Attributes): [ReadableSpan, ReadableSpan] {
  const source = spanSource({ idGenerator: listedIds(['b7ad6b7169203331', 'b7ad6b7169203331']) });
  return [endedSpan(source, name, attributes), endedSpan(source, name, attributes)];
}

describe('the same span twice (a client retry)', () => {
  for (const countUsageOnce of [true, false]) {
    it(`a held span and its copy both leave with the usage a late span carries (countUsageOnce ${countUsageOnce})`, () => {
      const { next, processor, check } = setup({ countUsageOnce });
      const [first, copy] = twoCopies('chat gpt-4o-mini', chatAttributes({ 'gen_ai.response.id': 'chatcmpl-R' }));
      processor.onEnd(first);
      processor.onEnd(copy);
      check();
      assert.equal(processor.stats().held, 2, 'the copy waits with the first');
      assert.equal(next.ended.length, 0, 'neither is evicted');
      // The carrier (LiteLLM's callback span) arrives with the usage.
      const carrier = endedSpan(
        spanSource(),
        'litellm_request',
        chatAttributes({
          'gen_ai.response.id': 'chatcmpl-R',
          'gen_ai.usage.input_tokens': 30,
          'gen_ai.usage.output_tokens': 6,
        }),
      );
      processor.onEnd(carrier);
      check();
      assert.deepEqual(
        next.ended.map((s) => s.name),
        ['chat gpt-4o-mini', 'chat gpt-4o-mini', 'litellm_request'],
      );
      const [a, b] = next.ended;
      assert.equal(a, first);
      assert.equal(b, copy);
      for (const span of [a, b]) {
        assert.equal(span.attributes['genai_enrich.hold_outcome'], 'joined');
        assert.equal(span.attributes['genai_enrich.usage_source'], 'late_span');
        assert.equal(span.attributes['genai_enrich.usage_missing'], undefined);
      }
      assert.equal(a.attributes['gen_ai.usage.input_tokens'], 30);
      if (countUsageOnce) {
        // The copy is the same call again: summed over the trace, it counts once.
        assert.equal(b.attributes['gen_ai.usage.input_tokens'], undefined);
        assert.equal(b.attributes['genai_enrich.repeated_usage.input_tokens'], 30);
        assert.equal(b.attributes['genai_enrich.usage_repeats'], 'twin');
      } else {
        assert.equal(b.attributes['gen_ai.usage.input_tokens'], 30);
        assert.equal(b.attributes['gen_ai.usage.output_tokens'], 6);
      }
      const s = processor.stats();
      assert.equal(s.joined, 2);
      assert.equal(s.evicted, 0);
      assert.equal(s.held, 0);
      assert.equal(s.heldBytes, 0);
    });
  }

  it('recordUsage reaches both copies; so does expiry, marking both usage_missing', () => {
    const { next, processor, clock, check } = setup({ holdMillis: 1000 });
    const [first, copy] = twoCopies('chat a', chatAttributes({ 'gen_ai.response.id': 'resp-a' }));
    processor.onEnd(first);
    processor.onEnd(copy);
    processor.recordUsage('resp-a', { inputTokens: 5, outputTokens: 2 });
    check();
    assert.equal(next.ended.length, 2);
    assert.equal(first.attributes['gen_ai.usage.output_tokens'], 2);
    assert.equal(copy.attributes['genai_enrich.usage_source'], 'record_usage');

    const [x, xCopy] = twoCopies('chat x', chatAttributes({ 'gen_ai.response.id': 'resp-x' }));
    processor.onEnd(x);
    processor.onEnd(xCopy);
    clock.advance(1000);
    check();
    for (const span of [x, xCopy]) {
      assert.equal(span.attributes['genai_enrich.hold_outcome'], 'expired');
      assert.equal(span.attributes['genai_enrich.usage_missing'], true);
    }
  });

  it("Logfire: the stream record's usage reaches the request span and its copy (no response id)", () => {
    const { next, processor, check } = setup();
    const source = spanSource({
      scope: 'logfire',
      idGenerator: listedIds(['1111111111111111', '2222222222222222', '2222222222222222', '3333333333333333']),
    });
    const parent = startSpan(source, 'handle');
    const attributes = {
      'logfire.msg_template': 'Chat Completion with {request_data[model]!r}',
      'logfire.span_type': 'span',
      'gen_ai.provider.name': 'openai',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
    };
    const request = endedSpan(source, 'Chat Completion', attributes, { parent, startTime: [1_700_000_000, 0] });
    const copy = endedSpan(source, 'Chat Completion', attributes, { parent, startTime: [1_700_000_000, 0] });
    processor.onEnd(request);
    processor.onEnd(copy);
    const record = endedSpan(
      source,
      'streaming response',
      {
        'logfire.msg_template': 'streaming response from {request_data[model]!r} took {duration:.2f}s',
        'logfire.span_type': 'log',
        'gen_ai.provider.name': 'openai',
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 40,
        'gen_ai.usage.output_tokens': 9,
      },
      { parent, startTime: [1_700_000_001, 0] },
    );
    processor.onEnd(record);
    check();
    assert.equal(next.ended.length, 3);
    for (const span of [request, copy]) {
      assert.equal(span.attributes['genai_enrich.usage_source'], 'sibling_record');
      assert.equal(span.attributes['genai_enrich.hold_outcome'], 'joined');
    }
    assert.equal(request.attributes['gen_ai.usage.input_tokens'], 40);
  });

  it('many retried pairs stay within maxHeldSpans and maxHeldBytes; every copy is forwarded once', () => {
    const { next, processor, check } = setup({ maxHeldSpans: 64, maxHeldBytes: 64 * 2048 });
    for (let i = 0; i < 2000; i++) {
      const id = (i + 1).toString(16).padStart(16, '0');
      const source = spanSource({ idGenerator: listedIds([id, id]) });
      const attributes = chatAttributes({ 'gen_ai.response.id': `r-${i}` });
      processor.onEnd(endedSpan(source, 'chat', attributes));
      processor.onEnd(endedSpan(source, 'chat', attributes));
      const s = processor.stats();
      assert.ok(s.held <= 64 && s.heldBytes <= 64 * 2048, JSON.stringify(s));
    }
    check();
    void processor.forceFlush();
    check();
    assert.equal(next.ended.length, 4000);
    const times = new Map<ReadableSpan, number>();
    for (const span of next.ended) times.set(span, (times.get(span) ?? 0) + 1);
    assert.equal(times.size, 4000, 'every span object once');
  });
});
