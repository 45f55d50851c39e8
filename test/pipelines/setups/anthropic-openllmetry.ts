// OpenLLMetry `@traceloop/instrumentation-anthropic` 0.27.0 on `@anthropic-ai/sdk` 0.80.0 (the version it is
// built against, installed as `anthropic-sdk-0`), against the loopback Anthropic mock, through
// GenAiEnrichingProcessor and the OTLP/HTTP exporter.
//
// Where 0.27.0 breaks: with `@anthropic-ai/sdk` ≥ 1.0 it throws on `require` (it patches
// `Anthropic.Completions`, which 1.0 removed), so it is registered here with `manuallyInstrument` on the 0.x
// module. It copies Anthropic's `input_tokens`, which leave the cache out, beside the cache counts: the
// normalizer adds the cache back (`genai_enrich.usage_adjusted`), even where the input is larger than the
// cache (the mock's even calls), because the span's scope names a version known to leave it out. Its spans
// carry no response id.
import { createRequire } from 'node:module';
import { anthropicCallRuns, anthropicSuite } from './anthropic-sdk.js';
import type { MessagesClient } from './anthropic-sdk.js';

type AnthropicSdk0 = typeof import('anthropic-sdk-0');

export const setup = anthropicSuite({
  title: '@traceloop/instrumentation-anthropic 0.27.0 + @anthropic-ai/sdk 0.80.0',
  earlyBreak: {
    earlyBreak: true,
    forceEnded: true,
    why: 'the instrumentation ends its span only when the stream ends',
  },
  calls: async (pipeline, mock, fetch) => {
    const { AnthropicInstrumentation } = await import('@traceloop/instrumentation-anthropic');
    const instrumentation = new AnthropicInstrumentation();
    instrumentation.setTracerProvider(pipeline.provider);
    const sdk = createRequire(import.meta.url)('anthropic-sdk-0') as AnthropicSdk0;
    // Its types name the SDK it imports, which resolves to 1.x in this repository.
    instrumentation.manuallyInstrument(sdk as unknown as Parameters<typeof instrumentation.manuallyInstrument>[0]);
    const client = new sdk.Anthropic({
      apiKey: 'test-key',
      baseURL: mock.baseURL,
      maxRetries: 0,
      ...(fetch !== undefined ? { fetch } : {}),
    });
    return anthropicCallRuns(client as unknown as MessagesClient);
  },
});
