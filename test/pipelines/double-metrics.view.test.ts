// No double metrics, with a View (double-metrics.ts): the instrumentation's own GenAI metrics are dropped
// and the processor records every call, so the stream whose usage only the tap read counts too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AggregationType } from '@opentelemetry/sdk-metrics';
import { PROCESSOR_METER_NAME } from '@genai-enrich/processor';
import { INSTRUMENTATION_SCOPE, durationCount, runDoubleMetricsCalls, tokenSums } from './double-metrics.js';

describe('GenAI metrics beside @opentelemetry/instrumentation-openai 0.21.0 own, dropped by a View', () => {
  const { result } = runDoubleMetricsCalls({
    skipScopes: [],
    views: [{ meterName: INSTRUMENTATION_SCOPE, aggregation: { type: AggregationType.DROP } }],
  });

  it('the processor counts every call once, the stream the tap read included, and the instrumentation nothing', () => {
    const { exports, chat, stream } = result();
    const billed = {
      input: chat.usage!.inputTokens + stream.usage!.inputTokens,
      output: chat.usage!.outputTokens + stream.usage!.outputTokens,
    };
    assert.deepEqual(tokenSums(exports), billed);
    assert.deepEqual(tokenSums(exports, PROCESSOR_METER_NAME), billed);
    assert.equal(durationCount(exports), 2);
    assert.equal(durationCount(exports, INSTRUMENTATION_SCOPE), 0);
  });
});
