/*
 * Usage that hangs together. Semconv counts input *with* its cache reads and writes, and output *with* its
 * reasoning, so on a span that leaves:
 *
 *   cache read + cache creation ≤ input          reasoning ≤ output
 *
 * Emitters break this two ways. Some APIs leave a detail out of their count (Anthropic's and Bedrock's input
 * the cache, Gemini's output the thoughts), and some emitters copy that number as it is: when the count is
 * smaller than the detail alone the detail was left out, and it is added back, with a mark
 * (`genai_enrich.usage_adjusted`, usage-adjustments.ts); a count at least as large is ambiguous and stays,
 * unless the span's instrumentation scope is a version known to leave the cache out (CACHE_EXCLUDING_EMITTERS).
 * Any other contradiction says one of the numbers is wrong without saying which: the detail counts (cache, reasoning) are taken off the span, as
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
  GEN_AI_PROVIDER_NAME_VALUE_AWS_BEDROCK,
  GEN_AI_PROVIDER_NAME_VALUE_GCP_GEMINI,
  GEN_AI_PROVIDER_NAME_VALUE_GCP_GEN_AI,
  GEN_AI_PROVIDER_NAME_VALUE_GCP_VERTEX_AI,
} from './semconv.js';
import { toTokenCount } from './usage.js';
import { ATTR_GENAI_ENRICH_USAGE_ADJUSTED, markUsageAdjusted } from './usage-adjustments.js';
import type { UsageAdjustment } from './usage-adjustments.js';

/** Why telemetry's usage numbers were kept aside under `genai_enrich.telemetry_usage`. */
export type TelemetryUsageReason =
  /** The provider's own response (the HTTP usage tap) said otherwise; its numbers are on the span. */
  | 'provider_disagreed'
  /** The counts contradicted each other (cache > input, reasoning > output); the details were removed. */
  | 'inconsistent';

/**
 * Providers whose API counts input without its cache reads and writes (Anthropic, Bedrock, and Claude on
 * Vertex AI, which answers in Anthropic's shape), and whose emitters may copy that count as it is.
 */
export const CACHE_EXCLUDING_PROVIDERS: ReadonlySet<string> = new Set([
  GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC,
  GEN_AI_PROVIDER_NAME_VALUE_AWS_BEDROCK,
  GEN_AI_PROVIDER_NAME_VALUE_GCP_VERTEX_AI,
]);

/** Providers whose API counts output without its reasoning (Gemini's candidates leave out the thoughts). */
export const REASONING_EXCLUDING_PROVIDERS: ReadonlySet<string> = new Set([
  GEN_AI_PROVIDER_NAME_VALUE_GCP_GEMINI,
  GEN_AI_PROVIDER_NAME_VALUE_GCP_VERTEX_AI,
  GEN_AI_PROVIDER_NAME_VALUE_GCP_GEN_AI,
]);

/** The instrumentation scope (name and version) that emitted a span, as OTLP and the SDKs carry it. */
export interface EmitterScope {
  readonly name: string;
  readonly version?: string;
}

/**
 * Instrumentations known to copy Anthropic's `input_tokens` (without the cache) to `gen_ai.usage.input_tokens`
 * while also writing the cache counts, up to and including `through` (the newest version checked). Their
 * input gets the cache added back even when it is larger than the cache, where the attributes alone are
 * ambiguous. Newer versions may count it in, so they are left to the attribute rule.
 */
export const CACHE_EXCLUDING_EMITTERS: readonly { readonly scope: string; readonly through: string }[] = [
  // npm 0.27.0 dist/index.js _endSpan: input_tokens as the API sent it, cache_read/cache_creation beside it.
  { scope: '@traceloop/instrumentation-anthropic', through: '0.27.0' },
];

/** Whether the scope is one of {@link CACHE_EXCLUDING_EMITTERS} at a version it names. */
export function emitterExcludesCache(scope: EmitterScope | undefined): boolean {
  if (scope === undefined || typeof scope.name !== 'string') return false;
  for (const known of CACHE_EXCLUDING_EMITTERS) {
    if (scope.name === known.scope && versionAtMost(scope.version, known.through)) return true;
  }
  return false;
}

/** `version` ≤ `through`, both `major.minor.patch` (a pre-release or build suffix is ignored); false if unreadable. */
function versionAtMost(version: string | undefined, through: string): boolean {
  if (typeof version !== 'string') return false;
  const a = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  const b = /^(\d+)\.(\d+)\.(\d+)/.exec(through);
  if (a === null || b === null) return false;
  for (let i = 1; i <= 3; i++) {
    const x = Number(a[i]);
    const y = Number(b[i]);
    if (x !== y) return x < y;
  }
  return true;
}

