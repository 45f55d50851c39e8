/*
 * How close estimateSpanBytes (packages/processor/src/span-size.ts) comes to what a span keeps on the heap.
 * For each shape, 5000 SDK spans are exported with the SDK's protobuf serializer and decoded by the relay's
 * decoder; the heap growth (after two full garbage collections before and after) divided by the count is
 * compared with the estimate. The estimate is meant to be close to the heap, and not below it.
 *
 * Run: `npm run bench:span-size` (node --expose-gc, tsx, workspace sources).
 */
import { SpanKind } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { estimateSpanBytes } from '../packages/processor/src/span-size.js';
import { decodeTraceRequest } from '../packages/relay/src/otlp/index.js';
import { legacyChatAttributes, machineLine } from './harness.js';

const COUNT = 5000;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench:span-size)');

const SHAPES: Record<string, (i: number) => { attributes: Attributes; events?: number }> = {
  'no attributes': () => ({ attributes: {} }),
  'GenAI chat span, 15 attributes (bench:relay)': (i) => ({ attributes: legacyChatAttributes(i) }),
  'a 4000-character prompt': (i) => ({ attributes: { 'gen_ai.prompt': 'p'.repeat(4000) + i } }),
  '100 numeric attributes': () => ({
    attributes: Object.fromEntries(Array.from({ length: 100 }, (_, k) => [`k${k}`, k])),
  }),
  '50 string attributes': (i) => ({
    attributes: Object.fromEntries(Array.from({ length: 50 }, (_, k) => [`attr.key.${k}`, `value-${k}-${i}`])),
  }),
  'an array of 200 strings': () => ({ attributes: { arr: Array.from({ length: 200 }, (_, k) => `e${k}`) } }),
  '20 events with 2 attributes': () => ({ attributes: {}, events: 20 }),
};

function body(shape: (i: number) => { attributes: Attributes; events?: number }): Uint8Array {
  const exporter = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('bench');
  for (let i = 0; i < COUNT; i++) {
    const { attributes, events = 0 } = shape(i);
    const span = tracer.startSpan('chat gpt-4o-mini', { kind: SpanKind.CLIENT, attributes });
    for (let e = 0; e < events; e++) span.addEvent(`ev${e}`, { a: e, b: `x${e}` });
    span.end();
  }
  return ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans())!;
}

console.log(`estimateSpanBytes against the heap of ${COUNT} decoded spans per shape`);
console.log(machineLine());
console.log('| span | heap bytes / span | estimate / span | estimate ÷ heap | OTLP protobuf bytes / span |');
console.log('|---|---:|---:|---:|---:|');
const keep: unknown[] = [];
for (const [name, shape] of Object.entries(SHAPES)) {
  const encoded = Buffer.from(body(shape));
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const { spans } = decodeTraceRequest(encoded, 'protobuf');
  gc();
  gc();
  const heap = (process.memoryUsage().heapUsed - before) / COUNT;
  let estimate = 0;
  for (const span of spans) estimate += estimateSpanBytes(span);
  estimate /= COUNT;
  keep.push(spans);
  console.log(
    `| ${name} | ${heap.toFixed(0)} | ${estimate.toFixed(0)} | ${(estimate / heap).toFixed(2)} | ${(encoded.length / COUNT).toFixed(0)} |`,
  );
}
if (keep.length === 0) console.log('nothing kept');
