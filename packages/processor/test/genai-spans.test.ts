/*
 * GenAiSpans (genai-spans.ts) on real SDK spans: the GenAI verdict by scope or attributes, cached per scope
 * name up to MAX_CACHED_SCOPES; the verdict onEnding reached, reused by the onEnd that follows; and
 * normalization in place, once, replacing the attribute object only when something changes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Attributes } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { GenAiSpans, MAX_CACHED_SCOPES } from '../src/genai-spans.js';
import { chatAttributes, endedSpan, spanSource, startSpan } from './helpers/sdk-spans.js';
import type { SpanSource } from './helpers/sdk-spans.js';

/** OpenLLMetry's legacy chat attributes: every key needs rewriting. */
const LEGACY: Attributes = {
  'gen_ai.system': 'OpenAI',
  'llm.request.type': 'chat',
  'gen_ai.request.model': 'gpt-4o',
  'gen_ai.usage.prompt_tokens': 3,
  'gen_ai.usage.completion_tokens': 1,
};

const CANONICAL: Attributes = chatAttributes({ 'gen_ai.usage.input_tokens': 3, 'gen_ai.usage.output_tokens': 1 });

/** The size of the per-name cache; only visible inside (its bound is what is tested). */
function cachedScopes(spans: GenAiSpans): number {
  return (Reflect.get(spans, '_scopes') as Map<string, boolean>).size;
}

/** An ended span without attributes from `tracer`. */
function spanOf(tracer: ReturnType<SpanSource['provider']['getTracer']>): ReadableSpan {
  const span = tracer.startSpan('x') as unknown as Span;
  span.end();
  return span;
}

/** A processor that runs GenAiSpans as GenAiEnrichingProcessor does, recording what it saw. */
class NormalizingProcessor implements SpanProcessor {
  readonly startAttributes = new Map<object, Attributes>();
  readonly verdicts: Array<[string, boolean]> = [];
  constructor(readonly spans: GenAiSpans) {}
  onStart(span: Span): void {
    this.startAttributes.set(span, span.attributes);
  }
  onEnding(span: Span): void {
    if (this.spans.isGenAiEnding(span)) this.spans.normalize(span);
  }
  onEnd(span: ReadableSpan): void {
    const genAi = this.spans.isGenAiEnded(span);
    this.verdicts.push([span.name, genAi]);
    if (genAi) this.spans.normalize(span);
  }
  forceFlush = () => Promise.resolve();
  shutdown = () => Promise.resolve();
}

