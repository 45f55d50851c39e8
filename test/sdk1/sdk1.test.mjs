/*
 * @genai-enrich/processor against the real OpenTelemetry JS SDK 1.x (`@opentelemetry/sdk-trace-base` 1.30,
 * `@opentelemetry/api` 1.9) on Node 20, plain JavaScript, no tsx, registered the 1.x way:
 * `provider.addSpanProcessor(new GenAiEnrichingProcessor(next))`. The packages come from `npm pack`
 * tarballs (see run.sh), so this is what a user installs.
 *
 * What differs on 1.x, and is checked here: spans name their parent `parentSpanId` (not
 * `parentSpanContext`) and their scope `instrumentationLibrary` (not `instrumentationScope`); the SDK never
 * calls `onEnding`, so the processor normalizes in `onEnd`.
 *
 * Run: bash test/sdk1/run.sh   (from the repository root)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  BatchSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');
const require = createRequire(import.meta.url);
const pkg = (name) => JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8'));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const CHAT = {
  'gen_ai.provider.name': 'openai',
  'gen_ai.operation.name': 'chat',
  'gen_ai.request.model': 'gpt-4o-mini',
};

/** A loopback OTLP/HTTP JSON receiver: every span it was sent, with its attributes as plain values. */
async function receiver() {
  const spans = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const rs of body.resourceSpans ?? []) {
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            const attributes = {};
            for (const kv of s.attributes ?? []) {
              const v = kv.value;
              attributes[kv.key] =
                v.stringValue ?? v.boolValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.doubleValue);
            }
            spans.push({ name: s.name, spanId: s.spanId, attributes });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { spans, url: `http://127.0.0.1:${port}/v1/traces`, close: () => new Promise((r) => server.close(r)) };
}

function assertInvariants(processor) {
  const s = processor.stats();
  assert.equal(s.received, s.forwarded + s.held + s.awaitingDescendants, JSON.stringify(s));
  assert.equal(s.holds, s.joined + s.expired + s.evicted + s.flushed + s.held, JSON.stringify(s));
  assert.equal(s.errors, 0, JSON.stringify(s));
  return s;
}

describe('the installed SDK is 1.x', () => {
  it('resolves @opentelemetry/sdk-trace-base 1.30 and @opentelemetry/api 1.9, and the packed packages as copies', () => {
    assert.match(pkg('@opentelemetry/sdk-trace-base').version, /^1\.30\./);
    assert.match(pkg('@opentelemetry/api').version, /^1\.9\./);
    assert.equal(typeof new BasicTracerProvider().addSpanProcessor, 'function', 'the 1.x registration API');
    for (const name of ['@genai-enrich/processor', '@genai-enrich/normalizer']) {
      assert.equal(lstatSync(join(here, 'node_modules', name)).isSymbolicLink(), false, `${name} is a copy`);
    }
    // One @opentelemetry/api for the SDK and the processor, or context and diag would be two.
    const fromProcessor = createRequire(require.resolve('@genai-enrich/processor')).resolve('@opentelemetry/api');
    assert.equal(fromProcessor, require.resolve('@opentelemetry/api'));
  });
});

