// The tap reads each endpoint's usage by the normalizer's table, and its skipping needles fit that table.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { USAGE_SHAPES } from '@genai-enrich/normalizer';
import { TAP_USAGE, asName, asRecord } from '../../src/tap/usage-mapping.js';

describe('TAP_USAGE', () => {
  it('reads chat and embeddings as OpenAI chat usage, Responses and Anthropic by their own rows', () => {
    assert.equal(TAP_USAGE['openai.chat'].shape, USAGE_SHAPES.openaiChat);
    assert.equal(TAP_USAGE['openai.embeddings'].shape, USAGE_SHAPES.openaiChat);
    assert.equal(TAP_USAGE['openai.responses'].shape, USAGE_SHAPES.openaiResponses);
    assert.equal(TAP_USAGE['anthropic.messages'].shape, USAGE_SHAPES.anthropicMessages);
  });

  it("has a needle that every count key of the endpoint's shape holds, so an event without it has no counts", () => {
    for (const [endpoint, { shape, countKeyNeedle }] of Object.entries(TAP_USAGE)) {
      for (const path of Object.values(shape.paths)) {
        const key = path.slice(path.lastIndexOf('.') + 1);
        assert.ok(`"${key}"`.includes(countKeyNeedle), `${endpoint}: ${path} does not hold ${countKeyNeedle}`);
      }
    }
  });
});

describe('asName / asRecord', () => {
  it('take a non-empty name of at most 256 characters, and a plain object', () => {
    assert.equal(asName('msg_01'), 'msg_01');
    assert.equal(asName('x'.repeat(256))?.length, 256);
    for (const junk of ['', 'x'.repeat(257), 3, null, undefined, ['a']]) assert.equal(asName(junk), undefined);
    assert.deepEqual(asRecord({ a: 1 }), { a: 1 });
    for (const junk of [null, [], 'x', 3]) assert.equal(asRecord(junk), undefined);
  });
});