describe('GenAiSpans: the GenAI verdict', () => {
  it('a span of a known GenAI scope is GenAI even with no attributes; another scope needs GenAI attributes', () => {
    const spans = new GenAiSpans({});
    assert.equal(spans.isGenAi(endedSpan(spanSource({ scope: '@traceloop/instrumentation-openai' }), 'x')), true);
    assert.equal(spans.isGenAi(endedSpan(spanSource({ scope: 'ai' }), 'x')), true);
    const app = spanSource({ scope: 'my-app' });
    assert.equal(spans.isGenAi(endedSpan(app, 'GET /', { 'http.route': '/' })), false);
    assert.equal(spans.isGenAi(endedSpan(app, 'chat', chatAttributes())), true);
    assert.equal(spans.isGenAi(endedSpan(app, 'llm', { 'llm.request.type': 'chat' })), true);
  });

  it('runs of one scope and alternating scopes each keep their own verdict (the last-scope shortcut)', () => {
    const spans = new GenAiSpans({});
    const genAi = spanSource({ scope: '@arizeai/openinference-instrumentation-openai' });
    const app = spanSource({ scope: 'my-app' });
    const order = [genAi, genAi, app, app, genAi, app, genAi, genAi];
    assert.deepEqual(
      order.map((source) => spans.isGenAi(endedSpan(source, 'x'))),
      order.map((source) => source === genAi),
    );
  });

  it('reads the verdict of a scope name from its cache', () => {
    const spans = new GenAiSpans({});
    // Seeded with a verdict isGenAiScope would never give, to see that the cache is what is read.
    (Reflect.get(spans, '_scopes') as Map<string, boolean>).set('my-app', true);
    assert.equal(spans.isGenAi(endedSpan(spanSource({ scope: 'my-app' }), 'GET /')), true);
    assert.equal(spans.isGenAi(endedSpan(spanSource({ scope: 'other-app' }), 'GET /')), false);
  });

  it('caches the verdict per scope name: tracers of one name share it', () => {
    const spans = new GenAiSpans({});
    const { provider } = spanSource();
    const v1 = spanOf(provider.getTracer('@traceloop/instrumentation-anthropic', '1.0.0'));
    const v2 = spanOf(provider.getTracer('@traceloop/instrumentation-anthropic', '2.0.0'));
    assert.notEqual(v1.instrumentationScope, v2.instrumentationScope, 'two scope objects');
    assert.equal(spans.isGenAi(v1), true);
    assert.equal(spans.isGenAi(v2), true);
    assert.equal(cachedScopes(spans), 1);
  });

  it(`caches at most MAX_CACHED_SCOPES (${MAX_CACHED_SCOPES}) names; later scopes still get the right verdict`, () => {
    const spans = new GenAiSpans({});
    const { provider } = spanSource();
    const span = (scope: string) => spanOf(provider.getTracer(scope));
    for (let i = 0; i < MAX_CACHED_SCOPES + 50; i++) assert.equal(spans.isGenAi(span(`app-${i}`)), false);
    assert.equal(cachedScopes(spans), MAX_CACHED_SCOPES);
    assert.equal(spans.isGenAi(span('@traceloop/instrumentation-bedrock')), true, 'an uncached GenAI scope');
    assert.equal(spans.isGenAi(span('app-late')), false);
    assert.equal(spans.isGenAi(span('app-3')), false, 'a cached one');
    assert.equal(cachedScopes(spans), MAX_CACHED_SCOPES);
  });

  it('onEnd reuses the verdict onEnding reached for the same span, once', () => {
    const spans = new GenAiSpans({});
    const source = spanSource({ scope: 'my-app' });
    const span = endedSpan(source, 'not yet GenAI');
    assert.equal(spans.isGenAiEnding(span), false);
    // Between onEnding and onEnd nothing can change in the SDK; here it does, to see which verdict is used.
    span.attributes['gen_ai.operation.name'] = 'chat';
    assert.equal(spans.isGenAiEnded(span), false, "onEnding's verdict");
    assert.equal(spans.isGenAiEnded(span), true, 'used once: then a fresh verdict');

    const other = endedSpan(source, 'other', chatAttributes());
    assert.equal(spans.isGenAiEnding(span), true);
    assert.equal(spans.isGenAiEnded(other), true, "another span's onEnd gets its own verdict");
    delete span.attributes['gen_ai.operation.name'];
    assert.equal(spans.isGenAiEnded(span), false, "the memo was cleared by the other span's onEnd");
  });

  it('in the SDK: onEnding and onEnd agree for every span', () => {
    const processor = new NormalizingProcessor(new GenAiSpans({}));
    const source = spanSource({ scope: 'my-app', processors: [processor] });
    startSpan(source, 'GET /').end();
    startSpan(source, 'chat', chatAttributes()).end();
    assert.deepEqual(processor.verdicts, [
      ['GET /', false],
      ['chat', true],
    ]);
  });
});

