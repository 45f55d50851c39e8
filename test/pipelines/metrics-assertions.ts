// What every real-pipeline suite asserts about the processor's GenAI metrics: per request model, the token
// histogram sums to what the mock billed for the calls whose usage reached their span (all of them with the
// tap; without it, all but the known gaps), each call once, aggregates adding nothing; the cache and
// reasoning counters likewise; one duration per call the watchdog did not end.
import assert from 'node:assert/strict';
import {
  METRIC_GEN_AI_CLIENT_CACHE_READ_INPUT_TOKENS,
  METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  METRIC_GEN_AI_CLIENT_REASONING_OUTPUT_TOKENS,
  METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
  PROCESSOR_METER_NAME,
} from '@genai-enrich/processor';
import type { DecodedMetricPoint } from '../helpers/otlp-metrics.js';
import { latestPoints } from '../helpers/otlp-metrics.js';
import type { CallName, CallOutcome } from './calls.js';
import type { CallExpectation } from './suite.js';

interface ModelTotals {
  input: number;
  output: number;
  cacheRead: number;
  reasoning: number;
  /** Calls whose duration is recorded. */
  calls: number;
}

const MODEL = 'gen_ai.request.model';

export function assertMetricsMatchTheBill(
  exports: readonly DecodedMetricPoint[][],
  outcomes: ReadonlyMap<CallName, CallOutcome>,
  expect: Partial<Record<CallName, CallExpectation>>,
  tap: boolean,
): void {
  const expected = new Map<string, ModelTotals>();
  // Some instrumentations name the model the provider answered with where the request model belongs
  // (OpenInference's llm.model_name): such a span counts for the model that was asked for.
  const requested = new Map<string, string>();
  for (const outcome of outcomes.values()) for (const w of outcome.wire) requested.set(w.responseModel, w.requestModel);
  for (const [call, outcome] of outcomes) {
    const e = expect[call];
    assert.ok(e !== undefined, `the suite says what to expect of ${call}`);
    if ('noSpan' in e) continue;
    const fromWire = 'usage' in e || (tap && e.missing === 'lost');
    const carried = new Set<string>('usage' in e ? e.usage : []);
    for (const wire of outcome.wire) {
      const totals = expected.get(wire.requestModel) ?? { input: 0, output: 0, cacheRead: 0, reasoning: 0, calls: 0 };
      expected.set(wire.requestModel, totals);
      if (!('missing' in e && e.forceEnded === true)) totals.calls++;
      if (!fromWire || wire.usage === undefined) continue;
      totals.input += wire.usage.inputTokens;
      totals.output += wire.usage.outputTokens;
      // The details reach the span from the instrumentation, or from the wire through the tap.
      if (tap || carried.has('cacheRead')) totals.cacheRead += wire.usage.cacheReadInputTokens;
      if (tap || carried.has('reasoning')) totals.reasoning += wire.usage.reasoningOutputTokens;
    }
  }
  const ours = { scope: PROCESSOR_METER_NAME };
  const tokens = points(exports, METRIC_GEN_AI_CLIENT_TOKEN_USAGE, ours);
  const durations = points(exports, METRIC_GEN_AI_CLIENT_OPERATION_DURATION, ours);
  const cacheRead = points(exports, METRIC_GEN_AI_CLIENT_CACHE_READ_INPUT_TOKENS, ours);
  const reasoning = points(exports, METRIC_GEN_AI_CLIENT_REASONING_OUTPUT_TOKENS, ours);
  const actual = new Map<string, ModelTotals>();
  const totalsOf = (p: DecodedMetricPoint): ModelTotals => {
    const named = String(p.attributes[MODEL]);
    const model = requested.get(named) ?? named;
    const totals = actual.get(model) ?? { input: 0, output: 0, cacheRead: 0, reasoning: 0, calls: 0 };
    actual.set(model, totals);
    return totals;
  };
  for (const p of tokens) {
    const type = p.attributes['gen_ai.token.type'];
    assert.ok(type === 'input' || type === 'output', `gen_ai.token.type ${String(type)}`);
    totalsOf(p)[type] += p.value;
    assert.deepEqual(p.explicitBounds.slice(0, 3), [1, 4, 16], "the conventions' token buckets");
  }
  for (const p of durations) totalsOf(p).calls += p.count;
  for (const p of cacheRead) totalsOf(p).cacheRead += p.value;
  for (const p of reasoning) totalsOf(p).reasoning += p.value;
  assert.deepEqual(sorted(actual), sorted(expected));
}

function points(
  exports: readonly DecodedMetricPoint[][],
  name: string,
  { scope }: { scope: string },
): DecodedMetricPoint[] {
  return latestPoints(exports, name).filter((p) => p.scope === scope);
}

/** By model, leaving out models that nothing was recorded for. */
function sorted(map: ReadonlyMap<string, ModelTotals>): [string, ModelTotals][] {
  return [...map].filter(([, t]) => Object.values(t).some((n) => n !== 0)).sort(([a], [b]) => a.localeCompare(b));
}
