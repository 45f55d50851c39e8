/*
 * @genai-enrich/processor, packed, behind the Vercel AI SDK 7 and its OpenTelemetry integration @ai-sdk/otel
 * (Node ≥ 22), plain JavaScript. The loopback OpenAI mock and OTLP receiver are the repository's TypeScript
 * helpers, loaded through the root's tsx (run.sh); everything else comes from test/aisdk7/node_modules.
 *
 *   ai 7 (ToolLoopAgent, streamText, embedMany) + @ai-sdk/openai ──► loopback OpenAI mock (bills each call)
 *     └─ telemetry integration: @ai-sdk/otel OpenTelemetry (semconv) or LegacyOpenTelemetry (ai.* spans)
 *          └─ BasicTracerProvider (sdk-trace-base 2.x) ─┬─► GenAiEnrichingProcessor ─► OTLPTraceExporter ─► receiver
 *                                                       └─► SimpleSpanProcessor ─► InMemorySpanExporter (what the SDK ended)
 *
 * What @ai-sdk/otel 1.0.185 emits (dist/index.js), and where the usage sits:
 *   OpenTelemetry, generateText / streamText:  `invoke_agent {model}` (the call's total usage, onGenerateEnd)
 *     └─ `step N` (agent_step, no usage) ─┬─ `chat {model}` (that call's usage, onLanguageModelCallEnd)
 *                                          └─ `execute_tool {name}`
 *   OpenTelemetry, embedMany:  `embeddings {model}` root WITHOUT usage (onEmbedOperationEnd writes none)
 *     └─ `embeddings {model}` per doEmbed call, with gen_ai.usage.input_tokens (onEmbedEnd)
 *   LegacyOpenTelemetry:  `ai.generateText` (ai.usage.* total) └─ `ai.generateText.doGenerate` (the call's
 *     usage) └─ `ai.toolCall`;  `ai.embedMany` (ai.usage.tokens total) └─ `ai.embedMany.doEmbed` (ai.usage.tokens)
 *
 * Every test asserts: each span the SDK ended reached the receiver exactly once; the plain sum of
 * gen_ai.usage.* over the trace is what the mock billed; aggregates are kept under
 * genai_enrich.repeated_usage.* marked `descendants`; stats balance (received = forwarded + held +
 * awaitingDescendants, no errors).
 *
 * Run: bash test/aisdk7/run.sh   (from the repository root)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  ATTR_HOLD_OUTCOME,
  ATTR_USAGE_MISSING,
  ATTR_USAGE_REPEATS,
  GenAiEnrichingProcessor,
  REPEATED_USAGE_PREFIX,
} from '@genai-enrich/processor';
import { LegacyOpenTelemetry, OpenTelemetry } from '@ai-sdk/otel';
import { createOpenAI } from '@ai-sdk/openai';
import { ToolLoopAgent, embedMany, stepCountIs, streamText, tool, wrapEmbeddingModel } from 'ai';
import { z } from 'zod';
import { startOpenAiMock } from '../helpers/openai-mock.ts';
import { startOtlpReceiver } from '../helpers/otlp-receiver.ts';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const pkg = (name) => JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8'));

// What NodeTracerProvider.register() sets up. @ai-sdk/otel runs each tool in its span's context
// (executeTool), so an agent called from a tool starts its root span below that tool span.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

const MODEL = 'gpt-4o-mini';
const EMBEDDING_MODEL = 'text-embedding-3-small';
/** The counts the mock bills, as the GenAI conventions name them on spans. */
const BILLED = {
  input_tokens: (u) => u.inputTokens,
  output_tokens: (u) => u.outputTokens,
  'cache_read.input_tokens': (u) => u.cacheReadInputTokens,
};
const USAGE = 'gen_ai.usage.';

/** Where each @ai-sdk/otel integration puts an agent's spans. */
const AGENT_SPANS = {
  semconv: { root: `invoke_agent ${MODEL}`, call: `chat ${MODEL}`, tool: (name) => `execute_tool ${name}` },
  legacy: { root: 'ai.generateText', call: 'ai.generateText.doGenerate', tool: () => 'ai.toolCall' },
};

/**
 * One pipeline per test: a fresh mock (its bill starts at zero), a receiver, the processor in exporter mode
 * in front of the real OTLP/HTTP exporter, and a recorder of every span the SDK ended.
 */
