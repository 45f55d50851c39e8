// No double metrics (issue 16): `@opentelemetry/instrumentation-openai` 0.21.0 records gen_ai.client.token.usage
// and gen_ai.client.operation.duration itself, on the MeterProvider it is given. The processor, recording
// the same metrics on the same provider, must not count those calls a second time. Two ways, one test file
// each (an instrumentation patches `openai` once per process):
//
//   default skipScopes ─► the instrumentation's metrics count each call, the processor's skip its spans;
//                         a stream whose usage only the tap read is in neither
//   a View drops the instrumentation's meter, skipScopes: [] ─► the processor counts every call, that stream
//                         included (the tap's numbers)
//
// Two calls, on the real `openai` client through `usageTapFetch(processor, { includeUsage: true })`: a chat
// completion (the instrumentation sees its usage) and a chat stream the application starts without
// include_usage (the tap asks for the usage and hides the usage chunk, so only the span gets it).
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { ViewOptions } from '@opentelemetry/sdk-metrics';
import {
  METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
  usageTapFetch,
} from '@genai-enrich/processor';
import type { MockCall } from '../helpers/openai-mock.js';
import type { DecodedMetricPoint } from '../helpers/otlp-metrics.js';
import { latestPoints } from '../helpers/otlp-metrics.js';
import { startRealPipeline, type RealPipeline } from '../helpers/real-pipeline.js';
import { openAiClient, waitForEveryStartedSpan } from './calls.js';

export const INSTRUMENTATION_SCOPE = '@opentelemetry/instrumentation-openai';

export interface DoubleMetricsRun {
  exports: DecodedMetricPoint[][];
  chat: MockCall;
  stream: MockCall;
}

/** Starts the pipeline before the tests of one file, makes the two calls, and collects the metrics. */
export function runDoubleMetricsCalls(metrics: { skipScopes?: readonly string[]; views?: ViewOptions[] }): {
  result: () => DoubleMetricsRun;
} {
  let pipeline: RealPipeline;
  let run: DoubleMetricsRun;
  before(async () => {
    const { OpenAIInstrumentation } = await import('@opentelemetry/instrumentation-openai');
    pipeline = await startRealPipeline({
      instrumentations: [new OpenAIInstrumentation()],
      processor: { holdMillis: 300 },
      metrics,
    });
    const client = openAiClient(pipeline.mock.baseURL, usageTapFetch(pipeline.processor, { includeUsage: true }));
    for (const call of ['chat', 'chat-stream-no-usage'] as const)
      await pipeline.inRootSpan(call, () => client.run(call));
    await pipeline.processor.forceFlush();
    await waitForEveryStartedSpan(pipeline, 10_000);
    const [chat, stream] = pipeline.mock.calls;
    assert.ok(chat.usage !== undefined && stream.usage !== undefined && stream.includeUsage, 'both calls billed');
    run = { exports: await pipeline.collectMetrics(), chat, stream };
  });
  after(() => pipeline?.close());
  return { result: () => run };
}

/** Token sums of `gen_ai.client.token.usage` from one meter (or all), by token type. */
export function tokenSums(exports: readonly DecodedMetricPoint[][], scope?: string): { input: number; output: number } {
  const points = latestPoints(exports, METRIC_GEN_AI_CLIENT_TOKEN_USAGE).filter(
    (p) => scope === undefined || p.scope === scope,
  );
  const sum = (type: string): number =>
    points.filter((p) => p.attributes['gen_ai.token.type'] === type).reduce((n, p) => n + p.value, 0);
  return { input: sum('input'), output: sum('output') };
}

/** How many calls `gen_ai.client.operation.duration` counted, from one meter (or all). */
export function durationCount(exports: readonly DecodedMetricPoint[][], scope?: string): number {
  return latestPoints(exports, METRIC_GEN_AI_CLIENT_OPERATION_DURATION)
    .filter((p) => scope === undefined || p.scope === scope)
    .reduce((n, p) => n + p.count, 0);
}
