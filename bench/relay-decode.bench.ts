/*
 * The relay's OTLP decoders and encoders (packages/relay/src/otlp) on one 512-span GenAI batch, as an SDK
 * exporter sends it (maxExportBatchSize is 512): chat spans with 15 attributes each (strings, ints, doubles, a
 * string array), built by the real SDK and serialized by the SDK's own serializers. The baseline, measured in
 * the same run, is the SDK serializer encoding the same 512 spans.
 *
 *   protobuf: ProtobufTraceSerializer.serializeRequest (baseline) vs decodeTraceRequest(…, 'protobuf') and
 *             the relay's encoder on the decoded spans (what its exporter sends them with)
 *   JSON:     JsonTraceSerializer.serializeRequest (baseline) vs the relay's JSON encoder, and
 *             decodeTraceRequest(…, 'json') on the SDK's body (times as strings) and on the same body with
 *             times as number literals (the slower path that quotes long integers before JSON.parse);
 *             JSON.parse alone as the floor.
 *
 * Each operation is one whole batch; cases are interleaved round by round (bench/harness.ts) and the median
 * is reported. Run: `node --conditions=@genai-enrich/source --import tsx bench/relay-decode.bench.ts`.
 */
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { decodeTraceRequest } from '../packages/relay/src/otlp/index.js';
import { encodeJsonTraceRequest } from '../packages/relay/src/otlp/encode-json.js';
import { encodeProtobufTraceRequest } from '../packages/relay/src/otlp/encode-protobuf.js';
import { machineLine, runBench } from './harness.js';

const SPANS = 512;

function genAiBatch(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'chat-api',
      'service.version': '1.4.2',
      'deployment.environment.name': 'prod',
    }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('@opentelemetry/instrumentation-openai', '0.21.0');
  const start = 1787822507;
  for (let i = 0; i < SPANS; i++) {
    // Every 8th span is a request span; the others are its LLM calls.
    const parent =
      i % 8 === 0
        ? undefined
        : trace.setSpanContext(ROOT_CONTEXT, {
            traceId: (i >> 3).toString(16).padStart(32, 'a'),
            spanId: 'b7ad6b7169203331',
            traceFlags: 1,
          });
    const span = tracer.startSpan(
      'chat gpt-4o-mini',
      {
        kind: SpanKind.CLIENT,
        startTime: [start + i, 530918072],
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': 'gpt-4o-mini',
          'gen_ai.request.temperature': 0.7,
          'gen_ai.request.top_p': 0.95,
          'gen_ai.request.max_tokens': 1024,
          'gen_ai.response.id': `chatcmpl-${i.toString(36).padStart(24, 'Q')}`,
          'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
          'gen_ai.response.finish_reasons': ['stop'],
          'gen_ai.usage.input_tokens': 1536 + i,
          'gen_ai.usage.output_tokens': 96,
          'gen_ai.usage.cache_read.input_tokens': 1280,
          'gen_ai.conversation.id': `conv_${i >> 3}`,
          'server.address': 'api.openai.com',
          'server.port': 443,
        },
      },
      parent ?? ROOT_CONTEXT,
    );
    span.end([start + i + 2, 845000001]);
  }
  return exporter.getFinishedSpans();
}

const spans = genAiBatch();
const protobufBody = ProtobufTraceSerializer.serializeRequest(spans)!;
const jsonBody = JsonTraceSerializer.serializeRequest(spans)!;
const jsonText = new TextDecoder().decode(jsonBody);
// The same request with every time as a number literal, as some hand-written emitters send it.
const jsonNumbersBody = new TextEncoder().encode(jsonText.replace(/"(\w*TimeUnixNano)":"(\d+)"/g, '"$1":$2'));

// Decoding must be correct before it is fast.
for (const [body, format] of [
  [protobufBody, 'protobuf'],
  [jsonBody, 'json'],
  [jsonNumbersBody, 'json'],
] as const) {
  const decoded = decodeTraceRequest(body, format);
  if (decoded.spans.length !== SPANS || decoded.rejected !== 0)
    throw new Error(`${format}: decoded ${decoded.spans.length} spans`);
  const again = ProtobufTraceSerializer.serializeRequest(decoded.spans)!;
  if (Buffer.compare(Buffer.from(again), Buffer.from(protobufBody)) !== 0)
    throw new Error(`${format}: the decoded spans re-serialize differently`);
}

// What the relay's exporter encodes: decoded spans (the encoders look up exact values beside them).
const decodedSpans = decodeTraceRequest(protobufBody, 'protobuf').spans;
if (Buffer.compare(Buffer.from(encodeProtobufTraceRequest(decodedSpans)), Buffer.from(protobufBody)) !== 0)
  throw new Error('the relay protobuf encoder writes other bytes than the SDK serializer');

const results = runBench(
  [
    { name: 'protobuf: SDK encode (baseline)', fn: () => ProtobufTraceSerializer.serializeRequest(spans) },
    { name: 'protobuf: decode', fn: () => decodeTraceRequest(protobufBody, 'protobuf') },
    { name: 'protobuf: relay encode (decoded spans)', fn: () => encodeProtobufTraceRequest(decodedSpans) },
    { name: 'json: SDK encode (baseline)', fn: () => JsonTraceSerializer.serializeRequest(spans) },
    { name: 'json: relay encode (decoded spans)', fn: () => encodeJsonTraceRequest(decodedSpans) },
    { name: 'json: decode, times as strings (SDK body)', fn: () => decodeTraceRequest(jsonBody, 'json') },
    { name: 'json: decode, times as number literals', fn: () => decodeTraceRequest(jsonNumbersBody, 'json') },
    {
      name: 'json: JSON.parse of the SDK body alone (floor)',
      fn: () => JSON.parse(new TextDecoder().decode(jsonBody)),
    },
  ],
  { iterations: 20, rounds: 21 },
);

console.log(machineLine());
console.log(
  `\n${SPANS} GenAI spans, 15 attributes each: protobuf ${protobufBody.length} bytes, JSON ${jsonBody.length} bytes\n`,
);
console.log('| case | ms / batch | spans/s | × SDK encode of the same format |');
console.log('|---|---:|---:|---:|');
for (const r of results) {
  const baseline = results.find((b) => b.name === `${r.name.split(':')[0]}: SDK encode (baseline)`)!;
  const spansPerSecond = SPANS / (r.nsPerOp / 1e9);
  console.log(
    `| ${r.name} | ${(r.nsPerOp / 1e6).toFixed(2)} | ${Math.round(spansPerSecond).toLocaleString('en-US')} | ${(r.nsPerOp / baseline.nsPerOp).toFixed(2)} |`,
  );
}
