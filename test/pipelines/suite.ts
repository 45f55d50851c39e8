// One real-pipeline suite per instrumentation: make every call once, then assert on what the OTLP
// receiver decoded. The per-instrumentation files hold only what differs: the set-up and, per call,
// which usage fields a telemetry source carried and which were on the wire but lost (known gaps).
//
// Each suite runs twice, from two files: as the instrumentation leaves it, and with the HTTP usage tap
// (`processor.fetch` given to the client). With the tap, every known gap must close: usage that was on
// the wire arrives on the inference span, once, from `http_tap` (or `telemetry+http_tap` where the
// instrumentation set part of it); usage that was not on the wire stays missing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import type { MockCall } from '../helpers/openai-mock.js';
import type { DecodedSpan } from '../helpers/otlp-json.js';
import { startRealPipeline, type RealPipeline } from '../helpers/real-pipeline.js';
import {
  assertCanonicalProvider,
  assertEverySpanOnce,
  assertTapReportsBalance,
  assertNoLegacyKeys,
  assertUsage,
  assertUsageMissing,
  inferenceSpans,
  USAGE,
  usageSum,
} from './assertions.js';
import { CALLS, runCalls, type CallName, type CallOutcome, type Client } from './calls.js';
import { assertMetricsMatchTheBill } from './metrics-assertions.js';

type UsageField = 'input' | 'output' | 'cacheRead' | 'reasoning';

export type CallExpectation =
  /**
   * A telemetry source carried these fields; each must equal what the mock sent. `aggregates`: how many
   * spans above the call repeat its usage (kept under genai_enrich.repeated_usage.*); 0 when absent.
   */
  | { usage: readonly UsageField[]; lost?: { fields: readonly UsageField[]; why: string }; aggregates?: number }
  /** The inference span arrives without usage, marked. `why` says whether the wire had any. */
  | { missing: 'not on the wire' | 'lost'; why: string; forceEnded?: boolean }
  /** The instrumentation makes no inference span for this call. */
  | { noSpan: string };

export interface SuiteOptions {
  title: string;
  instrumentations: () => Promise<Instrumentation[]>;
  /** `fetch` is the usage tap in the tapped run, undefined otherwise. */
  client: (pipeline: RealPipeline, fetch: typeof globalThis.fetch | undefined) => Promise<Client> | Client;
  expect: Partial<Record<CallName, CallExpectation>>;
  /** Keys a span may keep although a rule maps them elsewhere, with the reason. */
  allowedLegacyKeys?: (span: DecodedSpan) => readonly string[];
}

export const HOLD_MILLIS = 300;
export const MAX_OPEN_MILLIS = 600;

/** `tap`: give the client `processor.fetch`. One mode per test file: an instrumentation patches once per process. */
export function describeRealPipeline(options: SuiteOptions, { tap = false }: { tap?: boolean } = {}): void {
  describe(`${options.title}${tap ? ', with the usage tap' : ''}`, () => {
    let pipeline: RealPipeline;
    let client: Client;
    let outcomes: Map<CallName, CallOutcome>;

    before(async () => {
      pipeline = await startRealPipeline({
        instrumentations: await options.instrumentations(),
        processor: { holdMillis: HOLD_MILLIS, maxOpenMillis: MAX_OPEN_MILLIS },
        // Slow enough that an early `break` leaves most of the stream unsent.
        mock: { chunkDelayMs: 15 },
        // Every call counts in the processor's metrics, whichever instrumentation made its span.
        metrics: { skipScopes: [] },
      });
      client = await options.client(pipeline, tap ? pipeline.processor.fetch : undefined);
      outcomes = await runCalls(pipeline, client, 10_000);
    });
    after(() => pipeline?.close());

    it('forwards every span the SDK started exactly once, and holds nothing afterwards', () => {
      assertEverySpanOnce(pipeline);
    });

    if (tap) {
      it('accounts for every tap report', () => assertTapReportsBalance(pipeline));
    }

    it('records GenAI metrics that sum to the bill per model: each call once, aggregates adding nothing', async () => {
      assertMetricsMatchTheBill(await pipeline.collectMetrics(), outcomes, options.expect, tap);
    });

    it('leaves no legacy keys and names the provider canonically on every GenAI span', () => {
      for (const span of pipeline.receiver.spans) {
        const allowed = new Set(options.allowedLegacyKeys?.(span) ?? []);
        const filtered = { ...span, attributes: { ...span.attributes } };
        for (const k of allowed) delete filtered.attributes[k];
        assertNoLegacyKeys(filtered);
        if (Object.keys(span.attributes).some((k) => k.startsWith('gen_ai.'))) assertCanonicalProvider(span);
      }
    });

    for (const call of CALLS) {
      const expectation = options.expect[call];
      if (expectation === undefined) continue;
      it(`${call}: ${describeExpectation(expectation, tap)}`, () => {
        const outcome = outcomes.get(call);
        assert.ok(outcome !== undefined, `the suite made the ${call} call`);
        if (tap) checkTappedCall(outcome, expectation);
        else checkCall(outcome, expectation);
      });
    }
  });
}

