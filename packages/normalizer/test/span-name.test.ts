import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hasTemplateField, isSpanNormalized, normalizeSpan, normalizeSpanName } from '../src/span-name.js';
import type { SpanNameMode } from '../src/span-name.js';

const STREAM_TEMPLATE = 'streaming response from {request_data[model]!r} took {duration:.2f}s';

describe('hasTemplateField', () => {
  it('finds replacement fields and ignores escaped braces', () => {
    assert.equal(hasTemplateField(STREAM_TEMPLATE), true);
    assert.equal(hasTemplateField('Chat Completion with {request_data[model]!r}'), true);
    assert.equal(hasTemplateField('literal {{braces}}'), false);
    assert.equal(hasTemplateField('empty {} field'), false);
    assert.equal(hasTemplateField('open { only'), false);
    assert.equal(hasTemplateField('{a{b}'), true);
    assert.equal(hasTemplateField('chat gpt-4o'), false);
  });
});

describe('normalizeSpanName', () => {
  it('uses logfire.msg when the name is the template', () => {
    const attrs = {
      'logfire.msg_template': 'Chat Completion with {request_data[model]!r}',
      'logfire.msg': "Chat Completion with 'gpt-4o'",
      request_data: '{"model":"gpt-4o"}',
    };
    assert.equal(
      normalizeSpanName('Chat Completion with {request_data[model]!r}', attrs),
      "Chat Completion with 'gpt-4o'",
    );
  });

  it('formats the template when logfire.msg is absent', () => {
    const attrs = { 'logfire.msg_template': STREAM_TEMPLATE, request_data: '{"model":"gpt-4o"}', duration: 2.005 };
    // CPython: '{:.2f}'.format(2.005) == '2.00' (2.005 is 2.00499999… in binary).
    assert.equal(normalizeSpanName(STREAM_TEMPLATE, attrs), "streaming response from 'gpt-4o' took 2.00s");
  });

  it('formats a dotted attribute key', () => {
    const attrs = {
      'logfire.msg_template': 'Responses API with {gen_ai.request.model!r}',
      'gen_ai.request.model': 'gpt-5',
    };
    assert.equal(normalizeSpanName('Responses API with {gen_ai.request.model!r}', attrs), "Responses API with 'gpt-5'");
  });

  it('keeps the name when a field is missing', () => {
    const attrs = { 'logfire.msg_template': STREAM_TEMPLATE, request_data: '{"model":"gpt-4o"}' };
    assert.equal(normalizeSpanName(STREAM_TEMPLATE, attrs), STREAM_TEMPLATE);
  });

  it('leaves route templates on spans that are neither Logfire nor GenAI', () => {
    assert.equal(normalizeSpanName('GET /users/{id}', { id: 42, 'http.route': '/users/{id}' }), 'GET /users/{id}');
  });

  it('fixes placeholders on GenAI spans without Logfire attributes', () => {
    assert.equal(normalizeSpanName('chat {gen_ai.request.model}', { 'gen_ai.request.model': 'gpt-4o' }), 'chat gpt-4o');
  });

  it('keeps every name in keep mode', () => {
    assert.equal(
      normalizeSpanName(STREAM_TEMPLATE, { 'logfire.msg': 'x', 'logfire.msg_template': STREAM_TEMPLATE }, 'keep'),
      STREAM_TEMPLATE,
    );
  });

  it('builds semconv names in semconv mode', () => {
    assert.equal(
      normalizeSpanName(
        'openai.chat',
        { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' },
        'semconv',
      ),
      'chat gpt-4o',
    );
    assert.equal(
      normalizeSpanName(
        'tool',
        { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'get_weather' },
        'semconv',
      ),
      'execute_tool get_weather',
    );
    assert.equal(normalizeSpanName('x', { 'gen_ai.operation.name': 'invoke_agent' }, 'semconv'), 'invoke_agent');
    assert.equal(normalizeSpanName('GET /', { 'http.route': '/' }, 'semconv'), 'GET /');
  });

  it('does not give a Logfire log record an operation name in semconv mode', () => {
    const attrs = {
      'logfire.msg_template': STREAM_TEMPLATE,
      'logfire.msg': "streaming response from 'gpt-4o' took 1.00s",
      'logfire.span_type': 'log',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
    };
    assert.equal(normalizeSpanName(STREAM_TEMPLATE, attrs, 'semconv'), "streaming response from 'gpt-4o' took 1.00s");
  });
});

describe('normalizeSpan', () => {
  it('normalizes attributes and keeps the template in logfire.msg_template', () => {
    const out = normalizeSpan({
      name: 'Chat Completion with {request_data[model]!r}',
      attributes: { 'gen_ai.system': 'openai', request_data: '{"model":"gpt-4o"}' },
    });
    assert.equal(out.name, "Chat Completion with 'gpt-4o'");
    assert.deepEqual(out.attributes, {
      request_data: '{"model":"gpt-4o"}',
      'gen_ai.provider.name': 'openai',
      'logfire.msg_template': 'Chat Completion with {request_data[model]!r}',
    });
  });

  it('is idempotent', () => {
    const span = {
      name: STREAM_TEMPLATE,
      attributes: {
        'logfire.msg_template': STREAM_TEMPLATE,
        request_data: '{"model":"gpt-4o"}',
        duration: 1,
        'gen_ai.system': 'openai',
      },
    };
    const once = normalizeSpan(span);
    assert.deepEqual(normalizeSpan(once), once);
  });

  it('applies the semconv mode through options', () => {
    const out = normalizeSpan(
      { name: 'openai.chat', attributes: { 'llm.request.type': 'chat', 'gen_ai.request.model': 'gpt-4o' } },
      { spanNames: 'semconv' },
    );
    assert.equal(out.name, 'chat gpt-4o');
  });
});

describe('isSpanNormalized', () => {
  it('is true only when normalizeSpan would change nothing', () => {
    const canonical = {
      'gen_ai.provider.name': 'openai',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
    };
    assert.equal(isSpanNormalized({ name: 'chat gpt-4o', attributes: canonical }), true);
    assert.equal(isSpanNormalized({ name: 'openai.chat', attributes: canonical }, { spanNames: 'semconv' }), false);
    assert.equal(isSpanNormalized({ name: 'x', attributes: { 'gen_ai.system': 'openai' } }), false);
    assert.equal(isSpanNormalized({ name: STREAM_TEMPLATE, attributes: {} }), false);
    assert.equal(isSpanNormalized({ name: STREAM_TEMPLATE, attributes: {} }, { spanNames: 'keep' }), true);
    assert.equal(isSpanNormalized({ name: 'x', attributes: { 'logfire.msg_template': 'x' } }), false);
  });

  it('never says true where normalizeSpan changes the span (property)', () => {
    const value = fc.oneof(fc.string(), fc.integer(), fc.boolean());
    const key = fc.oneof(
      fc.constantFrom(
        'gen_ai.system',
        'gen_ai.provider.name',
        'gen_ai.usage.input_tokens',
        'logfire.msg_template',
        'logfire.msg',
        'request_data',
        'http.route',
      ),
      fc.string(),
    );
    const name = fc.oneof(fc.string(), fc.constantFrom(STREAM_TEMPLATE, '{a}', 'chat gpt-4o'));
    fc.assert(
      fc.property(
        name,
        fc.dictionary(key, value),
        fc.constantFrom<SpanNameMode[]>('fix-templates', 'semconv', 'keep'),
        (n, a, mode) => {
          if (!isSpanNormalized({ name: n, attributes: a }, { spanNames: mode })) return;
          const out = normalizeSpan({ name: n, attributes: a }, { spanNames: mode });
          assert.equal(out.name, n);
          // fc.dictionary builds null-prototype objects; compare the entries.
          assert.deepStrictEqual({ ...out.attributes }, { ...a });
        },
      ),
      { numRuns: Number(process.env['FC_NUM_RUNS'] ?? 2000) },
    );
  });
});

describe('normalizeSpan (properties)', () => {
  it('never throws on arbitrary names and attributes, and always returns a string name', () => {
    const value = fc.oneof(fc.string(), fc.double(), fc.integer(), fc.boolean(), fc.array(fc.string()));
    const attrs = fc.dictionary(
      fc.oneof(
        fc.constantFrom(
          'logfire.msg_template',
          'logfire.msg',
          'logfire.span_type',
          'request_data',
          'gen_ai.operation.name',
          'gen_ai.request.model',
        ),
        fc.string(),
      ),
      value,
    );
    const name = fc.oneof(
      fc.string(),
      fc.constantFrom(STREAM_TEMPLATE, '{a}', '{{', '}', '{request_data[model]!r:>{w}}'),
    );
    fc.assert(
      fc.property(name, attrs, fc.constantFrom<SpanNameMode[]>('fix-templates', 'semconv', 'keep'), (n, a, mode) => {
        const out = normalizeSpan({ name: n, attributes: a }, { spanNames: mode });
        assert.equal(typeof out.name, 'string');
        if (mode === 'keep') assert.equal(out.name, n);
      }),
      { numRuns: Number(process.env['FC_NUM_RUNS'] ?? 2000) },
    );
  });
});
