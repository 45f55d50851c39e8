/*
 * The mapping table: every attribute key the normalizer reads, the canonical key it feeds and how its
 * value is transformed. One table, so the README's rule list and the code cannot drift apart; the
 * README table is checked against it by a test.
 *
 * `rank` orders the sources of one canonical key: 0 is the canonical key itself (always wins), then the
 * lower rank wins among legacy sources.
 */
import * as S from './semconv.js';

/** How a source value becomes a canonical value. */
export type ValueKind =
  | 'int' // token counts, seed, counts: integer, numeric strings parsed, junk ignored
  | 'number' // penalties, top_k: finite number, numeric strings parsed
  | 'string' // ids and names: non-empty string
  | 'model' // model names: a non-empty string, or a number written as one (OpenInference `llm.model_name: 42`)
  | 'json' // JSON-valued keys (tool definitions): a non-empty string, or a string[], kept as it is
  | 'string[]' // finish reasons, stop sequences: string[]; a string, or a JSON-string array, is wrapped/parsed
  | 'stream' // streaming flags: true / 'True' / 'true' → true; false-ish → mapped to "unset"
  | 'provider' // provider spellings → gen_ai.provider.name values
  | 'operation' // canonical `gen_ai.operation.name` values (LiteLLM writes call types into it)
  | 'request-type' // OpenLLMetry / LiteLLM `llm.request.type`
  | 'output-type' // OpenAI `response_format` → gen_ai.output.type
  | 'url'; // a base URL → its host (server.port is filled from the same URL)

export interface MappingRule {
  readonly source: string;
  readonly target: string;
  readonly kind: ValueKind;
  readonly rank: number;
  /** Who emits the source key; documentation only. */
  readonly emitters: string;
}

function rule(source: string, target: string, kind: ValueKind, rank: number, emitters: string): MappingRule {
  return { source, target, kind, rank, emitters };
}

const canonical = (key: string, kind: ValueKind): MappingRule => rule(key, key, kind, 0, 'semconv');

