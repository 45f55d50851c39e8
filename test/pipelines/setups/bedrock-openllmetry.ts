// OpenLLMetry `@traceloop/instrumentation-bedrock` 0.27.0 on the real `@aws-sdk/client-bedrock-runtime`
// 3.1178.0, against the loopback Bedrock mock, through GenAiEnrichingProcessor and the OTLP/HTTP exporter.
//
// Where 0.27.0 breaks: it reads only InvokeModel's body, so its Converse and ConverseStream spans
// (`bedrock.completion`) carry no operation and no usage, and are no inference spans; on InvokeModel it
// copies Claude's `input_tokens` without the cache and drops the cache counts; and on
// InvokeModelWithResponseStream it reads the stream itself before handing it back, so the application
// reads only what is left (one chunk).
import { startBedrockMock } from '../../helpers/bedrock-mock.js';
import type { BedrockMock } from '../../helpers/bedrock-mock.js';
import { bedrockSdkCalls, bedrockWire } from '../bedrock-calls.js';
import type { ProviderSuiteOptions } from '../provider-suite.js';

const NO_CACHE = 'it copies input_tokens, which leaves the cache out, and no cache counts';
const CONVERSE = 'a bedrock.completion span without operation or usage: 0.27.0 reads only InvokeModel bodies';

export const setup: ProviderSuiteOptions<BedrockMock> = {
  title: '@traceloop/instrumentation-bedrock 0.27.0 + @aws-sdk/client-bedrock-runtime 3.1178.0',
  provider: 'aws.bedrock',
  instrumentations: async () => {
    const { BedrockInstrumentation } = await import('@traceloop/instrumentation-bedrock');
    return [new BedrockInstrumentation()];
  },
  startMock: () => startBedrockMock({ chunkDelayMs: 15 }),
  wire: bedrockWire,
  calls: async (_pipeline, mock, fetch) => {
    const calls = bedrockSdkCalls(mock, fetch);
    // The instrumentation consumes the stream before the application gets it: what is left is not the reply.
    return { ...calls, 'invoke-stream': { run: calls['invoke-stream'].run } };
  },
  expect: {
    converse: { noInferenceSpan: CONVERSE },
    'converse-stream': { noInferenceSpan: CONVERSE },
    invoke: { telemetry: 'partial', lost: ['cacheRead', 'cacheCreation'], raw: true, why: NO_CACHE },
    'invoke-stream': {
      telemetry: 'partial',
      lost: ['cacheRead', 'cacheCreation'],
      raw: true,
      why: `the invocation metrics' input, without the cache: ${NO_CACHE}`,
    },
    'early-break': { noInferenceSpan: CONVERSE },
  },
};
