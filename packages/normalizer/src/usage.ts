import type { AttributeValue } from './types.js';
import {
  ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
} from './semconv.js';
import { FALLBACK_USAGE_SHAPES, MIXED_USAGE_SHAPES } from './provider-usage.js';
import type { ProviderCountName, UsageShape } from './provider-usage.js';
import { adjustmentOf } from './usage-adjustments.js';
import type { UsageAdjustment } from './usage-adjustments.js';

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

/** A provider's own counts, read by a {@link UsageShape} before its rules turn them into semconv counts. */
export type ProviderCounts = { [K in ProviderCountName]?: number };

/** One provider usage object in semconv terms, with the provider's own total when it sends one. */
export interface ProviderUsage {
  usage: UsageCounts;
  /** The provider's total, when it sends one that equals semconv's input + output (else undefined). */
  totalTokens: number | undefined;
  /**
   * What was added to the provider's input or output count to make the semconv one (only counts above zero),
   * for `genai_enrich.usage_adjusted`; absent when nothing was.
   */
  adjusted?: UsageAdjustment[];
}

/** Every count a usage shape can name, in the order readProviderCounts reads them. */
export const PROVIDER_COUNT_NAMES: readonly ProviderCountName[] = [
  'input',
  'output',
  'cacheRead',
  'cacheCreation',
  'reasoning',
  'total',
  'toolUsePrompt',
];

/**
 * Each shape's paths, split once, in the order of PROVIDER_COUNT_NAMES (undefined: the shape has no such
 * count). The usage tap reads a usage object per SSE event on some servers, where splitting every time
 * cost more than the rest of the reading. Weak, so a caller's own shapes are not held.
 */
const compiledPaths = new WeakMap<UsageShape, ReadonlyArray<readonly string[] | undefined>>();

function pathsOf(shape: UsageShape): ReadonlyArray<readonly string[] | undefined> {
  let paths = compiledPaths.get(shape);
  if (paths === undefined) {
    paths = PROVIDER_COUNT_NAMES.map((name) => {
      const path = shape.paths[name];
      return typeof path === 'string' && path.length > 0 ? path.split('.') : undefined;
    });
    compiledPaths.set(shape, paths);
  }
  return paths;
}

function countAt(u: Record<string, unknown>, keys: readonly string[] | undefined): number | undefined {
  if (keys === undefined) return undefined;
  let v = u[keys[0]];
  for (let k = 1; k < keys.length && v !== undefined; k++) v = obj(v)?.[keys[k]];
  return toTokenCount(v);
}

/**
 * Reads the counts of `value`, a usage object of `shape`, into `into`. A count that is absent, null or
 * junk (see {@link toTokenCount}) leaves what `into` had, so a stream's later events override earlier ones
 * only where they say something (Anthropic: `message_start`, then `message_delta`). Returns whether any
 * count was read. Never throws.
 */
export function readProviderCounts(shape: UsageShape, value: unknown, into: ProviderCounts): boolean {
  const u = obj(value);
  if (u === undefined) return false;
  const paths = pathsOf(shape);
  // One named store per count (a store keyed by a variable name was the slowest part).
  const input = countAt(u, paths[0]);
  if (input !== undefined) into.input = input;
  const output = countAt(u, paths[1]);
  if (output !== undefined) into.output = output;
  const cacheRead = countAt(u, paths[2]);
  if (cacheRead !== undefined) into.cacheRead = cacheRead;
  const cacheCreation = countAt(u, paths[3]);
  if (cacheCreation !== undefined) into.cacheCreation = cacheCreation;
  const reasoning = countAt(u, paths[4]);
  if (reasoning !== undefined) into.reasoning = reasoning;
  const total = countAt(u, paths[5]);
  if (total !== undefined) into.total = total;
  const toolUsePrompt = countAt(u, paths[6]);
  if (toolUsePrompt !== undefined) into.toolUsePrompt = toolUsePrompt;
  return (
    input !== undefined ||
    output !== undefined ||
    cacheRead !== undefined ||
    cacheCreation !== undefined ||
    reasoning !== undefined ||
    total !== undefined ||
    toolUsePrompt !== undefined
  );
}

