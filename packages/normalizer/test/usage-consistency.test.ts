import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { includeAnthropicCache, keepTelemetryUsage, settleUsage } from '../src/usage-consistency.js';
import { replaceUsage, usageDiffers } from '../src/usage-attributes.js';
import type { Attributes } from '../src/types.js';

const IN = 'gen_ai.usage.input_tokens';
const OUT = 'gen_ai.usage.output_tokens';
const READ = 'gen_ai.usage.cache_read.input_tokens';
const WRITE = 'gen_ai.usage.cache_creation.input_tokens';
const REASONING = 'gen_ai.usage.reasoning.output_tokens';
const TOTAL = 'gen_ai.usage.total_tokens';
const KEPT = 'genai_enrich.telemetry_usage';

describe('includeAnthropicCache', () => {
  it('adds the cache back to an Anthropic input smaller than the cache, and the total with it', () => {
    const a: Attributes = {
      'gen_ai.provider.name': 'anthropic',
      [IN]: 12,
      [OUT]: 30,
      [READ]: 1000,
      [WRITE]: 24,
      [TOTAL]: 42,
    };
    includeAnthropicCache(a);
    assert.equal(a[IN], 1036);
    assert.equal(a[TOTAL], 1066);
  });

  it('leaves an ambiguous input (at least the cache) and other providers alone', () => {
    const ambiguous: Attributes = { 'gen_ai.provider.name': 'anthropic', [IN]: 2500, [READ]: 1024 };
    includeAnthropicCache(ambiguous);
    assert.equal(ambiguous[IN], 2500);
    const openai: Attributes = { 'gen_ai.provider.name': 'openai', [IN]: 12, [READ]: 1000 };
    includeAnthropicCache(openai);
    assert.equal(openai[IN], 12);
  });
});

describe('settleUsage', () => {
  it('takes cache counts above the input, and reasoning above the output, off the span and keeps them', () => {
    const a: Attributes = { [IN]: 10, [OUT]: 3, [READ]: 8, [WRITE]: 4, [REASONING]: 4 };
    assert.equal(settleUsage(a), true);
    assert.deepEqual({ ...a, [KEPT]: undefined }, { [IN]: 10, [OUT]: 3, [KEPT]: undefined });
    assert.deepEqual(JSON.parse(String(a[KEPT])), { reason: 'inconsistent', [READ]: 8, [WRITE]: 4, [REASONING]: 4 });
  });

  it('changes nothing on usage that hangs together, or with nothing to compare against', () => {
    for (const a of [
      { [IN]: 10, [OUT]: 3, [READ]: 10, [REASONING]: 3 },
      { [READ]: 5 },
      { [REASONING]: 9 },
      {},
    ] as Attributes[]) {
      const before = { ...a };
      assert.equal(settleUsage(a), false);
      assert.deepEqual(a, before);
    }
  });

  it('adds to what telemetry_usage already keeps, without losing its reason', () => {
    const a: Attributes = { [IN]: 1, [OUT]: 1, [READ]: 3 };
    keepTelemetryUsage(a, 'provider_disagreed', { [IN]: 5 }, { estimate: 'why' });
    settleUsage(a);
    assert.deepEqual(JSON.parse(String(a[KEPT])), {
      reason: 'provider_disagreed',
      estimate: 'why',
      [IN]: 5,
      [READ]: 3,
    });
  });

  it('leaves no span with cache above input or reasoning above output, and keeps every number it takes off', () => {
    const count = fc.option(fc.nat({ max: 5000 }), { nil: undefined });
    fc.assert(
      fc.property(
        fc.constantFrom('openai', 'anthropic'),
        count,
        count,
        count,
        count,
        count,
        (provider, i, o, r, w, q) => {
          const a: Attributes = { 'gen_ai.provider.name': provider };
          const entries: Array<[string, number | undefined]> = [
            [IN, i],
            [OUT, o],
            [READ, r],
            [WRITE, w],
            [REASONING, q],
          ];
          for (const [k, v] of entries) if (v !== undefined) a[k] = v;
          const before = { ...a };
          settleUsage(a);
          const n = (k: string): number => (typeof a[k] === 'number' ? a[k] : 0);
          if (a[IN] !== undefined) assert.ok(n(READ) + n(WRITE) <= n(IN), JSON.stringify(a));
          if (a[OUT] !== undefined) assert.ok(n(REASONING) <= n(OUT), JSON.stringify(a));
          const kept = a[KEPT] === undefined ? {} : (JSON.parse(String(a[KEPT])) as Record<string, number>);
          for (const k of [READ, WRITE, REASONING]) {
            if (before[k] !== undefined) assert.equal(a[k] ?? kept[k], before[k], `${k} was lost`);
          }
        },
      ),
    );
  });
});

describe('replaceUsage / usageDiffers', () => {
  it('puts every count of the new usage on the span and returns what it held', () => {
    const a: Attributes = { [IN]: 1, [OUT]: 7, [TOTAL]: 8, [READ]: 0 };
    assert.equal(usageDiffers(a, { inputTokens: 42, outputTokens: 17 }), true);
    const before = replaceUsage(a, { inputTokens: 42, outputTokens: 17, cacheReadInputTokens: 16 });
    assert.deepEqual(before, { [IN]: 1, [OUT]: 7, [READ]: 0, [TOTAL]: 8 });
    assert.deepEqual({ ...a }, { [IN]: 42, [OUT]: 17, [READ]: 16 }, 'a stale total goes');
    replaceUsage(a, { inputTokens: 42 }, 60);
    assert.equal(a[TOTAL], 60, "the provider's total is taken");
  });

  it('differs only on a count both sides have', () => {
    assert.equal(usageDiffers({ [IN]: 42 }, { inputTokens: 42, outputTokens: 17 }), false);
    assert.equal(usageDiffers({ [IN]: 42, [TOTAL]: 50 }, { inputTokens: 42 }, 59), true);
    assert.equal(usageDiffers({ [IN]: 'junk' }, { inputTokens: 42 }), false);
  });
});
