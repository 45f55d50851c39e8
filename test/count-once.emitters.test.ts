/*
 * The emitters' own nesting of one model call (the Vercel AI SDK's outer span over its provider call, ai@3.2
 * to 6; @ai-sdk/otel's invoke_agent > step > chat), with the attributes the emitter writes
 * (packages/normalizer/test/fixtures/emitters/vercel.ts, each from the emitter's source), through the real
 * SDK and the processor: the trace's plain sum of input tokens is the bill, and the aggregate is still there
 * under genai_enrich.repeated_usage.*. With countUsageOnce: false it stays where the emitter put it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Attributes, Span } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';
import { vercelUsageSums } from '../packages/normalizer/test/fixtures/emitters/vercel.js';

const INPUT = 'gen_ai.usage.input_tokens';
const REPEATED_INPUT = 'genai_enrich.repeated_usage.input_tokens';

async function run(spans: readonly Attributes[], countUsageOnce: boolean) {
  const exporter = new InMemorySpanExporter();
  const processor = new GenAiEnrichingProcessor(new SimpleSpanProcessor(exporter), { countUsageOnce });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('ai');
  const started: Span[] = [];
  for (const attributes of spans) {
    const parent = started.at(-1);
    const ctx = parent === undefined ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, parent);
    started.push(tracer.startSpan(`span ${started.length}`, { attributes }, ctx));
  }
  // Innermost first, as the emitters end them.
  for (const span of [...started].reverse()) span.end();
  await provider.forceFlush();
  const out = exporter.getFinishedSpans();
  const stats = processor.stats();
  await provider.shutdown();
  const sum = (key: string) =>
    out.reduce((n, s) => n + (typeof s.attributes[key] === 'number' ? s.attributes[key] : 0), 0);
  return { out, stats, input: sum(INPUT), repeated: sum(REPEATED_INPUT) };
}

describe('one call as the Vercel AI SDK nests it: the trace sums to the bill', () => {
  for (const check of vercelUsageSums) {
    it(`${check.name} (${check.source})`, check.todo === undefined ? {} : { todo: check.todo }, async () => {
      const withUsage = check.spans.filter((a) =>
        Object.keys(a).some((k) => k.startsWith('ai.usage.') || k.startsWith('gen_ai.usage.')),
      );
      const once = await run(check.spans, true);
      assert.equal(once.out.length, check.spans.length, 'every span forwarded');
      assert.equal(once.input, check.billedInputTokens, 'the plain sum over the trace is the bill');
      assert.equal(
        once.repeated,
        check.billedInputTokens * (withUsage.length - 1),
        'each aggregate above the call is kept under genai_enrich.repeated_usage.*',
      );
      assert.equal(once.stats.usageRepeated, withUsage.length - 1);
      for (const s of once.out) {
        if (s.attributes[REPEATED_INPUT] !== undefined)
          assert.equal(s.attributes['genai_enrich.usage_repeats'], 'descendants');
      }

      const kept = await run(check.spans, false);
      assert.equal(
        kept.input,
        check.billedInputTokens * withUsage.length,
        'countUsageOnce: false leaves aggregates in place',
      );
      assert.equal(kept.repeated, 0);
    });
  }
});