/** `base` plus the counts the provider left out of it; undefined when absent or not a safe integer. */
function withExcluded(
  shape: UsageShape,
  counts: ProviderCounts,
  base: number | undefined,
  excluded: readonly ProviderCountName[] | undefined,
): number | undefined {
  if (excluded === undefined) return base;
  if (base === undefined) {
    // Only a provider that leaves zero counts out has a sum without its base count.
    if (shape.omitsZeroCounts !== true || !excluded.some((name) => counts[name] !== undefined)) return undefined;
  }
  let sum = base ?? 0;
  for (const name of excluded) sum += counts[name] ?? 0;
  return Number.isSafeInteger(sum) ? sum : undefined;
}

/** The semconv counts of a shape's provider counts, whichever are there. */
function semconvCounts(shape: UsageShape, counts: ProviderCounts): UsageCounts {
  const usage: UsageCounts = {};
  const input = withExcluded(shape, counts, counts.input, shape.inputExcludes);
  if (input !== undefined) usage.inputTokens = input;
  const output = withExcluded(shape, counts, counts.output, shape.outputExcludes);
  if (output !== undefined) usage.outputTokens = output;
  if (counts.cacheRead !== undefined) usage.cacheReadInputTokens = counts.cacheRead;
  if (counts.cacheCreation !== undefined) usage.cacheCreationInputTokens = counts.cacheCreation;
  if (counts.reasoning !== undefined) usage.reasoningOutputTokens = counts.reasoning;
  return usage;
}

/** The counts above zero that a shape's rules added to the provider's input and output counts. */
function adjustmentsOf(shape: UsageShape, counts: ProviderCounts, usage: UsageCounts): UsageAdjustment[] {
  const out: UsageAdjustment[] = [];
  if (usage.inputTokens !== undefined) {
    for (const name of shape.inputExcludes ?? []) if ((counts[name] ?? 0) > 0) out.push(adjustmentOf('input', name));
  }
  if (usage.outputTokens !== undefined) {
    for (const name of shape.outputExcludes ?? []) if ((counts[name] ?? 0) > 0) out.push(adjustmentOf('output', name));
  }
  return out;
}

/**
 * A shape's provider counts in semconv terms (the shape's rules applied: a sum that is not a safe integer
 * is dropped). Undefined unless there is an input or an output count: cache or reasoning counts alone are
 * not a usage report. The provider's total is kept only where it equals the semconv input + output (or
 * one of them is missing, as in an embeddings response): a total that counts otherwise would contradict
 * the span's own counts.
 */
export function toProviderUsage(shape: UsageShape, counts: ProviderCounts): ProviderUsage | undefined {
  const usage = semconvCounts(shape, counts);
  if (usage.inputTokens === undefined && usage.outputTokens === undefined) return undefined;
  let total = counts.total;
  if (total !== undefined && usage.inputTokens !== undefined && usage.outputTokens !== undefined) {
    if (total !== usage.inputTokens + usage.outputTokens) total = undefined;
  }
  const adjusted = adjustmentsOf(shape, counts, usage);
  return adjusted.length > 0 ? { usage, totalTokens: total, adjusted } : { usage, totalTokens: total };
}

/** One usage object of a known shape in semconv terms: {@link readProviderCounts}, then {@link toProviderUsage}. */
export function mapProviderUsage(shape: UsageShape, value: unknown): ProviderUsage | undefined {
  const counts: ProviderCounts = {};
  return readProviderCounts(shape, value, counts) ? toProviderUsage(shape, counts) : undefined;
}

