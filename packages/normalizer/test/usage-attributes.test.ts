import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  USAGE_KEYS,
  applyLateUsage,
  applyUsage,
  fillMissingUsage,
  hasUsage,
  isUsageKey,
  moveUsage,
  readUsage,
  toUsageCounts,
} from '../src/usage-attributes.js';
import type { Attributes } from '../src/types.js';

const IN = 'gen_ai.usage.input_tokens';
const OUT = 'gen_ai.usage.output_tokens';
const CACHE = 'gen_ai.usage.cache_read.input_tokens';
const REASONING = 'gen_ai.usage.reasoning.output_tokens';
const TOTAL = 'gen_ai.usage.total_tokens';
const ADJUSTED = 'genai_enrich.usage_adjusted';

describe('readUsage / applyUsage', () => {
  it('round-trips canonical usage attributes and never overwrites', () => {
    const attrs: Attributes = { 'gen_ai.usage.input_tokens': 5 };
    applyUsage(attrs, { inputTokens: 9, outputTokens: 2, reasoningOutputTokens: 1 });
    assert.deepEqual(attrs, {
      'gen_ai.usage.input_tokens': 5,
      'gen_ai.usage.output_tokens': 2,
      'gen_ai.usage.reasoning.output_tokens': 1,
    });
    assert.deepEqual(readUsage(attrs), { inputTokens: 5, outputTokens: 2, reasoningOutputTokens: 1 });
  });

  it('applyUsage keeps whatever the emitter wrote, even a junk value', () => {
    const attrs: Attributes = { [IN]: 'n/a', [OUT]: 0 };
    applyUsage(attrs, { inputTokens: 9, outputTokens: 2 });
    assert.deepEqual(attrs, { [IN]: 'n/a', [OUT]: 0 });
  });
});

describe('hasUsage', () => {
  it('needs a positive input or output count; zeros and junk are no usage', () => {
    assert.equal(hasUsage({}), false);
    assert.equal(hasUsage({ [IN]: 0, [OUT]: 0, [TOTAL]: 0 }), false);
    assert.equal(hasUsage({ [IN]: 'x', [CACHE]: 5 }), false);
    assert.equal(hasUsage({ [OUT]: 1 }), true);
    assert.equal(hasUsage({ [IN]: '12' }), true);
  });
});

describe('USAGE_KEYS', () => {
  it('lists the five counts and the total', () => {
    assert.equal(USAGE_KEYS.length, 6);
    assert.ok(USAGE_KEYS.includes(TOTAL));
    for (const key of USAGE_KEYS) assert.ok(isUsageKey(key));
    assert.equal(isUsageKey('gen_ai.request.model'), false);
  });
});

describe('toUsageCounts', () => {
  it('keeps only valid counts of known fields, and is undefined without any', () => {
    assert.deepEqual(toUsageCounts({ inputTokens: '7', outputTokens: -1, cacheReadInputTokens: 2.5, extra: 4 }), {
      inputTokens: 7,
    });
    for (const junk of [undefined, null, 3, 'x', [], {}, { inputTokens: NaN }])
      assert.equal(toUsageCounts(junk), undefined);
  });
});

describe('applyLateUsage', () => {
  it('fills missing, null and junk counts and keeps what the emitter set', () => {
    const attrs = { [IN]: 40, [OUT]: null, [CACHE]: 'junk' } as unknown as Attributes;
    const written = applyLateUsage(attrs, { inputTokens: 9, outputTokens: 2, cacheReadInputTokens: 1 }, 11);
    assert.deepEqual(attrs, { [IN]: 40, [OUT]: 2, [CACHE]: 1, [TOTAL]: 11 });
    assert.equal(written, 3);
  });

  it('replaces placeholder zeros only while the span reports no usage', () => {
    const placeholders: Attributes = { [IN]: 0, [OUT]: 0, [TOTAL]: 0 };
    applyLateUsage(placeholders, { inputTokens: 9, outputTokens: 2 }, 11);
    assert.deepEqual(placeholders, { [IN]: 9, [OUT]: 2, [TOTAL]: 11 });
    const real: Attributes = { [IN]: 5, [OUT]: 0 };
    applyLateUsage(real, { inputTokens: 9, outputTokens: 2 });
    assert.deepEqual(real, { [IN]: 5, [OUT]: 0 }, 'with usage present, a zero is a real count');
  });
});

