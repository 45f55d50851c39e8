/*
 * Provider usage objects → UsageCounts in GenAI semconv terms (input tokens include cached input).
 * Separate from the byte handling so that both the JSON.parse path and the streaming picker feed the
 * same rules.
 */
import { toTokenCount } from '@genai-enrich/normalizer';
import type { UsageCounts } from '@genai-enrich/normalizer';

/** What one usage object says, before it becomes a finding. */
export interface MappedUsage {
  usage: UsageCounts;
  totalTokens: number | undefined;
}

/** Anthropic's raw counts, kept apart so message_start and message_delta can be merged field by field. */
export interface AnthropicRaw {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheCreation?: number;
}

/** Longest id or model name taken; longer ones are treated as junk (the picker has the same bound). */
const MAX_NAME_LENGTH = 256;

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export function asName(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME_LENGTH ? value : undefined;
}

function hasCounts(usage: UsageCounts): boolean {
  return usage.inputTokens !== undefined || usage.outputTokens !== undefined;
}

/** Chat Completions and embeddings: prompt_tokens / completion_tokens (prompt already includes the cache). */
export function mapOpenAiChatUsage(value: unknown): MappedUsage | undefined {
  const u = asRecord(value);
  if (u === undefined) return undefined;
  const usage: UsageCounts = {};
  const input = toTokenCount(u['prompt_tokens']);
  if (input !== undefined) usage.inputTokens = input;
  const output = toTokenCount(u['completion_tokens']);
  if (output !== undefined) usage.outputTokens = output;
  const cached = toTokenCount(asRecord(u['prompt_tokens_details'])?.['cached_tokens']);
  if (cached !== undefined) usage.cacheReadInputTokens = cached;
  const reasoning = toTokenCount(asRecord(u['completion_tokens_details'])?.['reasoning_tokens']);
  if (reasoning !== undefined) usage.reasoningOutputTokens = reasoning;
  return hasCounts(usage) ? { usage, totalTokens: toTokenCount(u['total_tokens']) } : undefined;
}

/** Responses API: input_tokens / output_tokens (input already includes the cache). */
export function mapOpenAiResponsesUsage(value: unknown): MappedUsage | undefined {
  const u = asRecord(value);
  if (u === undefined) return undefined;
  const usage: UsageCounts = {};
  const input = toTokenCount(u['input_tokens']);
  if (input !== undefined) usage.inputTokens = input;
  const output = toTokenCount(u['output_tokens']);
  if (output !== undefined) usage.outputTokens = output;
  const cached = toTokenCount(asRecord(u['input_tokens_details'])?.['cached_tokens']);
  if (cached !== undefined) usage.cacheReadInputTokens = cached;
  const reasoning = toTokenCount(asRecord(u['output_tokens_details'])?.['reasoning_tokens']);
  if (reasoning !== undefined) usage.reasoningOutputTokens = reasoning;
  return hasCounts(usage) ? { usage, totalTokens: toTokenCount(u['total_tokens']) } : undefined;
}

/**
 * Reads Anthropic counts into `into`; a field that is absent, null or junk leaves the earlier value, so
 * a later message_delta overrides message_start only where it says something. Returns whether any count
 * was read.
 */
export function mergeAnthropicUsage(into: AnthropicRaw, value: unknown): boolean {
  const u = asRecord(value);
  if (u === undefined) return false;
  let any = false;
  const input = toTokenCount(u['input_tokens']);
  if (input !== undefined) {
    into.input = input;
    any = true;
  }
  const output = toTokenCount(u['output_tokens']);
  if (output !== undefined) {
    into.output = output;
    any = true;
  }
  const cacheRead = toTokenCount(u['cache_read_input_tokens']);
  if (cacheRead !== undefined) {
    into.cacheRead = cacheRead;
    any = true;
  }
  const cacheCreation = toTokenCount(u['cache_creation_input_tokens']);
  if (cacheCreation !== undefined) {
    into.cacheCreation = cacheCreation;
    any = true;
  }
  return any;
}

/** Anthropic's input_tokens leaves out cache reads and writes; semconv's input count includes them. */
export function anthropicUsage(raw: AnthropicRaw): MappedUsage | undefined {
  const usage: UsageCounts = {};
  if (raw.input !== undefined) {
    const total = raw.input + (raw.cacheRead ?? 0) + (raw.cacheCreation ?? 0);
    if (Number.isSafeInteger(total)) usage.inputTokens = total;
  }
  if (raw.output !== undefined) usage.outputTokens = raw.output;
  if (raw.cacheRead !== undefined) usage.cacheReadInputTokens = raw.cacheRead;
  if (raw.cacheCreation !== undefined) usage.cacheCreationInputTokens = raw.cacheCreation;
  return hasCounts(usage) ? { usage, totalTokens: undefined } : undefined;
}
