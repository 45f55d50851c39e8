/*
 * `npm run demo`: the whole pipeline on an embedded default, no network.
 *
 *   openai client ──► loopback OpenAI mock (127.0.0.1, random port)
 *        │ instrumented by @opentelemetry/instrumentation-openai, and the Vercel AI SDK's own telemetry
 *        ▼
 *   NodeTracerProvider ─► [snapshot "before"] ─► GenAiEnrichingProcessor ─► [table "after"] ─► OTLP (--otlp URL)
 *                                                   ▲
 *   Logfire (Python) spans: an OTLP JSON fixture, decoded by the relay ─┘
 *
 * Prints, per span, what the instrumentation emitted and what the processor forwarded, then the
 * processor's stats. `--otlp http://127.0.0.1:4318` also sends the enriched spans to that OTLP/HTTP
 * endpoint (`/v1/traces` is appended when the URL has no path).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { context, trace, type Attributes, type Context } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { BatchSpanProcessor, type ReadableSpan, type Span, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { MAPPING_RULES } from '@genai-enrich/normalizer';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';
import { decodeTraceRequest } from '@genai-enrich/relay';
import { startOpenAiMock } from '../test/helpers/openai-mock.js';

const { values: args } = parseArgs({ options: { otlp: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (args.help === true) {
  console.log('usage: npm run demo [-- --otlp http://127.0.0.1:4318]');
  process.exit(0);
}
const otlpUrl = args.otlp === undefined ? undefined : tracesUrl(args.otlp);

const HOLD_MILLIS = 500;
const MAX_OPEN_MILLIS = 1500;
/** Legacy or vendor key → the semconv key it becomes (first rule wins, as in the normalizer). */
const LEGACY_TARGET = new Map<string, string>();
for (const r of MAPPING_RULES) if (r.rank > 0 && !LEGACY_TARGET.has(r.source)) LEGACY_TARGET.set(r.source, r.target);

interface Snapshot {
  name: string;
  attributes: Attributes;
}

/** Copies each span as the instrumentation left it, before the processor (next in line) touches it. */
class BeforeSnapshots implements SpanProcessor {
  readonly byId = new Map<string, Snapshot>();
  onStart(_span: Span, _ctx: Context): void {}
  onEnding(span: Span): void {
    this.byId.set(span.spanContext().spanId, { name: span.name, attributes: { ...span.attributes } });
  }
  onEnd(_span: ReadableSpan): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Receives what the processor forwards, keeps it for the table, and passes it on to OTLP if asked. */
class AfterSpans implements SpanProcessor {
  readonly spans: ReadableSpan[] = [];
  constructor(private readonly _next?: SpanProcessor) {}
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.spans.push(span);
    this._next?.onEnd(span);
  }
  forceFlush(): Promise<void> {
    return this._next?.forceFlush() ?? Promise.resolve();
  }
  shutdown(): Promise<void> {
    return this._next?.shutdown() ?? Promise.resolve();
  }
}

const mock = await startOpenAiMock({ chunkDelayMs: 10 });
const before = new BeforeSnapshots();
const otlpExporter = otlpUrl === undefined ? undefined : new OTLPTraceExporter({ url: otlpUrl });
const after = new AfterSpans(otlpExporter === undefined ? undefined : new BatchSpanProcessor(otlpExporter));
const processor = new GenAiEnrichingProcessor(after, { holdMillis: HOLD_MILLIS, maxOpenMillis: MAX_OPEN_MILLIS });
const provider = new NodeTracerProvider({ spanProcessors: [before, processor] });
provider.register();
registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()], tracerProvider: provider });

// Loaded after registration: the instrumentation patches `openai` as it is required.
const require = createRequire(import.meta.url);
const { OpenAI } = require('openai') as typeof import('openai');
const { generateText, streamText } = await import('ai');
const { createOpenAI } = await import('@ai-sdk/openai');

const client = new OpenAI({ apiKey: 'demo', baseURL: mock.baseURL });
// The same client with the HTTP usage tap: it reads usage off the provider's response for the processor.
const tapped = new OpenAI({ apiKey: 'demo', baseURL: mock.baseURL, fetch: processor.fetch });
const vercel = createOpenAI({ apiKey: 'demo', baseURL: mock.baseURL });
const tracer = provider.getTracer('genai-enrich-demo');
const messages = [{ role: 'user' as const, content: 'Say hello.' }];
const labels = new Map<string, string>();

