// One real-pipeline suite for the providers beyond OpenAI (Anthropic, Bedrock, Gemini / Vertex AI): their own
// loopback mock, a client and an emitter, calls made the way an application makes them, and what arrives at
// the OTLP receiver checked against what the mock billed. The per-emitter files say only what differs: the
// set-up and, per call, what the emitter's telemetry carries.
//
// Each suite runs twice, from two files: as the emitter leaves the spans, and with the HTTP usage tap given to
// the client. With the tap every count the provider billed must arrive on the call's inference span, once;
// without it, what telemetry carried must equal the bill, and each gap is listed with its reason.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import type { DecodedSpan } from '../helpers/otlp-json.js';
import { startRealPipeline, type RealPipeline } from '../helpers/real-pipeline.js';
import {
  assertEverySpanOnce,
  assertTapReportsBalance,
  assertNoLegacyKeys,
  inferenceSpans,
  USAGE,
  usageSum,
} from './assertions.js';
import { waitForEveryStartedSpan } from './calls.js';
import { assertProviderMetrics } from './provider-metrics.js';

/** A call's usage as semconv counts it (input with its cache, output with its reasoning). */
export interface Bill {
  input: number;
  output: number;
  cacheRead: number;
  cacheCreation: number;
  reasoning: number;
  /** The provider's own input count, where it differs (Anthropic and Bedrock leave the cache out). */
  rawInput: number;
  /** The provider's own output count, where it differs (Gemini's candidates leave the thoughts out). */
  rawOutput?: number;
  /** What `genai_enrich.usage_adjusted` lists when the span's counts are the bill's. */
  adjusted: readonly string[];
}

/** One request as the mock saw it. */
export interface WireCall {
  /** Undefined when the mock wrote no usage (the client left first). */
  bill: Bill | undefined;
  completed: boolean;
  /** The id the call's span should carry, when the provider gives one. */
  responseId?: string;
  /**
   * What a stream's first event counted (Anthropic's message_start: input and cache; its output count is a
   * placeholder, so `output` here is 0 and a span must not carry it).
   */
  started?: Bill;
}

export type UsageField = 'input' | 'output' | 'cacheRead' | 'cacheCreation' | 'reasoning';
const FIELDS: readonly UsageField[] = ['input', 'output', 'cacheRead', 'cacheCreation', 'reasoning'];

export type ProviderExpectation =
  /** Telemetry carries the bill: every count it has equals the provider's. `forceEnded`: by the watchdog. */
  | { telemetry: 'bill'; forceEnded?: boolean }
  /**
   * Telemetry carries part of the bill. `lost`: counts it leaves out; `raw`: it copied the provider's own input
   * (without the cache) where there was no cache count to add back; `rawOutput`: the same for the output
   * (Gemini's candidates without the thoughts). The tap puts the bill on the span.
   */
  | { telemetry: 'partial'; lost: readonly UsageField[]; raw?: boolean; rawOutput?: boolean; why: string }
  /**
   * The call's inference span arrives without usage, marked; the tap fills it from the wire. `forceEnded`: the
   * emitter never ends the span, the watchdog does.
   */
  | { telemetry: 'missing'; why: string; forceEnded?: boolean }
  /**
   * The application stops reading a stream: its usage is never read (the provider may have written it into
   * the socket already), so none may arrive, with the tap or without. `started`: the emitter keeps what the
   * stream's first event counted (WireCall.started), and that arrives as it was, the tap adding nothing.
   */
  | { earlyBreak: true; forceEnded: boolean; started?: true; why: string }
  /** The emitter makes no inference span for the call (the tap's report finds none to join). */
  | { noInferenceSpan: string };

/** How the suite makes one call. */
export interface CallRun {
  /** Makes the call as an application would; returns the text the application read. */
  run(): Promise<string>;
  /** What the application must have read (the mock's reply); undefined for an early break. */
  text?: string;
  /** The `gen_ai.provider.name` of the call's GenAI spans, when it is not the suite's. */
  provider?: string;
}

export interface ProviderSuiteOptions<M extends { close(): Promise<void> }> {
  title: string;
  /** The `gen_ai.provider.name` every GenAI span must carry (a call may name another). */
  provider: string;
  instrumentations: () => Promise<Instrumentation[]>;
  startMock: () => Promise<M>;
  /** Every request the mock answered so far, in order. */
  wire: (mock: M) => WireCall[];
  /** Per call, in the order made: what the emitter's telemetry carries. */
  expect: Readonly<Record<string, ProviderExpectation>>;
  /** The calls named in `expect`, with a client given `fetch` (the usage tap) in the tapped run. */
  calls: (
    pipeline: RealPipeline,
    mock: M,
    fetch: typeof globalThis.fetch | undefined,
  ) => Promise<Readonly<Record<string, CallRun>>>;
  /** Spans above the call that repeat its usage (the AI SDK's outer span). */
  aggregates?: number;
  /** Undoes what `calls` set up in the process (a patched global fetch), after the suite. */
  close?: () => void;
}

export const HOLD_MILLIS = 300;
export const MAX_OPEN_MILLIS = 600;

