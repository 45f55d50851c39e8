/*
 * A real SDK pipeline for tests: BasicTracerProvider → GenAiEnrichingProcessor → a recording processor
 * (or an InMemorySpanExporter), with a fake clock driving the processor's timers.
 */
import { BasicTracerProvider, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Context } from '@opentelemetry/api';
import { GenAiEnrichingProcessor } from '../../src/index.js';
import type { GenAiEnrichingProcessorOptions } from '../../src/index.js';
import { FakeClock } from './fake-clock.js';

/** A SpanProcessor that records what reaches it, in order. */
export class RecordingProcessor implements SpanProcessor {
  readonly started: Span[] = [];
  readonly ended: ReadableSpan[] = [];
  flushes = 0;
  shutdowns = 0;
  onStart(span: Span, _ctx: Context): void {
    this.started.push(span);
  }
  onEnd(span: ReadableSpan): void {
    this.ended.push(span);
  }
  forceFlush(): Promise<void> {
    this.flushes++;
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    this.shutdowns++;
    return Promise.resolve();
  }
  /** How many times each span id reached onEnd. */
  counts(): Map<string, number> {
    const m = new Map<string, number>();
    for (const s of this.ended) m.set(s.spanContext().spanId, (m.get(s.spanContext().spanId) ?? 0) + 1);
    return m;
  }
  byName(name: string): ReadableSpan | undefined {
    return this.ended.find((s) => s.name === name);
  }
}

export interface Pipeline {
  clock: FakeClock;
  next: RecordingProcessor;
  processor: GenAiEnrichingProcessor;
  provider: BasicTracerProvider;
  tracer: ReturnType<BasicTracerProvider['getTracer']>;
}

export function pipeline(options: GenAiEnrichingProcessorOptions = {}, scope = 'test'): Pipeline {
  const clock = new FakeClock(1_000_000);
  const next = new RecordingProcessor();
  const processor = new GenAiEnrichingProcessor(next, { clock, ...options });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  return { clock, next, processor, provider, tracer: provider.getTracer(scope) };
}

export function exporterPipeline(options: GenAiEnrichingProcessorOptions = {}) {
  const clock = new FakeClock(1_000_000);
  const exporter = new InMemorySpanExporter();
  const processor = new GenAiEnrichingProcessor(exporter, { clock, ...options });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  return { clock, exporter, processor, provider, tracer: provider.getTracer('test') };
}
