// The recipe, as an ES module: imports are not patched as they load, so OpenLLMetry is handed the openai
// module (instrumentModules). Env as recipe.cjs.
import * as traceloop from '@traceloop/node-server-sdk';
import OpenAI from 'openai';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';
import calls from './calls.cjs';

const processor = new GenAiEnrichingProcessor(new OTLPTraceExporter({ url: process.env.OTLP_URL }));
traceloop.initialize({
  appName: 'recipe-esm',
  processor,
  exporter: { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} },
  disableBatch: true,
  traceloopSyncEnabled: false,
  silenceInitializationMessage: true,
  instrumentModules: { openAI: OpenAI },
});
process.once('beforeExit', () => processor.shutdown());

const client = new OpenAI({
  apiKey: 'test-key',
  baseURL: process.env.OPENAI_BASE_URL,
  maxRetries: 0,
  ...(process.env.TAP === '1' ? { fetch: processor.fetch } : {}),
});
await calls.makeCalls(client);