async function call(label: string, fn: () => Promise<unknown>): Promise<void> {
  const root = tracer.startSpan(label, { root: true });
  labels.set(root.spanContext().traceId, label);
  try {
    await context.with(trace.setSpan(context.active(), root), fn);
  } finally {
    root.end();
  }
}

await call('openai chat (OTel contrib instrumentation)', () =>
  client.chat.completions.create({ model: 'gpt-4o-mini', messages }),
);
await call('openai responses, with the usage tap (OTel contrib + processor.fetch)', () =>
  tapped.responses.create({ model: 'gpt-4o-mini', input: 'Say hello.' }),
);
await call('openai chat stream, include_usage (OTel contrib)', async () => {
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages,
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const _chunk of stream);
});
await call('openai chat stream, reader stops early (OTel contrib)', async () => {
  const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
  for await (const _chunk of stream) break;
});
await call('AI SDK generateText, chat (Vercel telemetry)', () =>
  generateText({
    model: vercel.chat('gpt-4o-mini'),
    prompt: 'Say hello.',
    experimental_telemetry: { isEnabled: true, tracer },
  }),
);
await call('AI SDK streamText, responses (Vercel telemetry)', async () => {
  const result = streamText({
    model: vercel.responses('gpt-4o-mini'),
    prompt: 'Say hello.',
    experimental_telemetry: { isEnabled: true, tracer },
  });
  for await (const _text of result.textStream);
  await result.usage;
});

// A Python service cannot load this processor; the relay runs it for them. Here the OTLP/JSON body Logfire
// exports for an OpenAI chat stream (a fixture written from Logfire's source) is decoded by the relay's own
// decoder and fed to the processor in end order, as the relay does: the request span ends when the stream
// is returned, and the usage comes later on a sibling log record.
const fixture = readFileSync(
  new URL('../test/fixtures/python/logfire-chat-stream-include-usage.json', import.meta.url),
);
const { spans: logfireSpans } = decodeTraceRequest(fixture, 'json');
logfireSpans.sort((a, b) => a.endTime[0] - b.endTime[0] || a.endTime[1] - b.endTime[1]);
for (const span of logfireSpans) {
  before.byId.set(span.spanContext().spanId, { name: span.name, attributes: { ...span.attributes } });
  labels.set(span.spanContext().traceId, 'Logfire (Python) chat stream, replayed from an OTLP fixture');
  processor.onEnd(span);
}

// The early-stopped stream's span is never ended by its instrumentation: the processor's watchdog ends it
// after maxOpenMillis, then it waits out holdMillis for usage that cannot come.
const deadline = Date.now() + MAX_OPEN_MILLIS + HOLD_MILLIS + 2000;
while (processor.stats().open > 0 || processor.stats().held > 0) {
  if (Date.now() > deadline) break;
  await new Promise((r) => setTimeout(r, 50));
}
await provider.forceFlush();

console.log(
  'genai-enrich demo: real instrumented calls against a loopback OpenAI mock, through GenAiEnrichingProcessor',
);
console.log('(token counts marked * are read from a vendor key such as ai.usage.inputTokens, not from gen_ai.usage.*)');
printTable();
const stats = processor.stats();
console.log('\nprocessor stats');
for (const [k, v] of Object.entries(stats))
  if (v !== 0 || k === 'received' || k === 'forwarded') console.log(`  ${k.padEnd(20)} ${v}`);
console.log(
  `  invariant received = forwarded + held + awaitingDescendants: ${stats.received === stats.forwarded + stats.held + stats.awaitingDescendants ? 'holds' : 'BROKEN'}`,
);

await provider.shutdown();
await mock.close();
if (otlpUrl !== undefined) console.log(`\nsent ${after.spans.length} enriched spans to ${otlpUrl}`);

