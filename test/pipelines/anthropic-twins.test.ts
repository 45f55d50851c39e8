// Two instrumentations of one call (issue 12): the real `@anthropic-ai/sdk` 1.12.0, which traces itself
// once a global provider is registered (`anthropic.messages.create`, scope com.anthropic.sdk.typescript),
// and OpenInference's `@arizeai/openinference-instrumentation-anthropic` 0.2.8 (`Anthropic Messages`) on
// the same client, against the loopback Anthropic mock, through GenAiEnrichingProcessor and the OTLP/HTTP
// exporter to a receiver. Both spans carry the call's full usage; the trace must still sum to the bill.
//
// What arrives, and why:
//
//   messages.create (JSON, and stream: true)     test root
//                                                 └─ Anthropic Messages          OpenInference, usage, no response id
//                                                     └─ anthropic.messages.create   the SDK, usage, response id
//     OpenInference wraps `Messages.prototype.create` and calls the original inside a context whose active
//     span is its own; the SDK starts its call span as a child of the active span. So the second span is a
//     descendant, not a twin: the parent's usage equals what its descendants counted ─► `descendants`. (The
//     twin rule needs a response id on both spans, and OpenInference writes none: for a JSON reply the id
//     is only inside its `output.value` JSON, for a stream nowhere.)
//
//   messages.stream()                             test root
//                                                 ├─ anthropic.messages.create   the SDK, usage, response id
//                                                 └─ Anthropic Messages          OpenInference, usage, no response id
//     The SDK's helper starts the call span itself, then calls `create` (which OpenInference wraps) with that
//     span in its options, so the two spans are siblings, only one with a response id. Same parent, same
//     usage, overlapping in time, one with and one without a response id: two spans of one call, so the
//     second one decided is set aside as a `twin`.
//
// OpenLLMetry's `@traceloop/instrumentation-anthropic` (0.27.0, the latest) cannot take part: it patches
// `Anthropic.Completions`, which SDK 1.0.0 removed, and the TypeError of its patch escapes from `require`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  METRIC_GEN_AI_CLIENT_CACHE_READ_INPUT_TOKENS,
  METRIC_GEN_AI_CLIENT_CACHE_WRITE_INPUT_TOKENS,
  METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
} from '@genai-enrich/processor';
import { startAnthropicMock, type AnthropicMock, type AnthropicMockCall } from '../helpers/anthropic-mock.js';
import type { DecodedSpan } from '../helpers/otlp-json.js';
import { latestPoints } from '../helpers/otlp-metrics.js';
import { startRealPipeline, type RealPipeline } from '../helpers/real-pipeline.js';
import { runAnthropicCalls, type AnthropicCallName, type AnthropicCallOutcome } from './anthropic-calls.js';
import { assertEverySpanOnce, USAGE, usageSum } from './assertions.js';

const CALLS = ['create', 'create-stream', 'messages-stream'] as const;

/** Whose span is whose: the instrumentation scope each one is made with. */
const SCOPE = {
  sdk: 'com.anthropic.sdk.typescript',
  openinference: '@arizeai/openinference-instrumentation-anthropic',
};
const REPEATED = 'genai_enrich.repeated_usage.';
const REPEATS = 'genai_enrich.usage_repeats';

/** What the mock billed, in semconv terms: Anthropic's raw input leaves out cache reads and writes. */
interface Bill {
  input: number;
  output: number;
  cacheRead: number;
  cacheCreation: number;
}

function billOf(wire: readonly AnthropicMockCall[]): Bill {
  assert.equal(wire.length, 1, 'one request per call');
  const { usage, completed } = wire[0];
  assert.ok(usage !== undefined && completed, 'the mock wrote the whole reply, usage included');
  return {
    input: usage.inputTokens + usage.cacheReadInputTokens + usage.cacheCreationInputTokens,
    output: usage.outputTokens,
    cacheRead: usage.cacheReadInputTokens,
    cacheCreation: usage.cacheCreationInputTokens,
  };
}

