/*
 * Python emitters calling Amazon Bedrock, Google Gemini and Anthropic, replayed from OTLP fixtures written from
 * their source (test/fixtures/python: litellm-bedrock-converse-cache.json, litellm-gemini-thinking-cache.json,
 * logfire-anthropic-stream-cache.json; each file's `_source` and `_notes` say where every attribute comes from
 * and what the provider billed). Each goes through the real relay (its server in-process, forwarding http/json
 * to the loopback OTLP receiver) and through the in-process replay, and must come out:
 *
 *   - every span exactly once;
 *   - the model call's usage equal to the provider's bill in semconv terms, which the test derives from the
 *     provider's own usage object in the fixture (Bedrock's `usage`, Gemini's `usageMetadata`, Anthropic's
 *     `usage`), not from the emitter's counts;
 *   - `gen_ai.provider.name` the conventions' value, legacy keys mapped;
 *   - the plain sum of gen_ai.usage.* over the trace equal to the bill (counted once);
 *   - `genai_enrich.usage_adjusted` on the model call exactly when its input is the provider's plus the cache.
 *
 * The crux is that both emitters already include the cache in their input (LiteLLM for Bedrock Converse,
 * Logfire for Anthropic since 4.31), and LiteLLM already adds Gemini's thoughts to its output: nothing may be
 * added a second time. LiteLLM writes the cache and reasoning counts only in `metadata.usage_object`, a Python
 * repr of its Usage, which the normalizer reads (litellm-usage.ts).
 *
 *   fixture body ─┬─ POST (one request, or split) ─► startRelay ─ http/json ─► loopback receiver ─┐
 *                 └─ decoded ─► replay(): processor.onEnd ─► OTLP exporter ─► loopback receiver ─┴─► the same checks
 *   (both paths: test/helpers/fixture-relay.ts)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ATTR_GENAI_ENRICH_USAGE_ADJUSTED as ADJUSTED,
  ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS as CACHE_CREATION,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS as CACHE_READ,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS as INPUT,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS as OUTPUT,
  ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS as REASONING,
  ATTR_GEN_AI_USAGE_TOTAL_TOKENS as TOTAL,
} from '@genai-enrich/normalizer';
import { ATTR_HOLD_OUTCOME, ATTR_USAGE_MISSING, ATTR_USAGE_MOVED_TO, ATTR_USAGE_SOURCE } from '@genai-enrich/processor';
import type { DecodedSpan } from './helpers/otlp-json.js';
import { assertExactlyOnce, assertStats, get, loadFixture, only } from './helpers/fixture-replay.js';
import type { Fixture } from './helpers/fixture-replay.js';
import { everySpan, inProcess, itThroughBothPaths, sumOver } from './helpers/fixture-relay.js';
import type { RequestsOutcome } from './helpers/fixture-relay.js';

/** A call's bill in semconv terms: input with the cache inside it, output with the reasoning inside it. */
interface Bill {
  input: number;
  output: number;
  cacheRead: number;
  cacheCreation: number;
  reasoning: number;
}

interface Case {
  readonly file: string;
  readonly provider: string;
  /** The span that stands for the model call once the trace is enriched. */
  readonly isModelCall: (span: DecodedSpan) => boolean;
  /** The bill, from the provider's own usage object as the fixture carries it. */
  readonly billOf: (fixture: Fixture) => Bill;
  /** What `genai_enrich.usage_adjusted` must say on the model call (undefined: absent). */
  readonly adjusted: readonly string[] | undefined;
}

// ── the providers' usage objects, as the fixtures carry them ─────────────────────────────────────────

/**
 * LiteLLM writes the raw provider response's fields with str(): a Python repr. The usage objects here hold
 * only ints, strings, None, True/False, lists and dicts, so a quote swap makes them JSON.
 */