/** Every rule, canonical keys first (their values are cleaned in place), then legacy and vendor keys. */
export const MAPPING_RULES: readonly MappingRule[] = [
  // Canonical keys whose values arrive malformed (strings for numbers, JSON strings for arrays, vendor
  // provider spellings, LiteLLM call types as operation names).
  canonical(S.ATTR_GEN_AI_PROVIDER_NAME, 'provider'),
  canonical(S.ATTR_GEN_AI_OPERATION_NAME, 'operation'),
  canonical(S.ATTR_GEN_AI_USAGE_INPUT_TOKENS, 'int'),
  canonical(S.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, 'int'),
  canonical(S.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, 'int'),
  canonical(S.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, 'int'),
  canonical(S.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, 'int'),
  canonical(S.ATTR_GEN_AI_USAGE_TOTAL_TOKENS, 'int'),
  canonical(S.ATTR_GEN_AI_RESPONSE_FINISH_REASONS, 'string[]'),
  canonical(S.ATTR_GEN_AI_REQUEST_STOP_SEQUENCES, 'string[]'),
  canonical(S.ATTR_GEN_AI_REQUEST_STREAM, 'stream'),
  canonical(S.ATTR_GEN_AI_REQUEST_SEED, 'int'),
  canonical(S.ATTR_GEN_AI_REQUEST_CHOICE_COUNT, 'int'),
  canonical(S.ATTR_GEN_AI_REQUEST_MAX_TOKENS, 'int'),

  // Provider.
  rule(
    'gen_ai.system',
    S.ATTR_GEN_AI_PROVIDER_NAME,
    'provider',
    1,
    'OpenLLMetry ≤0.22 / Py pre-2026-03, LiteLLM, OTel openai-v2, Logfire, Vercel legacy',
  ),
  rule('llm.provider', S.ATTR_GEN_AI_PROVIDER_NAME, 'provider', 2, 'OpenInference'),
  rule('llm.system', S.ATTR_GEN_AI_PROVIDER_NAME, 'provider', 3, 'OpenInference'),
  rule('ai.model.provider', S.ATTR_GEN_AI_PROVIDER_NAME, 'provider', 4, 'Vercel AI SDK'),

  // Usage.
  rule(
    'gen_ai.usage.prompt_tokens',
    S.ATTR_GEN_AI_USAGE_INPUT_TOKENS,
    'int',
    1,
    'OpenLLMetry ≤0.22 / Py pre-2026-03, LiteLLM (old), Vercel ai@3.2',
  ),
  rule('llm.token_count.prompt', S.ATTR_GEN_AI_USAGE_INPUT_TOKENS, 'int', 2, 'OpenInference'),
  rule('ai.usage.inputTokens', S.ATTR_GEN_AI_USAGE_INPUT_TOKENS, 'int', 3, 'Vercel AI SDK ≥5'),
  rule('ai.usage.promptTokens', S.ATTR_GEN_AI_USAGE_INPUT_TOKENS, 'int', 4, 'Vercel AI SDK ≤4'),
  rule('ai.usage.tokens', S.ATTR_GEN_AI_USAGE_INPUT_TOKENS, 'int', 5, 'Vercel AI SDK embed'),
  rule('llm.usage.prompt_tokens', S.ATTR_GEN_AI_USAGE_INPUT_TOKENS, 'int', 6, 'OpenLLMetry Go, OpenLLMetry Py (old)'),
  rule(
    'gen_ai.usage.completion_tokens',
    S.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
    'int',
    1,
    'OpenLLMetry ≤0.22 / Py pre-2026-03, LiteLLM (old), Vercel ai@3.2',
  ),
  rule('llm.token_count.completion', S.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, 'int', 2, 'OpenInference'),
  rule('ai.usage.outputTokens', S.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, 'int', 3, 'Vercel AI SDK ≥5'),
  rule('ai.usage.completionTokens', S.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, 'int', 4, 'Vercel AI SDK ≤4'),
  rule(
    'llm.usage.completion_tokens',
    S.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
    'int',
    5,
    'OpenLLMetry Go, OpenLLMetry Py (old)',
  ),
  rule(
    'gen_ai.usage.cache_read_input_tokens',
    S.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    'int',
    1,
    'OpenLLMetry ≤0.22 / Py pre-2026-03, AWS Strands',
  ),
  rule(
    'llm.token_count.prompt_details.cache_read',
    S.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    'int',
    2,
    'OpenInference',
  ),
  rule(
    'ai.usage.inputTokenDetails.cacheReadTokens',
    S.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    'int',
    3,
    'Vercel AI SDK ≥6',
  ),
  rule('ai.usage.cachedInputTokens', S.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, 'int', 4, 'Vercel AI SDK 5'),
  rule(
    'llm.token_count.prompt_details.cache_input',
    S.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    'int',
    5,
    'OpenInference (older)',
  ),
  rule(
    'gen_ai.usage.cache_creation_input_tokens',
    S.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    'int',
    1,
    'OpenLLMetry ≤0.22 / Py pre-2026-03',
  ),
  rule(
    'gen_ai.usage.cache_write_input_tokens',
    S.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    'int',
    2,
    'AWS Strands',
  ),
  rule(
    'gen_ai.usage.cache_write.input_tokens',
    S.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    'int',
    3,
    'semantic-conventions-genai (unreleased rename)',
  ),
  rule(
    'llm.token_count.prompt_details.cache_write',
    S.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    'int',
    4,
    'OpenInference',
  ),
  rule(
    'ai.usage.inputTokenDetails.cacheWriteTokens',
    S.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    'int',
    5,
    'Vercel AI SDK ≥6',
  ),
  rule(
    'gen_ai.usage.reasoning_tokens',
    S.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    'int',
    1,
    'OpenLLMetry Py, @traceloop/ai-semantic-conventions',
  ),
  rule(
    'llm.usage.reasoning_tokens',
    S.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    'int',
    2,
    'OpenLLMetry Py pre-2026-03',
  ),
  rule(
    'gen_ai.usage.reasoning_output_tokens',
    S.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    'int',
    3,
    'seen in the wild',
  ),
  rule(
    'llm.token_count.completion_details.reasoning',
    S.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    'int',
    4,
    'OpenInference',
  ),
  rule(
    'ai.usage.outputTokenDetails.reasoningTokens',
    S.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    'int',
    5,
    'Vercel AI SDK ≥6',
  ),
  rule('ai.usage.reasoningTokens', S.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, 'int', 6, 'Vercel AI SDK 5'),
  rule(
    'llm.usage.total_tokens',
    S.ATTR_GEN_AI_USAGE_TOTAL_TOKENS,
    'int',
    1,
    'OpenLLMetry ≤0.22 / Py pre-2026-03, LiteLLM (old)',
  ),
  rule('llm.token_count.total', S.ATTR_GEN_AI_USAGE_TOTAL_TOKENS, 'int', 2, 'OpenInference'),
  rule('ai.usage.totalTokens', S.ATTR_GEN_AI_USAGE_TOTAL_TOKENS, 'int', 3, 'Vercel AI SDK'),

  // Request.
  rule('llm.request.model_name', S.ATTR_GEN_AI_REQUEST_MODEL, 'model', 1, 'OpenInference (semconv ≥2.12)'),
  // OpenInference overwrites llm.model_name with the response model once the call returns.
  rule('llm.model_name', S.ATTR_GEN_AI_REQUEST_MODEL, 'model', 2, 'OpenInference'),
  rule('ai.model.id', S.ATTR_GEN_AI_REQUEST_MODEL, 'model', 3, 'Vercel AI SDK'),
  rule('embedding.model_name', S.ATTR_GEN_AI_REQUEST_MODEL, 'model', 4, 'OpenInference embeddings'),
  rule('llm.request.model', S.ATTR_GEN_AI_REQUEST_MODEL, 'model', 5, 'OpenLLMetry Go, OpenLLMetry Py (old)'),
  rule('llm.request.temperature', S.ATTR_GEN_AI_REQUEST_TEMPERATURE, 'number', 1, 'OpenLLMetry Go, OpenLLMetry ≤0.22'),
  rule('llm.request.top_p', S.ATTR_GEN_AI_REQUEST_TOP_P, 'number', 1, 'OpenLLMetry Go, OpenLLMetry ≤0.22'),
  rule('llm.request.max_tokens', S.ATTR_GEN_AI_REQUEST_MAX_TOKENS, 'int', 1, 'OpenLLMetry Go, OpenLLMetry ≤0.22'),
  rule('llm.request.functions', S.ATTR_GEN_AI_TOOL_DEFINITIONS, 'json', 1, 'OpenLLMetry Go, OpenLLMetry ≤0.22'),
  rule(
    'llm.request.type',
    S.ATTR_GEN_AI_OPERATION_NAME,
    'request-type',
    1,
    'OpenLLMetry ≤0.22 / Py pre-2026-03, LiteLLM',
  ),
  rule(
    'llm.is_streaming',
    S.ATTR_GEN_AI_REQUEST_STREAM,
    'stream',
    1,
    'LiteLLM ("True"/"False"), OpenLLMetry Py pre-2026-03',
  ),
  rule('gen_ai.is_streaming', S.ATTR_GEN_AI_REQUEST_STREAM, 'stream', 2, 'OpenLLMetry Py'),
  rule(
    'gen_ai.openai.request.seed',
    S.ATTR_GEN_AI_REQUEST_SEED,
    'int',
    1,
    'OTel openai-v2 (default mode), OpenLLMetry',
  ),
  rule('gen_ai.request.n', S.ATTR_GEN_AI_REQUEST_CHOICE_COUNT, 'int', 1, 'OpenLLMetry'),
  rule('llm.top_k', S.ATTR_GEN_AI_REQUEST_TOP_K, 'number', 1, 'OpenLLMetry ≤0.22'),
  rule('llm.frequency_penalty', S.ATTR_GEN_AI_REQUEST_FREQUENCY_PENALTY, 'number', 1, 'OpenLLMetry ≤0.22'),
  rule('llm.presence_penalty', S.ATTR_GEN_AI_REQUEST_PRESENCE_PENALTY, 'number', 1, 'OpenLLMetry ≤0.22'),
  rule('llm.chat.stop_sequences', S.ATTR_GEN_AI_REQUEST_STOP_SEQUENCES, 'string[]', 1, 'OpenLLMetry'),
  rule(
    'gen_ai.openai.request.response_format',
    S.ATTR_GEN_AI_OUTPUT_TYPE,
    'output-type',
    1,
    'OTel openai-v2 (default mode)',
  ),
  rule(
    'gen_ai.openai.request.service_tier',
    S.ATTR_OPENAI_REQUEST_SERVICE_TIER,
    'string',
    1,
    'OTel openai-v2 (default mode)',
  ),
  rule('gen_ai.openai.api_base', S.ATTR_SERVER_ADDRESS, 'url', 1, 'OpenLLMetry Py, LiteLLM (old)'),

  // Response.
  rule('ai.response.id', S.ATTR_GEN_AI_RESPONSE_ID, 'string', 1, 'Vercel AI SDK'),
  rule('llm.response.model_name', S.ATTR_GEN_AI_RESPONSE_MODEL, 'model', 1, 'OpenInference (semconv ≥2.12)'),
  rule('ai.response.model', S.ATTR_GEN_AI_RESPONSE_MODEL, 'model', 2, 'Vercel AI SDK'),
  rule('llm.response.model', S.ATTR_GEN_AI_RESPONSE_MODEL, 'model', 3, 'OpenLLMetry Go, OpenLLMetry Py (old)'),
  rule(
    'gen_ai.response.finish_reason',
    S.ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
    'string[]',
    1,
    'seen in the wild (OpenLLMetry Py writes it on metrics only)',
  ),
  rule('llm.finish_reason', S.ATTR_GEN_AI_RESPONSE_FINISH_REASONS, 'string[]', 2, 'OpenInference'),
  rule('llm.response.finish_reason', S.ATTR_GEN_AI_RESPONSE_FINISH_REASONS, 'string[]', 3, 'OpenLLMetry (old)'),
  rule('ai.response.finishReason', S.ATTR_GEN_AI_RESPONSE_FINISH_REASONS, 'string[]', 4, 'Vercel AI SDK'),
  rule('llm.response.stop_reason', S.ATTR_GEN_AI_RESPONSE_FINISH_REASONS, 'string[]', 5, 'OpenLLMetry (old)'),

  // Agents and tools: OpenInference's keys (on its AGENT and TOOL spans, and tool calls in messages).
  rule('agent.name', S.ATTR_GEN_AI_AGENT_NAME, 'string', 1, 'OpenInference'),
  rule('tool.name', S.ATTR_GEN_AI_TOOL_NAME, 'string', 1, 'OpenInference'),
  rule('tool.description', S.ATTR_GEN_AI_TOOL_DESCRIPTION, 'string', 1, 'OpenInference'),
  rule('tool_call.id', S.ATTR_GEN_AI_TOOL_CALL_ID, 'string', 1, 'OpenInference'),
  rule('tool_call.function.arguments', S.ATTR_GEN_AI_TOOL_CALL_ARGUMENTS, 'string', 1, 'OpenInference'),
  rule(
    'gen_ai.openai.response.service_tier',
    S.ATTR_OPENAI_RESPONSE_SERVICE_TIER,
    'string',
    1,
    'OTel openai-v2 (default mode)',
  ),
  rule(
    'gen_ai.openai.response.system_fingerprint',
    S.ATTR_OPENAI_RESPONSE_SYSTEM_FINGERPRINT,
    'string',
    1,
    'OTel openai-v2 (default mode), OpenLLMetry Py',
  ),
  rule('gen_ai.openai.system_fingerprint', S.ATTR_OPENAI_RESPONSE_SYSTEM_FINGERPRINT, 'string', 2, 'LiteLLM (old)'),
];