function describeExpectation(e: CallExpectation, tap: boolean): string {
  if ('noSpan' in e) return `no inference span (${e.noSpan})`;
  const forced = 'missing' in e && e.forceEnded === true ? 'force-ended, ' : '';
  if (tap && 'missing' in e && e.missing === 'lost')
    return `${forced}usage the instrumentation lost is recovered from the wire`;
  if (tap && 'usage' in e && e.lost !== undefined)
    return `usage ${e.usage.join('/')} from telemetry, ${e.lost.fields.join('/')} filled from the wire`;
  if ('missing' in e) return `${forced}usage missing and marked (${e.why})`;
  return `usage ${e.usage.join('/')} equals the wire${e.lost !== undefined ? `; ${e.lost.fields.join('/')} lost (${e.lost.why})` : ''}`;
}

function checkCall(outcome: CallOutcome, e: CallExpectation): void {
  const spans = inferenceSpans(outcome.spans);
  if ('noSpan' in e) {
    assert.deepEqual(spans, []);
    return;
  }
  assert.equal(spans.length, 1, `one inference span for ${outcome.call}`);
  const span = spans[0];
  assert.equal(outcome.wire.length, 1, `one request on the wire for ${outcome.call}`);
  const wire = outcome.wire[0];

  if ('missing' in e) {
    assertUsageMissing(span);
    if (e.missing === 'not on the wire') assert.equal(wire.usage, undefined, 'the mock sent no usage');
    else assert.notEqual(wire.usage, undefined, 'usage was on the wire: a known gap');
    if (e.forceEnded === true) {
      assert.equal(span.attributes[USAGE.forceEnded], true);
      const millis = Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6;
      // Ended by the watchdog: not before maxOpenMillis, and not much later (its timer is exact). The span's
      // times come from the SDK's performance clock, the watchdog's from Date.now(); in a process that has
      // run a while the two drift a few milliseconds apart, hence the slack below.
      assert.ok(millis >= MAX_OPEN_MILLIS - 5 && millis < MAX_OPEN_MILLIS + 2000, `force-ended after ${millis} ms`);
    } else {
      assert.equal(span.attributes[USAGE.forceEnded], undefined);
    }
    assert.equal(usageSum(outcome.spans, USAGE.input), 0);
    return;
  }

  assertUsage(span, wire, e.usage);
  // Every count the wire carried is either carried by telemetry or listed as lost: no gap goes unlisted.
  for (const f of TAPPED_FIELDS) {
    const sent = wireValue(wire, f) ?? 0;
    if (sent > 0 && !e.usage.includes(f)) {
      assert.ok(e.lost?.fields.includes(f), `the wire sent ${f} = ${sent}: list it in usage or as lost`);
    }
  }
  assert.equal(span.attributes[USAGE.source], 'telemetry');
  assert.equal(span.attributes[USAGE.missing], undefined);
  for (const f of e.lost?.fields ?? []) {
    const sent = f === 'cacheRead' ? wire.usage?.cacheReadInputTokens : wire.usage?.reasoningOutputTokens;
    assert.ok(sent !== undefined && sent > 0, `the mock sent ${f}`);
    assert.equal(span.attributes[USAGE[f]], undefined, `${f} is not carried by any source`);
  }
  // Counted once per call: the trace's sum is the wire's value, whatever other spans the call made.
  assert.equal(usageSum(outcome.spans, USAGE.input), wire.usage?.inputTokens);
  assert.equal(usageSum(outcome.spans, USAGE.output), wire.usage?.outputTokens);
  assertAggregatesKept(outcome, wire, e.aggregates ?? 0);
}