/** The call's two spans, one per instrumentation, and nothing else. */
function twinsOf(spans: readonly DecodedSpan[]): { sdk: DecodedSpan; openinference: DecodedSpan } {
  assert.deepEqual(spans.map((s) => s.scope.name).sort(), [SCOPE.openinference, SCOPE.sdk].sort());
  return {
    sdk: spans.find((s) => s.scope.name === SCOPE.sdk)!,
    openinference: spans.find((s) => s.scope.name === SCOPE.openinference)!,
  };
}

function assertCountedUsage(span: DecodedSpan, bill: Bill): void {
  assert.equal(span.attributes[USAGE.input], bill.input, `${span.name} input`);
  assert.equal(span.attributes[USAGE.output], bill.output, `${span.name} output`);
  assert.equal(span.attributes[USAGE.cacheRead] ?? 0, bill.cacheRead, `${span.name} cache read`);
  assert.equal(span.attributes[USAGE.cacheCreation] ?? 0, bill.cacheCreation, `${span.name} cache creation`);
  assert.equal(span.attributes[REPEATS], undefined, `${span.name} is not marked a repeat`);
}

function keysStartingWith(span: DecodedSpan, prefix: string): string[] {
  return Object.keys(span.attributes).filter((k) => k.startsWith(prefix));
}

