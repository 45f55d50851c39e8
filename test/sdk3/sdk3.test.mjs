/*
 * @genai-enrich/processor against the real OpenTelemetry JS SDK 3.x (`@opentelemetry/sdk-trace` 3.x,
 * `@opentelemetry/api` 1.10.x) on Node ≥ 22.15, plain JavaScript, no tsx. The two packages come from
 * `npm pack` tarballs (see run.sh), so this is what a user installs.
 *
 * Every scenario runs in both modes of the processor:
 *   exporter mode:  GenAiEnrichingProcessor(InMemorySpanExporter)                       (it batches itself)
 *   processor mode: GenAiEnrichingProcessor(new SimpleSpanProcessor({ exporter }))      (it delegates)
 * Timers are real; every wait is short (no test waits more than about half a second).
 *
 * Run: bash test/sdk3/run.sh   (from the repository root)
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { context, diag, SpanKind, TraceFlags, trace, ROOT_CONTEXT } from '@opentelemetry/api';
import * as sdk from '@opentelemetry/sdk-trace';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';

const { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor, StackContextManager, SamplingDecision } = sdk;

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');
const require = createRequire(import.meta.url);
const pkg = (name) => JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8'));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Exporter mode exports every `SCHEDULED_DELAY` ms; `exported()` waits a few of those. */
const SCHEDULED_DELAY = 10;

/** A streaming chat span as the OTel openai instrumentation starts it: no usage yet. */
const CHAT_STREAM = {
  'gen_ai.provider.name': 'openai',
  'gen_ai.operation.name': 'chat',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.request.stream': true,
};

/** OpenLLMetry JS 0.22.x (`@traceloop/instrumentation-openai`): legacy keys, prompt/completion tokens. */
const OPENLLMETRY_022 = {
  'gen_ai.system': 'OpenAI',
  'llm.request.type': 'chat',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.request.max_tokens': 512,
  'llm.frequency_penalty': 0.5,
  'gen_ai.prompt.0.role': 'user',
  'gen_ai.prompt.0.content': 'What is the capital of France?',
  'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
  'llm.usage.total_tokens': 57,
  'gen_ai.usage.completion_tokens': 18,
  'gen_ai.usage.prompt_tokens': 39,
  'gen_ai.completion.0.role': 'assistant',
  'gen_ai.completion.0.content': 'Paris.',
};
const LEGACY_KEYS = [
  'gen_ai.system',
  'llm.request.type',
  'llm.frequency_penalty',
  'llm.usage.total_tokens',
  'gen_ai.usage.completion_tokens',
  'gen_ai.usage.prompt_tokens',
];

/** InMemorySpanExporter forgets everything on shutdown(); this one also keeps every span it was given. */
class KeepingExporter extends InMemorySpanExporter {
  all = [];
  exportCalls = 0;
  shutdowns = 0;
  export(spans, resultCallback) {
    this.exportCalls++;
    this.all.push(...spans);
    super.export(spans, resultCallback);
  }
  shutdown() {
    this.shutdowns++;
    return super.shutdown();
  }
}

/** A second span processor, registered after the enriching one: records what onEnding and onEnd show it. */
class Recorder {
  ending = [];
  ended = [];
  onStart() {}
  onEnding(span) {
    this.ending.push({ name: span.name, attributes: { ...span.attributes } });
  }
  onEnd(span) {
    this.ended.push(span);
  }
  forceFlush() {
    return Promise.resolve();
  }
  shutdown() {
    return Promise.resolve();
  }
}

const MODES = ['exporter', 'processor'];

