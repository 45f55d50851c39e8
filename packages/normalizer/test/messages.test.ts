/*
 * Flattened messages rebuilt into `gen_ai.input.messages` / `gen_ai.output.messages` (messages.ts): cases
 * written from the emitters' key layouts (OpenInference's semantic conventions, OpenLLMetry's prompt and
 * completion keys), with the exact JSON asserted; the size rule (never more OTLP protobuf bytes than the
 * keys replaced; the sizes themselves, and non-string values left alone); and properties: a rebuild
 * round-trips roles, texts and tool calls (OpenInference; OpenLLMetry with arguments and finish reasons),
 * never throws on arbitrary flattened keys (gaps, huge or non-numeric indexes, `__proto__`), and normalizing
 * stays idempotent. That the span never grows is checked with real encoders in
 * packages/relay/test/otlp/messages-size.property.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalizeAttributes } from '../src/index.js';
import { MAX_INDEX, otlpStringAttributeSize } from '../src/messages.js';

const json = (value: unknown): unknown => JSON.parse(value as string);

interface RebuiltMessage {
  role: string;
  parts: Array<Record<string, unknown>>;
  finish_reason?: string;
}

/** The rebuilt messages, after checking that they keep the flattened ones' roles and texts, in order. */
function sameRolesAndTexts(
  value: unknown,
  messages: ReadonlyArray<{ role: string; content: string }>,
): RebuiltMessage[] {
  const rebuilt = json(value) as RebuiltMessage[];
  assert.deepEqual(
    rebuilt.map((m) => m.role),
    messages.map((m) => m.role),
  );
  rebuilt.forEach((m, i) => {
    const texts = m.parts.filter((p) => p['type'] === 'text').map((p) => p['content']);
    assert.deepEqual(texts, messages[i].content === '' ? [] : [messages[i].content]);
  });
  return rebuilt;
}

