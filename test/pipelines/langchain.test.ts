/*
 * LangChain JS for real: `@langchain/openai` 1.3.0 (`ChatOpenAI`, on the repository's `openai` 6.49) with
 * `@langchain/core` 1.4.0, traced by OpenInference's LangChain instrumentation 4.1.1 (its callback handler,
 * installed with `manuallyInstrument` on `@langchain/core/callbacks/manager`), against the loopback OpenAI
 * mock, through GenAiEnrichingProcessor and the OTLP exporter to the loopback receiver.
 *
 *   a chain          ChatPromptTemplate | ChatOpenAI                     (invoke, and stream with usage)
 *   an agent         a RunnableLambda that calls the model with a tool bound, runs the tool the model asks
 *                    for, and calls the model again with its result: two model calls and a tool call
 *
 * On what arrives: every started span once; the plain sum of gen_ai.usage.* is what the mock billed; no span
 * repeats usage (OpenInference puts it on LLM spans only); nothing is held or marked usage_missing (the
 * prompt template and the chain spans are no model calls); the stats balance.
 * (`@langchain/openai` ≥ 1.4 needs Node 22 and `openai` 7.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LangChainInstrumentation } from '@arizeai/openinference-instrumentation-langchain';
import * as CallbackManagerModule from '@langchain/core/callbacks/manager';
import { HumanMessage, ToolMessage } from '@langchain/core/messages';
import type { BaseMessage, AIMessage } from '@langchain/core/messages';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { RunnableLambda } from '@langchain/core/runnables';
import { tool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';
import { z } from 'zod';
import { startRealPipeline } from '../helpers/real-pipeline.js';
import type { RealPipeline } from '../helpers/real-pipeline.js';
import { waitForEveryStartedSpan } from './calls.js';
import { usageSum } from './assertions.js';

const IN = 'gen_ai.usage.input_tokens';
const OUT = 'gen_ai.usage.output_tokens';
const REPEATED = 'genai_enrich.repeated_usage.';

interface Run {
  billed: [number, number];
  calls: number;
}

describe('LangChain JS (@langchain/openai 1.3.0, @langchain/core 1.4.0) + OpenInference LangChain 4.1.1', () => {
  let pipeline: RealPipeline;
  const runs = new Map<string, Run>();

  async function run(name: string, fn: (model: ChatOpenAI) => Promise<unknown>): Promise<void> {
    const from = pipeline.mock.calls.length;
    const model = new ChatOpenAI({
      model: 'gpt-4o-mini',
      apiKey: 'test-key',
      configuration: { baseURL: pipeline.mock.baseURL },
    });
    await pipeline.inRootSpan(name, () => fn(model));
    const calls = pipeline.mock.calls.slice(from);
    const billed: [number, number] = [0, 0];
    for (const c of calls) {
      billed[0] += c.usage?.inputTokens ?? 0;
      billed[1] += c.usage?.outputTokens ?? 0;
    }
    runs.set(name, { billed, calls: calls.length });
  }

  before(async () => {
    const instrumentation = new LangChainInstrumentation();
    pipeline = await startRealPipeline({
      instrumentations: [instrumentation],
      processor: { holdMillis: 300, maxOpenMillis: 600 },
      mock: { toolCallArguments: { city: 'Paris' } },
    });
    instrumentation.manuallyInstrument(CallbackManagerModule);
    const prompt = ChatPromptTemplate.fromMessages([['human', 'Tell me about {topic} in one line.']]);

    await run('chain', (model) => prompt.pipe(model).invoke({ topic: 'tracing' }));
    await run('chain-stream', async (model) => {
      const stream = await prompt.pipe(model).stream({ topic: 'spans' });
      for await (const chunk of stream) void chunk;
    });
    const weather = tool(({ city }: { city: string }) => `Sunny in ${city}`, {
      name: 'weather',
      description: 'The weather in a city',
      schema: z.object({ city: z.string() }),
    });
    await run('agent', (model) =>
      RunnableLambda.from(async (question: string, config) => {
        const withTools = model.bindTools([weather]);
        const messages: BaseMessage[] = [new HumanMessage(question)];
        const first = await withTools.invoke(messages, config);
        messages.push(first);
        for (const call of (first as AIMessage).tool_calls ?? []) {
          const result = await weather.invoke(call.args as { city: string }, config);
          messages.push(new ToolMessage({ content: String(result), tool_call_id: call.id ?? 'call' }));
        }
        return withTools.invoke(messages, config);
      })
        .withConfig({ runName: 'agent' })
        .invoke('What is the weather in Paris?'),
    );
    await pipeline.provider.forceFlush();
    await waitForEveryStartedSpan(pipeline, 10_000);
  });
  after(() => pipeline?.close());

  it('forwards every span the SDK started exactly once; nothing is held; the stats balance', () => {
    const counts = new Map<string, number>();
    for (const s of pipeline.receiver.spans) counts.set(s.spanId, (counts.get(s.spanId) ?? 0) + 1);
    assert.deepEqual(
      [...counts].filter(([, n]) => n > 1),
      [],
    );
    for (const id of pipeline.started.ids.keys()) assert.ok(counts.has(id), `span ${id} arrived`);
    const s = pipeline.processor.stats();
    assert.equal(s.received, s.forwarded + s.held + s.awaitingDescendants);
    assert.deepEqual([s.held, s.awaitingDescendants, s.holds, s.errors], [0, 0, 0, 0], JSON.stringify(s));
  });

  // Traces are not told apart by the test's root spans: LangChain keeps its own async context, and the
  // streamed chain's spans came out under the previous run's root. So the sums are over everything sent.
  it('over every run, the usage that arrives sums to what the mock billed, once; no span repeats or misses usage', () => {
    const spans = pipeline.receiver.spans;
    const billed = [...runs.values()].reduce((t, r) => [t[0] + r.billed[0], t[1] + r.billed[1]], [0, 0]);
    assert.deepEqual(
      [...runs].map(([name, r]) => [name, r.calls]),
      [
        ['chain', 1],
        ['chain-stream', 1],
        ['agent', 2],
      ],
    );
    assert.equal(usageSum(spans, IN), billed[0]);
    assert.equal(usageSum(spans, OUT), billed[1]);
    const llm = spans.filter((s) => s.attributes['openinference.span.kind'] === 'LLM');
    assert.equal(llm.length, 4, 'one LLM span per model call');
    for (const s of llm) assert.equal(s.attributes['genai_enrich.usage_source'], 'telemetry', s.name);
    // OpenInference puts usage on LLM spans only: nothing above them repeats it.
    assert.equal(usageSum(spans, `${REPEATED}input_tokens`), 0);
    assert.equal(pipeline.processor.stats().usageRepeated, 0);
    for (const s of spans) {
      assert.equal(s.attributes['genai_enrich.usage_missing'], undefined, `${s.name} is no call waiting for usage`);
    }
  });

  it('agent: the tool ran inside the agent and both calls sit below it', () => {
    const spans = pipeline.receiver.spans;
    const agent = spans.find((s) => s.name === 'agent');
    assert.ok(agent !== undefined, JSON.stringify(spans.map((s) => s.name)));
    const toolSpan = spans.find((s) => s.name === 'weather');
    assert.ok(toolSpan !== undefined, 'a tool span');
    assert.equal(
      pipeline.mock.calls.filter((c) => c.toolCall === 'weather').length,
      1,
      'the model asked for the tool once',
    );
  });
});
