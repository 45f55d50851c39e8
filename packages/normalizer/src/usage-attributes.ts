/*
 * Token usage as span attributes: the one place that reads `gen_ai.usage.*` counts out of an attribute map
 * and writes them into one. The normalizer fills counts it found in vendor JSON; the processor writes usage
 * that arrived late (another span, an event, `recordUsage`, the HTTP usage tap) and moves usage off a
 * carrier span. They differ only in which keys a write may take:
 *
 *   applyUsage        a key with no value at all          (what the emitter wrote, even junk, stays as it came)
 *   applyLateUsage    a key without a valid count, and placeholder zeros when the span reports no usage
 *   fillMissingUsage  a key without a valid count, and only with a positive count (the emitter's counts win)
 *   replaceUsage      every key the new usage has          (the provider's bill over telemetry's numbers)
 *
 * The total (`gen_ai.usage.total_tokens`) is billed usage too, but not a `UsageCounts` field: the functions
 * that move late usage take it beside the counts, under the same rule.
 */
import type { Attributes } from './types.js';
import {
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_TOTAL_TOKENS,
} from './semconv.js';
import { USAGE_ATTRIBUTE_KEYS, toTokenCount } from './usage.js';
import type { UsageCounts } from './usage.js';
import { ATTR_GENAI_ENRICH_USAGE_ADJUSTED, markUsageAdjusted } from './usage-adjustments.js';
import type { UsageAdjustment } from './usage-adjustments.js';

const USAGE_FIELDS = Object.keys(USAGE_ATTRIBUTE_KEYS) as Array<keyof UsageCounts>;

/** Every `gen_ai.usage.*` key a span's billed usage can sit under: the `UsageCounts` keys and the total. */
export const USAGE_KEYS: readonly string[] = Object.freeze([
  ...USAGE_FIELDS.map((field) => USAGE_ATTRIBUTE_KEYS[field]),
  ATTR_GEN_AI_USAGE_TOTAL_TOKENS,
]);

/** Whether `key` is one of {@link USAGE_KEYS}. */
export function isUsageKey(key: string): boolean {
  return USAGE_KEY_SET.has(key);
}
const USAGE_KEY_SET: ReadonlySet<string> = new Set(USAGE_KEYS);

/**
 * Whether the attributes report usage: a positive input or output count. Zeros are placeholders that some
 * emitters write before the usage is known, so a span with only zeros has no usage yet.
 */
export function hasUsage(attributes: Attributes): boolean {
  return (
    (toTokenCount(attributes[ATTR_GEN_AI_USAGE_INPUT_TOKENS]) ?? 0) > 0 ||
    (toTokenCount(attributes[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]) ?? 0) > 0
  );
}

/** Reads the canonical `gen_ai.usage.*` counts of an attribute map; junk values are left out. */
export function readUsage(attributes: Attributes): UsageCounts {
  const out: UsageCounts = {};
  for (const field of USAGE_FIELDS) {
    const n = toTokenCount(attributes[USAGE_ATTRIBUTE_KEYS[field]]);
    if (n !== undefined) out[field] = n;
  }
  return out;
}

/** The valid counts of an untrusted usage object (`recordUsage`, a tap report), or undefined when it has none. */
export function toUsageCounts(usage: unknown): UsageCounts | undefined {
  if (usage === null || typeof usage !== 'object') return undefined;
  const source = usage as Record<string, unknown>;
  const out: UsageCounts = {};
  let any = false;
  for (const field of USAGE_FIELDS) {
    const n = toTokenCount(source[field]);
    if (n !== undefined) {
      out[field] = n;
      any = true;
    }
  }
  return any ? out : undefined;
}

/** Writes usage counts as canonical attributes into `target`, skipping any key already present. */
export function applyUsage(target: Attributes, usage: UsageCounts): void {
  for (const field of USAGE_FIELDS) {
    const n = toTokenCount(usage[field]);
    const key = USAGE_ATTRIBUTE_KEYS[field];
    if (n !== undefined && target[key] === undefined) target[key] = n;
  }
}

/**
 * Writes usage that arrived after the span's own telemetry. A key keeps the count the emitter set, unless
 * that is no valid count (unset, null — SDK 3.x keeps nulls — or junk), or a zero while the span reports no
 * usage (a placeholder). `totalTokens`, when given, follows the same rule. Returns how many keys it wrote.
 */
export function applyLateUsage(target: Attributes, usage: UsageCounts, totalTokens?: number): number {
  const placeholders = !hasUsage(target);
  let written = 0;
  for (const field of USAGE_FIELDS) {
    const value = toTokenCount(usage[field]);
    if (value !== undefined && takesLateCount(target[USAGE_ATTRIBUTE_KEYS[field]], placeholders)) {
      target[USAGE_ATTRIBUTE_KEYS[field]] = value;
      written++;
    }
  }
  const total = toTokenCount(totalTokens);
  if (total !== undefined && takesLateCount(target[ATTR_GEN_AI_USAGE_TOTAL_TOKENS], placeholders)) {
    target[ATTR_GEN_AI_USAGE_TOTAL_TOKENS] = total;
    written++;
  }
  return written;
}