/** A real SDK 3.x pipeline: TracerProvider → GenAiEnrichingProcessor → (SimpleSpanProcessor →) exporter. */
function pipeline(mode, options = {}, { after = [], sampler } = {}) {
  const exporter = new KeepingExporter();
  const next = mode === 'exporter' ? exporter : new SimpleSpanProcessor({ exporter });
  const processor = new GenAiEnrichingProcessor(
    next,
    mode === 'exporter' ? { scheduledDelayMillis: SCHEDULED_DELAY, ...options } : options,
  );
  const provider = new TracerProvider({ spanProcessors: [processor, ...after], ...(sampler ? { sampler } : {}) });
  const tracer = provider.getTracer('sdk3-test', '1.0.0');
  return {
    mode,
    exporter,
    processor,
    provider,
    tracer,
    /**
     * Everything the exporter received so far. In exporter mode, first waits for the scheduled export of
     * every span forwarded so far (sampled ones: a record-only sampler's spans are never exported), at
     * least two export delays and at most one second, so it holds up on a loaded machine.
     */
    async exported() {
      if (mode === 'exporter') {
        const start = Date.now();
        await sleep(SCHEDULED_DELAY * 2);
        const expected = () => (sampler ? 0 : processor.stats().forwarded);
        while (exporter.all.length < expected() && Date.now() - start < 1000) await sleep(SCHEDULED_DELAY);
      }
      return exporter.all;
    },
  };
}

/** The health invariants of the README, checked on every pipeline, plus exactly-once delivery. */
async function assertInvariants(p) {
  const s = p.processor.stats();
  assert.equal(
    s.received,
    s.forwarded + s.held + s.awaitingDescendants,
    `received = forwarded + held + awaitingDescendants: ${JSON.stringify(s)}`,
  );
  assert.equal(s.holds, s.joined + s.expired + s.evicted + s.flushed + s.held, `holds balance: ${JSON.stringify(s)}`);
  assert.equal(s.errors, 0, `no errors: ${JSON.stringify(s)}`);
  const out = await p.exported();
  const ids = out.map((span) => span.spanContext().spanId);
  assert.equal(new Set(ids).size, ids.length, 'every span is exported at most once');
  return s;
}

/** Captures diag output for one test. */
function captureDiag() {
  const messages = [];
  const log = (level) => (message) => messages.push(`${level}: ${message}`);
  diag.setLogger(
    { error: log('error'), warn: log('warn'), info() {}, debug() {}, verbose() {} },
    { suppressOverrideMessage: true },
  );
  return messages;
}

afterEach(() => {
  diag.disable();
  context.disable();
});

describe('the installed SDK is 3.x, on a Node it supports', () => {
  it('resolves @opentelemetry/sdk-trace 3.x and @opentelemetry/api 1.10.x, one copy of each', (t) => {
    const sdkTrace = pkg('@opentelemetry/sdk-trace');
    const api = pkg('@opentelemetry/api');
    const core = pkg('@opentelemetry/core');
    t.diagnostic(
      `node ${process.version}, @opentelemetry/sdk-trace ${sdkTrace.version}, @opentelemetry/api ${api.version}, @opentelemetry/core ${core.version}`,
    );
    assert.match(sdkTrace.version, /^3\./);
    assert.match(core.version, /^3\./);
    assert.match(api.version, /^1\.10\./);
    const [major, minor] = process.versions.node.split('.').map(Number);
    assert.ok(
      major > 22 || (major === 22 && minor >= 15),
      `sdk-trace 3.x needs Node >= 22.15 (engines: ${sdkTrace.engines?.node}), running ${process.version}`,
    );
    // The processor must load the same @opentelemetry/api as the SDK (a second copy would split diag/context).
    const processorDir = join(here, 'node_modules', '@genai-enrich', 'processor');
    assert.equal(
      createRequire(join(processorDir, 'package.json')).resolve('@opentelemetry/api'),
      require.resolve('@opentelemetry/api'),
    );
  });

  it('has the packed packages installed as copies (not links into packages/)', () => {
    for (const name of ['processor', 'normalizer']) {
      const dir = join(here, 'node_modules', '@genai-enrich', name);
      assert.equal(lstatSync(dir).isSymbolicLink(), false, `${name} is a copy from its tarball`);
      assert.equal(pkg(`@genai-enrich/${name}`).version, '0.1.0');
    }
  });

  it('exports TracerProvider (there is no BasicTracerProvider in 3.x) and options-object constructors', () => {
    assert.equal(typeof TracerProvider, 'function');
    assert.equal('BasicTracerProvider' in sdk, false);
    assert.equal(typeof new TracerProvider().addSpanProcessor, 'undefined');
    const exporter = new InMemorySpanExporter();
    // 3.x: SimpleSpanProcessor takes { exporter }, not the exporter itself.
    const simple = new SimpleSpanProcessor({ exporter });
    assert.equal(simple._exporter, exporter);
  });
});

