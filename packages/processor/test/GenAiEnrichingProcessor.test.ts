import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { context, diag, trace } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { GenAiEnrichingProcessor } from '../src/index.js';
import { RecordingProcessor, exporterPipeline, pipeline } from './helpers/pipeline.js';
import type { Pipeline } from './helpers/pipeline.js';
import { FakeClock, settle } from './helpers/fake-clock.js';
import { endedSpan, spanSource, startSpan } from './helpers/sdk-spans.js';

const CHAT_STREAM: Attributes = {
  'gen_ai.provider.name': 'openai',
  'gen_ai.operation.name': 'chat',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.request.stream': true,
};

function endSpan(
  p: Pipeline,
  name: string,
  attributes: Attributes,
  parent?: ReturnType<Pipeline['tracer']['startSpan']>,
) {
  const ctx = parent === undefined ? context.active() : trace.setSpan(context.active(), parent);
  const span = p.tracer.startSpan(name, { attributes }, ctx);
  span.end();
  return span as unknown as ReadableSpan;
}

function assertInvariants(p: Pipeline): void {
  const s = p.processor.stats();
  assert.equal(
    s.received,
    s.forwarded + s.held + s.awaitingDescendants,
    `received = forwarded + held + awaitingDescendants: ${JSON.stringify(s)}`,
  );
  assert.equal(s.holds, s.joined + s.expired + s.evicted + s.flushed + s.held, `holds balance: ${JSON.stringify(s)}`);
  for (const [id, n] of p.next.counts()) assert.equal(n, 1, `span ${id} forwarded ${n} times`);
}

