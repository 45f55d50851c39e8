// OTel contrib `@opentelemetry/instrumentation-openai` (0.21.0, the last release for Node 20) on the real
// `openai` client, through GenAiEnrichingProcessor and the OTLP/HTTP exporter.
import { openAiClient } from '../calls.js';
import type { SuiteOptions } from '../suite.js';

const NO_DETAILS = 'the instrumentation records input and output tokens only';

export const setup: SuiteOptions = {
  title: '@opentelemetry/instrumentation-openai 0.21.0 + openai 6.49.0',
  instrumentations: async () => {
    const { OpenAIInstrumentation } = await import('@opentelemetry/instrumentation-openai');
    return [new OpenAIInstrumentation()];
  },
  client: (pipeline, fetch) => openAiClient(pipeline.mock.baseURL, fetch),
  expect: {
    chat: { usage: ['input', 'output'], lost: { fields: ['cacheRead', 'reasoning'], why: NO_DETAILS } },
    'chat-stream-usage': { usage: ['input', 'output'], lost: { fields: ['cacheRead', 'reasoning'], why: NO_DETAILS } },
    'chat-stream-no-usage': { missing: 'not on the wire', why: 'include_usage was off' },
    responses: { usage: ['input', 'output'], lost: { fields: ['cacheRead', 'reasoning'], why: NO_DETAILS } },
    'responses-stream': { usage: ['input', 'output'], lost: { fields: ['cacheRead', 'reasoning'], why: NO_DETAILS } },
    embeddings: { usage: ['input'] },
    'early-break': {
      missing: 'not on the wire',
      why: 'the span is never ended; the stream was cancelled',
      forceEnded: true,
    },
  },
};