function pythonRepr(value: unknown): Record<string, unknown> {
  assert.equal(typeof value, 'string');
  const json = (value as string)
    .replace(/'/g, '"')
    .replace(/\bNone\b/g, 'null')
    .replace(/\bTrue\b/g, 'true')
    .replace(/\bFalse\b/g, 'false');
  return JSON.parse(json) as Record<string, unknown>;
}

function count(object: Record<string, unknown>, key: string): number {
  const value = object[key] ?? 0;
  assert.equal(typeof value, 'number', `${key} is a count`);
  return value as number;
}

const rawSpan = (fixture: Fixture): DecodedSpan =>
  only(fixture.decoded, (s) => s.name === 'raw_gen_ai_request', 'raw_gen_ai_request span');

/** Bedrock Converse `usage`: inputTokens excludes cacheReadInputTokens and cacheWriteInputTokens. */
function bedrockBill(fixture: Fixture): Bill {
  const usage = pythonRepr(rawSpan(fixture).attributes['llm.bedrock.usage']);
  const cacheRead = count(usage, 'cacheReadInputTokens');
  const cacheCreation = count(usage, 'cacheWriteInputTokens');
  const input = count(usage, 'inputTokens') + cacheRead + cacheCreation;
  const output = count(usage, 'outputTokens');
  assert.equal(count(usage, 'totalTokens'), input + output, "Bedrock's totalTokens includes the cache");
  return { input, output, cacheRead, cacheCreation, reasoning: 0 };
}

/** Gemini `usageMetadata`: promptTokenCount includes the cached content; thoughts are outside candidates. */
function geminiBill(fixture: Fixture): Bill {
  const usage = pythonRepr(rawSpan(fixture).attributes['llm.gemini.usageMetadata']);
  const reasoning = count(usage, 'thoughtsTokenCount');
  const input = count(usage, 'promptTokenCount') + count(usage, 'toolUsePromptTokenCount');
  const output = count(usage, 'candidatesTokenCount') + reasoning;
  assert.equal(count(usage, 'totalTokenCount'), input + output);
  return { input, output, cacheRead: count(usage, 'cachedContentTokenCount'), cacheCreation: 0, reasoning };
}

/** Anthropic `usage` (Logfire's gen_ai.usage.raw): input_tokens excludes both cache counts. */
function anthropicBill(fixture: Fixture): Bill {
  const record = only(fixture.decoded, (s) => s.attributes['logfire.span_type'] === 'log', 'stream record');
  const usage = JSON.parse(record.attributes['gen_ai.usage.raw'] as string) as Record<string, unknown>;
  const cacheRead = count(usage, 'cache_read_input_tokens');
  const cacheCreation = count(usage, 'cache_creation_input_tokens');
  const input = count(usage, 'input_tokens') + cacheRead + cacheCreation;
  return { input, output: count(usage, 'output_tokens'), cacheRead, cacheCreation, reasoning: 0 };
}

const litellmRequest = (span: DecodedSpan): boolean => span.name === 'litellm_request';

const BEDROCK: Case = {
  file: 'litellm-bedrock-converse-cache.json',
  provider: 'aws.bedrock',
  isModelCall: litellmRequest,
  billOf: bedrockBill,
  // LiteLLM added Bedrock's cache to its prompt_tokens; the breakdown comes from metadata.usage_object.
  adjusted: ['input+cache_read', 'input+cache_creation'],
};
const GEMINI: Case = {
  file: 'litellm-gemini-thinking-cache.json',
  provider: 'gcp.gemini',
  isModelCall: litellmRequest,
  billOf: geminiBill,
  // LiteLLM added Gemini's thoughts to its completion_tokens.
  adjusted: ['output+reasoning'],
};
const ANTHROPIC: Case = {
  file: 'logfire-anthropic-stream-cache.json',
  provider: 'anthropic',
  isModelCall: (span) => span.name === 'Message with {request_data[model]!r}',
  billOf: anthropicBill,
  adjusted: ['input+cache_read', 'input+cache_creation'],
};

// ── the requests ─────────────────────────────────────────────────────────────────────────────────────

/** The first span to end in one request, the rest in a second: a call that outlived one export tick. */
function firstEndedApart(fixture: Fixture): Set<string>[] {
  const [first, ...rest] = [...fixture.decoded].sort((a, b) => Number(a.endTimeUnixNano - b.endTimeUnixNano));
  return [new Set([first.spanId]), new Set(rest.map((s) => s.spanId))];
}

// ── the checks ───────────────────────────────────────────────────────────────────────────────────────

/** Keys the processor must have mapped away; LiteLLM's raw provider payload (`llm.<provider>.*`) is not one. */
function legacyKeys(span: DecodedSpan): string[] {
  return Object.keys(span.attributes).filter(
    (key) =>
      key === 'gen_ai.system' ||
      key === 'llm.request.type' ||
      key === 'llm.is_streaming' ||
      key.startsWith('gen_ai.usage.prompt') ||
      key.startsWith('gen_ai.usage.completion') ||
      key.startsWith('llm.usage.') ||
      key.startsWith('llm.token_count.'),
  );
}

function assertCountedOnce(c: Case, fixture: Fixture, outcome: RequestsOutcome): void {
  assertExactlyOnce(fixture, outcome);
  assertStats(outcome.final);
  assert.equal(outcome.final.received, fixture.decoded.length);
  assert.equal(outcome.final.held, 0);

  const bill = c.billOf(fixture);
  const call = get(outcome.out, only(fixture.decoded, c.isModelCall, 'model call'));
  const what = `${c.file} ${call.name}`;

  // The model call carries the bill: input with the cache inside it, never added twice.
  assert.equal(call.attributes[INPUT], bill.input, `${what}: input is the bill's`);
  assert.equal(call.attributes[OUTPUT], bill.output, `${what}: output is the bill's`);
  const total = call.attributes[TOTAL];
  if (total !== undefined) assert.equal(total, bill.input + bill.output, `${what}: total`);
  // The breakdown too (a zero count may be absent).
  assert.equal(call.attributes[CACHE_READ] ?? 0, bill.cacheRead, `${what}: cache read`);
  assert.equal(call.attributes[CACHE_CREATION] ?? 0, bill.cacheCreation, `${what}: cache creation`);
  assert.equal(call.attributes[REASONING] ?? 0, bill.reasoning, `${what}: reasoning`);
  assert.equal(call.attributes['gen_ai.provider.name'], c.provider, `${what}: gen_ai.provider.name`);
  assert.equal(call.attributes['gen_ai.operation.name'], 'chat');
  assert.deepEqual(call.attributes[ADJUSTED], c.adjusted, `${what}: usage_adjusted`);
  assert.equal(call.attributes[ATTR_USAGE_MISSING], undefined);

  for (const span of outcome.received) {
    assert.deepEqual(legacyKeys(span), [], `${span.name}: no legacy keys`);
    // The mark sits only where the counts it describes are.
    if (span.spanId !== call.spanId) assert.equal(span.attributes[ADJUSTED], undefined, `${span.name}: no mark`);
  }

  // Per trace, the plain sum of gen_ai.usage.* over what arrived is the bill (only the model call has usage).
  const counted = {
    input: sumOver(outcome.received, INPUT),
    output: sumOver(outcome.received, OUTPUT),
    cacheRead: sumOver(outcome.received, CACHE_READ),
    cacheCreation: sumOver(outcome.received, CACHE_CREATION),
    reasoning: sumOver(outcome.received, REASONING),
  };
  assert.deepEqual(counted, bill, 'the plain sum of gen_ai.usage.* over the trace is the bill');
  assert.equal(sumOver(outcome.received, TOTAL), total ?? 0, 'one total, the call’s');
}

// ── the cases ────────────────────────────────────────────────────────────────────────────────────────

describe('Python emitters calling Bedrock, Gemini and Anthropic, through the relay: the bill, counted once', () => {
  for (const c of [BEDROCK, GEMINI, ANTHROPIC]) {
    const fixture = loadFixture(c.file);
    const splits: Array<[string, Set<string>[]]> = [
      ['one request', everySpan(fixture)],
      ['the first span to end in a request of its own', firstEndedApart(fixture)],
    ];
    for (const [how, requests] of splits) {
      itThroughBothPaths(`${c.file}, ${how}`, fixture, requests, (outcome) => assertCountedOnce(c, fixture, outcome));
    }
  }

  it('LiteLLM: its span already counts the cache (Bedrock) and the thoughts (Gemini), so nothing is added', async () => {
    for (const c of [BEDROCK, GEMINI]) {
      const fixture = loadFixture(c.file);
      const bill = c.billOf(fixture);
      const emitted = only(fixture.decoded, c.isModelCall, 'litellm_request');
      // The emitter facts: LiteLLM's prompt/completion tokens are the bill's, with no breakdown key beside them.
      assert.equal(emitted.attributes[INPUT], bill.input, `${c.file}: LiteLLM's prompt_tokens`);
      assert.equal(emitted.attributes[OUTPUT], bill.output, `${c.file}: LiteLLM's completion_tokens`);
      for (const key of [CACHE_READ, CACHE_CREATION, REASONING]) assert.equal(emitted.attributes[key], undefined);
      const outcome = await inProcess(fixture, everySpan(fixture));
      const call = get(outcome.out, emitted);
      assert.equal(call.attributes[ATTR_USAGE_SOURCE], 'telemetry');
      assert.equal(outcome.final.holds, 0, 'usage on the span: never held');
      // The raw child keeps the provider's payload as LiteLLM wrote it (Python reprs), and carries no usage.
      const raw = rawSpan(fixture);
      assert.deepEqual(get(outcome.out, raw).attributes, raw.attributes);
    }
  });

  it('Logfire: the stream record gives its usage to the request span, which ended 7.40 s before it', async () => {
    const fixture = loadFixture(ANTHROPIC.file);
    const request = only(fixture.decoded, ANTHROPIC.isModelCall, 'request span');
    const record = only(fixture.decoded, (s) => s.attributes['logfire.span_type'] === 'log', 'stream record');
    assert.equal(record.parentSpanId, request.parentSpanId, 'a sibling, under attach_context(original_context)');
    assert.equal(request.attributes[INPUT], undefined);
    // Logfire already added the cache to Anthropic's input_tokens.
    assert.equal(record.attributes[INPUT], anthropicBill(fixture).input);

    const outcome = await inProcess(fixture, firstEndedApart(fixture));
    const call = get(outcome.out, request);
    assert.equal(call.name, "Message with 'claude-sonnet-4-5'");
    assert.equal(call.attributes[ATTR_USAGE_SOURCE], 'sibling_record');
    assert.equal(call.attributes[ATTR_HOLD_OUTCOME], 'joined');
    const carrier = get(outcome.out, record);
    assert.equal(carrier.name, "streaming response from 'claude-sonnet-4-5' took 7.40s");
    assert.equal(carrier.attributes[ATTR_USAGE_MOVED_TO], request.spanId);
    assert.equal(carrier.attributes['gen_ai.usage.raw'], record.attributes['gen_ai.usage.raw'], 'the raw object stays');
    assert.equal(outcome.final.joined, 1);
    assert.equal(outcome.final.carriers, 1);
  });

  it('LiteLLM: the cache and reasoning breakdown reaches the span from metadata.usage_object (a Python repr)', async () => {
    for (const c of [BEDROCK, GEMINI]) {
      const fixture = loadFixture(c.file);
      const bill = c.billOf(fixture);
      const emitted = only(fixture.decoded, c.isModelCall, 'litellm_request');
      assert.equal(typeof emitted.attributes['metadata.usage_object'], 'string');
      const outcome = await inProcess(fixture, everySpan(fixture));
      const call = get(outcome.out, emitted);
      assert.equal(call.attributes[CACHE_READ] ?? 0, bill.cacheRead, `${c.file}: cache read`);
      assert.equal(call.attributes[CACHE_CREATION] ?? 0, bill.cacheCreation, `${c.file}: cache creation`);
      assert.equal(call.attributes[REASONING] ?? 0, bill.reasoning, `${c.file}: reasoning`);
      assert.equal(call.attributes['metadata.usage_object'], emitted.attributes['metadata.usage_object'], 'kept');
    }
  });
});
