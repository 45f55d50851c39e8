import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isNormalized, normalizeAttributes, toStringArray } from '../src/normalize.js';
import type { Attributes } from '../src/types.js';

describe('normalizeAttributes', () => {
  describe('provider', () => {
    it('renames gen_ai.system to gen_ai.provider.name with the semconv value map', () => {
      assert.deepEqual(normalizeAttributes({ 'gen_ai.system': 'az.ai.openai' }), {
        'gen_ai.provider.name': 'azure.ai.openai',
      });
      assert.deepEqual(normalizeAttributes({ 'gen_ai.system': 'OpenAI' }), { 'gen_ai.provider.name': 'openai' });
    });

    it('prefers gen_ai.system over llm.provider, llm.system and ai.model.provider', () => {
      const out = normalizeAttributes({
        'ai.model.provider': 'anthropic.messages',
        'llm.system': 'cohere',
        'llm.provider': 'mistralai',
        'gen_ai.system': 'vertex_ai',
      });
      assert.deepEqual(out, { 'gen_ai.provider.name': 'gcp.vertex_ai' });
    });

    it('falls back through the sources by rank', () => {
      assert.deepEqual(normalizeAttributes({ 'llm.system': 'openai', 'llm.provider': 'azure' }), {
        'gen_ai.provider.name': 'azure.ai.openai',
      });
      assert.deepEqual(normalizeAttributes({ 'ai.model.provider': 'google.vertex.chat' }), {
        'gen_ai.provider.name': 'gcp.vertex_ai',
      });
    });

    it('keeps a present gen_ai.provider.name and drops the duplicate legacy key', () => {
      assert.deepEqual(normalizeAttributes({ 'gen_ai.provider.name': 'openai', 'gen_ai.system': 'anthropic' }), {
        'gen_ai.provider.name': 'openai',
      });
    });

    it('cleans a vendor spelling written into gen_ai.provider.name itself', () => {
      assert.deepEqual(normalizeAttributes({ 'gen_ai.provider.name': 'openai.responses' }), {
        'gen_ai.provider.name': 'openai',
      });
    });

    it('passes unknown provider values through unchanged', () => {
      assert.deepEqual(normalizeAttributes({ 'gen_ai.system': 'MyLab' }), { 'gen_ai.provider.name': 'MyLab' });
    });
  });

  describe('usage', () => {
    it('renames prompt/completion tokens and undotted cache keys', () => {
      const out = normalizeAttributes({
        'gen_ai.usage.prompt_tokens': 100,
        'gen_ai.usage.completion_tokens': 20,
        'gen_ai.usage.cache_read_input_tokens': 40,
        'gen_ai.usage.cache_creation_input_tokens': 5,
        'gen_ai.usage.reasoning_tokens': 7,
        'llm.usage.total_tokens': 120,
      });
      assert.deepEqual(out, {
        'gen_ai.usage.input_tokens': 100,
        'gen_ai.usage.output_tokens': 20,
        'gen_ai.usage.cache_read.input_tokens': 40,
        'gen_ai.usage.cache_creation.input_tokens': 5,
        'gen_ai.usage.reasoning.output_tokens': 7,
        'gen_ai.usage.total_tokens': 120,
      });
    });

    it('maps cache_write_input_tokens and the unreleased cache_write.input_tokens to cache_creation', () => {
      assert.deepEqual(normalizeAttributes({ 'gen_ai.usage.cache_write_input_tokens': 3 }), {
        'gen_ai.usage.cache_creation.input_tokens': 3,
      });
      assert.deepEqual(normalizeAttributes({ 'gen_ai.usage.cache_write.input_tokens': 4 }), {
        'gen_ai.usage.cache_creation.input_tokens': 4,
      });
    });

    it('maps OpenInference token counts', () => {
      assert.deepEqual(
        normalizeAttributes({
          'llm.token_count.prompt': 10,
          'llm.token_count.completion': 2,
          'llm.token_count.total': 12,
          'llm.token_count.prompt_details.cache_read': 4,
          'llm.token_count.prompt_details.cache_write': 1,
          'llm.token_count.completion_details.reasoning': 1,
        }),
        {
          'gen_ai.usage.input_tokens': 10,
          'gen_ai.usage.output_tokens': 2,
          'gen_ai.usage.total_tokens': 12,
          'gen_ai.usage.cache_read.input_tokens': 4,
          'gen_ai.usage.cache_creation.input_tokens': 1,
          'gen_ai.usage.reasoning.output_tokens': 1,
        },
      );
    });

    it('parses numeric strings and integral floats, and ignores junk without producing NaN', () => {
      const out = normalizeAttributes({
        'gen_ai.usage.prompt_tokens': '12',
        'gen_ai.usage.completion_tokens': 3.0,
        'gen_ai.usage.cache_read_input_tokens': 'lots',
        'llm.usage.reasoning_tokens': -1,
        'gen_ai.usage.output_tokens': undefined,
      });
      assert.deepEqual(out, {
        'gen_ai.usage.input_tokens': 12,
        'gen_ai.usage.output_tokens': 3,
        'gen_ai.usage.cache_read_input_tokens': 'lots',
        'llm.usage.reasoning_tokens': -1,
      });
    });

    it('turns a numeric string in a canonical usage key into an integer and keeps junk there', () => {
      assert.deepEqual(normalizeAttributes({ 'gen_ai.usage.input_tokens': '7', 'gen_ai.usage.output_tokens': 'n/a' }), {
        'gen_ai.usage.input_tokens': 7,
        'gen_ai.usage.output_tokens': 'n/a',
      });
    });

    it('never lets a legacy value overwrite a canonical one, even a junk canonical one', () => {
      assert.deepEqual(normalizeAttributes({ 'gen_ai.usage.input_tokens': 'n/a', 'gen_ai.usage.prompt_tokens': 9 }), {
        'gen_ai.usage.input_tokens': 'n/a',
      });
      assert.deepEqual(normalizeAttributes({ 'gen_ai.usage.input_tokens': 5, 'llm.token_count.prompt': 9 }), {
        'gen_ai.usage.input_tokens': 5,
      });
    });
  });

  describe('Anthropic cache accounting', () => {
    it('adds cache tokens back when the input count leaves them out', () => {
      const out = normalizeAttributes({
        'gen_ai.system': 'Anthropic',
        'gen_ai.usage.input_tokens': 12,
        'gen_ai.usage.cache_read.input_tokens': 1000,
        'gen_ai.usage.cache_creation.input_tokens': 200,
      });
      assert.equal(out['gen_ai.usage.input_tokens'], 1212);
    });

    it('raises a total computed from the cache-less input by the same amount', () => {
      const out = normalizeAttributes({
        'gen_ai.provider.name': 'anthropic',
        'gen_ai.usage.input_tokens': 12,
        'gen_ai.usage.output_tokens': 5,
        'gen_ai.usage.total_tokens': 17,
        'gen_ai.usage.cache_read.input_tokens': 1000,
      });
      assert.equal(out['gen_ai.usage.input_tokens'], 1012);
      assert.equal(out['gen_ai.usage.total_tokens'], 1017);
    });

    it('leaves an input count that already includes the cache', () => {
      const attrs = {
        'gen_ai.provider.name': 'anthropic',
        'gen_ai.usage.input_tokens': 1212,
        'gen_ai.usage.cache_read.input_tokens': 1000,
        'gen_ai.usage.cache_creation.input_tokens': 200,
      };
      assert.deepEqual(normalizeAttributes(attrs), attrs);
    });

    it('does not touch other providers', () => {
      const attrs = {
        'gen_ai.provider.name': 'openai',
        'gen_ai.usage.input_tokens': 12,
        'gen_ai.usage.cache_read.input_tokens': 1000,
      };
      assert.deepEqual(normalizeAttributes(attrs), attrs);
    });
  });

  describe('Vercel AI SDK', () => {
    const outer: Attributes = {
      'ai.operationId': 'ai.streamText',
      'operation.name': 'ai.streamText my-fn',
      'ai.model.id': 'gpt-4o',
      'ai.model.provider': 'openai.chat',
      'ai.usage.inputTokens': 30,
      'ai.usage.outputTokens': 5,
    };
    const inner: Attributes = {
      'ai.operationId': 'ai.streamText.doStream',
      'operation.name': 'ai.streamText.doStream my-fn',
      'ai.model.id': 'gpt-4o',
      'ai.model.provider': 'openai.chat',
      'ai.usage.inputTokens': 30,
      'ai.usage.outputTokens': 5,
      'ai.response.id': 'chatcmpl-1',
      'ai.response.model': 'gpt-4o-2024-08-06',
      'ai.response.finishReason': 'stop',
    };

    it('maps the outer aggregate like any usage (counting it once is a trace decision) but derives no operation for it', () => {
      const o = normalizeAttributes(outer);
      const i = normalizeAttributes(inner);
      assert.equal(o['gen_ai.usage.input_tokens'], 30);
      assert.equal(o['gen_ai.usage.output_tokens'], 5);
      assert.equal(o['ai.usage.inputTokens'], undefined);
      assert.equal(o['gen_ai.operation.name'], undefined, 'the outer span is not a provider call');
      assert.equal(i['gen_ai.usage.input_tokens'], 30);
      assert.equal(i['gen_ai.usage.output_tokens'], 5);
      assert.equal(i['gen_ai.operation.name'], 'chat');
    });

    it('derives the operation and response keys on the provider-call span', () => {
      assert.deepEqual(normalizeAttributes(inner), {
        'ai.operationId': 'ai.streamText.doStream',
        'operation.name': 'ai.streamText.doStream my-fn',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.provider.name': 'openai',
        'gen_ai.usage.input_tokens': 30,
        'gen_ai.usage.output_tokens': 5,
        'gen_ai.response.id': 'chatcmpl-1',
        'gen_ai.response.model': 'gpt-4o-2024-08-06',
        'gen_ai.response.finish_reasons': ['stop'],
        'gen_ai.operation.name': 'chat',
      });
    });

    it('marks doEmbed spans as embeddings', () => {
      const out = normalizeAttributes({ 'ai.operationId': 'ai.embed.doEmbed', 'ai.usage.tokens': 8 });
      assert.equal(out['gen_ai.operation.name'], 'embeddings');
      assert.equal(out['gen_ai.usage.input_tokens'], 8);
    });

    it('recognises an ai@3.2 provider call, which carries the outer operation name', () => {
      const out = normalizeAttributes({
        'operation.name': 'ai.streamText',
        'ai.prompt.messages': '[]',
        'gen_ai.usage.prompt_tokens': 14,
      });
      assert.equal(out['gen_ai.usage.input_tokens'], 14);
      assert.equal(out['gen_ai.operation.name'], 'chat');
    });

    it('reads the operation from operation.name when ai.operationId is absent', () => {
      const outer = normalizeAttributes({ 'operation.name': 'ai.generateText fn', 'ai.usage.promptTokens': 3 });
      assert.equal(outer['gen_ai.usage.input_tokens'], 3);
      assert.equal(outer['gen_ai.operation.name'], undefined, 'an outer span is not a provider call');
      const call = normalizeAttributes({
        'operation.name': 'ai.generateText.doGenerate fn',
        'ai.usage.promptTokens': 3,
      });
      assert.equal(call['gen_ai.operation.name'], 'chat');
    });
  });

  describe('finish reasons and stop sequences', () => {
    it('parses JSON-string arrays and wraps single strings', () => {
      assert.deepEqual(normalizeAttributes({ 'gen_ai.response.finish_reasons': '["stop","length"]' }), {
        'gen_ai.response.finish_reasons': ['stop', 'length'],
      });
      assert.deepEqual(normalizeAttributes({ 'gen_ai.response.finish_reason': 'stop' }), {
        'gen_ai.response.finish_reasons': ['stop'],
      });
      assert.deepEqual(normalizeAttributes({ 'gen_ai.request.stop_sequences': '["\\n\\n", "END"]' }), {
        'gen_ai.request.stop_sequences': ['\n\n', 'END'],
      });
      assert.deepEqual(normalizeAttributes({ 'llm.chat.stop_sequences': 'END' }), {
        'gen_ai.request.stop_sequences': ['END'],
      });
    });

    it('keeps a string that only looks like JSON as one reason', () => {
      assert.deepEqual(toStringArray('[unterminated'), ['[unterminated']);
      assert.deepEqual(toStringArray('"quoted"'), ['quoted']);
      assert.deepEqual(toStringArray(['a', null, 1, true]), ['a', '1', 'true']);
      assert.equal(toStringArray(''), undefined);
      assert.equal(toStringArray(5), undefined);
    });
  });

  describe('request and response keys', () => {
    it('maps OpenInference, Vercel, OpenLLMetry and LiteLLM request keys', () => {
      assert.deepEqual(
        normalizeAttributes({
          'gen_ai.system': 'OpenAI',
          'llm.model_name': 'gpt-4o-mini',
          'llm.request.type': 'completion',
          'llm.is_streaming': true,
          'gen_ai.openai.request.seed': 42,
          'gen_ai.request.n': 2,
          'llm.top_k': '5',
          'llm.frequency_penalty': 0.5,
          'llm.presence_penalty': -0.5,
          'gen_ai.openai.request.response_format': 'json_schema',
          'gen_ai.openai.request.service_tier': 'auto',
          'gen_ai.openai.response.service_tier': 'default',
          'gen_ai.openai.response.system_fingerprint': 'fp_1',
        }),
        {
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': 'gpt-4o-mini',
          'gen_ai.operation.name': 'text_completion',
          'gen_ai.request.stream': true,
          'gen_ai.request.seed': 42,
          'gen_ai.request.choice.count': 2,
          'gen_ai.request.top_k': 5,
          'gen_ai.request.frequency_penalty': 0.5,
          'gen_ai.request.presence_penalty': -0.5,
          'gen_ai.output.type': 'json',
          'openai.request.service_tier': 'auto',
          'openai.response.service_tier': 'default',
          'openai.response.system_fingerprint': 'fp_1',
        },
      );
    });

    it('leaves gen_ai.request.stream unset for a non-streaming legacy flag', () => {
      assert.deepEqual(normalizeAttributes({ 'llm.is_streaming': 'False', 'gen_ai.is_streaming': false }), {});
    });

    it('maps LiteLLM call types written into gen_ai.operation.name', () => {
      assert.deepEqual(
        normalizeAttributes({ 'gen_ai.operation.name': 'acompletion', 'llm.request.type': 'acompletion' }),
        {
          'gen_ai.operation.name': 'chat',
        },
      );
      assert.deepEqual(normalizeAttributes({ 'gen_ai.operation.name': 'aembedding' }), {
        'gen_ai.operation.name': 'embeddings',
      });
    });

    it('reads llm.request.type completion as chat except on OpenAI spans that are not LiteLLM', () => {
      const op = (attrs: Record<string, string>) => normalizeAttributes(attrs)['gen_ai.operation.name'];
      assert.equal(op({ 'llm.request.type': 'completion', 'gen_ai.system': 'OpenAI' }), 'text_completion');
      assert.equal(op({ 'llm.request.type': 'completion', 'gen_ai.system': 'Azure' }), 'text_completion');
      assert.equal(op({ 'llm.request.type': 'completion', 'gen_ai.system': 'Anthropic' }), 'chat');
      assert.equal(
        op({ 'llm.request.type': 'completion', 'gen_ai.system': 'openai', 'llm.is_streaming': 'False' }),
        'chat',
      );
      assert.equal(op({ 'llm.request.type': 'completion' }), 'chat');
    });

    it('maps an api_base URL to server.address and server.port', () => {
      assert.deepEqual(normalizeAttributes({ 'gen_ai.openai.api_base': 'https://api.openai.com/v1/' }), {
        'server.address': 'api.openai.com',
        'server.port': 443,
      });
      assert.deepEqual(
        normalizeAttributes({ 'gen_ai.openai.api_base': 'http://127.0.0.1:8080/v1', 'server.port': 1 }),
        {
          'server.port': 1,
          'server.address': '127.0.0.1',
        },
      );
      assert.deepEqual(normalizeAttributes({ 'gen_ai.openai.api_base': 'not a url' }), {
        'gen_ai.openai.api_base': 'not a url',
      });
    });

    it('prefers the OpenInference request model name over llm.model_name, which holds the response model', () => {
      assert.deepEqual(
        normalizeAttributes({
          'llm.model_name': 'claude-sonnet-4-5-20250929',
          'llm.request.model_name': 'claude-sonnet-4-5',
          'llm.response.model_name': 'claude-sonnet-4-5-20250929',
        }),
        { 'gen_ai.request.model': 'claude-sonnet-4-5', 'gen_ai.response.model': 'claude-sonnet-4-5-20250929' },
      );
    });

    it('keeps an unknown llm.request.type untouched', () => {
      assert.deepEqual(normalizeAttributes({ 'llm.request.type': 'rerank' }), { 'llm.request.type': 'rerank' });
    });

    it('derives the operation from the OpenInference span kind', () => {
      assert.equal(normalizeAttributes({ 'openinference.span.kind': 'LLM' })['gen_ai.operation.name'], 'chat');
      assert.equal(
        normalizeAttributes({ 'openinference.span.kind': 'EMBEDDING' })['gen_ai.operation.name'],
        'embeddings',
      );
      assert.equal(normalizeAttributes({ 'openinference.span.kind': 'CHAIN' })['gen_ai.operation.name'], undefined);
    });
  });

  describe('Logfire usage', () => {
    it('fills missing usage from gen_ai.usage.raw, with cache and reasoning', () => {
      const out = normalizeAttributes({
        'gen_ai.provider.name': 'openai',
        'gen_ai.usage.input_tokens': 120,
        'gen_ai.usage.output_tokens': 30,
        'gen_ai.usage.raw': JSON.stringify({
          input_tokens: 120,
          output_tokens: 30,
          input_tokens_details: { cached_tokens: 64 },
          output_tokens_details: { reasoning_tokens: 10 },
        }),
      });
      assert.equal(out['gen_ai.usage.input_tokens'], 120);
      assert.equal(out['gen_ai.usage.cache_read.input_tokens'], 64);
      assert.equal(out['gen_ai.usage.reasoning.output_tokens'], 10);
    });

    it('takes usage from response_data when no canonical usage is present', () => {
      const out = normalizeAttributes({
        response_data: JSON.stringify({
          message: { role: 'assistant', content: 'hi' },
          usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
        }),
      });
      assert.equal(out['gen_ai.usage.input_tokens'], 9);
      assert.equal(out['gen_ai.usage.output_tokens'], 2);
    });

    it('ignores response_data that is not JSON', () => {
      assert.deepEqual(normalizeAttributes({ response_data: '{not json' }), { response_data: '{not json' });
    });
  });

  describe('options and contract', () => {
    it('keeps mapped legacy keys with keepLegacyAttributes', () => {
      assert.deepEqual(
        normalizeAttributes(
          { 'gen_ai.system': 'xai', 'gen_ai.usage.prompt_tokens': 3 },
          { keepLegacyAttributes: true },
        ),
        {
          'gen_ai.system': 'xai',
          'gen_ai.usage.prompt_tokens': 3,
          'gen_ai.provider.name': 'x_ai',
          'gen_ai.usage.input_tokens': 3,
        },
      );
    });

    it('leaves attributes that are not GenAI untouched and returns a new object', () => {
      const input: Attributes = { 'http.request.method': 'GET', 'url.full': 'http://x', n: [1, 2] };
      const out = normalizeAttributes(input);
      assert.deepEqual(out, input);
      assert.notEqual(out, input);
      assert.equal(out['n'], input['n']);
    });

    it('never mutates its input', () => {
      const input: Attributes = { 'gen_ai.system': 'OpenAI', 'gen_ai.usage.prompt_tokens': '3' };
      const copy = structuredClone(input);
      normalizeAttributes(input);
      assert.deepEqual(input, copy);
    });

    it('treats a __proto__ key as data', () => {
      const input = JSON.parse('{"__proto__": "x", "gen_ai.system": "openai"}') as Attributes;
      const out = normalizeAttributes(input);
      assert.equal(Object.getPrototypeOf(out), Object.prototype);
      assert.equal(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, 'x');
    });

    it('returns an empty map for input that is not an object', () => {
      assert.deepEqual(normalizeAttributes(null as unknown as Attributes), {});
      assert.deepEqual(normalizeAttributes('x' as unknown as Attributes), {});
    });
  });
});

