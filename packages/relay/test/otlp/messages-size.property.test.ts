/*
 * The normalizer rebuilds flattened messages into `gen_ai.input.messages` / `gen_ai.output.messages` only when
 * the JSON takes no more bytes than the keys it replaces (packages/normalizer/src/messages.ts). Checked here
 * where the bytes are written: random flattened transcripts (OpenInference and OpenLLMetry layouts; strings
 * with multi-byte and lone-surrogate characters, empty strings, Python-spaced tool arguments, and the
 * non-string values an attribute may hold) put on real SDK spans, encoded by the SDK's ProtobufTraceSerializer
 * and by the relay's own protobuf encoder, before and after normalizeAttributes: never more bytes after.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Attributes } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { normalizeAttributes } from '@genai-enrich/normalizer';
import { encodeProtobufTraceRequest } from '../../src/otlp/encode-protobuf.js';

const NUM_RUNS = Number(process.env['FC_NUM_RUNS'] ?? 1000);

// A provider of this file's own (never registered globally), so no other test sees it; without the SDK's
// limit of 128 attributes, which would cut the flattened span short and make the comparison meaningless.
const exporter = new InMemorySpanExporter();
const tracer = new BasicTracerProvider({
  spanLimits: { attributeCountLimit: 10_000 },
  spanProcessors: [new SimpleSpanProcessor(exporter)],
}).getTracer('size');

function spanWith(attributes: Attributes): ReadableSpan {
  exporter.reset();
  tracer.startSpan('chat', { attributes }).end();
  return exporter.getFinishedSpans()[0];
}

const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }), // multi-byte, astral and lone surrogates
  fc.constantFrom('', 'é', '日本語', '{"city": "Paris", "unit": "C"}', '{"q":"\\u00e9\\u00e9"}'),
);
const value = fc.oneof(
  { weight: 6, arbitrary: text },
  fc.integer(),
  fc.constant(Number.MAX_SAFE_INTEGER),
  fc.double(),
  fc.boolean(),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
  fc.array(fc.integer(), { maxLength: 3 }),
);
const message = fc.record({
  role: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('system', 'user', 'assistant', 'tool') }, value),
  content: value,
  toolCallId: fc.option(value),
  finishReason: fc.option(value),
  call: fc.option(fc.record({ id: value, name: value, arguments: value })),
});

interface Layout {
  prefix: string;
  field: string;
  call: { id: string; name: string; arguments: string };
}
const OPENINFERENCE_CALL = {
  id: 'tool_calls.0.tool_call.id',
  name: 'tool_calls.0.tool_call.function.name',
  arguments: 'tool_calls.0.tool_call.function.arguments',
};
const OPENLLMETRY_CALL = { id: 'tool_calls.0.id', name: 'tool_calls.0.name', arguments: 'tool_calls.0.arguments' };
const LAYOUTS: Layout[] = [
  { prefix: 'llm.input_messages.', field: 'message.', call: OPENINFERENCE_CALL },
  { prefix: 'llm.output_messages.', field: 'message.', call: OPENINFERENCE_CALL },
  { prefix: 'gen_ai.prompt.', field: '', call: OPENLLMETRY_CALL },
  { prefix: 'gen_ai.completion.', field: '', call: OPENLLMETRY_CALL },
];

describe('rebuilt messages never make a span larger in OTLP protobuf', () => {
  it('SDK serializer and relay encoder, before and after normalizeAttributes', () => {
    let rebuilt = 0;
    fc.assert(
      fc.property(
        fc.subarray(LAYOUTS, { minLength: 1 }),
        fc.array(message, { minLength: 1, maxLength: 12 }),
        (layouts, messages) => {
          const attributes: Record<string, unknown> = {};
          for (const { prefix, field, call } of layouts) {
            messages.forEach((m, i) => {
              const own = `${prefix}${i}.${field}`;
              attributes[`${own}role`] = m.role;
              attributes[`${own}content`] = m.content;
              if (m.toolCallId !== null) attributes[`${own}tool_call_id`] = m.toolCallId;
              if (m.finishReason !== null) attributes[`${own}finish_reason`] = m.finishReason;
              if (m.call !== null) {
                attributes[`${own}${call.id}`] = m.call.id;
                attributes[`${own}${call.name}`] = m.call.name;
                attributes[`${own}${call.arguments}`] = m.call.arguments;
              }
            });
          }
          const before = spanWith(attributes as Attributes);
          const out = normalizeAttributes(attributes as never);
          if (out['gen_ai.input.messages'] === undefined && out['gen_ai.output.messages'] === undefined) return;
          rebuilt++;
          const after = spanWith(out);
          const sdk = [before, after].map((s) => ProtobufTraceSerializer.serializeRequest([s])!.length);
          const relay = [before, after].map((s) => encodeProtobufTraceRequest([s]).length);
          assert.ok(sdk[1] <= sdk[0], `SDK serializer: ${sdk[0]} bytes became ${sdk[1]}`);
          assert.ok(relay[1] <= relay[0], `relay encoder: ${relay[0]} bytes became ${relay[1]}`);
        },
      ),
      { numRuns: NUM_RUNS },
    );
    // The property is not vacuous: most random transcripts (long OpenInference keys) are rebuilt.
    assert.ok(rebuilt > NUM_RUNS / 4, `only ${rebuilt} of ${NUM_RUNS} rebuilt`);
  });
});
