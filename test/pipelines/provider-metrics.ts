// The processor's GenAI metrics in the provider suites (provider-suite.ts), checked against what the mock
// billed: the token histogram's input and output sums, and the cache read, cache write and reasoning
// counters, equal the counts each call's inference span must carry (the bill with the tap or where telemetry
// carries it; the emitter's part of it otherwise; what a stream's first event counted, for an emitter that
// keeps it when the reader stops early), each call once, aggregates adding nothing; one duration
// per inference span the watchdog did not end. The oracle is the mock's record, not the spans.
import assert from 'node:assert/strict';
import {
  METRIC_GEN_AI_CLIENT_CACHE_READ_INPUT_TOKENS,
  METRIC_GEN_AI_CLIENT_CACHE_WRITE_INPUT_TOKENS,
  METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  METRIC_GEN_AI_CLIENT_REASONING_OUTPUT_TOKENS,
  METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
  PROCESSOR_METER_NAME,
} from '@genai-enrich/processor';
import type { DecodedMetricPoint } from '../helpers/otlp-metrics.js';
import { latestPoints } from '../helpers/otlp-metrics.js';
import type { Bill, ProviderExpectation, UsageField, WireCall } from './provider-suite.js';

type Totals = Record<UsageField, number> & { durations: number };

const FIELDS: readonly UsageField[] = ['input', 'output', 'cacheRead', 'cacheCreation', 'reasoning'];

const zero = (): Totals => ({ input: 0, output: 0, cacheRead: 0, cacheCreation: 0, reasoning: 0, durations: 0 });

/** What one call's inference span carries of `f`, as the suite's expectation says. */
function carried(bill: Bill, f: UsageField, e: ProviderExpectation, tap: boolean): number {
  if ('noInferenceSpan' in e || 'earlyBreak' in e) return 0;
  if (tap || e.telemetry === 'bill') return bill[f];
  if (e.telemetry === 'missing') return 0;
  if (e.lost.includes(f)) return 0;
  if (f === 'input' && e.raw === true) return bill.rawInput;
  if (f === 'output' && e.rawOutput === true) return bill.rawOutput ?? bill.output;
  return bill[f];
}

export function assertProviderMetrics(
  exports: readonly DecodedMetricPoint[][],
  calls: ReadonlyArray<{ name: string; expectation: ProviderExpectation; wire: readonly WireCall[] }>,
  tap: boolean,
): void {
  const expected = zero();
  for (const { expectation: e, wire } of calls) {
    if ('noInferenceSpan' in e) continue;
    const forceEnded = 'earlyBreak' in e ? e.forceEnded : e.telemetry !== 'partial' && e.forceEnded === true;
    if (!forceEnded) expected.durations++;
    if ('earlyBreak' in e) {
      const started = e.started === true ? wire[0]?.started : undefined;
      if (started !== undefined) for (const f of FIELDS) expected[f] += started[f];
      continue;
    }
    const bill = wire[0]?.bill;
    if (bill === undefined) continue;
    for (const f of FIELDS) expected[f] += carried(bill, f, e, tap);
  }
  const ours = (name: string): DecodedMetricPoint[] =>
    latestPoints(exports, name).filter((p) => p.scope === PROCESSOR_METER_NAME);
  const sum = (points: readonly DecodedMetricPoint[]): number => points.reduce((n, p) => n + p.value, 0);
  const tokens = ours(METRIC_GEN_AI_CLIENT_TOKEN_USAGE);
  const actual: Totals = {
    input: sum(tokens.filter((p) => p.attributes['gen_ai.token.type'] === 'input')),
    output: sum(tokens.filter((p) => p.attributes['gen_ai.token.type'] === 'output')),
    cacheRead: sum(ours(METRIC_GEN_AI_CLIENT_CACHE_READ_INPUT_TOKENS)),
    cacheCreation: sum(ours(METRIC_GEN_AI_CLIENT_CACHE_WRITE_INPUT_TOKENS)),
    reasoning: sum(ours(METRIC_GEN_AI_CLIENT_REASONING_OUTPUT_TOKENS)),
    durations: ours(METRIC_GEN_AI_CLIENT_OPERATION_DURATION).reduce((n, p) => n + p.count, 0),
  };
  assert.deepEqual(actual, expected);
}