interface Outcome {
  name: string;
  call: CallRun;
  wire: WireCall[];
  spans: DecodedSpan[];
  text: string;
}

export function describeProviderPipeline<M extends { close(): Promise<void> }>(
  options: ProviderSuiteOptions<M>,
  { tap = false }: { tap?: boolean } = {},
): void {
  describe(`${options.title}${tap ? ', with the usage tap' : ''}`, () => {
    let pipeline: RealPipeline;
    let mock: M;
    const outcomes = new Map<string, Outcome>();

    before(async () => {
      pipeline = await startRealPipeline({
        instrumentations: await options.instrumentations(),
        processor: { holdMillis: HOLD_MILLIS, maxOpenMillis: MAX_OPEN_MILLIS },
        metrics: { skipScopes: [] },
      });
      mock = await options.startMock();
      const calls = await options.calls(pipeline, mock, tap ? pipeline.processor.fetch : undefined);
      const made: Array<{ name: string; traceId: string; from: number; text: string }> = [];
      for (const name of Object.keys(options.expect)) {
        const from = options.wire(mock).length;
        const { traceId, result } = await pipeline.inRootSpan(`test ${name}`, () => calls[name].run());
        made.push({ name, traceId, from, text: result });
      }
      await waitForEveryStartedSpan(pipeline, 10_000);
      const wire = options.wire(mock);
      made.forEach(({ name, traceId, from, text }, i) => {
        const trace = pipeline.receiver.spans.filter((s) => s.traceId === traceId);
        const root = trace.find((s) => s.parentSpanId === '')?.spanId;
        outcomes.set(name, {
          name,
          call: calls[name],
          wire: wire.slice(from, made[i + 1]?.from ?? wire.length),
          spans: trace.filter((s) => s.spanId !== root),
          text,
        });
      });
    });
    after(async () => {
      options.close?.();
      await pipeline?.close();
      await mock?.close();
    });

    it('forwards every span the SDK started exactly once, and holds nothing afterwards', () => {
      assertEverySpanOnce(pipeline);
    });

    if (tap) {
      it('accounts for every tap report', () => assertTapReportsBalance(pipeline));
    }

    it('records GenAI metrics that sum to what the spans must carry of the bill, each call once', async () => {
      const calls = [...outcomes.values()].map((o) => ({
        name: o.name,
        expectation: options.expect[o.name],
        wire: o.wire,
      }));
      assertProviderMetrics(await pipeline.collectMetrics(), calls, tap);
    });

    it('leaves no legacy keys and names the provider canonically on every GenAI span', () => {
      for (const { name, call, spans } of outcomes.values()) {
        for (const span of spans) {
          assertNoLegacyKeys(span);
          if (Object.keys(span.attributes).some((k) => k.startsWith('gen_ai.')))
            assert.equal(
              span.attributes['gen_ai.provider.name'],
              call.provider ?? options.provider,
              `${name}: "${span.name}"`,
            );
        }
      }
    });

    for (const [name, e] of Object.entries(options.expect)) {
      it(`${name}: ${describeExpectation(e, tap)}`, () => {
        const outcome = outcomes.get(name);
        assert.ok(outcome !== undefined, `the suite made the ${name} call`);
        assert.equal(outcome.wire.length, 1, `${name}: one request on the wire`);
        if (outcome.call.text !== undefined)
          assert.equal(outcome.text, outcome.call.text, `${name}: the reply as read`);
        checkCall(outcome, e, tap, options.aggregates ?? 0);
      });
    }
  });
}

function describeExpectation(e: ProviderExpectation, tap: boolean): string {
  if ('noInferenceSpan' in e) return `no inference span (${e.noInferenceSpan})`;
  if ('earlyBreak' in e && e.started === true)
    return `stopped early: what the first event counted, as it was (${e.why})`;
  if ('earlyBreak' in e) return `stopped early: no usage invented${e.forceEnded ? ', force-ended' : ''} (${e.why})`;
  if (e.telemetry === 'bill')
    return `${e.forceEnded === true ? 'force-ended, ' : ''}the bill, from telemetry, counted once`;
  const forced = e.telemetry === 'missing' && e.forceEnded === true ? 'force-ended, ' : '';
  if (tap) return `${forced}the bill, the gap closed from the wire (${e.why})`;
  return e.telemetry === 'missing' ? `${forced}usage missing and marked (${e.why})` : `part of the bill (${e.why})`;
}

