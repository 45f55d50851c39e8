/*
 * Decoded spans are what GenAiEnrichingProcessor and the SDK's exporter expect: a hand-built OTLP body with a
 * legacy GenAI span (kvlist and bytes attributes included) goes through the processor, whose output the SDK's
 * serializer writes and our decoder reads back, normalized, with the kvlist and bytes intact.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';
import type { ExportResultLike, ReadableSpanLike, SpanExporterLike } from '@genai-enrich/processor';
import { decodeTraceRequest } from '../../src/otlp/index.js';
import { bytes, double, fixed32, keyValue, request, spanBody, str, sub, varint } from './proto.js';

class Collecting implements SpanExporterLike {
  readonly spans: ReadableSpanLike[] = [];
  export(spans: ReadableSpanLike[], done: (result: ExportResultLike) => void): void {
    this.spans.push(...spans);
    done({ code: 0 });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

describe('decoded spans through GenAiEnrichingProcessor', () => {
  it('are normalized and forwarded, and re-serialize with kvlist and bytes values intact', async () => {
    const body = request(
      spanBody(
        varint(6, 3),
        fixed32(16, 0x100), // what the Python SDK sends: no trace flags
        sub(9, keyValue('gen_ai.system', str(1, 'openai'))),
        sub(9, keyValue('gen_ai.operation.name', str(1, 'chat'))),
        sub(9, keyValue('gen_ai.request.model', str(1, 'gpt-4o-mini'))),
        sub(9, keyValue('gen_ai.usage.input_tokens', varint(3, 30))),
        sub(9, keyValue('gen_ai.usage.output_tokens', varint(3, 6))),
        sub(9, keyValue('llm.request.params', sub(6, sub(1, keyValue('temperature', double(4, 0.2)))))),
        sub(9, keyValue('blob', bytes(7, Uint8Array.of(1, 2, 3)))),
      ),
    );
    const decoded = decodeTraceRequest(body, 'protobuf');
    const exporter = new Collecting();
    const processor = new GenAiEnrichingProcessor(exporter, { scheduledDelayMillis: 1 });
    for (const span of decoded.spans) processor.onEnd(span);
    await processor.forceFlush();
    await processor.shutdown();
    assert.equal(exporter.spans.length, 1);

    const again = decodeTraceRequest(
      ProtobufTraceSerializer.serializeRequest(exporter.spans as ReadableSpan[])!,
      'protobuf',
    ).spans[0];
    assert.equal(again.attributes['gen_ai.provider.name'], 'openai');
    assert.equal(again.attributes['gen_ai.system'], undefined);
    assert.deepEqual(again.attributes['llm.request.params'], { temperature: 0.2 });
    assert.deepEqual(again.attributes['blob'], Uint8Array.of(1, 2, 3));
    assert.equal(again.spanContext().traceFlags, 1);
    assert.equal(processor.stats().forwarded, 1);
  });
});
