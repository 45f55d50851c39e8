// The Vercel AI SDK (`ai` 6.0.326 + `@ai-sdk/openai` 3.0.141) with `experimental_telemetry`, through
// GenAiEnrichingProcessor and the OTLP/HTTP exporter. Its `ai.*` scheme is not OTel.
import { vercelAiClient } from '../calls.js';
import type { SuiteOptions } from '../suite.js';

export const setup: SuiteOptions = {
  title: 'ai 6.0.326 + @ai-sdk/openai 3.0.141 (experimental_telemetry)',
  instrumentations: async () => [],
  client: (pipeline, fetch) => vercelAiClient(pipeline.mock.baseURL, pipeline.tracer, fetch),
  expect: {
    chat: { usage: ['input', 'output', 'cacheRead', 'reasoning'] },
    'chat-stream-usage': { usage: ['input', 'output', 'cacheRead', 'reasoning'] },
    responses: { usage: ['input', 'output', 'cacheRead', 'reasoning'] },
    'responses-stream': { usage: ['input', 'output', 'cacheRead', 'reasoning'] },
    embeddings: { usage: ['input'] },
    'early-break': { missing: 'lost', why: 'neither span is ever ended', forceEnded: true },
  },
  // The outer ai.generateText / ai.streamText / ai.embed span repeats the sum of its provider calls in
  // ai.usage.*. Mapping it to gen_ai.usage.* would count each call twice, so it stays as the SDK wrote it.
  allowedLegacyKeys: (span) =>
    span.attributes['gen_ai.operation.name'] === undefined
      ? Object.keys(span.attributes).filter((k) => k.startsWith('ai.usage.'))
      : [],
};
