import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeProviderName, PROVIDER_VALUE_MAP } from '../src/providers.js';
import { normalizeAttributes } from '../src/normalize.js';

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
    // Anthropic, Bedrock and Google, as each emitter spells them.
    ['anthropic', 'anthropic', 'semconv; OpenLLMetry 0.27, OpenInference, Logfire, LiteLLM'],
    ['aws.bedrock', 'aws.bedrock', 'semconv; OpenLLMetry Bedrock 0.27'],
    ['gcp.gemini', 'gcp.gemini', 'semconv'],
    ['gcp.vertex_ai', 'gcp.vertex_ai', 'semconv'],
    ['gcp.gen_ai', 'gcp.gen_ai', 'semconv'],
    ['GCP.Vertex_AI', 'gcp.vertex_ai', 'semconv, capitalised'],
    ['bedrock_converse', 'aws.bedrock', 'LiteLLM'],
    ['vertex_ai_beta', 'gcp.vertex_ai', 'LiteLLM'],
    ['vertexai', 'gcp.vertex_ai', 'OpenInference llm.system'],
    ['aws', 'aws.bedrock', 'OpenInference llm.provider'],
    ['google', 'gcp.gen_ai', 'OpenInference llm.provider; OpenLLMetry Vertex AI 0.27 writes "Google"'],
    ['google_genai', 'gcp.gemini', 'LangSmith (LangChain ls_provider of ChatGoogleGenerativeAI)'],
    ['google_vertexai', 'gcp.vertex_ai', 'LangSmith (ChatVertexAI)'],
    ['google_anthropic_vertex', 'gcp.vertex_ai', 'LangSmith (ChatAnthropicVertex)'],
    ['amazon_bedrock', 'aws.bedrock', 'LangSmith (ChatBedrock)'],
    ['bedrock.anthropic.messages', 'aws.bedrock', 'Vercel @ai-sdk/amazon-bedrock, Claude'],
    ['amazon-bedrock', 'aws.bedrock', 'Vercel @ai-sdk/amazon-bedrock'],
    ['google.generative-ai', 'gcp.gemini', 'Vercel @ai-sdk/google'],
    ['google.vertex.chat', 'gcp.vertex_ai', 'Vercel @ai-sdk/google-vertex'],
    ['google.vertex.embedding', 'gcp.vertex_ai', 'Vercel @ai-sdk/google-vertex'],
    ['vertex.anthropic.messages', 'gcp.vertex_ai', 'Vercel @ai-sdk/google-vertex, Claude'],
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

describe('the provider a scope knows better', () => {
  const VERTEX = { name: '@traceloop/instrumentation-vertexai', version: '0.27.0' };
  const span = { 'gen_ai.system': 'Google', 'llm.request.type': 'completion', 'gen_ai.usage.prompt_tokens': 70 };

  it("OpenLLMetry's Vertex AI instrumentation: its generic Google is Vertex AI, idempotently", () => {
    const out = normalizeAttributes(span, undefined, VERTEX);
    assert.equal(out['gen_ai.provider.name'], 'gcp.vertex_ai');
    assert.deepEqual(normalizeAttributes(out, undefined, VERTEX), out);
    assert.equal(normalizeAttributes(span)['gen_ai.provider.name'], 'gcp.gen_ai', 'without the scope: generic');
    const other = { name: '@traceloop/instrumentation-openai', version: '0.27.0' };
    assert.equal(normalizeAttributes(span, undefined, other)['gen_ai.provider.name'], 'gcp.gen_ai');
  });

  it('never overrides a canonical provider, nor a specific value from a legacy key', () => {
    const canonical = { ...span, 'gen_ai.provider.name': 'gcp.gen_ai' };
    assert.equal(normalizeAttributes(canonical, undefined, VERTEX)['gen_ai.provider.name'], 'gcp.gen_ai');
    const gemini = { ...span, 'gen_ai.system': 'gemini' };
    assert.equal(normalizeAttributes(gemini, undefined, VERTEX)['gen_ai.provider.name'], 'gcp.gemini');
  });
});
