/*
 * The spans the processor benches make, through the real SDK as instrumentations make them: `startSpan`
 * with the attributes known at start, `setAttribute` for the rest, `end()`. Shared by processor.bench.ts and
 * processor-metrics.bench.ts, so both measure the same spans.
 */
import { SpanKind } from '@opentelemetry/api';
import type { Attributes, AttributeValue, Tracer } from '@opentelemetry/api';

// HTTP server span, 10 attributes: 6 known at start, 4 set as the request completes.
export const HTTP_START: Attributes = {
  'http.request.method': 'POST',
  'url.scheme': 'https',
  'url.path': '/api/orders/42',
  'server.address': 'shop.example.com',
  'server.port': 443,
  'user_agent.original': 'Mozilla/5.0',
};
export const HTTP_END: Array<[string, AttributeValue]> = [
  ['http.route', '/api/orders/:id'],
  ['http.response.status_code', 200],
  ['http.response.body.size', 2048],
  ['network.protocol.version', '1.1'],
];

// GenAI chat span in semconv v1.41, as @opentelemetry/instrumentation-openai writes it: 8 request
// attributes at start, then the response id and 4 response attributes (13 without usage), then 2 usage
// counts (15 with usage).
export const CHAT_START: Attributes = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.request.model': 'gpt-4o',
  'gen_ai.request.max_tokens': 512,
  'gen_ai.request.temperature': 0.7,
  'gen_ai.request.top_p': 1,
  'server.address': 'api.openai.com',
  'server.port': 443,
};
export const CHAT_RESPONSE: Array<[string, AttributeValue]> = [
  ['gen_ai.response.model', 'gpt-4o-2024-08-06'],
  ['gen_ai.response.finish_reasons', ['stop']],
  ['openai.response.service_tier', 'default'],
  ['openai.response.system_fingerprint', 'fp_abc123'],
];
export const CHAT_USAGE: Array<[string, AttributeValue]> = [
  ['gen_ai.usage.input_tokens', 24],
  ['gen_ai.usage.output_tokens', 2],
];
export const HTTP_SCOPE = '@opentelemetry/instrumentation-http';
export const OPENAI_SCOPE = '@opentelemetry/instrumentation-openai';

export function httpSpan(tracer: Tracer): void {
  const span = tracer.startSpan('POST /api/orders/:id', { kind: SpanKind.SERVER, attributes: HTTP_START });
  for (let i = 0; i < HTTP_END.length; i++) span.setAttribute(HTTP_END[i][0], HTTP_END[i][1]);
  span.end();
}

export function chatSpan(tracer: Tracer, responseId: string, withUsage: boolean): void {
  const span = tracer.startSpan('chat gpt-4o', { kind: SpanKind.CLIENT, attributes: CHAT_START });
  span.setAttribute('gen_ai.response.id', responseId);
  for (let i = 0; i < CHAT_RESPONSE.length; i++) span.setAttribute(CHAT_RESPONSE[i][0], CHAT_RESPONSE[i][1]);
  if (withUsage) for (let i = 0; i < CHAT_USAGE.length; i++) span.setAttribute(CHAT_USAGE[i][0], CHAT_USAGE[i][1]);
  span.end();
}