async function pipeline(t, processorOptions = {}) {
  const mock = await startOpenAiMock({ toolCallArguments: { city: 'Paris' } });
  const receiver = await startOtlpReceiver();
  const processor = new GenAiEnrichingProcessor(new OTLPTraceExporter({ url: receiver.url }), processorOptions);
  const ended = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [processor, new SimpleSpanProcessor(ended)] });
  t.after(async () => {
    await provider.shutdown();
    await mock.close();
    await receiver.close();
  });
  const tracer = provider.getTracer('aisdk7-test');
  return {
    mock,
    processor,
    openai: createOpenAI({ apiKey: 'test', baseURL: mock.baseURL }),
    /** The per-call `telemetry` setting: this pipeline's tracer through one of @ai-sdk/otel's integrations. */
    telemetry: (integration, functionId) => ({
      functionId,
      integrations: [integration === 'legacy' ? new LegacyOpenTelemetry({ tracer }) : new OpenTelemetry({ tracer })],
    }),
    /** The SDK's ended span ids so far, without flushing anything. */
    endedIds: () => ended.getFinishedSpans().map((s) => s.spanContext().spanId),
    /** Flushes, then returns what the receiver got, checked to be every span the SDK ended, each once. */
    async received() {
      await provider.forceFlush();
      const sdkIds = ended.getFinishedSpans().map((s) => s.spanContext().spanId);
      await receiver.waitFor((spans) => spans.length >= sdkIds.length, 2000);
      const ids = receiver.spans.map((s) => s.spanId);
      assert.equal(new Set(ids).size, ids.length, `no span twice:\n${describeSpans(receiver.spans)}`);
      assert.deepEqual([...ids].sort(), [...sdkIds].sort(), 'the receiver got every span the SDK ended');
      return receiver.spans;
    },
  };
}

/** What the mock billed for `calls`, per BILLED key. */
function bill(calls) {
  const sums = Object.fromEntries(Object.keys(BILLED).map((k) => [k, 0]));
  for (const call of calls) {
    assert.ok(call.completed && call.usage, `the mock sent call ${call.responseId || call.endpoint} in full`);
    for (const [k, read] of Object.entries(BILLED)) sums[k] += read(call.usage);
  }
  return sums;
}

/** The plain sum of gen_ai.usage.* over `spans`, what a dashboard adds up, per BILLED key. */
function usageSum(spans, prefix = USAGE) {
  return Object.fromEntries(
    Object.keys(BILLED).map((k) => [k, spans.reduce((n, s) => n + (s.attributes[prefix + k] ?? 0), 0)]),
  );
}

/** One line per span (parent, name, usage attributes): failure messages show what arrived. */
function describeSpans(spans) {
  const names = new Map(spans.map((s) => [s.spanId, s.name]));
  return spans
    .map((s) => {
      const usage = Object.entries(s.attributes).filter(
        ([k]) => k.startsWith(USAGE) || k.startsWith('genai_enrich.') || k === 'ai.usage.tokens',
      );
      const parent = s.parentSpanId ? (names.get(s.parentSpanId) ?? s.parentSpanId) : '(root)';
      return `  ${parent} > ${s.name} ${JSON.stringify(Object.fromEntries(usage))}`;
    })
    .join('\n');
}

/** The trace's sum is the bill. */
function assertBilledOnce(spans, calls) {
  assert.equal(new Set(spans.map((s) => s.traceId)).size, 1, 'one trace');
  assert.deepEqual(usageSum(spans), bill(calls), `the trace's usage sum is the bill:\n${describeSpans(spans)}`);
}

/** `span` kept its usage, equal to `calls`' bill, under genai_enrich.repeated_usage.* only. */
function assertAggregateKept(span, calls) {
  const expected = bill(calls);
  for (const k of Object.keys(BILLED)) assert.equal(span.attributes[USAGE + k], undefined, `${span.name}: no ${k}`);
  assert.deepEqual(usageSum([span], REPEATED_USAGE_PREFIX), expected, `${span.name}: its total, kept`);
  assert.equal(span.attributes[ATTR_USAGE_REPEATS], 'descendants');
}

function assertStats(processor, { received, usageRepeated }) {
  const s = processor.stats();
  const all = JSON.stringify(s);
  assert.equal(s.received, received, all);
  assert.equal(
    s.received,
    s.forwarded + s.held + s.awaitingDescendants,
    `received = forwarded + held + awaiting: ${all}`,
  );
  assert.equal(s.usageRepeated, usageRepeated, all);
  assert.equal(s.usageUnaccounted, 0, all);
  assert.equal(s.errors, 0, all);
}

const only = (spans, predicate, what) => {
  const found = spans.filter(predicate);
  assert.equal(found.length, 1, `exactly one ${what}:\n${describeSpans(spans)}`);
  return found[0];
};
const named = (spans, name) => spans.filter((s) => s.name === name);
const parentOf = (spans, span) => spans.find((s) => s.spanId === span.parentSpanId);
function ancestors(spans, span) {
  const out = [];
  for (let p = parentOf(spans, span); p; p = parentOf(spans, p)) out.push(p);
  return out;
}