describe('fillMissingUsage', () => {
  it('fills only counts without a valid value, and only positive ones', () => {
    const attrs: Attributes = { [IN]: 40, [OUT]: 7 };
    const written = fillMissingUsage(attrs, {
      inputTokens: 41,
      outputTokens: 8,
      cacheReadInputTokens: 16,
      reasoningOutputTokens: 0,
    });
    assert.equal(written, 1);
    assert.deepEqual(attrs, { [IN]: 40, [OUT]: 7, [CACHE]: 16 });
  });
});

describe('moveUsage', () => {
  it('moves counts and total to the target and leaves the carrier without usage keys', () => {
    const carrier: Attributes = { [IN]: 42, [OUT]: 17, [REASONING]: 3, [TOTAL]: 59, 'gen_ai.response.id': 'r' };
    const target: Attributes = { [IN]: 0, [OUT]: 0, [TOTAL]: 0 };
    moveUsage(carrier, target);
    assert.deepEqual(carrier, { 'gen_ai.response.id': 'r' });
    assert.deepEqual(target, { [IN]: 42, [OUT]: 17, [REASONING]: 3, [TOTAL]: 59 });
  });

  // Logfire's Anthropic stream record: the normalizer marked its input as Anthropic's plus the cache (from
  // gen_ai.usage.raw); the request span that receives the counts must say so, and the carrier must not.
  it('moves the usage_adjusted mark with the counts it describes', () => {
    const CREATION = 'gen_ai.usage.cache_creation.input_tokens';
    const marks = ['input+cache_read', 'input+cache_creation'];
    const carrier: Attributes = { [IN]: 5414, [OUT]: 512, [CACHE]: 3840, [CREATION]: 1536, [ADJUSTED]: marks };
    const target: Attributes = { 'gen_ai.request.model': 'claude-sonnet-4-5' };
    moveUsage(carrier, target);
    assert.deepEqual(carrier, {});
    assert.deepEqual(target, {
      'gen_ai.request.model': 'claude-sonnet-4-5',
      [IN]: 5414,
      [OUT]: 512,
      [CACHE]: 3840,
      [CREATION]: 1536,
      [ADJUSTED]: marks,
    });
  });

  it("moves no mark onto a count the target kept of its own, and drops the carrier's either way", () => {
    const carrier: Attributes = { [IN]: 5414, [OUT]: 512, [ADJUSTED]: ['input+cache_read', 'output+reasoning'] };
    const target: Attributes = { [IN]: 5000 };
    moveUsage(carrier, target);
    assert.deepEqual(carrier, {});
    // The target's own input stays, so the input mark does not describe it; the output it took does.
    assert.deepEqual(target, { [IN]: 5000, [OUT]: 512, [ADJUSTED]: ['output+reasoning'] });
  });

  it('adds the carried marks to those the target has, once each, and ignores a malformed mark', () => {
    const carrier: Attributes = { [OUT]: 90, [ADJUSTED]: ['output+reasoning'] };
    const target: Attributes = { [IN]: 40, [ADJUSTED]: ['input+tool_use_prompt'] };
    moveUsage(carrier, target);
    assert.deepEqual(target[ADJUSTED], ['input+tool_use_prompt', 'output+reasoning']);
    const junk: Attributes = { [IN]: 7, [ADJUSTED]: 'input+cache_read' };
    const into: Attributes = {};
    moveUsage(junk, into);
    assert.deepEqual(junk, {});
    assert.deepEqual(into, { [IN]: 7 });
  });

  it("keeps the sum of every usage key over carrier and target equal to the carrier's usage when the target had none", () => {
    const count = fc.option(fc.nat({ max: 1e6 }), { nil: undefined });
    fc.assert(
      fc.property(fc.tuple(count, count, count, count, count, count), (values) => {
        const carrier: Attributes = {};
        USAGE_KEYS.forEach((key, i) => {
          if (values[i] !== undefined) carrier[key] = values[i];
        });
        const before = { ...carrier };
        const target: Attributes = {};
        moveUsage(carrier, target);
        for (const key of USAGE_KEYS) {
          assert.equal(carrier[key], undefined);
          assert.equal(target[key], before[key]);
        }
      }),
    );
  });
});