function checkCall(outcome: Outcome, e: ProviderExpectation, tap: boolean, aggregates: number): void {
  const { spans } = outcome;
  const call = { name: outcome.name };
  const inference = inferenceSpans(spans);
  if ('noInferenceSpan' in e) {
    assert.deepEqual(inference, [], `${call.name}: no inference span`);
    assert.equal(usageSum(spans, USAGE.input), 0, `${call.name}: no usage anywhere`);
    return;
  }
  assert.equal(inference.length, 1, `${call.name}: one inference span`);
  const span = inference[0];
  const wire = outcome.wire[0];
  const at = (f: UsageField): unknown => span.attributes[USAGE[f]];

  if ('earlyBreak' in e && e.started === true) {
    const started = wire.started;
    assert.ok(started !== undefined, `${call.name}: the stream started`);
    for (const f of FIELDS)
      assert.equal(at(f) ?? 0, started[f], `${call.name}: ${USAGE[f]} as the first event counted`);
    assert.equal(span.attributes[USAGE.source], 'telemetry', `${call.name}: nothing from the tap`);
    assert.equal(span.attributes[USAGE.forceEnded], e.forceEnded ? true : undefined, `${call.name}: force-ended`);
    assert.equal(usageSum(spans, USAGE.input), started.input, `${call.name}: counted once`);
    return;
  }
  if ('earlyBreak' in e) {
    assert.equal(at('input'), undefined, `${call.name}: no usage invented, none read ahead`);
    assert.equal(span.attributes[USAGE.missing], true, `${call.name}: marked usage_missing`);
    assert.equal(span.attributes[USAGE.forceEnded], e.forceEnded ? true : undefined, `${call.name}: force-ended`);
    assert.equal(usageSum(spans, USAGE.input), 0);
    return;
  }
  const bill = wire.bill;
  assert.ok(bill !== undefined && wire.completed, `${call.name}: the mock billed the call`);
  const forceEnded = (e.telemetry === 'missing' || e.telemetry === 'bill') && e.forceEnded === true;
  assert.equal(span.attributes[USAGE.forceEnded], forceEnded ? true : undefined, `${call.name}: force-ended`);

  if (tap || e.telemetry === 'bill') {
    // The bill, every count of it; a zero detail may be absent.
    for (const f of FIELDS) {
      if (bill[f] > 0 || f === 'input' || f === 'output') assert.equal(at(f), bill[f], `${call.name}: ${USAGE[f]}`);
      else assert.ok(at(f) === undefined || at(f) === 0, `${call.name}: ${USAGE[f]} is ${String(at(f))}, billed 0`);
    }
    const source = span.attributes[USAGE.source];
    if (!tap) assert.equal(source, 'telemetry', call.name);
    else if (e.telemetry === 'missing') assert.equal(source, 'http_tap', call.name);
    else if (e.telemetry === 'partial')
      assert.ok(source === 'http_tap' || source === 'telemetry+http_tap', `${call.name}: source ${String(source)}`);
    else assert.ok(source === 'telemetry' || source === 'telemetry+http_tap', `${call.name}: source ${String(source)}`);
    if (tap) {
      assert.deepEqual(span.attributes['genai_enrich.usage_adjusted'] ?? [], bill.adjusted, `${call.name}: adjusted`);
      if (e.telemetry === 'partial' && (e.raw === true || e.rawOutput === true)) {
        // Telemetry's provider-own counts were not the bill: kept aside, with the reason.
        const kept = JSON.parse(String(span.attributes['genai_enrich.telemetry_usage'])) as Record<string, unknown>;
        assert.equal(kept['reason'], 'provider_disagreed');
        if (e.raw === true) assert.equal(kept[USAGE.input], bill.rawInput);
        if (e.rawOutput === true) assert.equal(kept[USAGE.output], bill.rawOutput);
      }
    }
    // The emitter's response id, or the one the tap read off the wire.
    if (tap && wire.responseId !== undefined)
      assert.equal(span.attributes['gen_ai.response.id'], wire.responseId, call.name);
    assert.equal(span.attributes[USAGE.missing], undefined);
  } else if (e.telemetry === 'partial') {
    for (const f of FIELDS) {
      if (e.lost.includes(f)) assert.equal(at(f), undefined, `${call.name}: ${USAGE[f]} lost (${e.why})`);
      else if (f === 'input' && e.raw === true) assert.equal(at(f), bill.rawInput, `${call.name}: the raw input`);
      else if (f === 'output' && e.rawOutput === true)
        assert.equal(at(f), bill.rawOutput, `${call.name}: the raw output`);
      else if (bill[f] > 0 || f === 'output') assert.equal(at(f), bill[f], `${call.name}: ${USAGE[f]}`);
    }
    for (const f of FIELDS) {
      if (bill[f] > 0 && !e.lost.includes(f) && at(f) === undefined) assert.fail(`${call.name}: ${f} unlisted gap`);
    }
  } else {
    assert.equal(at('input'), undefined, `${call.name}: ${e.why}`);
    assert.equal(at('output'), undefined);
    assert.equal(span.attributes[USAGE.missing], true, `${call.name}: marked usage_missing`);
    return;
  }
  // Counted once per call: the trace sums to the span's counts; aggregates keep theirs aside.
  assert.equal(usageSum(spans, USAGE.input), at('input'), `${call.name}: input counted once`);
  assert.equal(usageSum(spans, USAGE.output), at('output'), `${call.name}: output counted once`);
  const marked = spans.filter((s) => s.attributes['genai_enrich.usage_repeats'] !== undefined);
  assert.ok(marked.length <= aggregates, `${call.name}: at most ${aggregates} aggregates`);
}