function takesLateCount(current: unknown, placeholders: boolean): boolean {
  return toTokenCount(current) === undefined || (placeholders && current === 0);
}

/**
 * Fills only the counts `target` lacks (no valid count), and only with positive counts: a zero detail (no
 * cache, no reasoning) says nothing the missing key does not. Returns how many keys it wrote.
 */
export function fillMissingUsage(target: Attributes, usage: UsageCounts): number {
  let written = 0;
  for (const field of USAGE_FIELDS) {
    const value = toTokenCount(usage[field]);
    const key = USAGE_ATTRIBUTE_KEYS[field];
    if (value !== undefined && value > 0 && toTokenCount(target[key]) === undefined) {
      target[key] = value;
      written++;
    }
  }
  return written;
}

/**
 * Moves a carrier's usage (a later span of the same call) to `target` with {@link applyLateUsage}, total
 * included, and removes every usage key from the carrier, so that the trace counts the call once. The
 * carrier's `genai_enrich.usage_adjusted` describes the counts it carried, so it goes with them: each entry
 * lands on the target when the target's count on its side is now the carrier's (the mark never describes a
 * count the target kept of its own), and none stays on the carrier.
 */
export function moveUsage(carrier: Attributes, target: Attributes): void {
  const usage = readUsage(carrier);
  applyLateUsage(target, usage, toTokenCount(carrier[ATTR_GEN_AI_USAGE_TOTAL_TOKENS]));
  for (const key of USAGE_KEYS) delete carrier[key];
  const marks = carrier[ATTR_GENAI_ENRICH_USAGE_ADJUSTED];
  if (marks === undefined) return;
  delete carrier[ATTR_GENAI_ENRICH_USAGE_ADJUSTED];
  if (!Array.isArray(marks)) return;
  const entries = marks.filter((v): v is UsageAdjustment => typeof v === 'string');
  markUsageAdjusted(target, entries, usage);
}

/**
 * Writes every count `usage` has, over whatever `target` holds: the provider's own numbers, which win over
 * telemetry's. The total takes `totalTokens` when given; a total the provider did not give that no longer
 * equals input + output is removed (it was computed from the numbers just replaced). Returns the usage keys
 * `target` held before, with their valid counts, for the caller to keep.
 */
export function replaceUsage(target: Attributes, usage: UsageCounts, totalTokens?: number): Record<string, number> {
  const before: Record<string, number> = {};
  for (const key of USAGE_KEYS) {
    const n = toTokenCount(target[key]);
    if (n !== undefined) before[key] = n;
  }
  for (const field of USAGE_FIELDS) {
    const n = toTokenCount(usage[field]);
    if (n !== undefined) target[USAGE_ATTRIBUTE_KEYS[field]] = n;
  }
  const total = toTokenCount(totalTokens);
  if (total !== undefined) target[ATTR_GEN_AI_USAGE_TOTAL_TOKENS] = total;
  else if (before[ATTR_GEN_AI_USAGE_TOTAL_TOKENS] !== undefined) {
    const sum =
      (toTokenCount(target[ATTR_GEN_AI_USAGE_INPUT_TOKENS]) ?? 0) +
      (toTokenCount(target[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]) ?? 0);
    if (sum !== before[ATTR_GEN_AI_USAGE_TOTAL_TOKENS]) delete target[ATTR_GEN_AI_USAGE_TOTAL_TOKENS];
  }
  return before;
}

/** Whether `usage` (and `totalTokens`) differ from `target`'s valid counts on any count both have. */
export function usageDiffers(target: Attributes, usage: UsageCounts, totalTokens?: number): boolean {
  for (const field of USAGE_FIELDS) {
    const theirs = toTokenCount(usage[field]);
    const ours = toTokenCount(target[USAGE_ATTRIBUTE_KEYS[field]]);
    if (theirs !== undefined && ours !== undefined && theirs !== ours) return true;
  }
  const total = toTokenCount(totalTokens);
  const ours = toTokenCount(target[ATTR_GEN_AI_USAGE_TOTAL_TOKENS]);
  return total !== undefined && ours !== undefined && total !== ours;
}

/** Where a span's usage goes when it repeats usage counted on other spans: `genai_enrich.repeated_usage.*`. */
export const REPEATED_USAGE_PREFIX = 'genai_enrich.repeated_usage.';
/** Why a span's usage was set aside: `descendants` (it sums the calls below it) or `twin` (a second span of one call). */
export const ATTR_USAGE_REPEATS = 'genai_enrich.usage_repeats';

/**
 * Sets a span's usage aside because other spans of the trace already count it: every `gen_ai.usage.X` key
 * moves to `genai_enrich.repeated_usage.X`, and `genai_enrich.usage_repeats` says why. Nothing is lost: a
 * consumer that wants per-agent totals reads them there.
 */
export function setAsideRepeatedUsage(attributes: Attributes, reason: 'descendants' | 'twin'): void {
  for (const key of USAGE_KEYS) {
    const value = attributes[key];
    if (value === undefined) continue;
    attributes[REPEATED_USAGE_PREFIX + key.slice('gen_ai.usage.'.length)] = value;
    delete attributes[key];
  }
  attributes[ATTR_USAGE_REPEATS] = reason;
}