describe('GenAiEnrichingProcessor', () => {
  describe('pass-through', () => {
    it('forwards a span that is not GenAI at once and untouched', () => {
      const p = pipeline();
      const span = endSpan(p, 'GET /users/{id}', { 'http.route': '/users/{id}', id: 4 });
      assert.equal(p.next.ended.length, 1);
      assert.equal(p.next.ended[0], span);
      assert.deepEqual(span.attributes, { 'http.route': '/users/{id}', id: 4 });
      assert.equal(span.name, 'GET /users/{id}');
      assertInvariants(p);
    });

    it('normalizes an OTel openai-v2 chat span (gen_ai.system) and forwards it at once', () => {
      const p = pipeline();
      endSpan(p, 'chat gpt-4o', {
        'gen_ai.system': 'openai',
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.openai.request.service_tier': 'auto',
        'gen_ai.response.id': 'chatcmpl-A1',
        'gen_ai.response.finish_reasons': ['stop'],
        'gen_ai.usage.input_tokens': 24,
        'gen_ai.usage.output_tokens': 2,
      });
      const out = p.next.ended[0];
      assert.equal(out.attributes['gen_ai.provider.name'], 'openai');
      assert.equal(out.attributes['gen_ai.system'], undefined);
      assert.equal(out.attributes['openai.request.service_tier'], 'auto');
      assert.equal(out.attributes['genai_enrich.usage_source'], 'telemetry');
      assert.equal(p.processor.stats().holds, 0);
      assertInvariants(p);
    });

    it('normalizes in onEnding, so processors after it see canonical attributes', () => {
      const clock = new FakeClock();
      const after = new RecordingProcessor();
      const seenInOnEnding: Attributes[] = [];
      const spy = {
        ...after,
        onStart() {},
        onEnding: (s: { attributes: Attributes }) => seenInOnEnding.push({ ...s.attributes }),
        onEnd: (s: ReadableSpan) => after.onEnd(s),
        forceFlush: async () => {},
        shutdown: async () => {},
      };
      const provider = new BasicTracerProvider({
        spanProcessors: [new GenAiEnrichingProcessor(new RecordingProcessor(), { clock }), spy],
      });
      provider
        .getTracer('t')
        .startSpan('openai.chat', {
          attributes: {
            'gen_ai.system': 'OpenAI',
            'gen_ai.usage.prompt_tokens': 3,
            'gen_ai.usage.completion_tokens': 1,
            'llm.request.type': 'chat',
          },
        })
        .end();
      assert.equal(seenInOnEnding[0]['gen_ai.provider.name'], 'openai');
      assert.equal(after.ended[0].attributes['gen_ai.usage.input_tokens'], 3);
      assert.equal(after.ended[0].attributes['gen_ai.usage.prompt_tokens'], undefined);
    });

    it('normalizes in onEnd on SDKs without onEnding (and for relayed spans)', () => {
      const p = pipeline();
      const span = {
        ...fakeReadable('openai.chat', {
          'gen_ai.system': 'AWS',
          'llm.request.type': 'chat',
          'gen_ai.usage.prompt_tokens': '7',
          'gen_ai.usage.completion_tokens': 1,
        }),
      };
      p.processor.onEnd(span);
      assert.equal(p.next.ended[0].attributes['gen_ai.provider.name'], 'aws.bedrock');
      assert.equal(p.next.ended[0].attributes['gen_ai.usage.input_tokens'], 7);
    });

    it('fixes a Logfire template name and keeps the template', () => {
      const p = pipeline();
      endSpan(p, 'Chat Completion with {request_data[model]!r}', {
        'logfire.msg_template': 'Chat Completion with {request_data[model]!r}',
        'logfire.msg': "Chat Completion with 'gpt-4o'",
        'logfire.span_type': 'span',
        request_data: '{"model":"gpt-4o"}',
        'gen_ai.system': 'openai',
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 9,
        'gen_ai.usage.output_tokens': 3,
      });
      assert.equal(p.next.ended[0].name, "Chat Completion with 'gpt-4o'");
      assert.equal(p.next.ended[0].attributes['logfire.msg_template'], 'Chat Completion with {request_data[model]!r}');
    });
  });

  describe('holding', () => {
    it('holds only model calls: a span labelled chat with no model and no response id is forwarded at once', () => {
      const p = pipeline();
      // LangSmith's ChatPromptTemplate step (a prompt, not a call): gen_ai.operation.name = chat, no model.
      const template = endSpan(p, 'ChatPromptTemplate', {
        'gen_ai.operation.name': 'chat',
        'gen_ai.system': 'langchain',
        'langsmith.span.kind': 'prompt',
      });
      assert.equal(p.processor.stats().held, 0);
      assert.equal(p.next.ended[0], template);
      assert.equal(
        template.attributes['genai_enrich.usage_missing'],
        undefined,
        'nothing is missing: nothing was called',
      );
      endSpan(p, 'ChatOpenAI', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini' });
      assert.equal(p.processor.stats().held, 1, 'a model call without usage is held as before');
      assertInvariants(p);
    });

    it('holds an inference span without usage and expires it after holdMillis, marked', () => {
      const p = pipeline({ holdMillis: 5000 });
      endSpan(p, 'chat gpt-4o-mini', CHAT_STREAM);
      assert.equal(p.next.ended.length, 0);
      assert.equal(p.processor.stats().held, 1);
      p.clock.advance(4999);
      assert.equal(p.next.ended.length, 0);
      p.clock.advance(1);
      assert.equal(p.next.ended.length, 1);
      const out = p.next.ended[0];
      assert.equal(out.attributes['genai_enrich.usage_missing'], true);
      assert.equal(out.attributes['genai_enrich.hold_outcome'], 'expired');
      assert.equal(p.processor.stats().expired, 1);
      assertInvariants(p);
    });

    it('does not hold spans that are GenAI but not inference spans', () => {
      const p = pipeline();
      endSpan(p, 'execute_tool get_weather', {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': 'get_weather',
      });
      endSpan(p, 'invoke_agent', { 'gen_ai.operation.name': 'invoke_agent' });
      assert.equal(p.next.ended.length, 2);
    });

    it('treats zero input and output counts as placeholders and holds the span', () => {
      const p = pipeline();
      endSpan(p, 'chat', {
        ...CHAT_STREAM,
        'gen_ai.response.id': 'chatcmpl-Z',
        'gen_ai.usage.input_tokens': 0,
        'gen_ai.usage.output_tokens': 0,
      });
      assert.equal(p.processor.stats().held, 1);
      p.processor.recordUsage('chatcmpl-Z', { inputTokens: 11, outputTokens: 4 });
      assert.equal(p.next.ended[0].attributes['gen_ai.usage.input_tokens'], 11);
      assert.equal(p.next.ended[0].attributes['gen_ai.usage.output_tokens'], 4);
    });

    it('evicts the oldest held span when maxHeldSpans is reached, never drops it', () => {
      const p = pipeline({ maxHeldSpans: 2 });
      const a = endSpan(p, 'a', CHAT_STREAM);
      endSpan(p, 'b', CHAT_STREAM);
      endSpan(p, 'c', CHAT_STREAM);
      assert.deepEqual(
        p.next.ended.map((s) => s.name),
        ['a'],
      );
      assert.equal(a.attributes['genai_enrich.hold_outcome'], 'evicted');
      assert.equal(a.attributes['genai_enrich.usage_missing'], true);
      assert.equal(p.processor.stats().evicted, 1);
      assert.equal(p.processor.stats().held, 2);
      assertInvariants(p);
    });

    it('uses one unref()ed timer for the earliest deadline', () => {
      const p = pipeline({ holdMillis: 1000 });
      for (let i = 0; i < 50; i++) endSpan(p, `s${i}`, CHAT_STREAM);
      assert.equal(p.clock.pendingTimers, 1);
      assert.ok(p.clock.timers.every((t) => t.unrefCalled));
      p.clock.advance(1000);
      assert.equal(p.next.ended.length, 50);
      assert.equal(p.clock.pendingTimers, 0);
    });
  });

  describe('joining late usage', () => {
    it('(a) LiteLLM: a later span with the same response id completes the held span; the carrier loses its usage', () => {
      const p = pipeline();
      const inference = endSpan(p, 'chat gpt-4o', { ...CHAT_STREAM, 'gen_ai.response.id': 'chatcmpl-LL1' });
      assert.equal(p.next.ended.length, 0);
      const carrier = endSpan(p, 'litellm_request', {
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.operation.name': 'chat',
        'llm.is_streaming': 'True',
        'gen_ai.response.id': 'chatcmpl-LL1',
        'gen_ai.response.finish_reasons': '["stop"]',
        'gen_ai.usage.input_tokens': 812,
        'gen_ai.usage.output_tokens': 40,
        'gen_ai.usage.total_tokens': 852,
      });
      assert.equal(p.next.ended.length, 2);
      assert.equal(inference.attributes['gen_ai.usage.input_tokens'], 812);
      assert.equal(inference.attributes['gen_ai.usage.output_tokens'], 40);
      assert.equal(inference.attributes['genai_enrich.usage_source'], 'late_span');
      assert.equal(inference.attributes['genai_enrich.hold_outcome'], 'joined');
      assert.equal(carrier.attributes['gen_ai.usage.input_tokens'], undefined);
      assert.equal(carrier.attributes['gen_ai.usage.total_tokens'], undefined);
      assert.equal(carrier.attributes['genai_enrich.usage_moved_to'], inference.spanContext().spanId);
      const total = p.next.ended.reduce((n, s) => n + Number(s.attributes['gen_ai.usage.input_tokens'] ?? 0), 0);
      assert.equal(total, 812, 'usage is counted once per call');
      assert.equal(p.processor.stats().carriers, 1);
      assertInvariants(p);
    });

    it('completesHeldSpan tells a relay which spans would complete a held span, and changes nothing', () => {
      const p = pipeline();
      const source = spanSource();
      const carrierAttributes = {
        'gen_ai.system': 'openai', // a legacy key: judged as the processor would, after normalizing
        'gen_ai.operation.name': 'chat',
        'gen_ai.response.id': 'chatcmpl-C1',
        'gen_ai.usage.prompt_tokens': 30,
        'gen_ai.usage.completion_tokens': 4,
      };
      const carrier = endedSpan(source, 'litellm_request', carrierAttributes);
      assert.equal(p.processor.completesHeldSpan(carrier), false, 'nothing is held yet');
      endSpan(p, 'chat gpt-4o', { ...CHAT_STREAM, 'gen_ai.response.id': 'chatcmpl-C1' });
      assert.equal(p.processor.completesHeldSpan(carrier), true);
      assert.deepEqual(carrier.attributes, carrierAttributes, 'the span was only read');
      const noUsage = endedSpan(source, 'litellm_request', { ...CHAT_STREAM, 'gen_ai.response.id': 'chatcmpl-C1' });
      assert.equal(p.processor.completesHeldSpan(noUsage), false, 'an id without usage completes nothing');
      const otherId = endedSpan(source, 'x', { ...carrierAttributes, 'gen_ai.response.id': 'chatcmpl-C2' });
      assert.equal(p.processor.completesHeldSpan(otherId), false);
      const viaEvent = startSpan(source, 'stream consumer', { 'gen_ai.operation.name': 'invoke_agent' });
      viaEvent.addEvent('gen_ai.client.inference.operation.details', {
        'gen_ai.operation.name': 'chat',
        'gen_ai.response.id': 'chatcmpl-C1',
        'gen_ai.usage.input_tokens': 30,
        'gen_ai.usage.output_tokens': 4,
      });
      viaEvent.end();
      assert.equal(p.processor.completesHeldSpan(viaEvent), true, 'usage in an event counts');
      assert.equal(p.processor.completesHeldSpan({} as ReadableSpan), false, 'bad input: false, no throw');
      assert.equal(p.processor.stats().held, 1);
      assert.equal(p.processor.stats().errors, 0);
    });

    it('(a) a span event with the response id and usage completes the held span', () => {
      const p = pipeline();
      const held = endSpan(p, 'chat', { ...CHAT_STREAM, 'gen_ai.response.id': 'resp_E1' });
      const other = p.tracer.startSpan('stream consumer');
      other.setAttribute('gen_ai.operation.name', 'invoke_agent');
      other.addEvent('gen_ai.client.inference.operation.details', {
        'gen_ai.response.id': 'resp_E1',
        'gen_ai.usage.prompt_tokens': 50,
        'gen_ai.usage.completion_tokens': 7,
      });
      other.end();
      assert.equal(held.attributes['gen_ai.usage.input_tokens'], 50);
      assert.equal(held.attributes['genai_enrich.usage_source'], 'span_event');
      assertInvariants(p);
    });

    it('(b) recordUsage completes a held span, and waits for a span that has not ended yet', () => {
      const p = pipeline();
      const held = endSpan(p, 'chat', { ...CHAT_STREAM, 'gen_ai.response.id': 'chatcmpl-R1' });
      p.processor.recordUsage('chatcmpl-R1', {
        inputTokens: 100,
        outputTokens: 20,
        cacheReadInputTokens: 64,
        reasoningOutputTokens: 8,
      });
      assert.equal(held.attributes['gen_ai.usage.cache_read.input_tokens'], 64);
      assert.equal(held.attributes['gen_ai.usage.reasoning.output_tokens'], 8);
      assert.equal(held.attributes['genai_enrich.usage_source'], 'record_usage');

      p.processor.recordUsage('chatcmpl-R2', { inputTokens: 5, outputTokens: 1 });
      assert.equal(p.processor.stats().pendingUsage, 1);
      const later = endSpan(p, 'chat', { ...CHAT_STREAM, 'gen_ai.response.id': 'chatcmpl-R2' });
      assert.equal(later.attributes['gen_ai.usage.input_tokens'], 5);
      assert.equal(p.processor.stats().pendingUsage, 0);
      assert.equal(p.processor.stats().held, 0);
      assertInvariants(p);
    });

    it('(b) pending usage expires after holdMillis and is bounded by maxPendingUsage', () => {
      const p = pipeline({ holdMillis: 100, maxPendingUsage: 2 });
      p.processor.recordUsage('x1', { inputTokens: 1 });
      p.processor.recordUsage('x2', { inputTokens: 1 });
      p.processor.recordUsage('x3', { inputTokens: 1 });
      assert.equal(p.processor.stats().pendingUsage, 2);
      assert.equal(p.processor.stats().pendingUsageDropped, 1);
      p.clock.advance(100);
      assert.equal(p.processor.stats().pendingUsage, 0);
      assert.equal(p.processor.stats().pendingUsageExpired, 2);
    });

    it('(b) recordUsage ignores junk and never throws', () => {
      const p = pipeline();
      for (const args of [
        [undefined, {}],
        ['', { inputTokens: 1 }],
        ['id', null],
        ['id', { inputTokens: -1 }],
        ['id', 'x'],
      ] as const) {
        assert.doesNotThrow(() => p.processor.recordUsage(args[0] as never, args[1] as never));
      }
      assert.equal(p.processor.stats().pendingUsage, 0);
    });

    it('(c) celeste: usage set after end() — which the SDK drops — joins the held span, every write of the burst', async () => {
      const p = pipeline();
      const span = p.tracer.startSpan('chat claude', {
        attributes: {
          'gen_ai.provider.name': 'anthropic',
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'claude-sonnet-4-5',
        },
      });
      span.end();
      assert.equal(p.next.ended.length, 0);
      span.setAttribute('gen_ai.usage.input_tokens', 12);
      span.setAttributes({ 'gen_ai.usage.output_tokens': 30, 'gen_ai.usage.cache_read_input_tokens': 1000 });
      assert.equal(p.next.ended.length, 0, 'released once the synchronous burst of writes is over');
      await Promise.resolve();
      const out = p.next.ended[0];
      // Anthropic's input leaves out the cache; semconv's includes it, on the span as it leaves.
      assert.equal(out.attributes['gen_ai.usage.input_tokens'], 1012);
      assert.equal(out.attributes['gen_ai.usage.output_tokens'], 30, 'the second write of the burst lands too');
      assert.equal(out.attributes['gen_ai.usage.cache_read.input_tokens'], 1000);
      assert.equal(out.attributes['genai_enrich.usage_source'], 'late_attribute');
      assert.equal(p.processor.stats().lateAttributes, 2);
      span.setAttribute('gen_ai.usage.reasoning.output_tokens', 3);
      assert.equal(p.processor.stats().lateAttributes, 2, 'a write after the span left is not captured');
      assertInvariants(p);
    });

    it('no span leaves with cache read above input or reasoning above output: those details are kept aside', async () => {
      const p = pipeline();
      const span = p.tracer.startSpan('chat', {
        attributes: { 'gen_ai.provider.name': 'openai', 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'm' },
      });
      span.end();
      span.setAttributes({
        'gen_ai.usage.input_tokens': 10,
        'gen_ai.usage.output_tokens': 3,
        'gen_ai.usage.cache_read.input_tokens': 16,
        'gen_ai.usage.reasoning.output_tokens': 4,
      });
      const telemetry = endSpan(p, 'chat', {
        ...CHAT_STREAM,
        'gen_ai.usage.input_tokens': 50,
        'gen_ai.usage.output_tokens': 2,
        'gen_ai.usage.reasoning.output_tokens': 5,
      });
      await Promise.resolve();
      const late = p.next.ended.find((s) => s.spanContext().spanId === span.spanContext().spanId)!;
      assert.equal(late.attributes['gen_ai.usage.input_tokens'], 10);
      assert.equal(late.attributes['gen_ai.usage.cache_read.input_tokens'], undefined);
      assert.equal(late.attributes['gen_ai.usage.reasoning.output_tokens'], undefined);
      assert.deepEqual(JSON.parse(String(late.attributes['genai_enrich.telemetry_usage'])), {
        reason: 'inconsistent',
        'gen_ai.usage.cache_read.input_tokens': 16,
        'gen_ai.usage.reasoning.output_tokens': 4,
      });
      assert.equal(telemetry.attributes['gen_ai.usage.reasoning.output_tokens'], undefined);
      assert.equal(telemetry.attributes['gen_ai.usage.input_tokens'], 50);
      assertInvariants(p);
    });

    it('(c) a late burst: input in one call, output in the next, nothing lost (issue 10)', async () => {
      const p = pipeline();
      const span = p.tracer.startSpan('chat', {
        attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'm' },
      });
      span.end();
      span.setAttribute('gen_ai.usage.input_tokens', 7);
      span.setAttributes({ 'gen_ai.usage.output_tokens': 3 });
      await Promise.resolve();
      assert.equal(p.next.ended.length, 1);
      assert.equal(p.next.ended[0].attributes['gen_ai.usage.input_tokens'], 7);
      assert.equal(p.next.ended[0].attributes['gen_ai.usage.output_tokens'], 3);
      assert.equal(p.processor.stats().joined, 1);
      assertInvariants(p);
    });

    it('(c) writes before end() go through the SDK as usual', () => {
      const p = pipeline();
      const span = p.tracer.startSpan('chat', { attributes: { 'gen_ai.operation.name': 'chat' } });
      span.setAttribute('gen_ai.usage.input_tokens', 3).setAttributes({ 'gen_ai.usage.output_tokens': 1 });
      span.end();
      assert.equal(p.next.ended[0].attributes['gen_ai.usage.input_tokens'], 3);
      assert.equal(p.processor.stats().lateAttributes, 0);
    });

    it('(d) Logfire Responses-API stream: the sibling streaming record completes the request span', () => {
      const p = pipeline();
      const root = p.tracer.startSpan('agent run');
      const request = endSpan(
        p,
        'Responses API with {gen_ai.request.model!r}',
        {
          'logfire.msg_template': 'Responses API with {gen_ai.request.model!r}',
          'logfire.msg': "Responses API with 'gpt-4.1'",
          'logfire.span_type': 'span',
          'logfire.tags': ['LLM'],
          request_data: '{"model":"gpt-4.1","stream":true}',
          'gen_ai.system': 'openai',
          'gen_ai.provider.name': 'openai',
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'gpt-4.1',
          async: false,
        },
        root,
      );
      // Another held request in the same trace and parent, for a different model, must not be joined.
      const otherModel = endSpan(
        p,
        'Responses API with {gen_ai.request.model!r}',
        {
          'logfire.msg_template': 'Responses API with {gen_ai.request.model!r}',
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'gpt-5',
          request_data: '{"model":"gpt-5"}',
        },
        root,
      );
      assert.equal(p.processor.stats().held, 2);
      const template = 'streaming response from {request_data[model]!r} took {duration:.2f}s';
      const record = endSpan(
        p,
        template,
        {
          'logfire.msg_template': template,
          'logfire.msg': "streaming response from 'gpt-4.1' took 1.52s",
          'logfire.span_type': 'log',
          'logfire.level_num': 9,
          request_data: '{"model":"gpt-4.1","stream":true}',
          duration: 1.5213,
          'gen_ai.system': 'openai',
          'gen_ai.provider.name': 'openai',
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'gpt-4.1',
          'gen_ai.usage.input_tokens': 120,
          'gen_ai.usage.output_tokens': 30,
          response_data:
            '{"events":[],"usage":{"input_tokens":120,"output_tokens":30,"input_tokens_details":{"cached_tokens":64},"output_tokens_details":{"reasoning_tokens":10}}}',
        },
        root,
      );
      root.end();
      assert.equal(request.name, "Responses API with 'gpt-4.1'");
      assert.equal(request.attributes['gen_ai.usage.input_tokens'], 120);
      assert.equal(request.attributes['gen_ai.usage.cache_read.input_tokens'], 64);
      assert.equal(request.attributes['gen_ai.usage.reasoning.output_tokens'], 10);
      assert.equal(request.attributes['genai_enrich.usage_source'], 'sibling_record');
      assert.equal(record.name, "streaming response from 'gpt-4.1' took 1.52s");
      assert.equal(record.attributes['gen_ai.usage.input_tokens'], undefined);
      assert.equal(record.attributes['genai_enrich.usage_moved_to'], request.spanContext().spanId);
      assert.equal(otherModel.attributes['gen_ai.usage.input_tokens'], undefined);
      assert.equal(p.processor.stats().held, 1);
      assertInvariants(p);
    });
  });

  describe('Logfire records outside a span, and totals', () => {
    const template = 'streaming response from {request_data[model]!r} took {duration:.2f}s';
    const requestAttributes = (requestData: string): Attributes => ({
      'logfire.msg_template': 'Chat Completion with {request_data[model]!r}',
      'logfire.span_type': 'span',
      request_data: requestData,
      'gen_ai.provider.name': 'openai',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o-mini',
    });
    const recordAttributes = (requestData: string, input: number): Attributes => ({
      'logfire.msg_template': template,
      'logfire.span_type': 'log',
      request_data: requestData,
      duration: 0.8,
      'gen_ai.provider.name': 'openai',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': input,
      'gen_ai.usage.output_tokens': 9,
      'gen_ai.usage.total_tokens': input + 9,
      'gen_ai.usage.raw': JSON.stringify({ prompt_tokens: input, completion_tokens: 9, total_tokens: input + 9 }),
    });

    it('a root-level stream record (its own trace) completes the root-level request with the same request_data', () => {
      const p = pipeline();
      const a = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a"}],"stream":true}';
      const b = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"b"}],"stream":true}';
      const requestA = endSpan(p, 'Chat Completion with {request_data[model]!r}', requestAttributes(a));
      const requestB = endSpan(p, 'Chat Completion with {request_data[model]!r}', requestAttributes(b));
      assert.equal(p.processor.stats().held, 2);
      const record = endSpan(p, template, recordAttributes(b, 77));
      assert.notEqual(record.spanContext().traceId, requestB.spanContext().traceId);
      assert.equal(requestB.attributes['gen_ai.usage.input_tokens'], 77);
      assert.equal(requestB.attributes['gen_ai.usage.total_tokens'], 86, 'the total moves with the counts');
      assert.equal(requestB.attributes['genai_enrich.usage_source'], 'sibling_record');
      assert.equal(record.attributes['genai_enrich.usage_moved_to'], requestB.spanContext().spanId);
      assert.equal(record.attributes['gen_ai.usage.total_tokens'], undefined);
      assert.equal(requestA.attributes['gen_ai.usage.input_tokens'], undefined, 'a different request is not joined');
      assert.equal(p.processor.stats().held, 1);
      assertInvariants(p);
    });

    it('a record inside a span does not reach a root-level request in another trace', () => {
      const p = pipeline();
      const data = '{"model":"gpt-4o-mini","stream":true}';
      endSpan(p, 'Chat Completion with {request_data[model]!r}', requestAttributes(data));
      const parent = p.tracer.startSpan('job');
      endSpan(p, template, recordAttributes(data, 5), parent);
      parent.end();
      assert.equal(p.processor.stats().held, 1);
      assert.equal(p.processor.stats().joined, 0);
    });

    it('a carrier that gave its usage away is not counted again by a second processor', () => {
      const first = pipeline();
      const data = '{"model":"gpt-4o-mini","stream":true}';
      endSpan(first, 'Chat Completion with {request_data[model]!r}', requestAttributes(data));
      const record = endSpan(first, template, recordAttributes(data, 40));
      assert.equal(record.attributes['gen_ai.usage.input_tokens'], undefined);
      // The same record through another hop (e.g. the relay behind an SDK that already ran this processor).
      const second = pipeline();
      const again = endSpan(second, template, { ...record.attributes });
      assert.equal(again.attributes['gen_ai.usage.input_tokens'], undefined, 'gen_ai.usage.raw is not read again');
      assert.equal(second.processor.stats().joined, 0);
    });
  });

  describe('watchdog', () => {
    it('ddtrace: ends a GenAI span still open after maxOpenMillis, once, and never exports it twice', () => {
      const warnings: string[] = [];
      diag.setLogger({
        error: (m) => warnings.push(m),
        warn: (m) => warnings.push(m),
        info() {},
        debug() {},
        verbose() {},
      });
      try {
        const p = pipeline({ maxOpenMillis: 30_000, holdMillis: 1000 });
        const span = p.tracer.startSpan('chat gpt-4o', { attributes: CHAT_STREAM });
        p.tracer.startSpan('GET /', {}).end(); // not GenAI: not watched
        assert.equal(p.processor.stats().open, 1);
        p.clock.advance(30_000);
        assert.equal(p.processor.stats().forceEnded, 1);
        assert.equal(span.isRecording(), false, 'the span is ended');
        p.clock.advance(1000); // the force-ended span had no usage: held, then expired
        const out = p.next.ended.find((s) => s.name === 'chat gpt-4o')!;
        assert.equal(out.attributes['genai_enrich.force_ended'], true);
        span.end(); // the application ends it late
        assert.equal(p.next.ended.filter((s) => s.name === 'chat gpt-4o').length, 1);
        assertInvariants(p);
      } finally {
        diag.disable();
      }
    });

    it('stops watching spans that end, and bounds what it watches', () => {
      const p = pipeline({ maxOpenSpans: 2 });
      const a = p.tracer.startSpan('chat', { attributes: CHAT_STREAM });
      p.tracer.startSpan('chat', { attributes: CHAT_STREAM });
      p.tracer.startSpan('chat', { attributes: CHAT_STREAM });
      assert.equal(p.processor.stats().open, 2);
      assert.equal(p.processor.stats().openUnwatched, 1);
      a.end();
      assert.equal(p.processor.stats().open, 1);
    });
  });

  describe('flush and shutdown', () => {
    it('forceFlush forwards every held span, then flushes next', async () => {
      const p = pipeline();
      endSpan(p, 'a', CHAT_STREAM);
      endSpan(p, 'b', CHAT_STREAM);
      await p.processor.forceFlush();
      assert.equal(p.next.ended.length, 2);
      assert.equal(p.next.flushes, 1);
      assert.equal(p.processor.stats().flushed, 2);
      assert.equal(p.next.ended[0].attributes['genai_enrich.hold_outcome'], 'flushed');
      assertInvariants(p);
    });

    it('shutdown runs once, forwards everything held and shuts next down; nothing is held after', async () => {
      const p = pipeline();
      endSpan(p, 'a', CHAT_STREAM);
      p.processor.recordUsage('nobody', { inputTokens: 1 });
      await Promise.all([p.processor.shutdown(), p.processor.shutdown()]);
      await p.processor.shutdown();
      assert.equal(p.next.shutdowns, 1);
      assert.equal(p.processor.stats().held, 0);
      assert.equal(p.processor.stats().pendingUsage, 0);
      assert.equal(p.clock.pendingTimers, 0);
      endSpan(p, 'late', CHAT_STREAM);
      assert.equal(p.next.ended.length, 1, 'spans ending after shutdown are ignored, as BatchSpanProcessor does');
    });
  });

  describe('exporter mode', () => {
    it('batches into the exporter and exports on forceFlush', async () => {
      const p = exporterPipeline({ scheduledDelayMillis: 1000 });
      p.tracer.startSpan('GET /').end();
      p.tracer
        .startSpan('chat', {
          attributes: { ...CHAT_STREAM, 'gen_ai.usage.input_tokens': 3, 'gen_ai.usage.output_tokens': 1 },
        })
        .end();
      p.tracer.startSpan('chat held', { attributes: CHAT_STREAM }).end();
      assert.equal(p.exporter.getFinishedSpans().length, 0);
      await p.processor.forceFlush();
      await settle();
      assert.deepEqual(
        p.exporter
          .getFinishedSpans()
          .map((s) => s.name)
          .sort(),
        ['GET /', 'chat', 'chat held'],
      );
      await p.processor.shutdown();
    });
  });

  describe('a faulty next', () => {
    it('counts and reports once a processor that throws, and never throws into the SDK', () => {
      const warnings: unknown[] = [];
      diag.setLogger({
        error: (m) => warnings.push(m),
        warn: (m) => warnings.push(m),
        info() {},
        debug() {},
        verbose() {},
      });
      try {
        const clock = new FakeClock();
        const bad = {
          onStart() {
            throw new Error('start');
          },
          onEnd() {
            throw new Error('end');
          },
          forceFlush: () => Promise.reject(new Error('flush')),
          shutdown: () => Promise.reject(new Error('shutdown')),
        };
        const processor = new GenAiEnrichingProcessor(bad, { clock });
        const provider = new BasicTracerProvider({ spanProcessors: [processor] });
        const tracer = provider.getTracer('t');
        assert.doesNotThrow(() => {
          tracer.startSpan('a').end();
          tracer.startSpan('b').end();
        });
        assert.equal(processor.stats().errors, 4);
        assert.equal(warnings.filter((w) => String(w).includes('next.onEnd')).length, 1, 'reported once');
        return Promise.all([processor.forceFlush(), processor.shutdown()]).then(() => {
          assert.equal(processor.stats().errors, 6);
        });
      } finally {
        diag.disable();
      }
    });

    it('forwards the span even if processing it fails on malformed input', () => {
      const p = pipeline();
      const weird = fakeReadable('chat', { 'gen_ai.operation.name': 'chat' });
      Object.defineProperty(weird, 'events', {
        get() {
          throw new Error('hostile');
        },
      });
      assert.doesNotThrow(() => p.processor.onEnd(weird));
      assert.equal(p.next.ended.length, 1);
      assert.equal(p.processor.stats().errors, 1);
      assertInvariants(p);
    });
  });

  describe('options', () => {
    it('reports every invalid option by name and value, and uses the defaults', () => {
      const warnings: string[] = [];
      diag.setLogger({ error() {}, warn: (m) => warnings.push(m), info() {}, debug() {}, verbose() {} });
      try {
        const p = new GenAiEnrichingProcessor(new RecordingProcessor(), {
          holdMillis: -5,
          spanNames: 'loud' as never,
          maxHeldSpans: 1.5,
          holdMilis: 3,
        } as never);
        assert.equal(warnings.length, 1);
        for (const part of [
          'holdMillis',
          '-5',
          'spanNames',
          '"loud"',
          'maxHeldSpans',
          '1.5',
          'unknown option "holdMilis"',
        ]) {
          assert.ok(warnings[0].includes(part), `${part} in ${warnings[0]}`);
        }
        assert.ok(p);
      } finally {
        diag.disable();
      }
    });
  });
});

/** A plain ReadableSpan-shaped object, as the relay will build from OTLP. */
function fakeReadable(name: string, attributes: Attributes) {
  const spanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
  return {
    name,
    kind: 2,
    spanContext: () => spanContext,
    parentSpanContext: undefined,
    startTime: [1, 0] as [number, number],
    endTime: [2, 0] as [number, number],
    duration: [1, 0] as [number, number],
    status: { code: 0 },
    attributes,
    links: [],
    events: [],
    ended: true,
    resource: { attributes: {} },
    instrumentationScope: { name: 'relay' },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