describe('GenAiSpans: normalization', () => {
  it('normalizes a legacy span in onEnding, in place: the exporter gets canonical attributes in a new object', () => {
    const processor = new NormalizingProcessor(new GenAiSpans({}));
    const source = spanSource({ scope: '@traceloop/instrumentation-openai', processors: [processor] });
    const span = startSpan(source, 'openai.chat', LEGACY);
    span.end();
    const exported = source.exporter.getFinishedSpans()[0];
    assert.equal(exported, span);
    assert.equal(exported.attributes['gen_ai.provider.name'], 'openai');
    assert.equal(exported.attributes['gen_ai.operation.name'], 'chat');
    assert.equal(exported.attributes['gen_ai.usage.input_tokens'], 3);
    assert.equal(exported.attributes['gen_ai.usage.output_tokens'], 1);
    assert.equal(exported.attributes['gen_ai.usage.prompt_tokens'], undefined);
    assert.equal(exported.attributes['gen_ai.system'], undefined);
    assert.notEqual(exported.attributes, processor.startAttributes.get(span), 'replaced');
  });

  it('leaves an already canonical span its own attribute object (no copy)', () => {
    const processor = new NormalizingProcessor(new GenAiSpans({}));
    const source = spanSource({ scope: 'my-app', processors: [processor] });
    const span = startSpan(source, 'chat gpt-4o-mini', CANONICAL);
    const before = span.attributes;
    span.end();
    assert.equal(span.attributes, before, 'the same object');
    assert.equal(span.attributes, processor.startAttributes.get(span));
    assert.deepEqual({ ...span.attributes }, CANONICAL);
  });

  it('normalizes once: a second call (onEnd after onEnding, or later) changes nothing', () => {
    const spans = new GenAiSpans({});
    const span = endedSpan(spanSource(), 'openai.chat', LEGACY);
    spans.normalize(span);
    const first = span.attributes;
    assert.equal(first['gen_ai.usage.input_tokens'], 3);
    first['gen_ai.usage.prompt_tokens'] = 99; // written after normalization
    spans.normalize(span);
    assert.equal(span.attributes, first, 'not replaced again');
    assert.equal(span.attributes['gen_ai.usage.prompt_tokens'], 99, 'not normalized again');
    // A second GenAiSpans (another processor) also sees the span as done: the mark is on the span.
    new GenAiSpans({}).normalize(span);
    assert.equal(span.attributes, first);
  });

  it('fixes a Logfire template name (keeping the template), or keeps it with spanNames: keep', () => {
    const template = 'Chat Completion with {request_data[model]!r}';
    const attributes: Attributes = {
      'logfire.msg_template': template,
      'logfire.msg': "Chat Completion with 'gpt-4o'",
      'logfire.span_type': 'span',
      request_data: '{"model":"gpt-4o"}',
      ...CANONICAL,
    };
    const source = spanSource({ scope: 'logfire' });
    const fixed = endedSpan(source, template, attributes);
    new GenAiSpans({ spanNames: 'fix-templates' }).normalize(fixed);
    assert.equal(fixed.name, "Chat Completion with 'gpt-4o'");
    assert.equal(fixed.attributes['logfire.msg_template'], template);

    const kept = endedSpan(source, template, attributes);
    const before = kept.attributes;
    new GenAiSpans({ spanNames: 'keep' }).normalize(kept);
    assert.equal(kept.name, template);
    assert.equal(kept.attributes, before, 'nothing to change, nothing copied');
  });

  it('keepLegacyAttributes keeps the legacy keys beside the canonical ones, also for late attributes', () => {
    const keep = new GenAiSpans({ keepLegacyAttributes: true });
    const span = endedSpan(spanSource(), 'openai.chat', LEGACY);
    keep.normalize(span);
    assert.equal(span.attributes['gen_ai.usage.input_tokens'], 3);
    assert.equal(span.attributes['gen_ai.usage.prompt_tokens'], 3);
    assert.deepEqual(keep.normalizeAttributes({ 'gen_ai.usage.completion_tokens': 5 }), {
      'gen_ai.usage.output_tokens': 5,
      'gen_ai.usage.completion_tokens': 5,
    });
    assert.deepEqual(new GenAiSpans({}).normalizeAttributes({ 'gen_ai.usage.completion_tokens': 5 }), {
      'gen_ai.usage.output_tokens': 5,
    });
  });
});
