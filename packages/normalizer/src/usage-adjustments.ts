/*
 * The mark a span carries when its usage is not the provider's number as it came: some APIs leave part of
 * what the conventions count out of their input or output count, and the normalizer (or the processor, for
 * usage read off the wire) adds it back:
 *
 *   Anthropic, Bedrock   input_tokens / inputTokens + cache reads + cache writes        → input+cache_read, input+cache_creation
 *   Gemini, Vertex AI    promptTokenCount + toolUsePromptTokenCount                      → input+tool_use_prompt
 *                        candidatesTokenCount + thoughtsTokenCount                       → output+reasoning
 *
 * `genai_enrich.usage_adjusted` lists what was added (a string[]), so a consumer that adds the cache back
 * itself, as semconv-unaware cost tools do, can tell that it must not, and anyone can get the provider's own
 * number back by subtracting the named counts (cache and reasoning are on the span; the tool-use prompt has
 * no semconv key and is only named).
 */
import type { Attributes } from './types.js';
import type { ProviderCountName } from './provider-usage.js';
import { ATTR_GEN_AI_USAGE_INPUT_TOKENS, ATTR_GEN_AI_USAGE_OUTPUT_TOKENS } from './semconv.js';

/** genai-enrich's own attribute: what was added to the provider's input or output count (string[]). */
export const ATTR_GENAI_ENRICH_USAGE_ADJUSTED = 'genai_enrich.usage_adjusted';

/** One entry of `genai_enrich.usage_adjusted`: `<semconv count>+<what was added to it>`. */
export type UsageAdjustment =
  | 'input+cache_read'
  | 'input+cache_creation'
  | 'input+tool_use_prompt'
  | 'output+reasoning'
  | `${'input' | 'output'}+${string}`;

const COUNT_NAMES: Readonly<Partial<Record<ProviderCountName, string>>> = {
  cacheRead: 'cache_read',
  cacheCreation: 'cache_creation',
  reasoning: 'reasoning',
  toolUsePrompt: 'tool_use_prompt',
};

/** The adjustment for `name` added to `side`. */
export function adjustmentOf(side: 'input' | 'output', name: ProviderCountName): UsageAdjustment {
  return `${side}+${COUNT_NAMES[name] ?? name}`;
}

/**
 * Adds `adjusted` to the span's `genai_enrich.usage_adjusted`, each entry only when the span's count on its
 * side is the adjusted count `usage` has: then that count is the provider's own plus the named one, whoever
 * wrote it (an emitter that added the cache itself gets the same mark). A different count the emitter set,
 * and kept, says nothing about it. Entries already there stay; nothing is written twice. Returns whether it
 * wrote anything.
 */
export function markUsageAdjusted(
  attributes: Attributes,
  adjusted: readonly UsageAdjustment[] | undefined,
  usage: { inputTokens?: number; outputTokens?: number },
): boolean {
  if (adjusted === undefined || adjusted.length === 0) return false;
  const existing = attributes[ATTR_GENAI_ENRICH_USAGE_ADJUSTED];
  const marks: string[] = Array.isArray(existing) ? existing.filter((v): v is string => typeof v === 'string') : [];
  let wrote = false;
  for (const entry of adjusted) {
    const input = entry.startsWith('input+');
    const key = input ? ATTR_GEN_AI_USAGE_INPUT_TOKENS : ATTR_GEN_AI_USAGE_OUTPUT_TOKENS;
    const count = input ? usage.inputTokens : usage.outputTokens;
    if (count === undefined || attributes[key] !== count || marks.includes(entry)) continue;
    marks.push(entry);
    wrote = true;
  }
  if (wrote) attributes[ATTR_GENAI_ENRICH_USAGE_ADJUSTED] = marks;
  return wrote;
}
