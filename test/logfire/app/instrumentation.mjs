// The recipe of packages/processor/README.md ("Logfire"), as an application loads it:
//   node --import ./instrumentation.mjs app.mjs
// Logfire's own export is off, so GenAiEnrichingProcessor is the one exporter: every span leaves once.
// The OTLP endpoint comes from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, as the exporter reads it.
import { register } from 'node:module';
import * as logfire from '@pydantic/logfire-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';

// ES modules are patched through a loader hook: without it `import OpenAI from 'openai'` is not instrumented.
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
// Without Logfire's export the SDK picks a logs exporter from the environment, by default OTLP to
// http://localhost:4318/v1/logs, and the openai instrumentation emits a log event per message.
process.env.OTEL_LOGS_EXPORTER ??= 'none';

export const processor = new GenAiEnrichingProcessor(new OTLPTraceExporter());
logfire.configure({
  serviceName: 'my-app',
  sendToLogfire: false,
  additionalSpanProcessors: [processor],
});
