/*
 * LangChain traced by LangSmith's OpenTelemetry mode (Python), through the real relay and through the
 * in-process replay: the trace's plain sum of gen_ai.usage.* is the bill. The fixtures
 * (test/fixtures/python/langsmith-*.json, written from the langsmith source: see their `_source` and `_notes`)
 * are a `prompt | llm` chain, whose RunnableSequence span repeats the ChatOpenAI call's usage, and a LangGraph
 * ReAct agent (two ChatOpenAI calls, one tool), where each call's RunnableSequence repeats it and the graph
 * and node spans carry none.
 *
 *   fixture body ─┬─ POST (one request, or split) ─► startRelay ─ http/json ─► loopback receiver ─┐
 *                 └─ decoded ─► replay(): processor.onEnd ─► OTLP exporter ─► loopback receiver ─┴─► the same checks
 *
 * Requests: the whole body at once, in end order and with parents listed first (the relay sorts each
 * request by end time); children in a first request and their parents in a second (what the relay must join
 * across requests); and, as a known gap, parents in the first request.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AttributeValue } from '@opentelemetry/api';
import {
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS as CACHE_READ,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS as INPUT,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS as OUTPUT,
  ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS as REASONING,
  ATTR_GEN_AI_USAGE_TOTAL_TOKENS as TOTAL,
} from '@genai-enrich/normalizer';
import {
  ATTR_HOLD_OUTCOME,
  ATTR_USAGE_MISSING,
  ATTR_USAGE_REPEATS,
  ATTR_USAGE_SOURCE,
  REPEATED_USAGE_PREFIX as REPEATED,
} from '@genai-enrich/processor';
import type { DecodedSpan } from './helpers/otlp-json.js';
import { assertExactlyOnce, assertStats, get, loadFixture } from './helpers/fixture-replay.js';
import type { Fixture } from './helpers/fixture-replay.js';
import { everySpan, itThroughBothPaths, sumOver, throughRelay } from './helpers/fixture-relay.js';
import type { RequestsOutcome } from './helpers/fixture-relay.js';

/** What a trace's spans must sum to: the model calls' billed counts, per the fixture's `_notes`. */
interface Bill {
  input: number;
  output: number;
  cacheRead: number;
  reasoning: number;
}

interface Case {
  readonly file: string;
  readonly bill: Bill;
  /** The spans whose usage repeats their descendants' (LangSmith's RunnableSequence spans). */
  readonly repeats: number;
}

const CHAIN: Case = {
  file: 'langsmith-chain-prompt-llm.json',
  bill: { input: 42, output: 17, cacheRead: 16, reasoning: 4 },
  repeats: 1,
};
const AGENT: Case = {
  file: 'langsmith-react-agent.json',
  bill: { input: 96 + 142, output: 18 + 26, cacheRead: 0, reasoning: 0 },
  repeats: 2,
};

// ── the fixtures' own facts ──────────────────────────────────────────────────────────────────────────

const kindOf = (span: DecodedSpan): AttributeValue | undefined => span.attributes['langsmith.span.kind'];
const isModelCall = (span: DecodedSpan): boolean => kindOf(span) === 'llm';
const hasUsage = (span: DecodedSpan): boolean => span.attributes[INPUT] !== undefined;

/** The counts in a ChatOpenAI span's `langsmith.metadata.usage_metadata` (LangChain's UsageMetadata). */
function usageMetadata(span: DecodedSpan): { cacheRead: number; reasoning: number } {
  const raw = span.attributes['langsmith.metadata.usage_metadata'];
  assert.equal(typeof raw, 'string', `${span.name}: usage_metadata is a JSON string`);
  const parsed = JSON.parse(raw as string) as {
    input_token_details: { cache_read: number };
    output_token_details: { reasoning: number };
  };
  return { cacheRead: parsed.input_token_details.cache_read, reasoning: parsed.output_token_details.reasoning };
}

