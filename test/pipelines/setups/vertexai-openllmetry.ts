// OpenLLMetry's `@traceloop/instrumentation-vertexai` 0.27.0 on `@google-cloud/vertexai` 1.12.0 (its
// GenerativeModel: generateContent, generateContentStream), against the loopback Gemini mock's Vertex AI paths,
// through GenAiEnrichingProcessor and the OTLP/HTTP exporter.
//
// The client takes no fetch and no base URL scheme: it sends to `https://{location}-aiplatform.googleapis.com`
// with the global fetch. The test puts a redirect under the global fetch that sends those requests to the mock
// over plain HTTP, with the URL's path and query kept; the tapped run then installs the tap over it with
// `installUsageTap` (as an application would for a client it cannot give a fetch), which sees the real host.
// Google auth: an OAuth2Client holding an access token that does not expire, so no token is fetched.
//
// What 0.27.0 records: `gen_ai.system` "Google" (→ gcp.vertex_ai: the normalizer knows from the span's scope
// that this instrumentation patches only Vertex AI's clients), the prompt count and the candidates count as
// the API sent them (without the tool-use prompt, without the thoughts: no reasoning count is written, so
// nothing can be added back), no cache count, no response id. A stream's span ends when the aggregated response
// resolves: the client reads the stream to its end for it, even when the application stops reading early.
import { createRequire } from 'node:module';
import { installUsageTap } from '@genai-enrich/processor';
import { GEMINI_MOCK_REPLY_TEXT, startGeminiMock } from '../../helpers/gemini-mock.js';
import type { GeminiMock } from '../../helpers/gemini-mock.js';
import { requireCjs } from '../../helpers/real-pipeline.js';
import type { CallRun, ProviderExpectation, ProviderSuiteOptions } from '../provider-suite.js';
import { geminiWire } from './vercel-providers.js';

const PARTIAL: ProviderExpectation = {
  telemetry: 'partial',
  lost: ['cacheRead', 'reasoning'],
  raw: true,
  rawOutput: true,
  why: '0.27.0 copies promptTokenCount and candidatesTokenCount as they are, and no cache or thoughts count',
};

const VERTEX_HOST = 'us-central1-aiplatform.googleapis.com';

/** Puts a redirect of `https://<VERTEX_HOST>/…` to the mock under the global fetch; returns its undo. */
function redirectVertexToMock(baseURL: string): () => void {
  const original = globalThis.fetch;
  const redirect: typeof globalThis.fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const prefix = `https://${VERTEX_HOST}/`;
    return url.startsWith(prefix) ? original(baseURL + '/' + url.slice(prefix.length), init) : original(input, init);
  };
  globalThis.fetch = redirect;
  return () => {
    if (globalThis.fetch === redirect) globalThis.fetch = original;
  };
}

let undo: Array<() => void> = [];

export const setup: ProviderSuiteOptions<GeminiMock> = {
  title: '@traceloop/instrumentation-vertexai 0.27.0 + @google-cloud/vertexai 1.12.0',
  provider: 'gcp.vertex_ai',
  instrumentations: async () => {
    const { VertexAIInstrumentation } = await import('@traceloop/instrumentation-vertexai');
    return [new VertexAIInstrumentation()];
  },
  startMock: () => startGeminiMock({ chunkDelayMs: 15 }),
  wire: geminiWire,
  expect: {
    generate: PARTIAL,
    stream: PARTIAL,
    'tool-result': PARTIAL,
    // The client reads the whole stream for its aggregated response even when the reader stops early, so the
    // span ends with the usage like the others.
    'early-break': PARTIAL,
  },
  calls: async (pipeline, mock, fetch): Promise<Record<string, CallRun>> => {
    undo.push(redirectVertexToMock(mock.baseURL));
    // The tapped run: the application cannot give this client a fetch, so it installs the tap globally.
    if (fetch !== undefined) undo.push(installUsageTap(pipeline.processor));
    const { VertexAI } = requireCjs('@google-cloud/vertexai') as typeof import('@google-cloud/vertexai');
    // The client's own google-auth-library (9.x, nested under it), not whichever the repository hoists.
    const fromVertex = createRequire(requireCjs.resolve('@google-cloud/vertexai'));
    type Auth = NonNullable<ConstructorParameters<typeof VertexAI>[0]['googleAuthOptions']>;
    const { OAuth2Client } = fromVertex('google-auth-library') as {
      OAuth2Client: new () => NonNullable<Auth['authClient']> & { setCredentials(c: object): void };
    };
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: 'test-token', expiry_date: Date.now() + 24 * 3600 * 1000 });
    const vertex = new VertexAI({
      project: 'test-project',
      location: 'us-central1',
      googleAuthOptions: { authClient },
    });
    const model = vertex.getGenerativeModel({ model: 'gemini-2.5-flash' });
    const textOf = (r: { candidates?: Array<{ content?: { parts?: Array<{ text?: string }> } }> }): string =>
      (r.candidates?.[0]?.content?.parts ?? []).map((p) => p.text ?? '').join('');
    const ask = { contents: [{ role: 'user', parts: [{ text: 'Say hello.' }] }] };
    return {
      generate: { text: GEMINI_MOCK_REPLY_TEXT, run: async () => textOf((await model.generateContent(ask)).response) },
      stream: {
        text: GEMINI_MOCK_REPLY_TEXT,
        async run() {
          const result = await model.generateContentStream(ask);
          let text = '';
          for await (const chunk of result.stream) text += textOf(chunk);
          await result.response;
          return text;
        },
      },
      'tool-result': {
        text: GEMINI_MOCK_REPLY_TEXT,
        async run() {
          const contents = [
            { role: 'user', parts: [{ text: 'Weather in Paris?' }] },
            { role: 'model', parts: [{ functionCall: { name: 'weather', args: { city: 'Paris' } } }] },
            { role: 'user', parts: [{ functionResponse: { name: 'weather', response: { celsius: 21 } } }] },
          ];
          return textOf((await model.generateContent({ contents })).response);
        },
      },
      'early-break': {
        async run() {
          const result = await model.generateContentStream(ask);
          for await (const _chunk of result.stream) break;
          return '';
        },
      },
    };
  },
  close: () => {
    for (const u of undo.reverse()) u();
    undo = [];
  },
};