/**
 * Extracts usage from a provider's own usage object, whichever API produced it, and returns it in
 * semconv terms. The object is read by the rows of `USAGE_SHAPES` (OpenAI Chat Completions,
 * embeddings and Responses, Anthropic Messages, Gemini):
 * - the {@link MIXED_USAGE_SHAPES} together, each count from the first of them that has it, so that a
 *   proxy's mix of OpenAI and Anthropic keys (LiteLLM: `prompt_tokens` beside `cache_read_input_tokens`)
 *   is read as it means. Shapes that name their input count alike (Responses and Anthropic:
 *   `input_tokens`) read it alike, so the rules of the one that has rules apply: Anthropic's cache keys are
 *   added when they are there, which they never are in a Responses object;
 * - then, if that found no input count, the first {@link FALLBACK_USAGE_SHAPES} row that finds one
 *   (Gemini, Bedrock Converse, Bedrock invocation metrics), whose counts replace those found before.
 *
 * Accepts the usage object itself or a response/record that holds it under `usage` or `usageMetadata`.
 * Returns `undefined` when no count is found. Never throws.
 */
export function extractUsage(payload: unknown): UsageCounts | undefined {
  return extractProviderUsage(payload)?.usage;
}

/**
 * {@link extractUsage}, with what its rules added to the provider's counts (`adjusted`, as in
 * {@link ProviderUsage}); `totalTokens` is not read. Never throws.
 */
export function extractProviderUsage(payload: unknown): Omit<ProviderUsage, 'totalTokens'> | undefined {
  let u = obj(payload);
  if (u === undefined) return undefined;
  const nested = obj(u['usage']) ?? obj(u['usageMetadata']) ?? obj(obj(u['response'])?.['usage']);
  if (nested !== undefined) u = nested;
  const out: UsageCounts = {};
  let adjusted: UsageAdjustment[] = [];
  /** The shape that gave the input count. */
  let inputShape: UsageShape | undefined;
  for (const shape of MIXED_USAGE_SHAPES) {
    const counts: ProviderCounts = {};
    if (!readProviderCounts(shape, u, counts)) continue;
    const usage = semconvCounts(shape, counts);
    const givesInput =
      inputShape === undefined
        ? counts.input !== undefined
        : inputShape.paths.input === shape.paths.input && shape.inputExcludes !== undefined;
    if (givesInput) {
      inputShape = shape;
      // Only the mixed shapes' input counts have rules (Anthropic's cache).
      adjusted = adjustmentsOf(shape, counts, usage);
      if (usage.inputTokens !== undefined) out.inputTokens = usage.inputTokens;
      else delete out.inputTokens; // the sum is not a safe integer
    }
    for (const field of USAGE_FIELDS) {
      if (field !== 'inputTokens' && out[field] === undefined && usage[field] !== undefined) out[field] = usage[field];
    }
  }
  if (out.inputTokens === undefined) {
    for (const shape of FALLBACK_USAGE_SHAPES) {
      const counts: ProviderCounts = {};
      if (!readProviderCounts(shape, u, counts) || counts.input === undefined) continue;
      const usage = semconvCounts(shape, counts);
      Object.assign(out, usage);
      adjusted = adjustmentsOf(shape, counts, usage);
      break;
    }
  }
  for (const field of USAGE_FIELDS) {
    if (out[field] !== undefined) return adjusted.length > 0 ? { usage: out, adjusted } : { usage: out };
  }
  return undefined;
}

/**
 * Parses a JSON string attribute (Logfire's `response_data`, `gen_ai.usage.raw`) and extracts usage
 * from it. Oversized or invalid JSON yields `undefined`.
 */
export function extractUsageFromJson(value: AttributeValue | undefined): UsageCounts | undefined {
  return extractProviderUsageFromJson(value)?.usage;
}

/** {@link extractUsageFromJson} with what the rules added ({@link extractProviderUsage}). */
export function extractProviderUsageFromJson(
  value: AttributeValue | undefined,
): Omit<ProviderUsage, 'totalTokens'> | undefined {
  if (typeof value !== 'string' || value.length > MAX_USAGE_JSON_LENGTH || value.charCodeAt(0) !== 123 /* { */) {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  return extractProviderUsage(parsed);
}