/** Whether {@link includeExcludedUsage} may change a span of this provider (a `gen_ai.provider.name` value). */
export function mayExcludeUsage(provider: string): boolean {
  return CACHE_EXCLUDING_PROVIDERS.has(provider) || REASONING_EXCLUDING_PROVIDERS.has(provider);
}

/**
 * Semconv counts input with its cache and output with its reasoning, and says so explicitly for Anthropic.
 * For a provider whose API leaves them out ({@link CACHE_EXCLUDING_PROVIDERS},
 * {@link REASONING_EXCLUDING_PROVIDERS}): an input count smaller than the cache counts alone, or an output
 * count smaller than the reasoning count, is the API's own number copied as it came, so the detail is added
 * back and `genai_enrich.usage_adjusted` says so. Equal or larger is ambiguous and left alone, unless the
 * span's instrumentation `scope` is one of {@link CACHE_EXCLUDING_EMITTERS}.
 */
export function includeExcludedUsage(attributes: Attributes, scope?: EmitterScope): void {
  const provider = attributes[ATTR_GEN_AI_PROVIDER_NAME];
  if (typeof provider !== 'string') return;
  if (CACHE_EXCLUDING_PROVIDERS.has(provider)) {
    const read = toTokenCount(attributes[ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]) ?? 0;
    const creation = toTokenCount(attributes[ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS]) ?? 0;
    const marks: UsageAdjustment[] = [];
    if (read > 0) marks.push('input+cache_read');
    if (creation > 0) marks.push('input+cache_creation');
    // An emitter known to leave the cache out: added back whatever the sizes, once (the mark says it was).
    const known = emitterExcludesCache(scope) && !isMarked(attributes, CACHE_MARKS);
    addBack(attributes, ATTR_GEN_AI_USAGE_INPUT_TOKENS, ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, read + creation, marks, known);
  }
  if (REASONING_EXCLUDING_PROVIDERS.has(provider)) {
    const reasoning = toTokenCount(attributes[ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS]) ?? 0;
    addBack(attributes, ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, ATTR_GEN_AI_USAGE_INPUT_TOKENS, reasoning, [
      'output+reasoning',
    ]);
  }
}

const CACHE_MARKS: readonly string[] = ['input+cache_read', 'input+cache_creation'];

/** Whether `genai_enrich.usage_adjusted` already names one of `marks`. */
function isMarked(attributes: Attributes, marks: readonly string[]): boolean {
  const existing = attributes[ATTR_GENAI_ENRICH_USAGE_ADJUSTED];
  return Array.isArray(existing) && existing.some((v) => typeof v === 'string' && marks.includes(v));
}

/**
 * Adds `detail` to the count at `key` when that count is smaller than it, or whatever its size when the
 * emitter is `known` to leave it out; see {@link includeExcludedUsage}.
 */
function addBack(
  attributes: Attributes,
  key: string,
  otherKey: string,
  detail: number,
  marks: UsageAdjustment[],
  known = false,
): void {
  const count = toTokenCount(attributes[key]);
  if (count === undefined || detail <= 0 || (!known && count >= detail) || !Number.isSafeInteger(count + detail)) {
    return;
  }
  attributes[key] = count + detail;
  // A total the emitter computed from the same count is stale by the same amount.
  const total = toTokenCount(attributes[ATTR_GEN_AI_USAGE_TOTAL_TOKENS]);
  const other = toTokenCount(attributes[otherKey]);
  if (total !== undefined && total === count + (other ?? 0)) {
    attributes[ATTR_GEN_AI_USAGE_TOTAL_TOKENS] = total + detail;
  }
  const update: { inputTokens?: number; outputTokens?: number } =
    key === ATTR_GEN_AI_USAGE_INPUT_TOKENS ? { inputTokens: count + detail } : { outputTokens: count + detail };
  markUsageAdjusted(attributes, marks, update);
}

/**
 * Semconv: Anthropic input tokens MUST include cache reads and writes. The rule of
 * {@link includeExcludedUsage}, which applies it to every provider whose API leaves them out; kept under
 * this name for callers of earlier versions.
 */
export const includeAnthropicCache: (attributes: Attributes) => void = includeExcludedUsage;

/**
 * Makes the span's usage hang together (see the header): left-out details added back, then
 * any detail count that contradicts its input or output moved to `genai_enrich.telemetry_usage`. Returns
 * whether it removed anything.
 */
export function settleUsage(attributes: Attributes): boolean {
  includeExcludedUsage(attributes);
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
