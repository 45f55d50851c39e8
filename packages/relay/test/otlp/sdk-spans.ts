/*
 * Real spans from the SDK (`@opentelemetry/sdk-trace-base` 2.x, BasicTracerProvider → SimpleSpanProcessor →
 * InMemorySpanExporter), covering everything the SDK can put in an OTLP request: every attribute type, events
 * and links with attributes, trace state, a remote and a local parent, every kind and status, dropped counts
 * (forced by low span limits), two resources (one with a schema URL) and several scopes (with and without
 * versions and schema URLs). Times are fixed, with nanosecond digits, so runs are repeatable.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, createTraceState, trace } from '@opentelemetry/api';
import type { Attributes, HrTime, Tracer } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { RelaySpan } from '../../src/otlp/index.js';

export const REMOTE_PARENT = {
  traceId: '5b8efff798038103d269b633813fc60c',
  spanId: 'eee19b7ec3c1b174',
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
  traceState: createTraceState('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'),
};

export const LINKED = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  traceFlags: TraceFlags.NONE,
  isRemote: true,
  traceState: createTraceState('vendor=value'),
};

/** Every attribute value type the SDK accepts (and the serializer writes), within one span's limit. */
export const ALL_TYPES: Attributes = {
  str: 'hello',
  'str.empty': '',
  'str.unicode': 'héllo ✓ 🎉',
  'bool.true': true,
  'bool.false': false,
  int: 42,
  'int.negative': -7,
  'int.big': 2 ** 60, // an exact double above 2^53: written as int_value
  double: 3.25,
  'double.negative': -0.5,
  strings: ['a', 'b', ''],
  numbers: [1, 2.5, -3],
  booleans: [true, false],
  empty: [],
};

const LIMITS = {
  attributeCountLimit: 16,
  eventCountLimit: 3,
  linkCountLimit: 2,
  attributePerEventCountLimit: 2,
  attributePerLinkCountLimit: 2,
};

function t(seconds: number, nanos: number): HrTime {
  return [seconds, nanos];
}

function providers(exporter: InMemorySpanExporter): [BasicTracerProvider, BasicTracerProvider] {
  const processor = new SimpleSpanProcessor(exporter);
  return [
    new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': 'chat-api',
        'service.version': '1.4.2',
        'host.cpus': 8,
        'deployment.canary': false,
      }),
      spanLimits: LIMITS,
      spanProcessors: [processor],
    }),
    new BasicTracerProvider({
      resource: resourceFromAttributes(
        { 'service.name': 'worker', 'process.command_args': ['python', '-m', 'worker'] },
        { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' },
      ),
      spanLimits: LIMITS,
      spanProcessors: [processor],
    }),
  ];
}

/** The spans, in the order they ended. */
export function sdkSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const [p1, p2] = providers(exporter);
  const a: Tracer = p1.getTracer('@acme/llm', '2.0.1', { schemaUrl: 'https://opentelemetry.io/schemas/1.37.0' });
  const b: Tracer = p1.getTracer('bare-scope');
  const c: Tracer = p2.getTracer('worker.jobs', '0.3.0');

  // A remote parent with trace state: the child inherits the state, and its flags say "parent is remote".
  const remote = trace.setSpanContext(ROOT_CONTEXT, REMOTE_PARENT);
  const root = a.startSpan(
    'POST /v1/chat',
    { kind: SpanKind.SERVER, startTime: t(1787822507, 530918072), attributes: ALL_TYPES },
    remote,
  );
  const withParent = trace.setSpan(ROOT_CONTEXT, root);

  const child = a.startSpan(
    'chat gpt-4o-mini',
    {
      kind: SpanKind.CLIENT,
      startTime: t(1787822507, 600000001),
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.usage.input_tokens': 1536,
      },
      // linkCountLimit 2: the SDK drops the oldest link.
      links: [
        { context: { ...LINKED, spanId: 'b3ce929d0e0e4736' } },
        { context: LINKED, attributes: { 'link.kind': 'follows', 'link.n': 1 } },
        {
          context: { ...LINKED, spanId: 'a3ce929d0e0e4736', traceState: undefined, isRemote: false },
          attributes: { a: 1, b: 2, c: 3 },
        },
      ],
    },
    withParent,
  );
  // eventCountLimit 3: the SDK drops the oldest events.
  child.addEvent('dropped.oldest', {}, t(1787822507, 650000000));
  child.addEvent('dropped.next', {}, t(1787822507, 650000001));
  child.addEvent('gen_ai.content.prompt', { 'gen_ai.prompt': 'Hi', index: 0 }, t(1787822507, 700000000));
  child.addEvent('over.limit.attributes', { x: 1, y: 2, z: 3 }, t(1787822507, 700000001));
  child.addEvent('no.attributes', undefined, t(1787822507, 800000000));
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream returned 529: overloaded' });
  child.end(t(1787822509, 999999999));

  const crowded = b.startSpan('crowded', { kind: SpanKind.INTERNAL, startTime: t(1787822510, 0) }, withParent);
  for (let i = 0; i < 20; i++) crowded.setAttribute(`k${String(i).padStart(2, '0')}`, i); // 4 over the limit
  crowded.setStatus({ code: SpanStatusCode.OK });
  crowded.end(t(1787822510, 1));

  root.end(t(1787822511, 123456789));

  const producer = c.startSpan('enqueue', { kind: SpanKind.PRODUCER, startTime: t(1787822512, 5) });
  producer.end(t(1787822512, 6));
  const consumer = c.startSpan('dequeue', { kind: SpanKind.CONSUMER, startTime: t(1787822513, 999999999) });
  consumer.addEvent(
    'exception',
    { 'exception.type': 'TimeoutError', 'exception.message': 'no reply in 30 s' },
    t(1787822514, 0),
  );
  consumer.end(t(1787822514, 500));
  const again = b.startSpan('bare again', { startTime: t(1787822515, 1) }, withParent);
  again.end(t(1787822515, 2));
  // A zero-length span ending before it starts: the SDK clamps the duration to 0.
  const backwards = a.startSpan('backwards', { startTime: t(1787822516, 10) });
  backwards.end(t(1787822516, 5));

  return exporter.getFinishedSpans();
}

/**
 * What the SDK's JSON serializer makes of `spans`, parsed: a canonical, readable view of decoded spans, to
 * compare two decodes (for instance with and without unknown fields) in one deepEqual.
 */
export function otlpJsonView(spans: ReadonlyArray<ReadableSpan | RelaySpan>): unknown {
  return JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans as ReadableSpan[])));
}