/** Span ids, split as an exporter may split them: spans with no child here first, then their ancestors. */
function childrenFirst(fixture: Fixture): [Set<string>, Set<string>] {
  const parents = new Set(fixture.decoded.map((s) => s.parentSpanId));
  const leaves = fixture.decoded.filter((s) => !parents.has(s.spanId)).map((s) => s.spanId);
  const inner = fixture.decoded.filter((s) => parents.has(s.spanId)).map((s) => s.spanId);
  return [new Set(leaves), new Set(inner)];
}

// ── the checks ───────────────────────────────────────────────────────────────────────────────────────

function assertCountedOnce(c: Case, fixture: Fixture, outcome: RequestsOutcome): void {
  assertExactlyOnce(fixture, outcome);

  // The bill, from the fixture's model calls, is what the fixture's notes say it is.
  const calls = fixture.decoded.filter(isModelCall);
  assert.equal(sumOver(calls, INPUT), c.bill.input);
  assert.equal(sumOver(calls, OUTPUT), c.bill.output);
  assert.ok(sumOver(fixture.decoded, INPUT) > c.bill.input, 'as LangSmith sends it, the trace counts a call twice');

  // Per trace, the plain sum over what arrived is the bill.
  for (const traceId of new Set(fixture.decoded.map((s) => s.traceId))) {
    const trace = outcome.received.filter((s) => s.traceId === traceId);
    assert.deepEqual(
      {
        input: sumOver(trace, INPUT),
        output: sumOver(trace, OUTPUT),
        cacheRead: sumOver(trace, CACHE_READ),
        reasoning: sumOver(trace, REASONING),
      },
      c.bill,
      `trace ${traceId}: the plain sum of gen_ai.usage.* is the bill`,
    );
  }

  for (const span of fixture.decoded) {
    const out = get(outcome.out, span);
    const what = `${span.name} (${span.spanId})`;
    assert.equal(out.attributes[ATTR_HOLD_OUTCOME], undefined, `${what}: never held`);
    assert.equal(out.attributes[ATTR_USAGE_MISSING], undefined, `${what}: nothing missing`);
    assert.equal(out.attributes['gen_ai.prompt'], span.attributes['gen_ai.prompt'], `${what}: the bytes pass through`);
    if (isModelCall(span)) {
      // The call keeps its counts, and LangChain's usage_metadata supplies the details only it has.
      const details = usageMetadata(span);
      assert.equal(out.attributes[INPUT], span.attributes[INPUT], `${what}: input`);
      assert.equal(out.attributes[OUTPUT], span.attributes[OUTPUT], `${what}: output`);
      assert.equal(out.attributes[TOTAL], span.attributes[TOTAL], `${what}: total`);
      assert.equal(out.attributes[CACHE_READ], details.cacheRead, `${what}: cache read from usage_metadata`);
      assert.equal(out.attributes[REASONING], details.reasoning, `${what}: reasoning from usage_metadata`);
      assert.equal(out.attributes[ATTR_USAGE_SOURCE], 'telemetry');
      assert.equal(out.attributes['gen_ai.provider.name'], 'openai');
      assert.equal(out.attributes[ATTR_USAGE_REPEATS], undefined);
    } else if (hasUsage(span)) {
      // A chain span: its aggregate is kept aside, not counted.
      assert.equal(kindOf(span), 'chain', `${what}: only chains repeat usage here`);
      for (const key of Object.keys(out.attributes)) {
        assert.ok(!key.startsWith('gen_ai.usage.'), `${what}: ${key} moved off the span`);
      }
      assert.equal(out.attributes[REPEATED + 'input_tokens'], span.attributes[INPUT], `${what}: repeated input`);
      assert.equal(out.attributes[REPEATED + 'output_tokens'], span.attributes[OUTPUT], `${what}: repeated output`);
      assert.equal(out.attributes[REPEATED + 'total_tokens'], span.attributes[TOTAL], `${what}: repeated total`);
      assert.equal(out.attributes[ATTR_USAGE_REPEATS], 'descendants');
    } else {
      // Prompt templates, graph and node spans, tools: no usage came, none is invented.
      for (const key of Object.keys(out.attributes)) {
        assert.ok(!key.startsWith('gen_ai.usage.') && !key.startsWith(REPEATED), `${what}: no ${key}`);
      }
      assert.equal(out.attributes['gen_ai.provider.name'], undefined, `${what}: langchain is not a provider`);
    }
  }

  assertStats(outcome.final);
  assert.equal(outcome.final.received, fixture.decoded.length);
  assert.equal(outcome.final.usageRepeated, c.repeats);
  assert.equal(outcome.final.held, 0);
  assert.equal(outcome.final.awaitingDescendants, 0);
  assert.equal(outcome.final.holds, 0, 'no span was held: the prompt template is not a model call');
  for (const stats of outcome.afterEachRequest) {
    assert.equal(stats.forwarded, stats.received, 'each request forwarded in full, nothing left waiting');
  }
}

