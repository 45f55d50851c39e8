/*
 * `gen_ai.provider.name` values. Emitters spell providers in four dialects: deprecated semconv enum
 * members (`az.ai.openai`), vendor capitalisations (OpenLLMetry's URL-sniffed `OpenAI`, `Azure`), LiteLLM's
 * `custom_llm_provider` names (`bedrock`, `watsonx`) and OpenInference's `llm.provider` values, plus the
 * Vercel AI SDK's `<provider>.<api>` strings (`openai.chat`, `google.vertex.chat`).
 */
import {
  GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC as ANTHROPIC,
  GEN_AI_PROVIDER_NAME_VALUE_AWS_BEDROCK as AWS_BEDROCK,
  GEN_AI_PROVIDER_NAME_VALUE_AZURE_AI_INFERENCE as AZURE_AI_INFERENCE,
  GEN_AI_PROVIDER_NAME_VALUE_AZURE_AI_OPENAI as AZURE_AI_OPENAI,
  GEN_AI_PROVIDER_NAME_VALUE_COHERE as COHERE,
  GEN_AI_PROVIDER_NAME_VALUE_DEEPSEEK as DEEPSEEK,
  GEN_AI_PROVIDER_NAME_VALUE_GCP_GEMINI as GCP_GEMINI,
  GEN_AI_PROVIDER_NAME_VALUE_GCP_GEN_AI as GCP_GEN_AI,
  GEN_AI_PROVIDER_NAME_VALUE_GCP_VERTEX_AI as GCP_VERTEX_AI,
  GEN_AI_PROVIDER_NAME_VALUE_GROQ as GROQ,
  GEN_AI_PROVIDER_NAME_VALUE_IBM_WATSONX_AI as IBM_WATSONX_AI,
  GEN_AI_PROVIDER_NAME_VALUE_MISTRAL_AI as MISTRAL_AI,
  GEN_AI_PROVIDER_NAME_VALUE_OPENAI as OPENAI,
  GEN_AI_PROVIDER_NAME_VALUE_PERPLEXITY as PERPLEXITY,
  GEN_AI_PROVIDER_NAME_VALUE_X_AI as X_AI,
} from './semconv.js';

/**
 * Whole-value map, looked up by the lower-cased value. The well-known values map to themselves so that a
 * canonical value is recognised (and merely case-folded) rather than sent through the prefix rules.
 */
export const PROVIDER_VALUE_MAP: ReadonlyMap<string, string> = new Map([
  // v1.41.1 well-known values.
  [OPENAI, OPENAI],
  [ANTHROPIC, ANTHROPIC],
  [AWS_BEDROCK, AWS_BEDROCK],
  [AZURE_AI_INFERENCE, AZURE_AI_INFERENCE],
  [AZURE_AI_OPENAI, AZURE_AI_OPENAI],
  [COHERE, COHERE],
  [DEEPSEEK, DEEPSEEK],
  [GCP_GEMINI, GCP_GEMINI],
  [GCP_GEN_AI, GCP_GEN_AI],
  [GCP_VERTEX_AI, GCP_VERTEX_AI],
  [GROQ, GROQ],
  [IBM_WATSONX_AI, IBM_WATSONX_AI],
  [MISTRAL_AI, MISTRAL_AI],
  [PERPLEXITY, PERPLEXITY],
  [X_AI, X_AI],
  // Deprecated `gen_ai.system` enum members and their `renamed_to` targets.
  ['az.ai.inference', AZURE_AI_INFERENCE],
  ['az.ai.openai', AZURE_AI_OPENAI],
  ['vertex_ai', GCP_VERTEX_AI],
  ['gemini', GCP_GEMINI],
  ['xai', X_AI],
  // OpenLLMetry (≤ 0.22 JS, pre-2026-03 Python) URL-sniffed vendor names, case-folded before lookup.
  ['azure', AZURE_AI_OPENAI],
  ['aws', AWS_BEDROCK],
  ['google', GCP_GEN_AI],
  // LiteLLM `custom_llm_provider` names.
  ['azure_ai', AZURE_AI_INFERENCE],
  ['azure_text', AZURE_AI_OPENAI],
  ['bedrock', AWS_BEDROCK],
  ['bedrock_converse', AWS_BEDROCK],
  ['sagemaker', 'aws.sagemaker'],
  ['vertex_ai_beta', GCP_VERTEX_AI],
  ['mistral', MISTRAL_AI],
  ['codestral', MISTRAL_AI],
  ['watsonx', IBM_WATSONX_AI],
  ['watsonx_text', IBM_WATSONX_AI],
  ['text-completion-openai', OPENAI],
  ['cohere_chat', COHERE],
  // OpenInference `llm.provider` / `llm.system` values (`aws` and `google` are above).
  ['mistralai', MISTRAL_AI],
  ['moonshot', 'moonshot_ai'],
  ['vertexai', GCP_VERTEX_AI],
  // LangChain's `ls_provider`, which LangSmith writes as `gen_ai.system`: ChatGoogleGenerativeAI (the Gemini
  // API), ChatVertexAI, ChatAnthropicVertex, ChatBedrock / ChatBedrockConverse.
  ['google_genai', GCP_GEMINI],
  ['google_vertexai', GCP_VERTEX_AI],
  ['google_anthropic_vertex', GCP_VERTEX_AI],
  ['amazon_bedrock', AWS_BEDROCK],
  // Custom values that emitters already send in lower case; listed so their capitalised forms fold.
  ['openrouter', 'openrouter'],
]);

