// LiteLLM's cache and reasoning counts, read from `metadata.usage_object` (its Usage as a Python repr) into the
// span's missing counts; what LiteLLM added to the provider's counts is marked, never added again.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeAttributes } from '../src/normalize.js';
import type { Attributes } from '../src/types.js';

/** The attributes LiteLLM's OpenTelemetry callback writes for one call (legacy keys, as it does). */
function litellmSpan(system: string, usageObject: string, extra: Attributes = {}): Attributes {
  return {
    'gen_ai.system': system,
    'gen_ai.operation.name': 'chat',
    'gen_ai.usage.input_tokens': 5588,
    'gen_ai.usage.output_tokens': 418,
    'gen_ai.usage.total_tokens': 6006,
    'metadata.usage_object': usageObject,
    ...extra,
  };
}

const BEDROCK_USAGE =
  "{'completion_tokens': 418, 'prompt_tokens': 5588, 'total_tokens': 6006, 'completion_tokens_details': None, " +
  "'prompt_tokens_details': {'audio_tokens': None, 'cached_tokens': 3840, 'text_tokens': None, 'image_tokens': None, " +
  "'cache_creation_tokens': 1536}, 'cache_creation_input_tokens': 1536, 'cache_read_input_tokens': 3840}";
const GEMINI_USAGE =
  "{'completion_tokens': 418, 'prompt_tokens': 5588, 'total_tokens': 6006, 'completion_tokens_details': " +
  "{'reasoning_tokens': 300, 'text_tokens': 118}, 'prompt_tokens_details': {'cached_tokens': 3072}}";

describe('LiteLLM metadata.usage_object', () => {
  it('Bedrock: fills the cache counts, keeps the input (LiteLLM already added the cache) and marks it', () => {
    const out = normalizeAttributes(litellmSpan('bedrock', BEDROCK_USAGE));
    assert.equal(out['gen_ai.provider.name'], 'aws.bedrock');
    assert.equal(out['gen_ai.usage.input_tokens'], 5588);
    assert.equal(out['gen_ai.usage.cache_read.input_tokens'], 3840);
    assert.equal(out['gen_ai.usage.cache_creation.input_tokens'], 1536);
    assert.deepEqual(out['genai_enrich.usage_adjusted'], ['input+cache_read', 'input+cache_creation']);
    assert.equal(out['metadata.usage_object'], BEDROCK_USAGE, 'the repr stays');
    assert.deepEqual(normalizeAttributes(out), out, 'idempotent');
  });

  it('Gemini: fills cache read and reasoning, marks the thoughts LiteLLM added to the output', () => {
    const out = normalizeAttributes(litellmSpan('gemini', GEMINI_USAGE));
    assert.equal(out['gen_ai.usage.output_tokens'], 418);
    assert.equal(out['gen_ai.usage.cache_read.input_tokens'], 3072);
    assert.equal(out['gen_ai.usage.reasoning.output_tokens'], 300);
    assert.deepEqual(out['genai_enrich.usage_adjusted'], ['output+reasoning']);
  });

  it('Vertex AI (Claude or Gemini, the span does not say): the counts, no mark', () => {
    const out = normalizeAttributes(litellmSpan('vertex_ai', BEDROCK_USAGE));
    assert.equal(out['gen_ai.usage.cache_read.input_tokens'], 3840);
    assert.equal(out['genai_enrich.usage_adjusted'], undefined);
  });

  it('a count the span has wins; a repr that is not a plain literal, or too large, gives nothing', () => {
    const kept = normalizeAttributes(
      litellmSpan('bedrock', BEDROCK_USAGE, { 'gen_ai.usage.cache_read.input_tokens': 3000 }),
    );
    assert.equal(kept['gen_ai.usage.cache_read.input_tokens'], 3000);
    assert.equal(kept['gen_ai.usage.cache_creation.input_tokens'], 1536);
    for (const junk of [
      'Usage(completion_tokens=418, prompt_tokens=5588)',
      "{'prompt_tokens': 5588, 'cache_read_input_tokens': 3840",
      "{'prompt_tokens': 5588, 'cache_read_input_tokens': 3840, " + "'x': 'y', ".repeat(120_000) + '}',
    ]) {
      const out = normalizeAttributes(litellmSpan('bedrock', junk));
      assert.equal(out['gen_ai.usage.cache_read.input_tokens'], undefined, junk.slice(0, 40));
      assert.equal(out['genai_enrich.usage_adjusted'], undefined);
    }
  });
});