/** Per-agent totals are not thrown away: each aggregate above the call keeps the call's usage aside. */
function assertAggregatesKept(outcome: CallOutcome, wire: MockCall, aggregates: number): void {
  const repeated = 'genai_enrich.repeated_usage.';
  const marked = outcome.spans.filter((s) => s.attributes['genai_enrich.usage_repeats'] !== undefined);
  // Under load the AI SDK's outer span sometimes arrives with no usage at all (seen 2 times in about 10 full
  // runs on a loaded machine; not reproduced alone): then there is no aggregate to keep. Whatever is marked
  // must repeat the call exactly, and never more spans than expected.
  assert.ok(marked.length <= aggregates, `at most ${aggregates} spans marked genai_enrich.usage_repeats`);
  assert.equal(usageSum(outcome.spans, `${repeated}input_tokens`), marked.length * (wire.usage?.inputTokens ?? 0));
  assert.equal(usageSum(outcome.spans, `${repeated}output_tokens`), marked.length * (wire.usage?.outputTokens ?? 0));
  if (marked.length < aggregates) {
    const unmarkedWithUsage = outcome.spans.filter(
      (s) => s.attributes['genai_enrich.usage_repeats'] === undefined && s.attributes[USAGE.input] !== undefined,
    );
    assert.equal(unmarkedWithUsage.length, 1, 'only the call itself carries the usage');
  }
}

const TAPPED_FIELDS = ['input', 'output', 'cacheRead', 'reasoning'] as const;

function wireValue(wire: MockCall, f: UsageField): number | undefined {
  const u = wire.usage;
  if (u === undefined) return undefined;
  return f === 'input'
    ? u.inputTokens
    : f === 'output'
      ? u.outputTokens
      : f === 'cacheRead'
        ? u.cacheReadInputTokens
        : u.reasoningOutputTokens;
}

/** With the tap: known gaps close; what telemetry carried and what was never on the wire stay as they were. */
function checkTappedCall(outcome: CallOutcome, e: CallExpectation): void {
  if ('noSpan' in e || ('missing' in e && e.missing === 'not on the wire')) {
    checkCall(outcome, e);
    return;
  }
  const spans = inferenceSpans(outcome.spans);
  assert.equal(spans.length, 1, `one inference span for ${outcome.call}`);
  const span = spans[0];
  assert.equal(outcome.wire.length, 1, `one request on the wire for ${outcome.call}`);
  const wire = outcome.wire[0];
  assert.ok(wire.usage !== undefined, 'the mock sent usage for this call');
  const fromTelemetry: readonly UsageField[] = 'usage' in e ? e.usage : [];
  // Every count the wire carried is on the span now; zero details need not be.
  for (const f of TAPPED_FIELDS) {
    const sent = wireValue(wire, f)!;
    const got = span.attributes[USAGE[f]];
    if (sent > 0 || fromTelemetry.includes(f)) assert.equal(got, sent, `span "${span.name}" ${USAGE[f]}`);
    else
      assert.ok(got === undefined || got === 0, `span "${span.name}" ${USAGE[f]} is ${String(got)}, the wire sent 0`);
  }
  const expectedSource = 'missing' in e ? 'http_tap' : e.lost !== undefined ? 'telemetry+http_tap' : 'telemetry';
  assert.equal(span.attributes[USAGE.source], expectedSource);
  assert.equal(span.attributes[USAGE.missing], undefined);
  assert.equal(span.attributes[USAGE.forceEnded], 'missing' in e && e.forceEnded === true ? true : undefined);
  if (wire.responseId !== '')
    assert.equal(span.attributes['gen_ai.response.id'], wire.responseId, 'the response id, from telemetry or the wire');
  // Counted once per call: the trace's sum is the wire's value.
  assert.equal(usageSum(outcome.spans, USAGE.input), wire.usage.inputTokens);
  assert.equal(usageSum(outcome.spans, USAGE.output), wire.usage.outputTokens);
  assertAggregatesKept(outcome, wire, 'usage' in e ? (e.aggregates ?? 0) : 0);
}