/** {@link MAPPING_RULES} by source key. */
export const RULES_BY_SOURCE: ReadonlyMap<string, MappingRule> = new Map(MAPPING_RULES.map((r) => [r.source, r]));

/** OpenLLMetry's `llm.request.type` values and LiteLLM call types → `gen_ai.operation.name`. */
export const REQUEST_TYPE_MAP: ReadonlyMap<string, string> = new Map([
  ['chat', S.GEN_AI_OPERATION_NAME_VALUE_CHAT],
  // `completion` is a chat call for LiteLLM (litellm.completion()) and for OpenLLMetry's Anthropic,
  // Bedrock, Vertex AI and Gemini instrumentations; only OpenLLMetry's OpenAI `openai.completion` spans are
  // the legacy text-completions API. normalizeAttributes turns it into text_completion on those alone.
  ['completion', S.GEN_AI_OPERATION_NAME_VALUE_CHAT],
  ['embedding', S.GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS],
  ['embeddings', S.GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS],
  ['acompletion', S.GEN_AI_OPERATION_NAME_VALUE_CHAT],
  ['text_completion', S.GEN_AI_OPERATION_NAME_VALUE_TEXT_COMPLETION],
  ['atext_completion', S.GEN_AI_OPERATION_NAME_VALUE_TEXT_COMPLETION],
  ['aembedding', S.GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS],
  ['responses', S.GEN_AI_OPERATION_NAME_VALUE_CHAT],
  ['aresponses', S.GEN_AI_OPERATION_NAME_VALUE_CHAT],
  ['anthropic_messages', S.GEN_AI_OPERATION_NAME_VALUE_CHAT],
  ['image_generation', S.GEN_AI_OPERATION_NAME_VALUE_IMAGE_GENERATION],
  ['aimage_generation', S.GEN_AI_OPERATION_NAME_VALUE_IMAGE_GENERATION],
]);

