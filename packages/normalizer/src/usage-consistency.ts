/*
 * Usage that hangs together. Semconv counts input *with* its cache reads and writes, and output *with* its
 * reasoning, so on a span that leaves:
 *
 *   cache read + cache creation ≤ input          reasoning ≤ output
 *
 * Emitters break this two ways. Anthropic's API counts input without the cache, and some emitters copy
 * that number as it is: when the input is smaller than the cache alone the cache was left out, and it is
 * added back (an input at least as large is ambiguous and stays). Any other contradiction says one of the
 * numbers is wrong without saying which: the detail counts (cache, reasoning) are taken off the span, as
 * telemetry that did not hold, and kept under `genai_enrich.telemetry_usage` — never estimated, never lost.
 */
import type { Attributes } from './types.js';
import {
  ATTR_GENAI_ENRICH_TELEMETRY_USAGE,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_TOTAL_TOKENS,
  GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC,
} from './semconv.js';
import { toTokenCount } from './usage.js';

/** Why telemetry's usage numbers were kept aside under `genai_enrich.telemetry_usage`. */
export type TelemetryUsageReason =
  /** The provider's own response (the HTTP usage tap) said otherwise; its numbers are on the span. */
  | 'provider_disagreed'
  /** The counts contradicted each other (cache > input, reasoning > output); the details were removed. */
  | 'inconsistent';

/**
 * Semconv: Anthropic input tokens MUST include cache reads and writes. When the input count is smaller
 * than the cache counts alone, the emitter left the cache out, so it is added back. Equal or larger is
 * ambiguous and left alone.
 */
export function includeAnthropicCache(attributes: Attributes): void {
  if (attributes[ATTR_GEN_AI_PROVIDER_NAME] !== GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC) return;
  const input = toTokenCount(attributes[ATTR_GEN_AI_USAGE_INPUT_TOKENS]);
  if (input === undefined) return;
  const cache =
    (toTokenCount(attributes[ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]) ?? 0) +
    (toTokenCount(attributes[ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS]) ?? 0);
  if (input >= cache) return;
  attributes[ATTR_GEN_AI_USAGE_INPUT_TOKENS] = input + cache;
  // A total the emitter computed from the same cache-less input is stale by the same amount.
  const total = toTokenCount(attributes[ATTR_GEN_AI_USAGE_TOTAL_TOKENS]);
  const output = toTokenCount(attributes[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]);
  if (total !== undefined && total === input + (output ?? 0)) {
    attributes[ATTR_GEN_AI_USAGE_TOTAL_TOKENS] = total + cache;
  }
}

/**
 * Makes the span's usage hang together (see the header): Anthropic's cache added back to its input, then
 * any detail count that contradicts its input or output moved to `genai_enrich.telemetry_usage`. Returns
 * whether it removed anything.
 */
export function settleUsage(attributes: Attributes): boolean {
  includeAnthropicCache(attributes);
  const removed: Record<string, number> = {};
  const input = toTokenCount(attributes[ATTR_GEN_AI_USAGE_INPUT_TOKENS]);
  const read = toTokenCount(attributes[ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]);
  const creation = toTokenCount(attributes[ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS]);
  if (input !== undefined && (read ?? 0) + (creation ?? 0) > input) {
    take(attributes, ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, read, removed);
    take(attributes, ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, creation, removed);
  }
  const output = toTokenCount(attributes[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]);
  const reasoning = toTokenCount(attributes[ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS]);
  if (output !== undefined && reasoning !== undefined && reasoning > output) {
    take(attributes, ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, reasoning, removed);
  }
  if (Object.keys(removed).length === 0) return false;
  keepTelemetryUsage(attributes, 'inconsistent', removed);
  return true;
}

/**
 * Keeps telemetry's usage numbers that the span no longer carries under `genai_enrich.telemetry_usage`,
 * one JSON object: `{"reason": …, "<usage key>": <count>, …}` plus any extra fields given (`estimate`).
 * A second call adds to the object; a reason already there stays.
 */
export function keepTelemetryUsage(
  attributes: Attributes,
  reason: TelemetryUsageReason,
  counts: Readonly<Record<string, number>>,
  extra?: Readonly<Record<string, string>>,
): void {
  let kept: Record<string, unknown> = {};
  const existing = attributes[ATTR_GENAI_ENRICH_TELEMETRY_USAGE];
  if (typeof existing === 'string') {
    try {
      const parsed: unknown = JSON.parse(existing);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
        kept = parsed as Record<string, unknown>;
    } catch {
      // Not ours: replaced below.
    }
  }
  attributes[ATTR_GENAI_ENRICH_TELEMETRY_USAGE] = JSON.stringify({ reason, ...extra, ...counts, ...kept });
}

function take(attributes: Attributes, key: string, value: number | undefined, into: Record<string, number>): void {
  if (value === undefined) return;
  into[key] = value;
  delete attributes[key];
}
