// The recipe of packages/processor/README.md ("Logfire") for a CommonJS application:
//   node --require ./instrumentation.cjs app.cjs
'use strict';
const logfire = require('@pydantic/logfire-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { GenAiEnrichingProcessor } = require('@genai-enrich/processor');

// Without Logfire's export the SDK picks a logs exporter from the environment, by default OTLP to
// http://localhost:4318/v1/logs, and the openai instrumentation emits a log event per message.
process.env.OTEL_LOGS_EXPORTER ??= 'none';

const processor = new GenAiEnrichingProcessor(new OTLPTraceExporter());
logfire.configure({
  serviceName: 'my-app',
  sendToLogfire: false,
  additionalSpanProcessors: [processor],
});
module.exports = { processor };