/**
 * Non-canonical values found in `gen_ai.operation.name` itself: LiteLLM writes the call type there for
 * every call type but `completion`. Canonical values are not listed and pass through.
 */
export const OPERATION_VALUE_MAP: ReadonlyMap<string, string> = new Map([
  ['acompletion', S.GEN_AI_OPERATION_NAME_VALUE_CHAT],
  ['embedding', S.GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS],
  ['aembedding', S.GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS],
  ['atext_completion', S.GEN_AI_OPERATION_NAME_VALUE_TEXT_COMPLETION],
  ['responses', S.GEN_AI_OPERATION_NAME_VALUE_CHAT],
  ['aresponses', S.GEN_AI_OPERATION_NAME_VALUE_CHAT],
  ['anthropic_messages', S.GEN_AI_OPERATION_NAME_VALUE_CHAT],
  ['aimage_generation', S.GEN_AI_OPERATION_NAME_VALUE_IMAGE_GENERATION],
]);

/** OpenAI `response_format` types → `gen_ai.output.type`. */
export const OUTPUT_TYPE_MAP: ReadonlyMap<string, string> = new Map([
  ['text', S.GEN_AI_OUTPUT_TYPE_VALUE_TEXT],
  ['json_object', S.GEN_AI_OUTPUT_TYPE_VALUE_JSON],
  ['json_schema', S.GEN_AI_OUTPUT_TYPE_VALUE_JSON],
]);

/** Vercel AI SDK `ai.operationId` suffixes of provider calls, the only Vercel spans that are inference spans. */
export const VERCEL_PROVIDER_CALL_OPERATIONS: ReadonlyMap<string, string> = new Map([
  ['.doGenerate', S.GEN_AI_OPERATION_NAME_VALUE_CHAT],
  ['.doStream', S.GEN_AI_OPERATION_NAME_VALUE_CHAT],
  ['.doEmbed', S.GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS],
]);

/** The Vercel AI SDK's operation id attribute, and its fallback in older versions. */
export const ATTR_AI_OPERATION_ID = 'ai.operationId';
export const ATTR_OPERATION_NAME = 'operation.name';
/** Logfire's JSON-string attributes that hold provider usage. */
export const ATTR_LOGFIRE_RESPONSE_DATA = 'response_data';
export const ATTR_LOGFIRE_USAGE_RAW = 'gen_ai.usage.raw';
