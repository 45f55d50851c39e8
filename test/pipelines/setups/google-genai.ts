// The real `@google/genai` 2.32.0 client (the Gemini API, and Vertex AI in express mode) against the loopback
// Gemini mock, through GenAiEnrichingProcessor and the OTLP/HTTP exporter. No JavaScript instrumentation of
// @google/genai exists (OpenLLMetry's Vertex AI one patches the older @google-cloud/vertexai), so the span is
// the one an application writes around its call with @opentelemetry/api: the operation, the provider and the
// model, no usage. The tap (`httpOptions.fetch`) reads the usage off the wire into it: the prompt with the tool
// results fed back, the output with the thoughts, marked `genai_enrich.usage_adjusted`.
import { SpanKind } from '@opentelemetry/api';
import { GEMINI_MOCK_REPLY_TEXT, startGeminiMock } from '../../helpers/gemini-mock.js';
import type { GeminiMock } from '../../helpers/gemini-mock.js';
import type { RealPipeline } from '../../helpers/real-pipeline.js';
import type { CallRun, ProviderSuiteOptions } from '../provider-suite.js';
import { geminiWire } from './vercel-providers.js';

const OWN_SPAN = 'the span the application wrote carries no usage';

/** Runs `fn` inside a GenAI span, as an application instruments a client that has no instrumentation. */
function inGenAiSpan<T>(pipeline: RealPipeline, provider: string, model: string, fn: () => Promise<T>): Promise<T> {
  return pipeline.tracer.startActiveSpan(
    `generate_content ${model}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'generate_content',
        'gen_ai.provider.name': provider,
        'gen_ai.request.model': model,
      },
    },
    async (span) => {
      try {
        return await fn();
      } finally {
        span.end();
      }
    },
  );
}

export const setup: ProviderSuiteOptions<GeminiMock> = {
  title: '@google/genai 2.32.0 (an application-written span)',
  provider: 'gcp.gemini',
  instrumentations: async () => [],
  startMock: () => startGeminiMock({ chunkDelayMs: 15 }),
  wire: geminiWire,
  expect: {
    generate: { telemetry: 'missing', why: OWN_SPAN },
    stream: { telemetry: 'missing', why: OWN_SPAN },
    'tool-result': { telemetry: 'missing', why: OWN_SPAN },
    'vertex-generate': { telemetry: 'missing', why: OWN_SPAN },
    'early-break': { earlyBreak: true, forceEnded: false, why: 'the application ends its span when it stops' },
  },
  calls: async (pipeline, mock, fetch): Promise<Record<string, CallRun>> => {
    const { GoogleGenAI } = await import('@google/genai');
    const httpOptions = {
      baseUrl: mock.baseURL,
      retryOptions: { attempts: 1 },
      ...(fetch !== undefined ? { fetch } : {}),
    };
    const gemini = new GoogleGenAI({ apiKey: 'test-key', httpOptions });
    const vertex = new GoogleGenAI({ apiKey: 'test-key', vertexai: true, httpOptions });
    const model = 'gemini-2.5-flash';
    const stream = async (): Promise<string> => {
      let text = '';
      for await (const chunk of await gemini.models.generateContentStream({ model, contents: 'Say hello.' }))
        text += chunk.text ?? '';
      return text;
    };
    return {
      generate: {
        text: GEMINI_MOCK_REPLY_TEXT,
        run: () =>
          inGenAiSpan(pipeline, 'gcp.gemini', model, async () => {
            return (await gemini.models.generateContent({ model, contents: 'Say hello.' })).text ?? '';
          }),
      },
      stream: { text: GEMINI_MOCK_REPLY_TEXT, run: () => inGenAiSpan(pipeline, 'gcp.gemini', model, stream) },
      'tool-result': {
        text: GEMINI_MOCK_REPLY_TEXT,
        run: () =>
          inGenAiSpan(pipeline, 'gcp.gemini', model, async () => {
            const contents = [
              { role: 'user', parts: [{ text: 'Weather in Paris?' }] },
              { role: 'model', parts: [{ functionCall: { name: 'weather', args: { city: 'Paris' } } }] },
              { role: 'user', parts: [{ functionResponse: { name: 'weather', response: { celsius: 21 } } }] },
            ];
            return (await gemini.models.generateContent({ model, contents })).text ?? '';
          }),
      },
      'vertex-generate': {
        text: GEMINI_MOCK_REPLY_TEXT,
        provider: 'gcp.vertex_ai',
        run: () =>
          inGenAiSpan(pipeline, 'gcp.vertex_ai', model, async () => {
            return (await vertex.models.generateContent({ model, contents: 'Say hello.' })).text ?? '';
          }),
      },
      'early-break': {
        run: () =>
          inGenAiSpan(pipeline, 'gcp.gemini', model, async () => {
            for await (const _chunk of await gemini.models.generateContentStream({ model, contents: 'Say hello.' }))
              break;
            return '';
          }),
      },
    };
  },
};
