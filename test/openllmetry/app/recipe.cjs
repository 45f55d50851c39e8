// The recipe, in CommonJS (packages/processor/README.md, "OpenLLMetry"): OpenLLMetry's SDK instruments,
// GenAiEnrichingProcessor is the one processor that exports. Env: OPENAI_BASE_URL, OTLP_URL, TAP (1 = the
// HTTP usage tap on the openai client).
'use strict';
const traceloop = require('@traceloop/node-server-sdk');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { GenAiEnrichingProcessor } = require('@genai-enrich/processor');

const processor = new GenAiEnrichingProcessor(new OTLPTraceExporter({ url: process.env.OTLP_URL }));
traceloop.initialize({
  appName: 'recipe-cjs',
  processor, // added after Traceloop's own processor…
  exporter: { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} }, // …which exports nothing
  disableBatch: true, // so it holds nothing either
  traceloopSyncEnabled: false, // no prompt-registry calls to api.traceloop.com
  silenceInitializationMessage: true,
});
// Held and batched spans leave when the script ends.
process.once('beforeExit', () => processor.shutdown());

// Required after initialize: OpenLLMetry patches the module as it loads.
const { OpenAI } = require('openai');
const { makeCalls } = require('./calls.cjs');

const client = new OpenAI({
  apiKey: 'test-key',
  baseURL: process.env.OPENAI_BASE_URL,
  maxRetries: 0,
  ...(process.env.TAP === '1' ? { fetch: processor.fetch } : {}),
});
makeCalls(client).catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