for (const mode of MODES) {
  describe(`GenAiEnrichingProcessor on SDK 3.x, ${mode} mode`, () => {
    it('a span that is not GenAI passes through at once, untouched, not held or watched', async () => {
      const p = pipeline(mode);
      const span = p.tracer.startSpan('GET /users/{id}', {
        kind: SpanKind.SERVER,
        attributes: { 'http.route': '/users/{id}', 'http.response.status_code': 200 },
      });
      assert.equal(p.processor.stats().open, 0, 'not watched');
      span.end();
      const s = p.processor.stats();
      assert.deepEqual([s.received, s.forwarded, s.held, s.holds], [1, 1, 0, 0]);
      const out = await p.exported();
      assert.equal(out.length, 1);
      assert.equal(out[0], span, 'the very span object the SDK ended');
      assert.equal(out[0].name, 'GET /users/{id}');
      assert.deepEqual(out[0].attributes, { 'http.route': '/users/{id}', 'http.response.status_code': 200 });
      await assertInvariants(p);
      await p.provider.shutdown();
    });

    it('counts usage once per trace: an agent total over a held call waits for it (parents read from 3.x parentSpanContext), then moves to genai_enrich.repeated_usage.*', async () => {
      const p = pipeline(mode, { holdMillis: 60_000 });
      const agent = p.tracer.startSpan('invoke_agent planner', {
        attributes: { 'gen_ai.operation.name': 'invoke_agent' },
      });
      const ctx = trace.setSpan(ROOT_CONTEXT, agent);
      const call = p.tracer.startSpan(
        'chat',
        { attributes: { ...CHAT_STREAM, 'gen_ai.response.id': 'chatcmpl-agent-1' } },
        ctx,
      );
      call.end();
      assert.equal(p.processor.stats().held, 1, 'the call waits for its usage');
      agent.setAttributes({ 'gen_ai.usage.input_tokens': 30, 'gen_ai.usage.output_tokens': 10 });
      agent.end();
      assert.equal(p.processor.stats().awaitingDescendants, 1, 'the agent waits for its held call');
      p.processor.recordUsage('chatcmpl-agent-1', { inputTokens: 30, outputTokens: 10 });
      await new Promise((resolve) => setImmediate(resolve));
      const s = await assertInvariants(p);
      assert.deepEqual([s.usageRepeated, s.awaitingDescendants, s.forwarded], [1, 0, 2]);
      const out = await p.exported();
      const sum = (key) => out.reduce((n, x) => n + (x.attributes[key] ?? 0), 0);
      assert.equal(sum('gen_ai.usage.input_tokens'), 30, 'the trace sums to the bill');
      assert.equal(sum('gen_ai.usage.output_tokens'), 10);
      const a = out.find((x) => x.name === 'invoke_agent planner');
      assert.equal(a.attributes['genai_enrich.repeated_usage.input_tokens'], 30);
      assert.equal(a.attributes['genai_enrich.usage_repeats'], 'descendants');
      await p.provider.shutdown();
    });

    it('a legacy OpenLLMetry span is normalized in onEnding, so a processor registered after it sees canonical attributes', async () => {
      const after = new Recorder();
      const p = pipeline(mode, {}, { after: [after] });
      p.tracer.startSpan('openai.chat', { kind: SpanKind.CLIENT, attributes: OPENLLMETRY_022 }).end();

      assert.equal(after.ending.length, 1, 'the SDK called onEnding of the second processor');
      const seen = after.ending[0].attributes;
      assert.equal(seen['gen_ai.provider.name'], 'openai');
      assert.equal(seen['gen_ai.operation.name'], 'chat');
      assert.equal(seen['gen_ai.usage.input_tokens'], 39);
      assert.equal(seen['gen_ai.usage.output_tokens'], 18);
      assert.equal(seen['gen_ai.usage.total_tokens'], 57);
      assert.equal(seen['gen_ai.request.frequency_penalty'], 0.5);
      assert.equal(seen['gen_ai.prompt.0.content'], 'What is the capital of France?', 'content passes through');
      for (const key of LEGACY_KEYS) assert.equal(key in seen, false, `${key} is gone in onEnding`);
      assert.equal(after.ended.length, 1);
      assert.equal(after.ended[0].attributes['gen_ai.usage.input_tokens'], 39);

      const out = await p.exported();
      assert.equal(out.length, 1, 'usage present: forwarded at once, not held');
      assert.equal(out[0], after.ended[0], 'both processors got the same span object');
      assert.equal(out[0].attributes['gen_ai.provider.name'], 'openai');
      assert.equal(out[0].attributes['genai_enrich.usage_source'], 'telemetry');
      for (const key of LEGACY_KEYS) assert.equal(key in out[0].attributes, false, `${key} is not exported`);
      assert.equal(p.processor.stats().holds, 0);
      await assertInvariants(p);
      await p.provider.shutdown();
    });

    it('an inference span without usage is held, then joined by recordUsage(responseId, …); early usage waits for its span', async () => {
      const p = pipeline(mode);
      const span = p.tracer.startSpan('chat gpt-4o-mini', { kind: SpanKind.CLIENT, attributes: CHAT_STREAM });
      span.setAttribute('gen_ai.response.id', 'chatcmpl-R1'); // through the SDK, before end()
      span.end();
      assert.equal((await p.exported()).length, 0, 'held, not exported');
      assert.equal(p.processor.stats().held, 1);

      p.processor.recordUsage('chatcmpl-R1', {
        inputTokens: 100,
        outputTokens: 20,
        cacheReadInputTokens: 64,
        reasoningOutputTokens: 8,
      });
      let out = await p.exported();
      assert.equal(out.length, 1);
      assert.equal(out[0], span);
      const a = out[0].attributes;
      assert.equal(a['gen_ai.usage.input_tokens'], 100);
      assert.equal(a['gen_ai.usage.output_tokens'], 20);
      assert.equal(a['gen_ai.usage.cache_read.input_tokens'], 64);
      assert.equal(a['gen_ai.usage.reasoning.output_tokens'], 8);
      assert.equal(a['genai_enrich.usage_source'], 'record_usage');
      assert.equal(a['genai_enrich.hold_outcome'], 'joined');
      assert.equal(a['genai_enrich.usage_missing'], undefined);

      // Usage reported before its span ends waits (pending), and is applied when the span ends.
      p.processor.recordUsage('chatcmpl-R2', { inputTokens: 5, outputTokens: 1 });
      assert.equal(p.processor.stats().pendingUsage, 1);
      p.tracer
        .startSpan('chat gpt-4o-mini', { attributes: { ...CHAT_STREAM, 'gen_ai.response.id': 'chatcmpl-R2' } })
        .end();
      out = await p.exported();
      assert.equal(out.length, 2);
      assert.equal(out[1].attributes['gen_ai.usage.input_tokens'], 5);
      assert.equal(out[1].attributes['genai_enrich.usage_source'], 'record_usage');
      const s = await assertInvariants(p);
      assert.deepEqual([s.holds, s.joined, s.held, s.pendingUsage], [1, 1, 0, 0]);
      await p.provider.shutdown();
    });

    it('usage set with setAttribute after end() — which SDK 3.x drops — joins the held span', async () => {
      const messages = captureDiag();
      const p = pipeline(mode);
      const span = p.tracer.startSpan('chat claude-sonnet-4-5', {
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.provider.name': 'anthropic',
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'claude-sonnet-4-5',
        },
      });
      span.end();
      assert.equal(span.isRecording(), false);
      assert.equal(p.processor.stats().held, 1);

      span.setAttribute('gen_ai.usage.input_tokens', 12);
      const out = await p.exported();
      assert.equal(out.length, 1, 'the late write completed the held span');
      assert.equal(out[0].attributes['gen_ai.usage.input_tokens'], 12);
      assert.equal(out[0].attributes['genai_enrich.usage_source'], 'late_attribute');
      assert.equal(out[0].attributes['genai_enrich.hold_outcome'], 'joined');
      // A write after the span was forwarded changes nothing and does not throw.
      assert.doesNotThrow(() => span.setAttributes({ 'gen_ai.usage.output_tokens': 30 }));
      assert.equal(p.processor.stats().lateAttributes, 1);
      assert.equal(
        messages.filter((m) => m.includes('ended Span')).length,
        0,
        "the SDK's own setAttribute never saw the late writes",
      );

      // Control: the same late write on a span that is not GenAI goes to the SDK 3.x span, which drops it and warns.
      const plain = p.tracer.startSpan('GET /');
      plain.end();
      plain.setAttribute('late', 1);
      assert.equal(plain.attributes.late, undefined);
      assert.ok(
        messages.some((m) => m.includes('Cannot execute the operation on ended Span')),
        messages.join('\n'),
      );
      await assertInvariants(p);
      await p.provider.shutdown();
    });

    it('a GenAI span never ended is force-ended by the watchdog (real timers), then held and expired; a late end() does not export it twice', async () => {
      const messages = captureDiag();
      const p = pipeline(mode, { maxOpenMillis: 100, holdMillis: 100 });
      const span = p.tracer.startSpan('chat gpt-4o-mini', { kind: SpanKind.CLIENT, attributes: CHAT_STREAM });
      p.tracer.startSpan('GET /').end(); // not GenAI: not watched
      assert.equal(p.processor.stats().open, 1);

      await sleep(160);
      assert.equal(span.isRecording(), false, 'the watchdog ended the span through the SDK');
      assert.equal(span.ended, true);
      let s = p.processor.stats();
      assert.deepEqual([s.forceEnded, s.open, s.held], [1, 0, 1], JSON.stringify(s));

      await sleep(160); // it had no usage: held for holdMillis, then expired
      const out = await p.exported();
      const chats = out.filter((x) => x.name === 'chat gpt-4o-mini');
      assert.equal(chats.length, 1);
      assert.equal(chats[0], span);
      assert.equal(chats[0].attributes['genai_enrich.force_ended'], true);
      assert.equal(chats[0].attributes['genai_enrich.hold_outcome'], 'expired');
      assert.equal(chats[0].attributes['genai_enrich.usage_missing'], true);

      span.end(); // the application ends it after all: SDK 3.x logs an error and ignores it
      assert.ok(
        messages.some((m) => m.includes('You can only call end() on a span once')),
        messages.join('\n'),
      );
      assert.equal((await p.exported()).filter((x) => x.name === 'chat gpt-4o-mini').length, 1);
      s = await assertInvariants(p);
      assert.deepEqual([s.received, s.forwarded, s.expired], [2, 2, 1]);
      await p.provider.shutdown();
    });

    it('forceFlush (through TracerProvider.forceFlush) and shutdown (through TracerProvider.shutdown) forward what is held', async () => {
      const p = pipeline(mode);
      p.tracer.startSpan('a', { attributes: CHAT_STREAM }).end();
      p.tracer.startSpan('b', { attributes: { ...CHAT_STREAM, 'gen_ai.response.id': 'chatcmpl-B' } }).end();
      assert.equal(p.processor.stats().held, 2);
      await p.provider.forceFlush();
      // forceFlush resolves after next has flushed: no waiting for the scheduled export.
      assert.deepEqual(p.exporter.all.map((x) => x.name).sort(), ['a', 'b']);
      for (const x of p.exporter.all) {
        assert.equal(x.attributes['genai_enrich.hold_outcome'], 'flushed');
        assert.equal(x.attributes['genai_enrich.usage_missing'], true);
      }
      assert.equal(p.processor.stats().flushed, 2);

      p.tracer.startSpan('c', { attributes: CHAT_STREAM }).end();
      p.processor.recordUsage('nobody', { inputTokens: 1 });
      assert.deepEqual([p.processor.stats().held, p.processor.stats().pendingUsage], [1, 1]);
      await p.provider.shutdown();
      assert.deepEqual(p.exporter.all.map((x) => x.name).sort(), ['a', 'b', 'c']);
      assert.equal(p.exporter.all.find((x) => x.name === 'c').attributes['genai_enrich.hold_outcome'], 'flushed');
      assert.equal(p.exporter.shutdowns, 1, 'shutdown reached the exporter once');
      const s = p.processor.stats();
      assert.deepEqual([s.held, s.pendingUsage, s.pendingUsageExpired, s.flushed], [0, 0, 1, 3]);

      // After shutdown: spans that end are ignored (as BatchSpanProcessor does), shutdown is idempotent.
      p.tracer.startSpan('late', { attributes: CHAT_STREAM }).end();
      await p.processor.shutdown();
      assert.equal(p.processor.stats().received, 3);
      assert.equal(p.exporter.shutdowns, 1);
      assert.equal(p.exporter.all.length, 3);
      await assertInvariants(p);
    });

    it('stats add up over a mixed workload: pass-through, telemetry, join, late attribute, eviction, expiry', async () => {
      const p = pipeline(mode, { holdMillis: 120, maxHeldSpans: 3 });
      const t = p.tracer;
      t.startSpan('GET /a').end();
      t.startSpan('GET /b').end();
      t.startSpan('chat with usage', {
        attributes: { ...CHAT_STREAM, 'gen_ai.usage.input_tokens': 3, 'gen_ai.usage.output_tokens': 1 },
      }).end();
      t.startSpan('execute_tool get_weather', {
        attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'get_weather' },
      }).end();
      t.startSpan('h1', { attributes: { ...CHAT_STREAM, 'gen_ai.response.id': 'r1' } }).end();
      t.startSpan('h2', { attributes: { ...CHAT_STREAM, 'gen_ai.response.id': 'r2' } }).end();
      const h3 = t.startSpan('h3', { attributes: CHAT_STREAM });
      h3.end();
      t.startSpan('h4', { attributes: { ...CHAT_STREAM, 'gen_ai.response.id': 'r4' } }).end(); // evicts h1
      p.processor.recordUsage('r2', { inputTokens: 10, outputTokens: 2 });
      h3.setAttributes({ 'gen_ai.usage.input_tokens': 7, 'gen_ai.usage.output_tokens': 1 });
      p.processor.recordUsage('r1', { inputTokens: 1 }); // h1 is gone: waits as pending usage, then expires
      await Promise.resolve(); // a late write's span leaves once the synchronous burst of writes is over
      let s = p.processor.stats();
      assert.deepEqual(
        [s.received, s.forwarded, s.held, s.holds, s.joined, s.evicted, s.pendingUsage],
        [8, 7, 1, 4, 2, 1, 1],
        JSON.stringify(s),
      );

      await sleep(200);
      s = await assertInvariants(p);
      const expected = {
        received: 8,
        forwarded: 8,
        held: 0,
        heldBytes: 0,
        holds: 4,
        joined: 2,
        expired: 1,
        evicted: 1,
        flushed: 0,
        carriers: 0,
        pendingUsage: 0,
        pendingUsageExpired: 1,
        pendingUsageDropped: 0,
        lateAttributes: 1,
        forceEnded: 0,
        open: 0,
        openUnwatched: 0,
        queueDropped: 0,
        flushTimeouts: 0,
        tapReports: 0,
        tapUsed: 0,
        tapSuperseded: 0,
        tapDisagreed: 0,
        tapUnmatched: 0,
        tapPending: 0,
        usageRepeated: 0,
        awaitingDescendants: 0,
        usageUnaccounted: 0,
        errors: 0,
      };
      assert.deepEqual(s, expected);
      const out = await p.exported();
      assert.equal(out.length, s.forwarded, 'every forwarded span reached the exporter');
      const byName = Object.fromEntries(out.map((x) => [x.name, x.attributes]));
      assert.equal(byName.h1['genai_enrich.hold_outcome'], 'evicted');
      assert.equal(byName.h2['genai_enrich.usage_source'], 'record_usage');
      assert.equal(byName.h3['genai_enrich.usage_source'], 'late_attribute');
      assert.equal(byName.h4['genai_enrich.hold_outcome'], 'expired');
      assert.equal(byName['chat with usage']['genai_enrich.usage_source'], 'telemetry');
      await p.provider.shutdown();
    });

    it('attribute values SDK 3.x accepts and 2.x dropped (null, maps, byte arrays, mixed arrays) do not disturb it', async () => {
      const p = pipeline(mode);
      const messages = [{ role: 'user', parts: [{ type: 'text', content: 'hi' }] }];
      const span = p.tracer.startSpan('openai.chat', {
        attributes: {
          ...OPENLLMETRY_022,
          'gen_ai.input.messages': messages,
          'gen_ai.usage.completion_tokens': null,
          'app.blob': new Uint8Array([1, 2, 3]),
          'app.mixed': ['a', 1, true],
        },
      });
      span.end();
      const out = await p.exported();
      assert.equal(out.length, 1);
      const a = out[0].attributes;
      assert.equal(a['gen_ai.provider.name'], 'openai');
      assert.equal(a['gen_ai.usage.input_tokens'], 39);
      assert.equal(a['gen_ai.usage.output_tokens'], undefined, 'a null count is not a count');
      assert.deepEqual(a['gen_ai.input.messages'], messages);
      assert.deepEqual(a['app.blob'], new Uint8Array([1, 2, 3]));
      assert.deepEqual(a['app.mixed'], ['a', 1, true]);
      await assertInvariants(p);
      await p.provider.shutdown();
    });
  });
}

