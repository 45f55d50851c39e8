import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { extractUsage, extractUsageFromJson, toTokenCount } from '../src/usage.js';

describe('toTokenCount', () => {
  it('accepts non-negative integers and numeric strings', () => {
    assert.equal(toTokenCount(0), 0);
    assert.equal(toTokenCount(12), 12);
    assert.equal(toTokenCount(12.0), 12);
    assert.equal(toTokenCount('12'), 12);
    assert.equal(toTokenCount(' 7 '), 7);
    assert.equal(toTokenCount('1e3'), 1000);
  });
  it('rejects junk instead of producing NaN', () => {
    for (const junk of [-1, 1.5, NaN, Infinity, '', '  ', 'abc', '12abc', true, null, undefined, [1], {}, 2 ** 60]) {
      assert.equal(toTokenCount(junk), undefined, String(junk));
    }
  });
});

describe('extractUsage', () => {
  it('reads OpenAI Chat Completions usage', () => {
    assert.deepEqual(
      extractUsage({
        prompt_tokens: 120,
        completion_tokens: 30,
        total_tokens: 150,
        prompt_tokens_details: { cached_tokens: 64, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 10 },
      }),
      { inputTokens: 120, outputTokens: 30, cacheReadInputTokens: 64, reasoningOutputTokens: 10 },
    );
  });
  it('reads OpenAI Responses usage, also from a whole response', () => {
    const usage = {
      input_tokens: 50,
      output_tokens: 20,
      total_tokens: 70,
      input_tokens_details: { cached_tokens: 16 },
      output_tokens_details: { reasoning_tokens: 8 },
    };
    const expected = { inputTokens: 50, outputTokens: 20, cacheReadInputTokens: 16, reasoningOutputTokens: 8 };
    assert.deepEqual(extractUsage(usage), expected);
    assert.deepEqual(extractUsage({ id: 'resp_1', usage }), expected);
    assert.deepEqual(extractUsage({ type: 'response.completed', response: { id: 'resp_1', usage } }), expected);
  });
  it('adds the cache back into Anthropic input tokens', () => {
    assert.deepEqual(
      extractUsage({
        input_tokens: 12,
        output_tokens: 5,
        cache_read_input_tokens: 1000,
        cache_creation_input_tokens: 200,
      }),
      { inputTokens: 1212, outputTokens: 5, cacheReadInputTokens: 1000, cacheCreationInputTokens: 200 },
    );
  });
  it('keeps an OpenAI-shaped count that already includes the cache (LiteLLM)', () => {
    assert.deepEqual(extractUsage({ prompt_tokens: 1212, completion_tokens: 5, cache_read_input_tokens: 1000 }), {
      inputTokens: 1212,
      outputTokens: 5,
      cacheReadInputTokens: 1000,
    });
  });
  it('reads embeddings and Gemini usage', () => {
    assert.deepEqual(extractUsage({ prompt_tokens: 8, total_tokens: 8 }), { inputTokens: 8 });
    assert.deepEqual(
      extractUsage({
        usageMetadata: {
          promptTokenCount: 10,
          candidatesTokenCount: 4,
          thoughtsTokenCount: 6,
          cachedContentTokenCount: 2,
        },
      }),
      { inputTokens: 10, outputTokens: 10, reasoningOutputTokens: 6, cacheReadInputTokens: 2 },
    );
  });
  it('returns undefined when nothing is found', () => {
    for (const junk of [null, undefined, 3, 'x', [], {}, { usage: {} }, { prompt_tokens: 'many' }]) {
      assert.equal(extractUsage(junk), undefined);
    }
  });
  it('parses JSON strings with a size bound', () => {
    assert.deepEqual(extractUsageFromJson('{"usage":{"prompt_tokens":3}}'), { inputTokens: 3 });
    assert.equal(extractUsageFromJson('{broken'), undefined);
    assert.equal(extractUsageFromJson('[1]'), undefined);
    assert.equal(extractUsageFromJson(3), undefined);
    assert.equal(extractUsageFromJson('{"prompt_tokens":3,"pad":"' + 'x'.repeat(1 << 20) + '"}'), undefined);
  });
});