/** The tool the mock calls first in every agent: it records the cities it was asked about. */
function weatherTool(cities) {
  return tool({
    description: 'The weather in a city',
    inputSchema: z.object({ city: z.string() }),
    execute: ({ city }) => {
      cities.push(city);
      return Promise.resolve({ city, sky: 'sunny' });
    },
  });
}

/**
 * The trace of one agent run (a tool call between two model calls): its spans are where `shape` says, each
 * model-call span is one billed call (same response id, same counts), the sum is the bill, the root's total
 * is kept as a repeat. Returns the root.
 */
function assertAgentTrace(spans, calls, shape) {
  assertBilledOnce(spans, calls);
  const root = only(spans, (s) => !s.parentSpanId, 'root');
  assert.equal(root.name, shape.root);
  const callSpans = named(spans, shape.call);
  assert.deepEqual(
    callSpans.map((s) => s.attributes['gen_ai.response.id']).sort(),
    calls.map((c) => c.responseId).sort(),
    'one model-call span per billed call',
  );
  for (const span of callSpans) {
    const call = calls.find((c) => c.responseId === span.attributes['gen_ai.response.id']);
    assert.equal(span.attributes[`${USAGE}input_tokens`], call.usage.inputTokens, 'the call keeps its usage');
    assert.equal(span.attributes[`${USAGE}output_tokens`], call.usage.outputTokens);
    assert.ok(ancestors(spans, span).includes(root));
  }
  const toolSpan = only(spans, (s) => s.name === shape.tool('weather'), 'tool span');
  assert.ok(ancestors(spans, toolSpan).includes(root), 'the tool ran inside the agent');
  assertAggregateKept(root, calls);
  return root;
}

describe('the installed AI SDK 7 and @ai-sdk/otel, on a Node they support', () => {
  it('resolves the pinned versions, one @opentelemetry/api for everyone, the packed packages as copies', (t) => {
    const versions = ['ai', '@ai-sdk/otel', '@ai-sdk/openai', '@opentelemetry/sdk-trace-base', '@opentelemetry/api'];
    t.diagnostic(`node ${process.version}, ${versions.map((n) => `${n} ${pkg(n).version}`).join(', ')}`);
    assert.equal(pkg('ai').version, '7.0.185');
    assert.equal(pkg('@ai-sdk/otel').version, '1.0.185');
    assert.equal(pkg('@ai-sdk/openai').version, '4.0.126');
    assert.match(pkg('@opentelemetry/sdk-trace-base').version, /^2\./);
    assert.ok(Number(process.versions.node.split('.')[0]) >= 22, `@ai-sdk/otel needs Node >= 22: ${process.version}`);
    const api = require.resolve('@opentelemetry/api');
    for (const dir of ['@ai-sdk/otel', '@genai-enrich/processor']) {
      const from = createRequire(join(here, 'node_modules', dir, 'package.json'));
      assert.equal(from.resolve('@opentelemetry/api'), api, `${dir} shares the SDK's @opentelemetry/api`);
    }
    for (const name of ['processor', 'normalizer']) {
      const dir = join(here, 'node_modules', '@genai-enrich', name);
      assert.equal(lstatSync(dir).isSymbolicLink(), false, `${name} is a copy from its tarball`);
    }
  });
});

