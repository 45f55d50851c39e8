// No double metrics, the default way (double-metrics.ts): the processor skips the spans of a scope that
// records the GenAI metrics itself, so each call the instrumentation saw counts once, in its metrics.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_METRICS_SKIP_SCOPES, PROCESSOR_METER_NAME } from '@genai-enrich/processor';
import { INSTRUMENTATION_SCOPE, durationCount, runDoubleMetricsCalls, tokenSums } from './double-metrics.js';

describe('GenAI metrics beside @opentelemetry/instrumentation-openai 0.21.0 own, default skipScopes', () => {
  const { result } = runDoubleMetricsCalls({});

  it('skips the instrumentation by default', () => {
    assert.ok(DEFAULT_METRICS_SKIP_SCOPES.includes(INSTRUMENTATION_SCOPE));
  });

  it('each call counts once: the instrumentation records, the processor adds nothing for its spans', () => {
    const { exports, chat } = result();
    assert.deepEqual(tokenSums(exports, PROCESSOR_METER_NAME), { input: 0, output: 0 });
    assert.equal(durationCount(exports, PROCESSOR_METER_NAME), 0);
    // The instrumentation counted the chat completion; the stream's usage never reached it (the tap hid it).
    assert.deepEqual(tokenSums(exports), { input: chat.usage!.inputTokens, output: chat.usage!.outputTokens });
    assert.deepEqual(tokenSums(exports, INSTRUMENTATION_SCOPE), tokenSums(exports));
    assert.equal(durationCount(exports), 2, 'two calls, one duration each');
  });
});
