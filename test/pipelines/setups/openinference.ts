// OpenInference `@arizeai/openinference-instrumentation-openai` 4.2.7 on the real `openai` client, through
// GenAiEnrichingProcessor and the OTLP/HTTP exporter. Its `llm.*` / `embedding.*` scheme is not OTel.
import { openAiClient } from '../calls.js';
import type { SuiteOptions } from '../suite.js';

export const setup: SuiteOptions = {
  title: '@arizeai/openinference-instrumentation-openai 4.2.7 + openai 6.49.0',
  instrumentations: async () => {
    const { OpenAIInstrumentation } = await import('@arizeai/openinference-instrumentation-openai');
    return [new OpenAIInstrumentation()];
  },
  client: (pipeline, fetch) => openAiClient(pipeline.mock.baseURL, fetch),
  expect: {
    chat: { usage: ['input', 'output', 'cacheRead', 'reasoning'] },
    'chat-stream-usage': { missing: 'lost', why: 'streamed chat usage is dropped, and the span has no response id' },
    'chat-stream-no-usage': { missing: 'not on the wire', why: 'include_usage was off' },
    responses: { usage: ['input', 'output', 'cacheRead', 'reasoning'] },
    'responses-stream': { usage: ['input', 'output', 'cacheRead', 'reasoning'] },
    embeddings: { missing: 'lost', why: 'embedding usage is not recorded' },
    'early-break': {
      missing: 'lost',
      why: 'the instrumentation drains the stream itself and ends the span, without usage',
    },
  },
};