describe('isNormalized', () => {
  it('agrees with normalizeAttributes on whether anything would change', async () => {
    const { isNormalized } = await import('../src/normalize.js');
    const samples: Attributes[] = [
      {},
      { 'http.route': '/x' },
      { 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 3 },
      { 'gen_ai.provider.name': 'OpenAI' },
      { 'gen_ai.system': 'openai' },
      { 'gen_ai.usage.input_tokens': '3' },
      { 'gen_ai.provider.name': 'anthropic', 'gen_ai.usage.input_tokens': 3 },
      { 'ai.operationId': 'ai.streamText.doStream' },
      { 'gen_ai.response.finish_reasons': '["stop"]' },
    ];
    for (const attrs of samples) {
      const changed = JSON.stringify(normalizeAttributes(attrs)) !== JSON.stringify(attrs);
      if (isNormalized(attrs)) assert.equal(changed, false, JSON.stringify(attrs));
    }
    assert.equal(isNormalized({ 'http.route': '/x' }), true);
    assert.equal(isNormalized({ 'gen_ai.system': 'openai' }), false);
    assert.equal(isNormalized(null as unknown as Attributes), false);
  });
});

describe('LangSmith (OpenTelemetry mode)', () => {
  // As LangSmith 0.14 writes a ChatOpenAI span (../shared reference: observed with the real packages).
  const usageMetadata =
    '{"input_tokens":42,"output_tokens":17,"total_tokens":59,"input_token_details":{"audio":0,"cache_read":16},"output_token_details":{"audio":0,"reasoning":4}}';

  it('takes the cache and reasoning counts only langsmith.metadata.usage_metadata has', () => {
    const out = normalizeAttributes({
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 42,
      'gen_ai.usage.output_tokens': 17,
      'langsmith.metadata.usage_metadata': usageMetadata,
    });
    assert.equal(out['gen_ai.usage.cache_read.input_tokens'], 16);
    assert.equal(out['gen_ai.usage.reasoning.output_tokens'], 4);
    assert.equal(out['gen_ai.usage.input_tokens'], 42, 'what the span had stays');
    assert.equal(out['gen_ai.provider.name'], 'openai');
    assert.equal(isNormalized({ 'langsmith.metadata.usage_metadata': usageMetadata }), false, 'the key triggers work');
  });

  it('does not map a framework (gen_ai.system = langchain) to gen_ai.provider.name', () => {
    const out = normalizeAttributes({ 'gen_ai.operation.name': 'chain', 'gen_ai.system': 'langchain' });
    assert.equal(out['gen_ai.provider.name'], undefined);
    assert.equal(out['gen_ai.system'], 'langchain', 'the key stays as it came');
  });

  it('ignores a junk usage_metadata', () => {
    for (const junk of ['{', '[1]', '{"input_tokens":"x"}', 'n/a']) {
      const out = normalizeAttributes({ 'gen_ai.operation.name': 'chat', 'langsmith.metadata.usage_metadata': junk });
      assert.equal(out['gen_ai.usage.input_tokens'], undefined, junk);
    }
  });
});
