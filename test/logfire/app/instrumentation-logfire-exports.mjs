// What the processor README showed before the recipe: our processor added next to Logfire's own export,
// which follows Logfire's default (`sendToLogfire: 'if-token-present'`: on when LOGFIRE_TOKEN is set).
//   node --import ./instrumentation-logfire-exports.mjs app-logfire-exports.mjs
import { register } from 'node:module';
import * as logfire from '@pydantic/logfire-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

export const processor = new GenAiEnrichingProcessor(new OTLPTraceExporter());
logfire.configure({ serviceName: 'my-app', additionalSpanProcessors: [processor] });