describe('rebuilt messages', () => {
  it('OpenInference: roles, text, multimodal parts, tool calls and a tool result, in index order', () => {
    const out = normalizeAttributes({
      'openinference.span.kind': 'LLM',
      'llm.input_messages.0.message.role': 'system',
      'llm.input_messages.0.message.content': 'Be brief.',
      'llm.input_messages.1.message.role': 'user',
      'llm.input_messages.1.message.contents.0.message_content.type': 'text',
      'llm.input_messages.1.message.contents.0.message_content.text': 'What is in this picture?',
      'llm.input_messages.1.message.contents.1.message_content.type': 'image',
      'llm.input_messages.1.message.contents.1.message_content.image.image.url': 'https://example.com/cat.png',
      'llm.input_messages.2.message.role': 'assistant',
      'llm.input_messages.2.message.tool_calls.0.tool_call.id': 'call_1',
      'llm.input_messages.2.message.tool_calls.0.tool_call.function.name': 'lookup',
      'llm.input_messages.2.message.tool_calls.0.tool_call.function.arguments': '{"q":"cat"}',
      'llm.input_messages.3.message.role': 'tool',
      'llm.input_messages.3.message.tool_call_id': 'call_1',
      'llm.input_messages.3.message.content': 'a cat',
      'llm.output_messages.0.message.role': 'assistant',
      'llm.output_messages.0.message.contents.0.message_content.type': 'text',
      'llm.output_messages.0.message.contents.0.message_content.text': 'A cat.',
      'gen_ai.response.finish_reasons': ['stop'],
    });
    assert.deepEqual(json(out['gen_ai.input.messages']), [
      { role: 'system', parts: [{ type: 'text', content: 'Be brief.' }] },
      {
        role: 'user',
        parts: [
          { type: 'text', content: 'What is in this picture?' },
          { type: 'uri', modality: 'image', uri: 'https://example.com/cat.png' },
        ],
      },
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 'lookup', arguments: { q: 'cat' } }] },
      { role: 'tool', parts: [{ type: 'tool_call_response', id: 'call_1', response: 'a cat' }] },
    ]);
    assert.deepEqual(json(out['gen_ai.output.messages']), [
      { role: 'assistant', parts: [{ type: 'text', content: 'A cat.' }], finish_reason: 'stop' },
    ]);
    assert.deepEqual(
      Object.keys(out).filter((k) => k.startsWith('llm.')),
      [],
      'the flattened keys are gone',
    );
  });

  it("OpenLLMetry: a completion's finish_reason and tool calls; a canonical messages key is never replaced", () => {
    const out = normalizeAttributes({
      'gen_ai.operation.name': 'chat',
      'gen_ai.completion.0.role': 'assistant',
      'gen_ai.completion.0.finish_reason': 'tool_calls',
      'gen_ai.completion.0.tool_calls.0.id': 'call_9',
      'gen_ai.completion.0.tool_calls.0.name': 'get_weather',
      'gen_ai.completion.0.tool_calls.0.arguments': 'not json',
    });
    assert.deepEqual(json(out['gen_ai.output.messages']), [
      {
        role: 'assistant',
        parts: [{ type: 'tool_call', id: 'call_9', name: 'get_weather', arguments: 'not json' }],
        finish_reason: 'tool_calls',
      },
    ]);
    const kept = normalizeAttributes({
      'gen_ai.output.messages': '[]',
      'gen_ai.completion.0.role': 'assistant',
      'gen_ai.completion.0.content': 'x',
    });
    assert.equal(kept['gen_ai.output.messages'], '[]');
    assert.equal(kept['gen_ai.completion.0.content'], 'x');
  });

  it('never more bytes than the keys it replaces: short transcripts stay flattened', () => {
    const short = normalizeAttributes({ 'gen_ai.prompt.0.role': 'user', 'gen_ai.prompt.0.content': 'hi' });
    assert.equal(short['gen_ai.input.messages'], undefined);
    assert.equal(short['gen_ai.prompt.0.content'], 'hi');
    // One output message and the span's finish reason: 120 bytes of OTLP protobuf as JSON, 102 as the two keys.
    const output = normalizeAttributes({
      'llm.output_messages.0.message.role': 'assistant',
      'llm.output_messages.0.message.content': 'A cat.',
      'gen_ai.response.finish_reasons': ['stop'],
    });
    assert.equal(output['gen_ai.output.messages'], undefined);
    assert.equal(output['llm.output_messages.0.message.content'], 'A cat.');
  });

  it('sizes are OTLP protobuf bytes: UTF-8 text, varint lengths, an empty value as an empty AnyValue', () => {
    // entry (tag, length) ⊃ KeyValue: key (tag, length, bytes) + value (tag, length) ⊃ AnyValue: string_value
    // (tag, length, bytes). Checked against the SDK's serializer in packages/relay/test/otlp/messages-size.
    const size = (lengths: number, keyBytes: number, valueBytes: number): number => lengths + 4 + keyBytes + valueBytes;
    assert.equal(otlpStringAttributeSize('k', 'v'), size(4, 1, 1));
    assert.equal(otlpStringAttributeSize('k', 'é'), size(4, 1, 2));
    assert.equal(otlpStringAttributeSize('k', '日'), size(4, 1, 3));
    assert.equal(otlpStringAttributeSize('k', '\u{1F600}'), size(4, 1, 4)); // a surrogate pair
    assert.equal(otlpStringAttributeSize('k', '\ud800'), size(4, 1, 3)); // a lone surrogate, written as U+FFFD
    // The SDK writes an empty string_value (2 bytes); counted as the empty AnyValue another encoder may write,
    // so a key replaced is never overcounted.
    assert.equal(otlpStringAttributeSize('k', ''), 2 + 3 + 2);
    // A length of 128 or more takes two bytes: the entry's first (a KeyValue of 128 bytes), then the value
    // field's (an AnyValue of 128), then string_value's own.
    assert.equal(otlpStringAttributeSize('k', 'x'.repeat(120)), size(4, 1, 120));
    assert.equal(otlpStringAttributeSize('k', 'x'.repeat(121)), size(5, 1, 121));
    assert.equal(otlpStringAttributeSize('k', 'x'.repeat(126)), size(6, 1, 126));
    assert.equal(otlpStringAttributeSize('k', 'x'.repeat(128)), size(7, 1, 128));
  });

  it('values that are not strings are left as they came (their size and meaning change as JSON text)', () => {
    const out = normalizeAttributes({
      'llm.input_messages.0.message.role': 'user',
      'llm.input_messages.0.message.content': 'What is 6 times 7?',
      'llm.input_messages.1.message.role': 'assistant',
      'llm.input_messages.1.message.content': 42,
      'llm.input_messages.2.message.role': 'user',
      'llm.input_messages.2.message.contents.0.message_content.type': 'text',
      'llm.input_messages.2.message.contents.0.message_content.text': ['not', 'a', 'string'],
    });
    assert.deepEqual(out, {
      'gen_ai.input.messages':
        '[{"role":"user","parts":[{"type":"text","content":"What is 6 times 7?"}]},' +
        '{"role":"assistant","parts":[]},{"role":"user","parts":[]}]',
      'llm.input_messages.1.message.content': 42,
      'llm.input_messages.2.message.contents.0.message_content.text': ['not', 'a', 'string'],
    });
  });

  it("tool-call arguments written with Python's json.dumps spacing are compacted, so the rebuild fits", () => {
    const out = normalizeAttributes({
      'gen_ai.completion.0.role': 'assistant',
      'gen_ai.completion.0.finish_reason': 'tool_use',
      'gen_ai.completion.0.tool_calls.0.id': 'toolu_01',
      'gen_ai.completion.0.tool_calls.0.name': 'get_weather',
      'gen_ai.completion.0.tool_calls.0.arguments': '{"city": "Paris", "unit": "celsius", "days": 3}',
    });
    assert.deepEqual(out, {
      'gen_ai.output.messages':
        '[{"role":"assistant","parts":[{"type":"tool_call","id":"toolu_01","name":"get_weather",' +
        '"arguments":{"city":"Paris","unit":"celsius","days":3}}],"finish_reason":"tool_use"}]',
    });
  });

  it('keepLegacyAttributes keeps the flattened keys beside the JSON; keys that fit no shape stay', () => {
    const out = normalizeAttributes(
      {
        'llm.input_messages.0.message.role': 'user',
        'llm.input_messages.0.message.content': 'hello there',
        'llm.input_messages.0.message.unknown_field': 'kept',
        [`llm.input_messages.${MAX_INDEX + 1}.message.content`]: 'too far',
        'llm.input_messages.x.message.content': 'not an index',
      },
      { keepLegacyAttributes: true },
    );
    assert.deepEqual(json(out['gen_ai.input.messages']), [
      { role: 'user', parts: [{ type: 'text', content: 'hello there' }] },
    ]);
    assert.equal(out['llm.input_messages.0.message.content'], 'hello there');
    const dropped = normalizeAttributes({
      'llm.input_messages.0.message.role': 'user',
      'llm.input_messages.0.message.content': 'hello there',
      'llm.input_messages.0.message.unknown_field': 'kept',
    });
    assert.equal(dropped['llm.input_messages.0.message.unknown_field'], 'kept');
    assert.equal(dropped['llm.input_messages.0.message.content'], undefined);
  });

  it('round-trips roles, texts and tool calls; never throws; idempotent (fast-check)', () => {
    const text = fc.string({ maxLength: 40 });
    const message = fc.record({
      role: fc.constantFrom('system', 'user', 'assistant'),
      content: text,
      calls: fc.array(
        fc.record({ id: fc.string({ minLength: 1, maxLength: 8 }), name: fc.string({ minLength: 1, maxLength: 8 }) }),
        { maxLength: 2 },
      ),
    });
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 8 }), (messages) => {
        const flat: Record<string, string> = {};
        messages.forEach((m, i) => {
          flat[`llm.input_messages.${i}.message.role`] = m.role;
          flat[`llm.input_messages.${i}.message.content`] = m.content;
          m.calls.forEach((c, k) => {
            flat[`llm.input_messages.${i}.message.tool_calls.${k}.tool_call.id`] = c.id;
            flat[`llm.input_messages.${i}.message.tool_calls.${k}.tool_call.function.name`] = c.name;
          });
        });
        const out = normalizeAttributes(flat);
        assert.deepEqual(normalizeAttributes(out), out);
        if (out['gen_ai.input.messages'] === undefined) return; // larger as JSON: left as it came
        sameRolesAndTexts(out['gen_ai.input.messages'], messages).forEach((m, i) => {
          const calls = m.parts.filter((p) => p['type'] === 'tool_call').map((p) => [p['id'], p['name']]);
          assert.deepEqual(
            calls,
            messages[i].calls.map((c) => [c.id, c.name]),
          );
        });
      }),
      { numRuns: 500 },
    );
    const key = fc.oneof(
      fc.constantFrom('llm.input_messages.', 'llm.output_messages.', 'gen_ai.prompt.', 'gen_ai.completion.'),
      fc.constant(''),
    );
    const tail = fc.oneof(
      fc.constantFrom(
        '0.role',
        '0.message.role',
        '1.content',
        '99999.content',
        '__proto__',
        '0.message.tool_calls.x.tool_call.id',
        '2.tool_calls.0.name',
      ),
      fc.string({ maxLength: 20 }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(key, tail, fc.oneof(fc.string(), fc.integer(), fc.boolean())), { maxLength: 16 }),
        (pairs) => {
          const attrs: Record<string, unknown> = {};
          for (const [k, t, v] of pairs)
            Object.defineProperty(attrs, k + t, { value: v, enumerable: true, configurable: true, writable: true });
          const out = normalizeAttributes(attrs as never);
          assert.deepEqual(normalizeAttributes(out), out);
        },
      ),
      { numRuns: 1000 },
    );
  });
  it('OpenLLMetry round-trips roles, texts, tool calls with their arguments and finish reasons (fast-check)', () => {
    const args = fc.dictionary(
      fc.stringMatching(/^[a-z_]{1,8}$/),
      fc.oneof(fc.string({ maxLength: 12 }), fc.integer()),
      {
        maxKeys: 3,
      },
    );
    const message = fc.record({
      role: fc.constantFrom('system', 'user', 'assistant'),
      content: fc.string({ unit: 'grapheme', maxLength: 40 }),
      finishReason: fc.constantFrom('stop', 'length', 'tool_calls', 'end_turn'),
      calls: fc.array(
        fc.record({
          id: fc.string({ minLength: 1, maxLength: 10 }),
          name: fc.string({ minLength: 1, maxLength: 10 }),
          args,
        }),
        { maxLength: 2 },
      ),
    });
    let rebuilt = 0;
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 10 }), fc.boolean(), (messages, pretty) => {
        const flat: Record<string, string> = {};
        for (const [prefix, output] of [
          ['gen_ai.prompt.', false],
          ['gen_ai.completion.', true],
        ] as const) {
          messages.forEach((m, i) => {
            flat[`${prefix}${i}.role`] = m.role;
            flat[`${prefix}${i}.content`] = m.content;
            if (output) flat[`${prefix}${i}.finish_reason`] = m.finishReason;
            m.calls.forEach((c, k) => {
              flat[`${prefix}${i}.tool_calls.${k}.id`] = c.id;
              flat[`${prefix}${i}.tool_calls.${k}.name`] = c.name;
              // Pretty-printed (spaces, as Python's json.dumps writes them, or an indent): rebuilding compacts it.
              const json = JSON.stringify(c.args);
              flat[`${prefix}${i}.tool_calls.${k}.arguments`] = pretty ? JSON.stringify(c.args, null, 1) : json;
            });
          });
        }
        const out = normalizeAttributes(flat);
        assert.deepEqual(normalizeAttributes(out), out);
        for (const [target, output] of [
          ['gen_ai.input.messages', false],
          ['gen_ai.output.messages', true],
        ] as const) {
          if (out[target] === undefined) continue; // larger as JSON: left as it came
          rebuilt++;
          sameRolesAndTexts(out[target], messages).forEach((m, i) => {
            assert.deepEqual(
              m.parts.filter((p) => p['type'] === 'tool_call'),
              messages[i].calls.map((c) => ({ type: 'tool_call', id: c.id, name: c.name, arguments: { ...c.args } })),
            );
            assert.equal(m.finish_reason, output ? messages[i].finishReason : undefined);
          });
        }
      }),
      { numRuns: 500 },
    );
    assert.ok(rebuilt > 100, `only ${rebuilt} rebuilt: the property checked little`);
  });
});
