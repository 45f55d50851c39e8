// The tap's opt-in `includeUsage` on the real pipeline (OTel contrib instrumentation, real `openai` client):
// a chat stream the application starts without include_usage gets it on the wire, the application never
// sees the extra usage-only chunk, and the span gets the usage from the tap.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { usageTapFetch } from '@genai-enrich/processor';
import { requireCjs, startRealPipeline, type RealPipeline } from '../helpers/real-pipeline.js';
import { inferenceSpans, USAGE } from './assertions.js';

describe('usageTapFetch({ includeUsage: true }) with @opentelemetry/instrumentation-openai 0.21.0 + openai 6.49.0', () => {
  let pipeline: RealPipeline;
  let traceId: string;
  const chunks: { choices: unknown[]; usage?: unknown }[] = [];

  before(async () => {
    const { OpenAIInstrumentation } = await import('@opentelemetry/instrumentation-openai');
    pipeline = await startRealPipeline({
      instrumentations: [new OpenAIInstrumentation()],
      processor: { holdMillis: 300 },
    });
    const { OpenAI } = requireCjs('openai') as typeof import('openai');
    const client = new OpenAI({
      apiKey: 'test-key',
      baseURL: pipeline.mock.baseURL,
      maxRetries: 0,
      fetch: usageTapFetch(pipeline.processor, { includeUsage: true }),
    });
    ({ traceId } = await pipeline.inRootSpan('test include-usage', async () => {
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Say hello.' }],
        stream: true,
      });
      for await (const chunk of stream) chunks.push(chunk);
    }));
    await pipeline.processor.forceFlush();
    await pipeline.receiver.waitFor(
      (spans) => spans.some((s) => s.traceId === traceId && s.parentSpanId !== ''),
      10_000,
    );
  });
  after(() => pipeline?.close());

  it('asks the provider for usage, and hides the usage-only chunk from the application', () => {
    const wire = pipeline.mock.calls.at(-1)!;
    assert.equal(wire.includeUsage, true, 'the request carried stream_options.include_usage');
    assert.ok(wire.usage !== undefined && wire.completed);
    assert.ok(chunks.length > 1);
    assert.deepEqual(
      chunks.filter((c) => c.choices.length === 0),
      [],
      'no chunk without choices reached the application',
    );
  });

  it('the span gets the usage from the tap', () => {
    const wire = pipeline.mock.calls.at(-1)!;
    const spans = inferenceSpans(pipeline.receiver.spans.filter((s) => s.traceId === traceId));
    assert.equal(spans.length, 1);
    assert.equal(spans[0].attributes[USAGE.input], wire.usage!.inputTokens);
    assert.equal(spans[0].attributes[USAGE.output], wire.usage!.outputTokens);
    assert.equal(spans[0].attributes[USAGE.source], 'http_tap');
  });
});