describe('SDK 3.x specifics', () => {
  it('exporter mode: the SDK 3.x tracer honours the tracing suppression around exports', async () => {
    context.setGlobalContextManager(new StackContextManager().enable());
    const recordedDuringExport = [];
    let tracer;
    class InstrumentedExporter extends KeepingExporter {
      export(spans, resultCallback) {
        // An exporter doing instrumented I/O: the span it starts must not be recorded.
        const io = tracer.startSpan('POST /v1/traces');
        recordedDuringExport.push(io.isRecording());
        io.end();
        super.export(spans, resultCallback);
      }
    }
    const exporter = new InstrumentedExporter();
    const processor = new GenAiEnrichingProcessor(exporter, { scheduledDelayMillis: SCHEDULED_DELAY });
    const provider = new TracerProvider({ spanProcessors: [processor] });
    tracer = provider.getTracer('sdk3-test');
    tracer.startSpan('GET /').end();
    assert.equal(tracer.startSpan('outside export').isRecording(), true, 'control: spans record outside exports');
    await processor.forceFlush();
    assert.ok(recordedDuringExport.length >= 1);
    assert.deepEqual(
      recordedDuringExport,
      recordedDuringExport.map(() => false),
    );
    assert.deepEqual(
      exporter.all.map((x) => x.name),
      ['GET /'],
      'no export spans fed back',
    );
    await provider.shutdown();
  });

  for (const mode of MODES) {
    it(`${mode} mode: recorded but unsampled spans (SamplingDecision.RECORD) are processed and not exported`, async () => {
      const sampler = { shouldSample: () => ({ decision: SamplingDecision.RECORD }), toString: () => 'RecordOnly' };
      const p = pipeline(mode, {}, { sampler });
      const span = p.tracer.startSpan('openai.chat', { attributes: OPENLLMETRY_022 });
      assert.equal(span.spanContext().traceFlags & TraceFlags.SAMPLED, 0);
      span.end();
      assert.equal(span.attributes['gen_ai.provider.name'], 'openai', 'normalized all the same');
      assert.equal((await p.exported()).length, 0);
      assert.deepEqual([p.processor.stats().received, p.processor.stats().forwarded], [1, 1]);
      await p.provider.shutdown();
    });
  }

  // SDK 3.x keeps null attribute values (2.x drops them): a null usage placeholder must be filled by a join
  // like a missing count. Found by this suite.
  const NULL_PLACEHOLDERS = { ...CHAT_STREAM, 'gen_ai.usage.input_tokens': null, 'gen_ai.usage.output_tokens': null };

  it('null usage placeholders: recordUsage fills them', async () => {
    const p = pipeline('processor');
    p.tracer.startSpan('chat', { attributes: { ...NULL_PLACEHOLDERS, 'gen_ai.response.id': 'chatcmpl-N1' } }).end();
    assert.equal(p.processor.stats().held, 1, 'held: null is not usage');
    p.processor.recordUsage('chatcmpl-N1', { inputTokens: 9, outputTokens: 2 });
    const out = await p.exported();
    assert.equal(out.length, 1);
    assert.equal(out[0].attributes['genai_enrich.hold_outcome'], 'joined');
    assert.equal(out[0].attributes['gen_ai.usage.input_tokens'], 9);
    assert.equal(out[0].attributes['gen_ai.usage.output_tokens'], 2);
    await p.provider.shutdown();
  });

  it('null usage placeholders: setAttribute after end() fills them', async () => {
    const p = pipeline('processor');
    const span = p.tracer.startSpan('chat', { attributes: NULL_PLACEHOLDERS });
    span.end();
    span.setAttributes({ 'gen_ai.usage.input_tokens': 7, 'gen_ai.usage.output_tokens': 1 });
    const out = await p.exported();
    const held = p.processor.stats().held;
    await p.provider.shutdown();
    assert.equal(held, 0, 'the late write joined the held span');
    assert.equal(out.length, 1);
    assert.equal(out[0].attributes['gen_ai.usage.input_tokens'], 7);
    assert.equal(out[0].attributes['genai_enrich.usage_source'], 'late_attribute');
  });

  it('the usage tap on Node 24: processor.fetch reads a provider response and completes the held span', async () => {
    const { createServer } = await import('node:http');
    const body = JSON.stringify({
      id: 'chatcmpl-S3',
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4o-mini-2024-07-18',
      choices: [],
      usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15, prompt_tokens_details: { cached_tokens: 4 } },
    });
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const p = pipeline('processor');
      p.tracer.startSpan('chat', { attributes: { ...CHAT_STREAM, 'gen_ai.response.id': 'chatcmpl-S3' } }).end();
      assert.equal(p.processor.stats().held, 1);
      const response = await p.processor.fetch(`http://127.0.0.1:${server.address().port}/v1/chat/completions`, {
        method: 'POST',
        body: '{}',
      });
      assert.equal(await response.text(), body, 'the application reads the body unchanged');
      const out = await p.exported();
      await p.provider.shutdown();
      assert.equal(out.length, 1);
      assert.equal(out[0].attributes['gen_ai.usage.input_tokens'], 12);
      assert.equal(out[0].attributes['gen_ai.usage.cache_read.input_tokens'], 4);
      assert.equal(out[0].attributes['genai_enrich.usage_source'], 'http_tap');
    } finally {
      server.close();
    }
  });

  it("the published .d.ts type-check against SDK 3.x's types (TypeScript from the repository root)", (t) => {
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    if (!existsSync(tsc)) {
      t.skip('no typescript in the repository root node_modules (run npm ci at the root)');
      return;
    }
    // Under node_modules/, so the repository's own tsconfig never picks it up.
    const dir = join(here, 'node_modules', '.sdk3-typecheck');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'consumer.ts'),
      `import { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import type { SpanProcessor, Span, ReadableSpan } from '@opentelemetry/sdk-trace';
import { GenAiEnrichingProcessor, installUsageTap, usageTapFetch } from '@genai-enrich/processor';
import type { FetchLike, SpanLike, ReadableSpanLike, SpanExporterLike, SpanProcessorLike } from '@genai-enrich/processor';

const exporterMode: SpanProcessor = new GenAiEnrichingProcessor(new InMemorySpanExporter(), { holdMillis: 1000 });
const processorMode: SpanProcessor = new GenAiEnrichingProcessor(new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() }));
const provider = new TracerProvider({ spanProcessors: [exporterMode, processorMode] });
provider.getTracer('t').startSpan('s').end();

// The usage tap's types stand alone: no DOM lib, no @types/node.
const tapped: FetchLike = usageTapFetch(processorMode as GenAiEnrichingProcessor, { includeUsage: true });
const uninstall: () => void = installUsageTap(processorMode as GenAiEnrichingProcessor, { hosts: ['localhost:4000'] });
export const tap = [tapped, uninstall, (exporterMode as GenAiEnrichingProcessor).fetch];

// The structural shapes accept the SDK's objects, parameter by parameter.
export function shapes(span: Span, readable: ReadableSpan, exporter: InMemorySpanExporter, processor: SpanProcessor) {
  const a: SpanLike = span;
  const b: ReadableSpanLike = readable;
  const c: SpanExporterLike = exporter;
  const d: SpanProcessorLike = processor;
  return [a, b, c, d];
}
`,
    );
    // skipLibCheck off: the shipped .d.ts are checked against @opentelemetry/api 1.10's types too.
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
