// The snippet the processor README showed before (issue 10), as a user would run it: only `appName` and
// `processor`. Env as recipe.cjs, plus TRACELOOP_BASE_URL (where Traceloop sends its own copy) and
// TRACELOOP_SYNC_ENABLED.
'use strict';
const traceloop = require('@traceloop/node-server-sdk');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { GenAiEnrichingProcessor } = require('@genai-enrich/processor');

const processor = new GenAiEnrichingProcessor(new OTLPTraceExporter({ url: process.env.OTLP_URL }));
traceloop.initialize({ appName: 'old-snippet', processor });
process.once('beforeExit', async () => {
  await traceloop.forceFlush();
  await processor.shutdown();
});

const { OpenAI } = require('openai');
const { makeCalls } = require('./calls.cjs');
makeCalls(new OpenAI({ apiKey: 'test-key', baseURL: process.env.OPENAI_BASE_URL, maxRetries: 0 })).catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
