// The recipe as an ES module without instrumentModules: what a user gets who follows the CommonJS recipe
// with imports. Env as recipe.cjs.
import * as traceloop from '@traceloop/node-server-sdk';
import OpenAI from 'openai';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';
import calls from './calls.cjs';

const processor = new GenAiEnrichingProcessor(new OTLPTraceExporter({ url: process.env.OTLP_URL }));
traceloop.initialize({
  appName: 'esm-without-modules',
  processor,
  exporter: { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} },
  disableBatch: true,
  traceloopSyncEnabled: false,
  silenceInitializationMessage: true,
});
process.once('beforeExit', () => processor.shutdown());
await calls.makeCalls(new OpenAI({ apiKey: 'test-key', baseURL: process.env.OPENAI_BASE_URL, maxRetries: 0 }));
