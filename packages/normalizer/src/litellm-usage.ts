/*
 * LiteLLM's OpenTelemetry callback writes only the prompt, completion and total tokens on its span; the cache
 * and reasoning counts are in `metadata.usage_object`, its Usage object as a Python repr (not JSON). Read
 * with python-literal.ts, it is a usage object of the mixed shape (OpenAI's keys plus Anthropic's cache
 * keys), and its missing counts fill the span's.
 *
 * LiteLLM has already made its counts semconv's (BerriAI/litellm@00145a6c): for Anthropic and Bedrock its
 * `prompt_tokens` is the API's input plus cache reads and writes, and for Gemini its `completion_tokens` is
 * the candidates plus the thoughts. So nothing is added here, and `genai_enrich.usage_adjusted` names what
 * LiteLLM added, as it does wherever the span's count is not the provider's own. Vertex AI serves both
 * Claude (whose counts LiteLLM adjusts like Anthropic's) and Gemini (whose prompt already holds the cache),
 * so a `gcp.vertex_ai` span gets no mark: the span does not say which model family answered.
 */
import type { AttributeValue } from './types.js';
import { extractProviderUsage, MAX_USAGE_JSON_LENGTH } from './usage.js';
import type { UsageCounts } from './usage.js';
import { parsePythonLiteral } from './python-literal.js';
import type { UsageAdjustment } from './usage-adjustments.js';
import {
  GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC,
  GEN_AI_PROVIDER_NAME_VALUE_AWS_BEDROCK,
  GEN_AI_PROVIDER_NAME_VALUE_GCP_GEMINI,
} from './semconv.js';

/** LiteLLM's Usage as a Python repr (its OpenTelemetry callback's `metadata.*` attributes). */
export const ATTR_LITELLM_USAGE_OBJECT = 'metadata.usage_object';

/** The usage in `metadata.usage_object`, and what LiteLLM added to the provider's counts; undefined if none. */
export function litellmUsage(
  value: AttributeValue | undefined,
  provider: AttributeValue | undefined,
): { usage: UsageCounts; adjusted: UsageAdjustment[] } | undefined {
  if (typeof value !== 'string' || value.length > MAX_USAGE_JSON_LENGTH || value.charCodeAt(0) !== 123 /* { */) {
    return undefined;
  }
  const found = extractProviderUsage(parsePythonLiteral(value));
  if (found === undefined) return undefined;
  const { usage } = found;
  const adjusted: UsageAdjustment[] = [];
  if (provider === GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC || provider === GEN_AI_PROVIDER_NAME_VALUE_AWS_BEDROCK) {
    if ((usage.cacheReadInputTokens ?? 0) > 0) adjusted.push('input+cache_read');
    if ((usage.cacheCreationInputTokens ?? 0) > 0) adjusted.push('input+cache_creation');
  } else if (provider === GEN_AI_PROVIDER_NAME_VALUE_GCP_GEMINI) {
    if ((usage.reasoningOutputTokens ?? 0) > 0) adjusted.push('output+reasoning');
  }
  return { usage, adjusted };
}