describe('GenAiEnrichingProcessor on SDK 1.x', () => {
  it('provider.addSpanProcessor(new GenAiEnrichingProcessor(new OTLPTraceExporter())): each span once at the receiver, normalized without onEnding, a held span joined', async () => {
    const otlp = await receiver();
    try {
      const provider = new BasicTracerProvider();
      const processor = new GenAiEnrichingProcessor(new OTLPTraceExporter({ url: otlp.url }), {
        scheduledDelayMillis: 10,
      });
      provider.addSpanProcessor(processor);
      const tracer = provider.getTracer('@traceloop/instrumentation-openai', '0.22.0');
      provider.getTracer('http').startSpan('GET /').end();
      tracer
        .startSpan('openai.chat', {
          attributes: {
            'gen_ai.system': 'OpenAI',
            'llm.request.type': 'chat',
            'gen_ai.request.model': 'gpt-4o-mini',
            'gen_ai.usage.prompt_tokens': 39,
            'gen_ai.usage.completion_tokens': 18,
          },
        })
        .end();
      tracer.startSpan('held', { attributes: { ...CHAT, 'gen_ai.response.id': 'chatcmpl-1' } }).end();
      assert.equal(processor.stats().held, 1);
      processor.recordUsage('chatcmpl-1', { inputTokens: 42, outputTokens: 17 });
      await provider.shutdown();
      assert.equal(otlp.spans.length, 3, JSON.stringify(otlp.spans));
      assert.equal(new Set(otlp.spans.map((s) => s.spanId)).size, 3, 'each span exactly once');
      const legacy = otlp.spans.find((s) => s.name === 'openai.chat');
      assert.equal(legacy.attributes['gen_ai.provider.name'], 'openai');
      assert.equal(legacy.attributes['gen_ai.usage.input_tokens'], 39);
      assert.equal(legacy.attributes['gen_ai.system'], undefined, 'legacy keys are gone: normalized in onEnd');
      const held = otlp.spans.find((s) => s.name === 'held');
      assert.equal(held.attributes['gen_ai.usage.input_tokens'], 42);
      assert.equal(held.attributes['genai_enrich.usage_source'], 'record_usage');
      const http = otlp.spans.find((s) => s.name === 'GET /');
      assert.deepEqual(Object.keys(http.attributes), [], 'a span that is not GenAI passes untouched');
      assertInvariants(processor);
    } finally {
      await otlp.close();
    }
  });

  it('counts usage once per trace: an agent span repeating its two calls (parents read from 1.x parentSpanId) keeps its total under genai_enrich.repeated_usage.*', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider();
    const processor = new GenAiEnrichingProcessor(new SimpleSpanProcessor(exporter));
    provider.addSpanProcessor(processor);
    const tracer = provider.getTracer('agent');
    const agent = tracer.startSpan('invoke_agent planner', { attributes: { 'gen_ai.operation.name': 'invoke_agent' } });
    const ctx = trace.setSpan(context.active(), agent);
    tracer
      .startSpan(
        'chat 1',
        { attributes: { ...CHAT, 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 4 } },
        ctx,
      )
      .end();
    tracer
      .startSpan(
        'chat 2',
        { attributes: { ...CHAT, 'gen_ai.usage.input_tokens': 20, 'gen_ai.usage.output_tokens': 6 } },
        ctx,
      )
      .end();
    agent.setAttributes({ 'gen_ai.usage.input_tokens': 30, 'gen_ai.usage.output_tokens': 10 });
    agent.end();
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();
    assert.equal(spans.length, 3);
    const sum = (key) => spans.reduce((n, x) => n + (x.attributes[key] ?? 0), 0);
    assert.equal(sum('gen_ai.usage.input_tokens'), 30, 'the trace sums to the bill');
    assert.equal(sum('gen_ai.usage.output_tokens'), 10);
    const a = spans.find((x) => x.name === 'invoke_agent planner');
    assert.equal(a.attributes['genai_enrich.repeated_usage.input_tokens'], 30);
    assert.equal(a.attributes['genai_enrich.usage_repeats'], 'descendants');
    assert.equal(assertInvariants(processor).usageRepeated, 1);
    await provider.shutdown();
  });

  for (const next of ['SimpleSpanProcessor', 'BatchSpanProcessor']) {
    it(`processor mode (${next}): late setAttribute after end() joins, the watchdog ends an open span, stats add up`, async () => {
      const exporter = new InMemorySpanExporter();
      const inner =
        next === 'SimpleSpanProcessor' ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
      const processor = new GenAiEnrichingProcessor(inner, { maxOpenMillis: 50, holdMillis: 30 });
      const provider = new BasicTracerProvider();
      provider.addSpanProcessor(processor);
      const tracer = provider.getTracer('app');
      const late = tracer.startSpan('chat late', { attributes: CHAT });
      late.end();
      late.setAttribute('gen_ai.usage.input_tokens', 7);
      late.setAttributes({ 'gen_ai.usage.output_tokens': 3 });
      await Promise.resolve();
      tracer.startSpan('never ended', { attributes: CHAT });
      await sleep(150);
      await provider.forceFlush();
      const out = exporter.getFinishedSpans();
      const lateOut = out.find((s) => s.name === 'chat late');
      assert.equal(lateOut.attributes['gen_ai.usage.input_tokens'], 7);
      assert.equal(lateOut.attributes['gen_ai.usage.output_tokens'], 3);
      assert.equal(lateOut.attributes['genai_enrich.usage_source'], 'late_attribute');
      const forced = out.find((s) => s.name === 'never ended');
      assert.equal(forced.attributes['genai_enrich.force_ended'], true);
      assert.equal(forced.attributes['genai_enrich.usage_missing'], true);
      const s = assertInvariants(processor);
      assert.equal(s.forceEnded, 1);
      assert.equal(s.lateAttributes, 2);
      await provider.shutdown();
    });
  }

  it('scope detection reads instrumentationLibrary: a span of a GenAI instrumentation is watched before any gen_ai attribute', async () => {
    const processor = new GenAiEnrichingProcessor(new InMemorySpanExporter());
    const provider = new BasicTracerProvider();
    provider.addSpanProcessor(processor);
    const genai = provider.getTracer('@opentelemetry/instrumentation-openai', '0.21.0').startSpan('chat');
    const other = provider.getTracer('app').startSpan('work');
    assert.equal(processor.stats().open, 1, 'only the GenAI instrumentation span is watched');
    genai.end();
    other.end();
    await provider.shutdown();
  });

  it('the Logfire stream record joins its sibling request span (parents from parentSpanId), not a root-level request', async () => {
    const exporter = new InMemorySpanExporter();
    const processor = new GenAiEnrichingProcessor(new SimpleSpanProcessor(exporter));
    const provider = new BasicTracerProvider();
    provider.addSpanProcessor(processor);
    const tracer = provider.getTracer('logfire');
    const data = '{"model":"gpt-4o-mini","stream":true}';
    const request = (name, ctx) =>
      tracer.startSpan(
        name,
        {
          attributes: {
            ...CHAT,
            'logfire.msg_template': 'Chat Completion with {request_data[model]!r}',
            'logfire.span_type': 'span',
            request_data: data,
          },
        },
        ctx,
      );
    const rootLevel = request('root-level request');
    rootLevel.end();
    const parent = tracer.startSpan('job');
    const ctx = trace.setSpan(context.active(), parent);
    const sibling = request('sibling request', ctx);
    sibling.end();
    assert.equal(processor.stats().held, 2);
    tracer
      .startSpan(
        'streaming response from {request_data[model]!r} took {duration:.2f}s',
        {
          attributes: {
            ...CHAT,
            'logfire.msg_template': 'streaming response from {request_data[model]!r} took {duration:.2f}s',
            'logfire.span_type': 'log',
            request_data: data,
            duration: 0.5,
            'gen_ai.usage.input_tokens': 11,
            'gen_ai.usage.output_tokens': 5,
          },
        },
        ctx,
      )
      .end();
    parent.end();
    const byName = Object.fromEntries(exporter.getFinishedSpans().map((s) => [s.name, s]));
    assert.equal(byName['sibling request'].attributes['gen_ai.usage.input_tokens'], 11);
    assert.equal(byName['sibling request'].attributes['genai_enrich.usage_source'], 'sibling_record');
    assert.equal(processor.stats().held, 1, 'the root-level request in another trace still waits');
    await provider.shutdown();
    assertInvariants(processor);
  });

  it("the published .d.ts type-check against SDK 1.x's types with skipLibCheck off (TypeScript from the repository root)", (t) => {
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    if (!existsSync(tsc)) {
      t.skip('no typescript in the repository root node_modules (run npm ci at the root)');
      return;
    }
    // Under node_modules/, so the repository's own tsconfig never picks it up.
    const dir = join(here, 'node_modules', '.sdk1-typecheck');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'consumer.ts'),
      `import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';
import type { ReadableSpanLike, SpanExporterLike, SpanLike, SpanProcessorLike } from '@genai-enrich/processor';

const provider = new NodeTracerProvider();
provider.addSpanProcessor(new GenAiEnrichingProcessor(new OTLPTraceExporter()));
provider.addSpanProcessor(new GenAiEnrichingProcessor(new BatchSpanProcessor(new InMemorySpanExporter())));
const basic = new BasicTracerProvider();
const asProcessor: SpanProcessor = new GenAiEnrichingProcessor(new InMemorySpanExporter(), { holdMillis: 1000 });
basic.addSpanProcessor(asProcessor);

export function shapes(span: Span, readable: ReadableSpan, exporter: SpanExporter, processor: SpanProcessor) {
  const a: SpanLike = span;
  const b: ReadableSpanLike = readable;
  const c: SpanExporterLike = exporter;
  const d: SpanProcessorLike = processor;
  return [a, b, c, d];
}
`,
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          noEmit: true,
          strict: true,
          target: 'es2022',
          lib: ['es2022'],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          types: [],
          skipLibCheck: false,
        },
        files: ['consumer.ts'],
      }),
    );
    try {
      execFileSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], {
        cwd: here,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      assert.fail(`tsc failed:\n${error.stdout}${error.stderr}`);
    }
  });
});
