// OpenLLMetry `@traceloop/instrumentation-openai` 0.27.0 on the real `openai` client, through
// GenAiEnrichingProcessor and the OTLP/HTTP exporter.
import { openAiClient } from '../calls.js';
import type { SuiteOptions } from '../suite.js';

const NO_DETAILS = 'the instrumentation records input and output tokens only';

export const setup: SuiteOptions = {
  title: '@traceloop/instrumentation-openai 0.27.0 + openai 6.49.0',
  instrumentations: async () => {
    const { OpenAIInstrumentation } = await import('@traceloop/instrumentation-openai');
    return [new OpenAIInstrumentation()];
  },
  client: (pipeline, fetch) => openAiClient(pipeline.mock.baseURL, fetch),
  expect: {
    chat: { usage: ['input', 'output'], lost: { fields: ['cacheRead', 'reasoning'], why: NO_DETAILS } },
    'chat-stream-usage': { missing: 'lost', why: 'streamed usage is dropped although include_usage is set' },
    'chat-stream-no-usage': { missing: 'not on the wire', why: 'include_usage was off' },
    responses: {
      usage: ['input', 'output'],
      lost: { fields: ['cacheRead', 'reasoning'], why: NO_DETAILS },
    },
    'responses-stream': {
      missing: 'lost',
      why: 'streamed usage is dropped, and the span has no response id to join on',
    },
    embeddings: { noSpan: 'the instrumentation does not trace embeddings' },
    'early-break': {
      missing: 'not on the wire',
      why: 'the span is never ended; the stream was cancelled',
      forceEnded: true,
    },
  },
};
