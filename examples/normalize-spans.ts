/*
 * `npm run example:normalize`: runs the normalizer over spans shaped like the ones real
 * emitters send, and prints what changed. No server, no network.
 */
import { normalizeSpan } from '@genai-enrich/normalizer';
import type { Attributes } from '@genai-enrich/normalizer';

interface Sample {
  emitter: string;
  name: string;
  attributes: Attributes;
}

const samples: Sample[] = [
  {
    emitter: 'OpenLLMetry JS 0.22',
    name: 'openai.chat',
    attributes: {
      'gen_ai.system': 'OpenAI',
      'llm.request.type': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.prompt_tokens': 24,
      'gen_ai.usage.completion_tokens': 2,
      'llm.usage.total_tokens': 26,
    },
  },
  {
    emitter: 'Logfire (streaming record)',
    name: 'streaming response from {request_data[model]!r} took {duration:.2f}s',
    attributes: {
      'logfire.msg_template': 'streaming response from {request_data[model]!r} took {duration:.2f}s',
      'logfire.span_type': 'log',
      request_data: '{"model":"gpt-4o","stream":true}',
      duration: 1.5371,
      'gen_ai.system': 'openai',
      'gen_ai.provider.name': 'openai',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      response_data:
        '{"combined_chunk_content":"Paris.","chunk_count":3,"usage":{"prompt_tokens":24,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":16}}}',
    },
  },
  {
    emitter: 'LiteLLM',
    name: 'litellm_request',
    attributes: {
      'gen_ai.system': 'bedrock',
      'gen_ai.request.model': 'anthropic.claude-3-5-sonnet',
      'gen_ai.operation.name': 'acompletion',
      'llm.is_streaming': 'True',
      'gen_ai.response.finish_reasons': '["stop"]',
      'gen_ai.usage.input_tokens': 812,
      'gen_ai.usage.output_tokens': 40,
    },
  },
  {
    emitter: 'OpenInference',
    name: 'ChatCompletion',
    attributes: {
      'openinference.span.kind': 'LLM',
      'llm.provider': 'openai',
      'llm.system': 'openai',
      'llm.model_name': 'gpt-4o-mini-2024-07-18',
      'llm.token_count.prompt': 120,
      'llm.token_count.completion': 30,
      'llm.token_count.prompt_details.cache_read': 64,
    },
  },
  {
    emitter: 'Vercel AI SDK (legacy)',
    name: 'ai.streamText.doStream',
    attributes: {
      'ai.operationId': 'ai.streamText.doStream',
      'ai.model.provider': 'anthropic.messages',
      'ai.model.id': 'claude-sonnet-4-5',
      'ai.usage.inputTokens': 12,
      'ai.usage.outputTokens': 50,
      'ai.usage.inputTokenDetails.cacheReadTokens': 1000,
    },
  },
];

const USAGE = [
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.cache_read.input_tokens',
] as const;

function usageOf(attrs: Attributes): string {
  return USAGE.map((k) => (attrs[k] === undefined ? '–' : String(attrs[k]))).join('/');
}

for (const sample of samples) {
  const after = normalizeSpan({ name: sample.name, attributes: sample.attributes });
  const removed = Object.keys(sample.attributes).filter((k) => !(k in after.attributes));
  const added = Object.keys(after.attributes).filter((k) => !(k in sample.attributes));
  console.log(`\n${sample.emitter}`);
  console.log(`  name      ${sample.name}${after.name !== sample.name ? `\n         → ${after.name}` : ''}`);
  console.log(`  provider  ${String(after.attributes['gen_ai.provider.name'] ?? '–')}`);
  console.log(`  usage     in/out/cache_read ${usageOf(sample.attributes)} → ${usageOf(after.attributes)}`);
  console.log(`  removed   ${removed.join(', ') || '–'}`);
  console.log(`  added     ${added.join(', ') || '–'}`);
}
