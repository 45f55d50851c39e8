/*
 * normalizeAttributes on three spans, against a baseline that only copies the attribute object
 * (`{...attrs}`), all in one run. Targets (issue #2): a span that is not GenAI ≤ 2× the copy, an
 * already-canonical GenAI span ≤ 3×. Run: `npm run bench:normalizer`.
 *
 * The attribute objects are taken from real SDK spans, because their shape decides what a copy costs:
 * the SDK stores attributes one keyed write at a time, and V8 turns such an object into a hash table
 * once it has more than a dozen properties. A second table uses object literals, which V8 clones
 * through a much faster path, as a worst case for the ratios.
 */
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { normalizeAttributes } from '@genai-enrich/normalizer';
import type { Attributes } from '@genai-enrich/normalizer';
import { machineLine, runBench } from './harness.js';

// A legacy OpenLLMetry (≤0.22 JS / pre-2026-03 Python) chat span: 25 attributes.
const legacyOpenLLMetry: Attributes = {
  'gen_ai.system': 'OpenAI',
  'llm.request.type': 'chat',
  'gen_ai.request.model': 'gpt-4o',
  'gen_ai.request.max_tokens': 512,
  'gen_ai.request.temperature': 0.7,
  'gen_ai.request.top_p': 1,
  'llm.frequency_penalty': 0,
  'llm.presence_penalty': 0,
  'llm.is_streaming': false,
  'gen_ai.openai.api_base': 'https://api.openai.com/v1/',
  'gen_ai.prompt.0.role': 'system',
  'gen_ai.prompt.0.content': 'You are a helpful assistant.',
  'gen_ai.prompt.1.role': 'user',
  'gen_ai.prompt.1.content': 'What is the capital of France?',
  'gen_ai.response.model': 'gpt-4o-2024-08-06',
  'gen_ai.response.id': 'chatcmpl-AbC123',
  'gen_ai.completion.0.role': 'assistant',
  'gen_ai.completion.0.content': 'Paris.',
  'gen_ai.completion.0.finish_reason': 'stop',
  'gen_ai.usage.prompt_tokens': 24,
  'gen_ai.usage.completion_tokens': 2,
  'llm.usage.total_tokens': 26,
  'gen_ai.usage.cache_read_input_tokens': 0,
  'gen_ai.openai.response.system_fingerprint': 'fp_abc123',
  'server.address': 'api.openai.com',
};

// The same call, already in semconv v1.41: 25 attributes.
const canonical: Attributes = {
  'gen_ai.provider.name': 'openai',
  'gen_ai.operation.name': 'chat',
  'gen_ai.request.model': 'gpt-4o',
  'gen_ai.request.max_tokens': 512,
  'gen_ai.request.temperature': 0.7,
  'gen_ai.request.top_p': 1,
  'gen_ai.request.frequency_penalty': 0,
  'gen_ai.request.presence_penalty': 0,
  'gen_ai.request.seed': 7,
  'gen_ai.request.stop_sequences': ['\n\n'],
  'gen_ai.input.messages': '[{"role":"user","parts":[{"type":"text","content":"What is the capital of France?"}]}]',
  'gen_ai.output.messages':
    '[{"role":"assistant","parts":[{"type":"text","content":"Paris."}],"finish_reason":"stop"}]',
  'gen_ai.system_instructions': '[{"type":"text","content":"You are a helpful assistant."}]',
  'gen_ai.response.model': 'gpt-4o-2024-08-06',
  'gen_ai.response.id': 'chatcmpl-AbC123',
  'gen_ai.response.finish_reasons': ['stop'],
  'gen_ai.usage.input_tokens': 24,
  'gen_ai.usage.output_tokens': 2,
  'gen_ai.usage.cache_read.input_tokens': 0,
  'gen_ai.usage.reasoning.output_tokens': 0,
  'openai.response.system_fingerprint': 'fp_abc123',
  'openai.response.service_tier': 'default',
  'openai.api.type': 'chat_completions',
  'server.address': 'api.openai.com',
  'server.port': 443,
};

// An HTTP server span: 25 attributes, none GenAI.
const http: Attributes = {
  'http.request.method': 'POST',
  'http.response.status_code': 200,
  'http.route': '/api/orders/:id',
  'url.path': '/api/orders/42',
  'url.scheme': 'https',
  'url.query': 'expand=items',
  'server.address': 'shop.example.com',
  'server.port': 443,
  'client.address': '10.1.2.3',
  'client.port': 51234,
  'network.protocol.name': 'http',
  'network.protocol.version': '1.1',
  'network.peer.address': '10.1.2.3',
  'network.peer.port': 51234,
  'user_agent.original': 'Mozilla/5.0',
  'http.request.header.content-type': ['application/json'],
  'http.request.body.size': 512,
  'http.response.body.size': 2048,
  'app.tenant': 'acme',
  'app.user.id': 'u-123',
  'app.feature_flags': ['checkout-v2', 'new-cart'],
  'db.system.name': 'postgresql',
  'db.operation.name': 'SELECT',
  'messaging.system': 'kafka',
  'deployment.environment.name': 'prod',
};

function sdkAttributes(attributes: Attributes): Attributes {
  const tracer = new BasicTracerProvider().getTracer('bench');
  const span = tracer.startSpan('bench');
  // setAttribute one at a time, as instrumentations do while a call progresses.
  for (const key of Object.keys(attributes)) span.setAttribute(key, attributes[key]!);
  span.end();
  return (span as unknown as ReadableSpan).attributes;
}

function table(title: string, spans: Array<[string, Attributes]>): void {
  const cases = spans.flatMap(([name, attrs]) => [
    { name: `copy \`{...attrs}\` (${name})`, fn: () => ({ ...attrs }) },
    { name: `normalizeAttributes (${name})`, fn: () => normalizeAttributes(attrs) },
  ]);
  const results = runBench(cases, { iterations: 20_000, rounds: 9 });
  console.log(`\n### ${title}\n`);
  console.log('| case | ns/op | × copy of the same span |');
  console.log('|---|---:|---:|');
  for (let i = 0; i < results.length; i += 2) {
    const base = results[i];
    const r = results[i + 1];
    console.log(`| ${base.name} | ${base.nsPerOp.toFixed(0)} | 1.00 |`);
    console.log(`| ${r.name} | ${r.nsPerOp.toFixed(0)} | ${(r.nsPerOp / base.nsPerOp).toFixed(2)} |`);
  }
}

console.log(machineLine());
const spans: Array<[string, Attributes]> = [
  ['legacy OpenLLMetry GenAI span', legacyOpenLLMetry],
  ['canonical GenAI span', canonical],
  ['non-GenAI span', http],
];
table(
  'Attribute maps from real SDK spans (`@opentelemetry/sdk-trace-base` 2.x)',
  spans.map(([name, attrs]) => [name, sdkAttributes(attrs)]),
);
table('Attribute maps as object literals (worst case for the ratio)', spans);
