/*
 * What the usage tap takes from a response besides bytes: per endpoint, the usage shape from the
 * normalizer's provider usage table (the same rows the attribute path reads usage by) and the needle its
 * count keys share; and bounded names.
 *
 *   endpoint ──TAP_USAGE──► { shape, countKeyNeedle }
 *                              │ shape:  mapProviderUsage / readProviderCounts (normalizer) ──► counts
 *                              │ needle: usage-parser.ts skips SSE events without it
 *
 * The needle is safe to skip with only if every count key of the shape holds it (closing quote included);
 * a row or path added to a tapped shape must keep that true (test/tap/usage-mapping.test.ts checks it).
 */
import { USAGE_SHAPES } from '@genai-enrich/normalizer';
import type { UsageShape } from '@genai-enrich/normalizer';
import type { TapEndpoint } from './usage-parser.js';

export interface TapUsageReading {
  /** Where the endpoint's usage object keeps its counts. */
  readonly shape: UsageShape;
  /** The response's keys for its usage object, id and model (the JSON picker reads Gemini's names as the others). */
  readonly keys: { readonly usage: string; readonly id: string; readonly model: string };
  /**
   * Text every count key of `shape` holds (with the key's closing quote, where the needle ends with one).
   * Chosen by measurement: see the header of usage-parser.ts.
   */
  readonly countKeyNeedle: string;
}

const OPENAI_KEYS = Object.freeze({ usage: 'usage', id: 'id', model: 'model' });
const GEMINI_KEYS = Object.freeze({ usage: 'usageMetadata', id: 'responseId', model: 'modelVersion' });

/** How the tap reads each endpoint's usage. */
export const TAP_USAGE: Readonly<Record<TapEndpoint, TapUsageReading>> = Object.freeze({
  'openai.chat': { shape: USAGE_SHAPES.openaiChat, keys: OPENAI_KEYS, countKeyNeedle: 'kens"' },
  'openai.embeddings': { shape: USAGE_SHAPES.openaiChat, keys: OPENAI_KEYS, countKeyNeedle: 'kens"' },
  'openai.responses': { shape: USAGE_SHAPES.openaiResponses, keys: OPENAI_KEYS, countKeyNeedle: 'kens"' },
  'anthropic.messages': { shape: USAGE_SHAPES.anthropicMessages, keys: OPENAI_KEYS, countKeyNeedle: 'put_tok' },
  // Every Gemini count key ends in `TokenCount"`; `C` is rare in a chunk's text, unlike lower-case letters.
  'gemini.generate_content': { shape: USAGE_SHAPES.gemini, keys: GEMINI_KEYS, countKeyNeedle: 'Count"' },
  // Bedrock's JSON bodies (a response without the token-count headers): Converse's TokenUsage, and
  // InvokeModel's body for Claude (Anthropic's Messages shape; other model families have no usage object).
  'bedrock.converse': { shape: USAGE_SHAPES.bedrockConverse, keys: OPENAI_KEYS, countKeyNeedle: 'Tokens"' },
  'bedrock.invoke': { shape: USAGE_SHAPES.anthropicMessages, keys: OPENAI_KEYS, countKeyNeedle: 'put_tok' },
});

/** Longest id or model name taken; longer ones are treated as junk (the picker has the same bound). */
const MAX_NAME_LENGTH = 256;

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

export function asName(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME_LENGTH ? value : undefined;
}