/**
 * Vercel AI SDK provider strings are `<provider>.<api>` (`openai.chat`, `anthropic.messages`,
 * `google.vertex.chat`), and name the platform first when it serves another vendor's model
 * (`bedrock.anthropic.messages`, `vertex.anthropic.messages`). Matched on the first two, then the first
 * dot-separated segment.
 */
export const PROVIDER_PREFIX_MAP: ReadonlyMap<string, string> = new Map([
  ['openai', OPENAI],
  ['anthropic', ANTHROPIC],
  ['google.vertex', GCP_VERTEX_AI],
  ['google-vertex', GCP_VERTEX_AI],
  ['vertex', GCP_VERTEX_AI],
  ['google.generative-ai', GCP_GEMINI],
  ['google', GCP_GEMINI],
  ['amazon-bedrock', AWS_BEDROCK],
  ['bedrock', AWS_BEDROCK],
  ['azure-openai', AZURE_AI_OPENAI],
  ['azure', AZURE_AI_INFERENCE],
  ['mistral', MISTRAL_AI],
  ['xai', X_AI],
  ['cohere', COHERE],
  ['groq', GROQ],
  ['deepseek', DEEPSEEK],
  ['perplexity', PERPLEXITY],
]);

/**
 * Maps any provider spelling to its `gen_ai.provider.name` value. Unknown values come back unchanged
 * (not even case-folded): semconv allows custom values and we must not invent one.
 */
export function normalizeProviderName(value: string): string {
  const lower = value.toLowerCase();
  const exact = PROVIDER_VALUE_MAP.get(lower);
  if (exact !== undefined) return exact;
  const dot = lower.indexOf('.');
  if (dot < 0) return PROVIDER_PREFIX_MAP.get(lower) ?? value;
  if (dot === 0) return value;
  const dot2 = lower.indexOf('.', dot + 1);
  if (dot2 > 0) {
    const two = PROVIDER_PREFIX_MAP.get(lower.slice(0, dot2));
    if (two !== undefined) return two;
  } else {
    // `google.generative-ai` has no third segment: it is its own two-segment prefix.
    const whole = PROVIDER_PREFIX_MAP.get(lower);
    if (whole !== undefined) return whole;
  }
  return PROVIDER_PREFIX_MAP.get(lower.slice(0, dot)) ?? value;
}

/**
 * Frameworks that some emitters write where a provider belongs (LangSmith: `gen_ai.system = langchain` on
 * chain and prompt spans). A framework calls no model by itself, so it is not mapped to
 * `gen_ai.provider.name`: the legacy key stays as it came.
 */
export const FRAMEWORK_NAMES: ReadonlySet<string> = new Set([
  'langchain',
  'langgraph',
  'llamaindex',
  'llama_index',
  'crewai',
  'autogen',
  'haystack',
  'semantic_kernel',
  'dspy',
]);

/** Whether a provider-like value names a framework, not a provider (see {@link FRAMEWORK_NAMES}). */
export function isFrameworkName(value: string): boolean {
  return FRAMEWORK_NAMES.has(value.toLowerCase());
}

/**
 * Instrumentations that name their provider more vaguely than they know it: each patches one provider's
 * clients only, so a span of theirs carrying the generic value is that provider's. By scope name: the generic
 * value they write, and the provider it stands for.
 */
export const SCOPE_PROVIDERS: ReadonlyMap<string, { readonly generic: string; readonly provider: string }> = new Map([
  // OpenLLMetry-JS writes gen_ai.system "Google" (→ gcp.gen_ai), but patches only Vertex AI's clients
  // (@google-cloud/vertexai, @google-cloud/aiplatform): npm 0.27.0 dist/index.js.
  ['@traceloop/instrumentation-vertexai', { generic: 'gcp.gen_ai', provider: 'gcp.vertex_ai' }],
]);

/** The provider a span of `scope` stands for, when its provider value is the scope's generic one. */
export function providerOfScope(provider: unknown, scopeName: string | undefined): string | undefined {
  if (scopeName === undefined) return undefined;
  const known = SCOPE_PROVIDERS.get(scopeName);
  return known !== undefined && provider === known.generic ? known.provider : undefined;
}