/** The prompt template is labelled chat but calls nothing: it leaves the moment it arrives. */
function assertTemplateForwardedAtOnce(fixture: Fixture, outcome: RequestsOutcome): void {
  const template = fixture.decoded.find((s) => s.name === 'ChatPromptTemplate');
  assert.ok(template !== undefined);
  assert.equal(template.attributes['gen_ai.operation.name'], 'chat', 'LangSmith maps run type prompt to chat');
  assert.equal(template.attributes['gen_ai.request.model'], undefined);
  const out = get(outcome.out, template);
  assert.equal(out.attributes['gen_ai.operation.name'], 'chat');
  assert.equal(out.attributes[ATTR_HOLD_OUTCOME], undefined);
  assert.equal(out.attributes[ATTR_USAGE_MISSING], undefined);
  assert.equal(outcome.afterEachRequest[0].held, 0);
}

// ── the cases ────────────────────────────────────────────────────────────────────────────────────────

describe('LangSmith OpenTelemetry mode (Python) through the relay: each call counted once per trace', () => {
  for (const c of [CHAIN, AGENT]) {
    const fixture = loadFixture(c.file);
    const requests: Array<[string, Set<string>[]]> = [
      ['one request', everySpan(fixture)],
      ['children in a first request, their parents in a second', childrenFirst(fixture)],
    ];
    for (const [how, ids] of requests) {
      itThroughBothPaths(`${c.file}, ${how}`, fixture, ids, (outcome) => {
        assertCountedOnce(c, fixture, outcome);
        if (c === CHAIN) assertTemplateForwardedAtOnce(fixture, outcome);
      });
    }
    it(`${c.file}, one request listing parents before their children: the relay hands it over by end time`, async () => {
      const outcome = await throughRelay(c.file, everySpan(fixture), {}, true);
      assertCountedOnce(c, fixture, outcome);
    });
  }

  it('the agent fixture: LangSmith puts no usage on the graph, node or tool spans, only on each call and its RunnableSequence', () => {
    const fixture = loadFixture(AGENT.file);
    const withUsage = fixture.decoded.filter(hasUsage).map((s) => s.name);
    assert.deepEqual(withUsage.sort(), ['ChatOpenAI', 'ChatOpenAI', 'RunnableSequence', 'RunnableSequence']);
    const tool = fixture.decoded.find((s) => kindOf(s) === 'tool');
    assert.equal(tool?.attributes['gen_ai.operation.name'], 'execute_tool');
  });

  it('with --count-usage-once false the relay leaves the chain total in place: the trace counts the call twice', async () => {
    const fixture = loadFixture(CHAIN.file);
    const outcome = await throughRelay(CHAIN.file, everySpan(fixture), { countUsageOnce: false });
    assertExactlyOnce(fixture, outcome);
    assert.equal(sumOver(outcome.received, INPUT), 2 * CHAIN.bill.input);
    assert.equal(outcome.final.usageRepeated, 0);
    assertStats(outcome.final);
  });

  it('parents in a first request, their children in a second: still counted once', async () => {
    const fixture = loadFixture(CHAIN.file);
    const [leaves, inner] = childrenFirst(fixture);
    const outcome = await throughRelay(CHAIN.file, [inner, leaves]);
    assertExactlyOnce(fixture, outcome);
    assert.equal(sumOver(outcome.received, INPUT), CHAIN.bill.input);
  });
});