function printTable(): void {
  const byTrace = new Map<string, ReadableSpan[]>();
  for (const span of after.spans) {
    if (span.parentSpanContext === undefined) continue; // the demo's own root spans
    const list = byTrace.get(span.spanContext().traceId) ?? [];
    list.push(span);
    byTrace.set(span.spanContext().traceId, list);
  }
  for (const [traceId, spans] of byTrace) {
    console.log(`\n${labels.get(traceId) ?? traceId}`);
    spans.sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    for (const span of spans) {
      const raw = before.byId.get(span.spanContext().spanId);
      const forced = span.attributes['genai_enrich.force_ended'] === true;
      console.log(`  ${span.name}`);
      console.log(
        `    ${'before'.padEnd(8)}${forced ? 'never ended: the SDK would never export it' : row(raw?.attributes ?? {})}`,
      );
      console.log(`    ${'after'.padEnd(8)}${row(span.attributes)}`);
      for (const fix of fixes(raw, span)) console.log(`    ${'fixed'.padEnd(8)}${fix}`);
    }
  }
}

function row(a: Attributes): string {
  const provider = a['gen_ai.provider.name'] ?? a['gen_ai.system'] ?? a['ai.model.provider'] ?? '–';
  const providerKey =
    a['gen_ai.provider.name'] !== undefined
      ? ''
      : a['gen_ai.system'] !== undefined
        ? ' (gen_ai.system)'
        : a['ai.model.provider'] !== undefined
          ? ' (ai.model.provider)'
          : '';
  const tokens = (key: string, legacy: string): string =>
    String(a[key] ?? (a[legacy] !== undefined ? `${String(a[legacy])}*` : '–'));
  return [
    `provider ${String(provider)}${providerKey}`.padEnd(38),
    `in ${tokens('gen_ai.usage.input_tokens', 'ai.usage.inputTokens')}`.padEnd(9),
    `out ${tokens('gen_ai.usage.output_tokens', 'ai.usage.outputTokens')}`.padEnd(9),
    `cache ${tokens('gen_ai.usage.cache_read.input_tokens', 'ai.usage.cachedInputTokens')}`.padEnd(11),
  ]
    .join(' ')
    .trimEnd();
}

function fixes(raw: Snapshot | undefined, span: ReadableSpan): string[] {
  const out: string[] = [];
  const a = span.attributes;
  if (a['genai_enrich.force_ended'] === true)
    out.push(`ended by the watchdog after ${MAX_OPEN_MILLIS} ms, and exported`);
  if (raw === undefined) return out;
  if (raw.name !== span.name) out.push(`name: ${raw.name} → ${span.name}`);
  const renamed = Object.keys(raw.attributes).filter((k) => LEGACY_TARGET.has(k) && !(k in a));
  if (renamed.length > 0) {
    const shown = renamed.slice(0, 3).map((k) => `${k} → ${LEGACY_TARGET.get(k)!}`);
    const more = renamed.length > shown.length ? `, and ${renamed.length - shown.length} more` : '';
    out.push(`renamed ${renamed.length} key${renamed.length > 1 ? 's' : ''}: ${shown.join(', ')}${more}`);
  }
  const rawProvider =
    raw.attributes['gen_ai.provider.name'] ?? raw.attributes['gen_ai.system'] ?? raw.attributes['ai.model.provider'];
  if (rawProvider !== undefined && rawProvider !== a['gen_ai.provider.name'])
    out.push(`provider value: ${String(rawProvider)} → ${String(a['gen_ai.provider.name'])}`);
  const source = a['genai_enrich.usage_source'];
  if (source !== undefined && source !== 'telemetry') out.push(`usage joined from ${String(source)}`);
  if (a['genai_enrich.usage_moved_to'] !== undefined)
    out.push('usage moved to the span it belongs to, so the trace counts it once');
  const repeats = a['genai_enrich.usage_repeats'];
  if (repeats !== undefined) {
    const what = repeats === 'twin' ? 'a twin span of the same call' : 'the provider-call span below';
    out.push(`usage repeats ${what}: kept as genai_enrich.repeated_usage.*, so the trace counts it once`);
  }
  if (a['genai_enrich.usage_missing'] === true)
    out.push('no usage arrived within holdMillis: marked genai_enrich.usage_missing');
  const added = Object.keys(a).filter((k) => k.startsWith('gen_ai.usage.') && !(k in raw.attributes));
  if (added.length > 0 && renamed.length === 0) out.push(`added ${added.join(', ')}`);
  return out;
}

function tracesUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    console.error(`--otlp: not a URL: ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/traces';
  return url.toString();
}
