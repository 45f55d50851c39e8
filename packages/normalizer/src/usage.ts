import type { AttributeValue } from './types.js';
import {
  ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
} from './semconv.js';

/**
 * Token counts in semconv terms: `inputTokens` includes cached input, `outputTokens` includes reasoning.
 * The same shape the processor's `recordUsage` takes.
 */
export interface UsageCounts {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadInputTokens?: number;
  cacheCreationInputTokens?: number;
  reasoningOutputTokens?: number;
}

/** The canonical attribute for each {@link UsageCounts} field, in a fixed order. */
export const USAGE_ATTRIBUTE_KEYS: Readonly<Record<keyof UsageCounts, string>> = Object.freeze({
  inputTokens: ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  outputTokens: ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  cacheReadInputTokens: ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  cacheCreationInputTokens: ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
  reasoningOutputTokens: ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
});

const USAGE_FIELDS = Object.keys(USAGE_ATTRIBUTE_KEYS) as Array<keyof UsageCounts>;

/** JSON bodies larger than this are not parsed for usage: a bound on work done per span. */
export const MAX_USAGE_JSON_LENGTH = 1 << 20;

/**
 * Reads a token count. Integers and integral floats pass, numeric strings (`"12"`, `" 12.0 "`) are
 * parsed, and anything else (negative, fractional, NaN, junk text, booleans, arrays) is `undefined`,
 * so a bad value is ignored instead of becoming NaN.
 */
export function toTokenCount(value: unknown): number | undefined {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string') {
    // Number('') and Number('  ') are 0; an empty string is junk, not zero tokens.
    if (value.length === 0 || value.length > 32 || value.trim().length === 0) return undefined;
    n = Number(value);
  } else return undefined;
  if (!Number.isFinite(n) || n < 0 || n > Number.MAX_SAFE_INTEGER || Math.floor(n) !== n) return undefined;
  return n;
}

function obj(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * Extracts usage from a provider's own usage object, whichever API produced it, and returns it in
 * semconv terms:
 * - OpenAI Chat Completions: `prompt_tokens`, `completion_tokens`, `prompt_tokens_details.cached_tokens`,
 *   `completion_tokens_details.reasoning_tokens` (prompt tokens already include the cache);
 * - OpenAI Responses: `input_tokens`, `output_tokens`, `input_tokens_details.cached_tokens`,
 *   `output_tokens_details.reasoning_tokens`;
 * - OpenAI embeddings: `prompt_tokens`;
 * - Anthropic Messages: `input_tokens` *excludes* `cache_read_input_tokens` and
 *   `cache_creation_input_tokens`, so they are added back, as semconv requires;
 * - Gemini: `promptTokenCount`, `candidatesTokenCount`, `cachedContentTokenCount`, `thoughtsTokenCount`
 *   (candidates exclude thoughts, so they are added).
 *
 * Accepts the usage object itself or a response/record that holds it under `usage` or `usageMetadata`.
 * Returns `undefined` when no count is found. Never throws.
 */
export function extractUsage(payload: unknown): UsageCounts | undefined {
  let u = obj(payload);
  if (u === undefined) return undefined;
  const nested = obj(u['usage']) ?? obj(u['usageMetadata']) ?? obj(obj(u['response'])?.['usage']);
  if (nested !== undefined) u = nested;
  const out: UsageCounts = {};
  const promptTokens = toTokenCount(u['prompt_tokens']);
  const inputTokens = toTokenCount(u['input_tokens']);
  const cacheRead = toTokenCount(u['cache_read_input_tokens']);
  const cacheCreation = toTokenCount(u['cache_creation_input_tokens']);
  if (promptTokens !== undefined) {
    out.inputTokens = promptTokens;
  } else if (inputTokens !== undefined) {
    // Anthropic's is the only API whose usage carries top-level cache counts beside an input count
    // that leaves them out.
    out.inputTokens = inputTokens + (cacheRead ?? 0) + (cacheCreation ?? 0);
  }
  const output = toTokenCount(u['completion_tokens']) ?? toTokenCount(u['output_tokens']);
  if (output !== undefined) out.outputTokens = output;
  const cached =
    toTokenCount(obj(u['prompt_tokens_details'])?.['cached_tokens']) ??
    toTokenCount(obj(u['input_tokens_details'])?.['cached_tokens']) ??
    cacheRead;
  if (cached !== undefined) out.cacheReadInputTokens = cached;
  if (cacheCreation !== undefined) out.cacheCreationInputTokens = cacheCreation;
  const reasoning =
    toTokenCount(obj(u['completion_tokens_details'])?.['reasoning_tokens']) ??
    toTokenCount(obj(u['output_tokens_details'])?.['reasoning_tokens']);
  if (reasoning !== undefined) out.reasoningOutputTokens = reasoning;

  const geminiPrompt = toTokenCount(u['promptTokenCount']);
  if (geminiPrompt !== undefined && out.inputTokens === undefined) {
    out.inputTokens = geminiPrompt;
    const thoughts = toTokenCount(u['thoughtsTokenCount']);
    const candidates = toTokenCount(u['candidatesTokenCount']);
    if (candidates !== undefined || thoughts !== undefined) out.outputTokens = (candidates ?? 0) + (thoughts ?? 0);
    if (thoughts !== undefined) out.reasoningOutputTokens = thoughts;
    const geminiCached = toTokenCount(u['cachedContentTokenCount']);
    if (geminiCached !== undefined) out.cacheReadInputTokens = geminiCached;
  }
  for (const field of USAGE_FIELDS) if (out[field] !== undefined) return out;
  return undefined;
}

/**
 * Parses a JSON string attribute (Logfire's `response_data`, `gen_ai.usage.raw`) and extracts usage
 * from it. Oversized or invalid JSON yields `undefined`.
 */
export function extractUsageFromJson(value: AttributeValue | undefined): UsageCounts | undefined {
  if (typeof value !== 'string' || value.length > MAX_USAGE_JSON_LENGTH || value.charCodeAt(0) !== 123 /* { */) {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  return extractUsage(parsed);
}
