import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeProviderName, PROVIDER_VALUE_MAP } from '../src/providers.js';

describe('normalizeProviderName', () => {
  const cases: Array<[string, string, string]> = [
    // [input, expected, why]
    ['az.ai.inference', 'azure.ai.inference', 'deprecated semconv member'],
    ['az.ai.openai', 'azure.ai.openai', 'deprecated semconv member'],
    ['vertex_ai', 'gcp.vertex_ai', 'deprecated semconv member / LiteLLM'],
    ['gemini', 'gcp.gemini', 'deprecated semconv member / LiteLLM'],
    ['xai', 'x_ai', 'deprecated semconv member / LiteLLM'],
    ['OpenAI', 'openai', 'OpenLLMetry ≤0.22 capitalisation'],
    ['Anthropic', 'anthropic', 'OpenLLMetry capitalisation'],
    ['Azure', 'azure.ai.openai', 'OpenLLMetry URL sniffing'],
    ['AWS', 'aws.bedrock', 'OpenLLMetry URL sniffing'],
    ['Google', 'gcp.gen_ai', 'OpenLLMetry URL sniffing'],
    ['OpenRouter', 'openrouter', 'custom value, case-folded'],
    ['openai.chat', 'openai', 'Vercel'],
    ['openai.responses', 'openai', 'Vercel'],
    ['anthropic.messages', 'anthropic', 'Vercel'],
    ['google.vertex.chat', 'gcp.vertex_ai', 'Vercel'],
    ['google.generative-ai', 'gcp.gemini', 'Vercel'],
    ['amazon-bedrock', 'aws.bedrock', 'Vercel'],
    ['amazon-bedrock.chat', 'aws.bedrock', 'Vercel'],
    ['azure-openai.chat', 'azure.ai.openai', 'Vercel'],
    ['mistral.chat', 'mistral_ai', 'Vercel'],
    ['xai.chat', 'x_ai', 'Vercel'],
    ['groq.chat', 'groq', 'Vercel'],
    ['bedrock', 'aws.bedrock', 'LiteLLM'],
    ['mistral', 'mistral_ai', 'LiteLLM'],
    ['watsonx', 'ibm.watsonx.ai', 'LiteLLM'],
    ['azure_ai', 'azure.ai.inference', 'LiteLLM'],
    ['text-completion-openai', 'openai', 'LiteLLM'],
    ['mistralai', 'mistral_ai', 'OpenInference'],
    ['moonshot', 'moonshot_ai', 'OpenInference'],
    ['my-lab', 'my-lab', 'unknown'],
    ['MyLab.Chat', 'MyLab.Chat', 'unknown, not case-folded'],
    ['.openai', '.openai', 'leading dot'],
    ['', '', 'empty'],
  ];
  for (const [input, expected, why] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)} (${why})`, () => {
      assert.equal(normalizeProviderName(input), expected);
    });
  }

  it('maps every output to itself (idempotent)', () => {
    for (const [, v] of PROVIDER_VALUE_MAP) assert.equal(normalizeProviderName(v), v, v);
    for (const [input] of cases) {
      const once = normalizeProviderName(input);
      assert.equal(normalizeProviderName(once), once, input);
    }
  });
});