describe('@anthropic-ai/sdk 1.12.0 (its own tracing) + @arizeai/openinference-instrumentation-anthropic 0.2.8', () => {
  let pipeline: RealPipeline;
  let anthropic: AnthropicMock;
  let outcomes: Map<AnthropicCallName, AnthropicCallOutcome>;

  before(async () => {
    const { AnthropicInstrumentation } = await import('@arizeai/openinference-instrumentation-anthropic');
    pipeline = await startRealPipeline({
      instrumentations: [new AnthropicInstrumentation()],
      processor: { holdMillis: 300, maxOpenMillis: 600 },
      metrics: {},
    });
    anthropic = await startAnthropicMock({ chunkDelayMs: 10 });
    // No usage tap: both spans' usage comes from telemetry alone.
    outcomes = await runAnthropicCalls(pipeline, anthropic, CALLS, { timeoutMs: 10_000 });
  });
  after(async () => {
    await pipeline?.close();
    await anthropic?.close();
  });

  it('forwards every span exactly once; three spans had their usage set aside, none is still waiting', () => {
    assertEverySpanOnce(pipeline);
    const s = pipeline.processor.stats();
    assert.equal(s.usageRepeated, 3, 'the OpenInference parents of create and create-stream, and one stream() sibling');
    assert.equal(s.awaitingDescendants, 0);
    assert.equal(s.usageUnaccounted, 0);
    assert.equal(s.received, s.forwarded + s.held + s.awaitingDescendants);
    assert.equal(s.errors, 0);
  });

  for (const call of ['create', 'create-stream'] as const) {
    it(`${call}: the SDK's span is OpenInference's child; the parent's usage is set aside as a repeat of its descendant's, and the trace sums to the bill`, () => {
      const { wire, rootSpanId, spans, text } = outcomes.get(call)!;
      const bill = billOf(wire);
      assert.equal(text, 'Hello from the Anthropic loopback mock.');
      const { sdk, openinference } = twinsOf(spans);
      assert.equal(openinference.parentSpanId, rootSpanId);
      assert.equal(sdk.parentSpanId, openinference.spanId, 'the SDK started its span inside OpenInference’s');
      assert.equal(sdk.attributes['gen_ai.response.id'], wire[0].responseId);
      assert.equal(openinference.attributes['gen_ai.response.id'], undefined, 'OpenInference records no response id');

      assertCountedUsage(sdk, bill);
      assert.deepEqual(keysStartingWith(sdk, REPEATED), []);
      assert.deepEqual(keysStartingWith(openinference, 'gen_ai.usage.'), [], 'no usage left to count on the parent');
      assert.equal(openinference.attributes[`${REPEATED}input_tokens`], bill.input);
      assert.equal(openinference.attributes[`${REPEATED}output_tokens`], bill.output);
      assert.equal(openinference.attributes[REPEATS], 'descendants');

      assert.equal(usageSum(spans, USAGE.input), bill.input);
      assert.equal(usageSum(spans, USAGE.output), bill.output);
      assert.equal(usageSum(spans, USAGE.cacheRead), bill.cacheRead);
      assert.equal(usageSum(spans, USAGE.cacheCreation), bill.cacheCreation);
    });
  }

  it("the processor's GenAI metrics count each call once: the token histogram and the cache counters sum to the bill", async () => {
    const exports = await pipeline.collectMetrics();
    const bills = CALLS.map((call) => billOf(outcomes.get(call)!.wire));
    const total = (f: keyof Bill): number => bills.reduce((sum, b) => sum + b[f], 0);
    const sum = (name: string, where = {}): number =>
      latestPoints(exports, name, where).reduce((n, p) => n + p.value, 0);
    const model = { 'gen_ai.request.model': 'claude-sonnet-4-5', 'gen_ai.provider.name': 'anthropic' };
    assert.equal(sum(METRIC_GEN_AI_CLIENT_TOKEN_USAGE, { ...model, 'gen_ai.token.type': 'input' }), total('input'));
    assert.equal(sum(METRIC_GEN_AI_CLIENT_TOKEN_USAGE, { ...model, 'gen_ai.token.type': 'output' }), total('output'));
    assert.equal(sum(METRIC_GEN_AI_CLIENT_CACHE_READ_INPUT_TOKENS, model), total('cacheRead'));
    assert.equal(sum(METRIC_GEN_AI_CLIENT_CACHE_WRITE_INPUT_TOKENS, model), total('cacheCreation'));
    const durations = latestPoints(exports, METRIC_GEN_AI_CLIENT_OPERATION_DURATION);
    assert.equal(
      durations.reduce((n, p) => n + p.count, 0),
      CALLS.length,
      'one duration per call',
    );
  });

  it('create: OpenInference ends its span before the SDK ends the child, so the parent waited for it', () => {
    // OpenInference ends its span in the transform it chains onto the APIPromise's parse; the SDK ends its
    // call span once that parse (transform included) has returned.
    const { sdk, openinference } = twinsOf(outcomes.get('create')!.spans);
    assert.ok(openinference.endTimeUnixNano < sdk.endTimeUnixNano);
    assert.equal(openinference.attributes[REPEATS], 'descendants');
  });

  it('messages.stream(): siblings, only the SDK span has a response id; same parent, same usage, overlapping in time: the second one decided is a twin, and the trace sums to the bill', () => {
    const { wire, rootSpanId, spans, text } = outcomes.get('messages-stream')!;
    const bill = billOf(wire);
    assert.equal(text, 'Hello from the Anthropic loopback mock.');
    const { sdk, openinference } = twinsOf(spans);
    assert.equal(sdk.parentSpanId, rootSpanId, 'the helper started the call span before it called create');
    assert.equal(openinference.parentSpanId, rootSpanId);
    assert.equal(sdk.attributes['gen_ai.response.id'], wire[0].responseId);
    assert.equal(openinference.attributes['gen_ai.response.id'], undefined);
    const [counted, twin] = sdk.attributes[REPEATS] === undefined ? [sdk, openinference] : [openinference, sdk];
    assertCountedUsage(counted, bill);
    assert.equal(twin.attributes[REPEATS], 'twin');
    assert.equal(twin.attributes[USAGE.input], undefined);
    assert.equal(twin.attributes['genai_enrich.repeated_usage.input_tokens'], bill.input);
    assert.equal(usageSum(spans, USAGE.input), bill.input);
    assert.equal(usageSum(spans, USAGE.output), bill.output);
  });
});
