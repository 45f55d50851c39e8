/*
 * Real SDK spans for the unit tests of the processor's modules: a BasicTracerProvider whose spans end in an
 * InMemorySpanExporter (through a SimpleSpanProcessor), plus any processors a test wants to run beside it.
 * The modules under test are then handed the very objects the SDK hands a SpanProcessor.
 */
import { context, trace } from '@opentelemetry/api';
import type { Attributes, HrTime, Span as ApiSpan } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { IdGenerator, ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface SpanSource {
  readonly provider: BasicTracerProvider;
  readonly tracer: ReturnType<BasicTracerProvider['getTracer']>;
  /** Every span that ended, as the SDK exported it. */
  readonly exporter: InMemorySpanExporter;
}

export interface SpanSourceOptions {
  /** The tracer's instrumentation scope name; 'test' by default. */
  scope?: string;
  /** The tracer's instrumentation scope version; none by default. */
  scopeVersion?: string;
  /** Processors that run before the exporting one, in order. */
  processors?: SpanProcessor[];
  idGenerator?: IdGenerator;
}

export function spanSource(options: SpanSourceOptions = {}): SpanSource {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [...(options.processors ?? []), new SimpleSpanProcessor(exporter)],
    ...(options.idGenerator !== undefined ? { idGenerator: options.idGenerator } : {}),
  });
  return { provider, tracer: provider.getTracer(options.scope ?? 'test', options.scopeVersion), exporter };
}

export interface StartOptions {
  /** The parent span; none makes a root span (a trace of its own). */
  parent?: ApiSpan;
  /** The start time, to order siblings exactly. */
  startTime?: HrTime;
}

/** A started SDK span (still open). */
export function startSpan(
  source: SpanSource,
  name: string,
  attributes: Attributes = {},
  options: StartOptions = {},
): Span {
  const parentContext =
    options.parent === undefined ? context.active() : trace.setSpan(context.active(), options.parent);
  const span = source.tracer.startSpan(
    name,
    { attributes, ...(options.startTime !== undefined ? { startTime: options.startTime } : {}) },
    parentContext,
  );
  return span as unknown as Span;
}

/** A started and ended SDK span. */
export function endedSpan(
  source: SpanSource,
  name: string,
  attributes: Attributes = {},
  options: StartOptions = {},
): ReadableSpan {
  const span = startSpan(source, name, attributes, options);
  span.end();
  return span;
}

/** An IdGenerator that gives every span the same trace id and span id (two spans the processor cannot tell apart). */
export function fixedIds(traceId = '0af7651916cd43dd8448eb211c80319c', spanId = 'b7ad6b7169203331'): IdGenerator {
  return { generateTraceId: () => traceId, generateSpanId: () => spanId };
}

/** An OpenAI chat span's request attributes: an inference span without usage, as a stream starts. */
export function chatAttributes(extra: Attributes = {}): Attributes {
  return {
    'gen_ai.provider.name': 'openai',
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': 'gpt-4o-mini',
    ...extra,
  };
}
