// What every real-pipeline suite asserts about the spans that reached the receiver.
import assert from 'node:assert/strict';
import { MAPPING_RULES, PROVIDER_VALUE_MAP } from '@genai-enrich/normalizer';
import type { MockCall } from '../helpers/openai-mock.js';
import type { DecodedSpan } from '../helpers/otlp-json.js';
import type { RealPipeline } from '../helpers/real-pipeline.js';

/** Every key the normalizer maps away from; none may reach the backend (keepLegacyAttributes is off). */
export const LEGACY_KEYS: ReadonlySet<string> = new Set(MAPPING_RULES.filter((r) => r.rank > 0).map((r) => r.source));

const CANONICAL_PROVIDERS: ReadonlySet<string> = new Set(PROVIDER_VALUE_MAP.values());

export const USAGE = {
  input: 'gen_ai.usage.input_tokens',
  output: 'gen_ai.usage.output_tokens',
  cacheRead: 'gen_ai.usage.cache_read.input_tokens',
  cacheCreation: 'gen_ai.usage.cache_creation.input_tokens',
  reasoning: 'gen_ai.usage.reasoning.output_tokens',
  source: 'genai_enrich.usage_source',
  missing: 'genai_enrich.usage_missing',
  forceEnded: 'genai_enrich.force_ended',
} as const;

export function assertNoLegacyKeys(span: DecodedSpan): void {
  const legacy = Object.keys(span.attributes).filter((k) => LEGACY_KEYS.has(k));
  assert.deepEqual(legacy, [], `span "${span.name}" still carries legacy keys`);
}

export function assertCanonicalProvider(span: DecodedSpan, expected = 'openai'): void {
  const provider = span.attributes['gen_ai.provider.name'];
  assert.equal(provider, expected, `span "${span.name}" provider`);
  assert.ok(CANONICAL_PROVIDERS.has(expected));
}

/** The span the call's usage belongs on: the one with an inference operation. */
export function inferenceSpans(spans: readonly DecodedSpan[]): DecodedSpan[] {
  return spans.filter((s) => {
    const op = s.attributes['gen_ai.operation.name'];
    return op === 'chat' || op === 'text_completion' || op === 'generate_content' || op === 'embeddings';
  });
}

/** Asserts the span carries exactly the usage the mock put on the wire, for the fields named. */
export function assertUsage(
  span: DecodedSpan,
  wire: MockCall,
  fields: readonly ('input' | 'output' | 'cacheRead' | 'reasoning')[],
): void {
  assert.ok(wire.usage !== undefined, 'the mock sent usage for this call');
  const expected = {
    input: wire.usage.inputTokens,
    output: wire.usage.outputTokens,
    cacheRead: wire.usage.cacheReadInputTokens,
    reasoning: wire.usage.reasoningOutputTokens,
  };
  for (const f of fields) assert.equal(span.attributes[USAGE[f]], expected[f], `span "${span.name}" ${USAGE[f]}`);
}

/** Asserts the span has no token counts and says so. */
export function assertUsageMissing(span: DecodedSpan): void {
  assert.equal(span.attributes[USAGE.input], undefined, `span "${span.name}" should have no input tokens`);
  assert.equal(span.attributes[USAGE.output], undefined, `span "${span.name}" should have no output tokens`);
  assert.equal(span.attributes[USAGE.missing], true, `span "${span.name}" should be marked usage_missing`);
}

/** Sums one usage key over spans: a trace must count each call's usage once. */
export function usageSum(spans: readonly DecodedSpan[], key: string): number {
  let sum = 0;
  for (const s of spans) {
    const v = s.attributes[key];
    if (typeof v === 'number') sum += v;
  }
  return sum;
}

/** Every span the SDK started arrived exactly once, and nothing else arrived. */
export function assertEverySpanOnce(pipeline: RealPipeline): void {
  const counts = new Map<string, number>();
  for (const s of pipeline.receiver.spans) counts.set(s.spanId, (counts.get(s.spanId) ?? 0) + 1);
  const duplicated = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  assert.deepEqual(duplicated, [], 'spans that arrived more than once');
  const unexpected = [...counts.keys()].filter((id) => !pipeline.started.ids.has(id));
  assert.deepEqual(unexpected, [], 'spans that arrived but were never started');
  const lost = [...pipeline.started.ids].filter(([id]) => !counts.has(id)).map(([, name]) => name);
  assert.deepEqual(lost, [], 'spans that were started but never arrived');
  const stats = pipeline.processor.stats();
  assert.equal(stats.received, stats.forwarded + stats.held + stats.awaitingDescendants);
  assert.equal(stats.held, 0);
  assert.equal(stats.errors, 0);
}

/** With the tap: it reported something, and every report is used, superseded, unmatched or pending. */
export function assertTapReportsBalance(pipeline: RealPipeline): void {
  const s = pipeline.processor.stats();
  assert.ok(s.tapReports > 0, 'the tap reported usage');
  assert.equal(s.tapReports, s.tapUsed + s.tapSuperseded + s.tapUnmatched + s.tapPending);
}
