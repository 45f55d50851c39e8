/*
 * Decoded spans are what GenAiEnrichingProcessor and the SDK's exporter expect: a hand-built OTLP body with a
 * legacy GenAI span (kvlist and bytes attributes included) goes through the processor, whose output the SDK's
 * serializer writes and our decoder reads back, normalized, with the kvlist and bytes intact. And through the
 * relay's own encoder, values the processor left alone come out exactly as received, though it replaced the
 * span's attribute map with a normalized copy.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';
import type { ExportResultLike, ReadableSpanLike, SpanExporterLike } from '@genai-enrich/processor';
import { encodeJsonTraceRequestText } from '../../src/otlp/encode-json.js';
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

  it('keep their exact values through the relay encoder; numbers the normalizer moves to double-typed keys are doubles', async () => {
    const body = request(
      spanBody(
        varint(6, 3),
        sub(9, keyValue('gen_ai.system', str(1, 'openai'))), // legacy: the map is rebuilt
        sub(9, keyValue('gen_ai.operation.name', str(1, 'chat'))),
        sub(9, keyValue('gen_ai.request.model', str(1, 'gpt-4o-mini'))),
        sub(9, keyValue('gen_ai.usage.input_tokens', varint(3, 30))),
        sub(9, keyValue('gen_ai.usage.output_tokens', varint(3, 6))),
        sub(9, keyValue('gen_ai.request.temperature', double(4, 1))), // the common default, an integral double
        sub(9, keyValue('gen_ai.request.top_p', varint(3, 1))), // an int where a double belongs: kept as sent
        sub(9, keyValue('llm.top_k', varint(3, 40))), // renamed to gen_ai.request.top_k, a double
        sub(9, keyValue('llm.presence_penalty', double(4, 0))),
        sub(9, keyValue('big', varint(3, 2n ** 63n - 1n))),
        sub(9, keyValue('list', sub(5, sub(1, double(4, 1)), sub(1, double(4, 2.5))))),
      ),
    );
    const decoded = decodeTraceRequest(body, 'protobuf').spans[0];
    const asDecoded = decoded.attributes;
    const exporter = new Collecting();
    const processor = new GenAiEnrichingProcessor(exporter, { scheduledDelayMillis: 1 });
    processor.onEnd(decoded);
    await processor.forceFlush();
    await processor.shutdown();
    assert.notEqual(exporter.spans[0].attributes, asDecoded, 'the processor replaced the map');

    const written = JSON.parse(encodeJsonTraceRequestText(exporter.spans)).resourceSpans[0].scopeSpans[0].spans[0];
    const values = Object.fromEntries(
      (written.attributes as Array<{ key: string; value: unknown }>).map((kv) => [kv.key, kv.value]),
    );
    assert.deepEqual(values['gen_ai.provider.name'], { stringValue: 'openai' });
    assert.deepEqual(values['gen_ai.request.temperature'], { doubleValue: 1 });
    assert.deepEqual(values['gen_ai.request.top_p'], { intValue: '1' });
    assert.deepEqual(values['gen_ai.request.top_k'], { doubleValue: 40 });
    assert.deepEqual(values['gen_ai.request.presence_penalty'], { doubleValue: 0 });
    assert.deepEqual(values['gen_ai.usage.input_tokens'], { intValue: '30' });
    assert.deepEqual(values['big'], { intValue: '9223372036854775807' });
    assert.deepEqual(values['list'], { arrayValue: { values: [{ doubleValue: 1 }, { doubleValue: 2.5 }] } });
  });
});