describe('an agent: two model calls around a tool call, counted once', () => {
  for (const integration of ['semconv', 'legacy']) {
    it(`ToolLoopAgent.generate, @ai-sdk/otel ${integration === 'legacy' ? 'LegacyOpenTelemetry' : 'OpenTelemetry'}`, async (t) => {
      const p = await pipeline(t);
      const cities = [];
      const agent = new ToolLoopAgent({
        model: p.openai.chat(MODEL),
        tools: { weather: weatherTool(cities) },
        stopWhen: stepCountIs(4),
        telemetry: p.telemetry(integration),
      });
      const result = await agent.generate({ prompt: 'What is the weather in Paris?' });
      assert.deepEqual(cities, ['Paris']);
      assert.equal(result.steps.length, 2);
      assert.deepEqual(
        p.mock.calls.map((c) => [c.stream, c.toolCall]),
        [
          [false, 'weather'],
          [false, undefined],
        ],
      );
      assert.equal(result.totalUsage.inputTokens, bill(p.mock.calls).input_tokens, 'the SDK totals the same bill');
      const spans = await p.received();
      assertAgentTrace(spans, p.mock.calls, AGENT_SPANS[integration]);
      assertStats(p.processor, { received: spans.length, usageRepeated: 1 });
    });
  }

  it('streamText with tools and stopWhen, @ai-sdk/otel OpenTelemetry: the streamed calls too', async (t) => {
    const p = await pipeline(t);
    const cities = [];
    const result = streamText({
      model: p.openai.chat(MODEL),
      prompt: 'What is the weather in Paris?',
      tools: { weather: weatherTool(cities) },
      stopWhen: stepCountIs(4),
      telemetry: p.telemetry('semconv'),
    });
    await result.consumeStream();
    assert.equal((await result.steps).length, 2);
    assert.deepEqual(cities, ['Paris']);
    assert.deepEqual(
      p.mock.calls.map((c) => [c.stream, c.includeUsage, c.toolCall]),
      [
        [true, true, 'weather'],
        [true, true, undefined],
      ],
    );
    const spans = await p.received();
    const root = assertAgentTrace(spans, p.mock.calls, AGENT_SPANS.semconv);
    assert.deepEqual(
      named(spans, 'step 1').map((s) => s.parentSpanId),
      [root.spanId],
    );
    assertStats(p.processor, { received: spans.length, usageRepeated: 1 });
  });
});

describe('embedMany over several doEmbed calls, counted once', () => {
  /** The OpenAI model takes 2048 values a call; middleware lowers that so five values make three calls. */
  const embeddingModel = (p) =>
    wrapEmbeddingModel({
      model: p.openai.embedding(EMBEDDING_MODEL),
      middleware: { overrideMaxEmbeddingsPerCall: () => 2 },
    });
  const VALUES = ['sunny', 'cloudy', 'rain', 'snow', 'fog'];

  it('@ai-sdk/otel OpenTelemetry: the calls carry the usage, the operation root none', async (t) => {
    const p = await pipeline(t);
    const result = await embedMany({ model: embeddingModel(p), values: VALUES, telemetry: p.telemetry('semconv') });
    assert.equal(p.mock.calls.length, 3);
    assert.equal(result.usage.tokens, bill(p.mock.calls).input_tokens);
    const spans = await p.received();
    assertBilledOnce(spans, p.mock.calls);
    const root = only(spans, (s) => !s.parentSpanId, 'root');
    assert.equal(root.name, `embeddings ${EMBEDDING_MODEL}`);
    assert.equal(root.attributes[`${USAGE}input_tokens`], undefined, '1.0.185 writes no usage on this root');
    const calls = spans.filter((s) => s !== root);
    assert.deepEqual(
      calls.map((s) => [s.name, s.parentSpanId]),
      p.mock.calls.map(() => [`embeddings ${EMBEDDING_MODEL}`, root.spanId]),
    );
    assert.deepEqual(
      calls.map((s) => s.attributes[`${USAGE}input_tokens`]).sort(),
      p.mock.calls.map((c) => c.usage.inputTokens).sort(),
    );
    assertStats(p.processor, { received: spans.length, usageRepeated: 0 });
  });

  it('@ai-sdk/otel OpenTelemetry: the operation root, whose calls below it carry the usage, is not held for usage', async (t) => {
    const p = await pipeline(t);
    await embedMany({ model: embeddingModel(p), values: VALUES, telemetry: p.telemetry('semconv') });
    const s = p.processor.stats();
    assert.equal(s.holds, 0, `nothing held once embedMany returned: ${JSON.stringify(s)}`);
    const spans = await p.received();
    const root = only(spans, (x) => !x.parentSpanId, 'root');
    assert.equal(root.attributes[ATTR_USAGE_MISSING], undefined, describeSpans(spans));
    assert.equal(root.attributes[ATTR_HOLD_OUTCOME], undefined, describeSpans(spans));
  });

  it('@ai-sdk/otel LegacyOpenTelemetry: the ai.embedMany root repeats its calls, kept under repeated_usage', async (t) => {
    const p = await pipeline(t);
    await embedMany({ model: embeddingModel(p), values: VALUES, telemetry: p.telemetry('legacy') });
    assert.equal(p.mock.calls.length, 3);
    const spans = await p.received();
    assertBilledOnce(spans, p.mock.calls);
    const root = only(spans, (s) => !s.parentSpanId, 'root');
    assert.equal(root.name, 'ai.embedMany');
    assert.equal(root.attributes['ai.usage.tokens'], undefined, 'mapped to the conventions, then set aside');
    assertAggregateKept(root, p.mock.calls);
    assert.deepEqual(
      spans.filter((s) => s !== root).map((s) => [s.name, s.parentSpanId]),
      p.mock.calls.map(() => ['ai.embedMany.doEmbed', root.spanId]),
    );
    assertStats(p.processor, { received: spans.length, usageRepeated: 1 });
  });
});

describe('countUsageOnce: false keeps the aggregates in place', () => {
  it('agent (OpenTelemetry) and embedMany (LegacyOpenTelemetry): each trace sums to its bill twice', async (t) => {
    const p = await pipeline(t, { countUsageOnce: false });
    const agent = new ToolLoopAgent({
      model: p.openai.chat(MODEL),
      tools: { weather: weatherTool([]) },
      stopWhen: stepCountIs(4),
      telemetry: p.telemetry('semconv'),
    });
    await agent.generate({ prompt: 'What is the weather in Paris?' });
    const embedding = wrapEmbeddingModel({
      model: p.openai.embedding(EMBEDDING_MODEL),
      middleware: { overrideMaxEmbeddingsPerCall: () => 2 },
    });
    await embedMany({ model: embedding, values: ['a', 'b', 'c'], telemetry: p.telemetry('legacy') });
    const agentCalls = p.mock.calls.filter((c) => c.endpoint === 'chat');
    const embedCalls = p.mock.calls.filter((c) => c.endpoint === 'embeddings');
    assert.deepEqual([agentCalls.length, embedCalls.length], [2, 2]);
    const spans = await p.received();
    const roots = spans.filter((s) => !s.parentSpanId);
    assert.deepEqual(roots.map((s) => s.name).sort(), ['ai.embedMany', `invoke_agent ${MODEL}`]);
    for (const [root, calls] of [
      [roots.find((s) => s.name === 'ai.embedMany'), embedCalls],
      [roots.find((s) => s.name !== 'ai.embedMany'), agentCalls],
    ]) {
      const trace = spans.filter((s) => s.traceId === root.traceId);
      const once = bill(calls);
      const twice = Object.fromEntries(Object.entries(once).map(([k, v]) => [k, 2 * v]));
      // Two levels carry each call's usage: the call's span and the aggregate above it.
      assert.deepEqual(usageSum(trace), twice, `${root.name}: bill × 2 levels:\n${describeSpans(trace)}`);
      assert.deepEqual(usageSum([root]), once, `${root.name}: its total, in place`);
      assert.equal(root.attributes[ATTR_USAGE_REPEATS], undefined);
      assert.deepEqual(usageSum(trace, REPEATED_USAGE_PREFIX), usageSum([]), 'nothing moved');
    }
    assertStats(p.processor, { received: spans.length, usageRepeated: 0 });
  });
});

describe('an agent called from a tool of another agent (aggregates at two levels)', () => {
  for (const integration of ['semconv', 'legacy']) {
    it(`@ai-sdk/otel ${integration === 'legacy' ? 'LegacyOpenTelemetry' : 'OpenTelemetry'}: each agent's total is kept, the trace sums to the bill`, async (t) => {
      const p = await pipeline(t);
      const shape = AGENT_SPANS[integration];
      // No tools: one call. With two, its total would equal the planner's (the mock's counts grow
      // linearly), and a wrong rule could pass by matching the wrong agent.
      const forecaster = new ToolLoopAgent({
        model: p.openai.chat(MODEL),
        telemetry: p.telemetry(integration, 'forecaster'),
      });
      const research = tool({
        description: 'Ask the forecaster',
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }) => (await forecaster.generate({ prompt: `Weather in ${city}?` })).text,
      });
      const planner = new ToolLoopAgent({
        model: p.openai.chat(MODEL),
        tools: { research },
        stopWhen: stepCountIs(4),
        telemetry: p.telemetry(integration, 'planner'),
      });
      await planner.generate({ prompt: 'Plan a day in Paris.' });
      // The planner's first call asks for research, the forecaster answers it, the planner answers.
      assert.deepEqual(
        p.mock.calls.map((c) => c.toolCall),
        ['research', undefined, undefined],
      );
      const [plan1, forecast, plan2] = p.mock.calls;
      const spans = await p.received();
      assertBilledOnce(spans, p.mock.calls);
      const roots = named(spans, shape.root);
      assert.equal(roots.length, 2);
      const outer = only(roots, (s) => !s.parentSpanId, 'outer agent');
      const inner = only(roots, (s) => s !== outer, 'inner agent');
      assert.ok(ancestors(spans, inner).some((s) => s.name === shape.tool('research')));
      assertAggregateKept(inner, [forecast]);
      assertAggregateKept(outer, [plan1, plan2]);
      assertStats(p.processor, { received: spans.length, usageRepeated: 2 });
    });
  }
});
