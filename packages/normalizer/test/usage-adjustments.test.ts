// Counts an API leaves out (Anthropic's and Bedrock's cache, Gemini's thoughts and tool-use prompt) are added
// back on the span, and `genai_enrich.usage_adjusted` says what was added, on every path usage takes: an
// emitter's attributes, a provider usage object in JSON (Logfire), the tap's mapper.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalizeAttributes } from '../src/normalize.js';
import { emitterExcludesCache, includeExcludedUsage, mayExcludeUsage, settleUsage } from '../src/usage-consistency.js';
import { ATTR_GENAI_ENRICH_USAGE_ADJUSTED, markUsageAdjusted } from '../src/usage-adjustments.js';
import type { Attributes } from '../src/types.js';
import { USAGE_ATTRIBUTE_KEYS } from '../src/usage.js';
import { ATTR_GEN_AI_USAGE_TOTAL_TOKENS } from '../src/semconv.js';

const {
  inputTokens: IN,
  outputTokens: OUT,
  cacheReadInputTokens: READ,
  cacheCreationInputTokens: WRITE,
  reasoningOutputTokens: REASONING,
} = USAGE_ATTRIBUTE_KEYS;
const TOTAL = ATTR_GEN_AI_USAGE_TOTAL_TOKENS;
const MARK = ATTR_GENAI_ENRICH_USAGE_ADJUSTED;

describe('includeExcludedUsage with the emitter known (instrumentation scope)', () => {
  const OPENLLMETRY = '@traceloop/instrumentation-anthropic';
  const span = (): Attributes => ({
    'gen_ai.provider.name': 'anthropic',
    [IN]: 2500,
    [OUT]: 300,
    [READ]: 1024,
    [WRITE]: 20,
  });

  it('adds the cache to an input larger than it when the scope is a version known to leave it out, once', () => {
    for (const version of ['0.27.0', '0.26.0', '0.9.1', 'v0.27.0', '0.27.0-rc.1']) {
      const a = span();
      includeExcludedUsage(a, { name: OPENLLMETRY, version });
      assert.equal(a[IN], 3544, version);
      assert.deepEqual(a[MARK], ['input+cache_read', 'input+cache_creation']);
      includeExcludedUsage(a, { name: OPENLLMETRY, version });
      settleUsage(a);
      assert.equal(a[IN], 3544, `${version}: not added twice`);
    }
  });

  it('leaves an input larger than the cache alone for other scopes, newer or unreadable versions', () => {
    const scopes = [
      undefined,
      { name: OPENLLMETRY, version: '0.27.1' },
      { name: OPENLLMETRY, version: '1.0.0' },
      { name: OPENLLMETRY },
      { name: OPENLLMETRY, version: 'main' },
      { name: '@arizeai/openinference-instrumentation-anthropic', version: '0.2.8' },
    ];
    for (const scope of scopes) {
      const a = span();
      includeExcludedUsage(a, scope);
      assert.deepEqual(a, span(), JSON.stringify(scope));
      assert.equal(emitterExcludesCache(scope), false);
    }
  });

  it('reaches normalizeAttributes: idempotent, and only for the providers whose API leaves the cache out', () => {
    const scope = { name: OPENLLMETRY, version: '0.27.0' };
    const out = normalizeAttributes(span(), undefined, scope);
    assert.equal(out[IN], 3544);
    assert.deepEqual(normalizeAttributes(out, undefined, scope), out);
    const openai = { ...span(), 'gen_ai.provider.name': 'openai' };
    assert.equal(normalizeAttributes(openai, undefined, scope)[IN], 2500);
  });
});

describe('includeExcludedUsage', () => {
  for (const provider of ['anthropic', 'aws.bedrock', 'gcp.vertex_ai']) {
    it(`${provider}: adds the cache to an input smaller than it, the total with it, and marks what it added`, () => {
      const a: Attributes = { 'gen_ai.provider.name': provider, [IN]: 11, [OUT]: 52, [READ]: 1184, [TOTAL]: 63 };
      includeExcludedUsage(a);
      assert.equal(a[IN], 1195);
      assert.equal(a[TOTAL], 1247);
      assert.deepEqual(a[MARK], ['input+cache_read']);
    });
  }

  for (const provider of ['gcp.gemini', 'gcp.vertex_ai', 'gcp.gen_ai']) {
    it(`${provider}: adds the thoughts to an output smaller than them (Gemini's candidatesTokenCount)`, () => {
      const a: Attributes = { 'gen_ai.provider.name': provider, [IN]: 1290, [OUT]: 205, [REASONING]: 892 };
      includeExcludedUsage(a);
      assert.equal(a[OUT], 1097);
      assert.deepEqual(a[MARK], ['output+reasoning']);
    });
  }

  it('leaves ambiguous counts, other providers, and a second pass alone', () => {
    const cases: Attributes[] = [
      { 'gen_ai.provider.name': 'aws.bedrock', [IN]: 2000, [READ]: 1184 },
      { 'gen_ai.provider.name': 'gcp.gemini', [OUT]: 900, [REASONING]: 892 },
      { 'gen_ai.provider.name': 'openai', [IN]: 12, [READ]: 1000 },
      { 'gen_ai.provider.name': 'anthropic', [READ]: 1000 },
      { 'gen_ai.provider.name': 'gcp.gemini', [IN]: 5, [READ]: 1000 }, // Gemini's prompt includes its cache
    ];
    for (const a of cases) {
      const before = { ...a };
      includeExcludedUsage(a);
      assert.deepEqual(a, before);
    }
    const once: Attributes = { 'gen_ai.provider.name': 'anthropic', [IN]: 3, [READ]: 10, [WRITE]: 5 };
    includeExcludedUsage(once);
    const after = structuredClone(once);
    includeExcludedUsage(once);
    assert.deepEqual(once, after);
    assert.deepEqual(once[MARK], ['input+cache_read', 'input+cache_creation']);
  });

  it('never breaks the invariants settleUsage keeps, and is idempotent (property)', () => {
    const count = fc.option(fc.nat(100_000), { nil: undefined });
    fc.assert(
      fc.property(
        fc.constantFrom('anthropic', 'aws.bedrock', 'gcp.gemini', 'gcp.vertex_ai', 'gcp.gen_ai', 'openai'),
        fc.record({ input: count, output: count, read: count, write: count, reasoning: count, total: count }),
        (provider, c) => {
          const a: Attributes = { 'gen_ai.provider.name': provider };
          if (c.input !== undefined) a[IN] = c.input;
          if (c.output !== undefined) a[OUT] = c.output;
          if (c.read !== undefined) a[READ] = c.read;
          if (c.write !== undefined) a[WRITE] = c.write;
          if (c.reasoning !== undefined) a[REASONING] = c.reasoning;
          if (c.total !== undefined) a[TOTAL] = c.total;
          includeExcludedUsage(a);
          const once = structuredClone(a);
          includeExcludedUsage(a);
          assert.deepEqual(a, once);
          // Counts only grow, and only by the detail named in the mark.
          assert.ok(
            (a[IN] as number | undefined) === c.input || (a[MARK] as string[]).some((m) => m.startsWith('input+')),
          );
          assert.ok((a[OUT] as number | undefined) === c.output || (a[MARK] as string[]).includes('output+reasoning'));
          settleUsage(a);
          if (mayExcludeUsage(provider) && a[IN] !== undefined && c.input !== a[IN]) {
            // What was added back makes the cache fit: settleUsage has nothing to take away.
            assert.equal(a[READ], c.read);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('markUsageAdjusted', () => {
  it('marks only the sides whose count is the adjusted one, once each', () => {
    const a: Attributes = { [IN]: 1195, [OUT]: 40 };
    assert.equal(
      markUsageAdjusted(a, ['input+cache_read', 'output+reasoning'], { inputTokens: 1195, outputTokens: 52 }),
      true,
    );
    assert.deepEqual(a[MARK], ['input+cache_read']);
    assert.equal(markUsageAdjusted(a, ['input+cache_read'], { inputTokens: 1195 }), false);
    assert.deepEqual(a[MARK], ['input+cache_read']);
    assert.equal(markUsageAdjusted(a, undefined, { inputTokens: 1195 }), false);
  });
});

describe('normalizeAttributes', () => {
  it('Bedrock spans with the cache left out of the input (Strands keys, OpenLLMetry Bedrock)', () => {
    const out = normalizeAttributes({
      'gen_ai.system': 'aws.bedrock',
      'gen_ai.usage.input_tokens': 11,
      'gen_ai.usage.output_tokens': 52,
      'gen_ai.usage.cache_read_input_tokens': 1184,
      'gen_ai.usage.cache_write_input_tokens': 0,
    });
    assert.equal(out['gen_ai.provider.name'], 'aws.bedrock');
    assert.equal(out[IN], 1195);
    assert.equal(out[WRITE], 0);
    assert.deepEqual(out[MARK], ['input+cache_read']);
  });

  it('a canonical Gemini span whose output leaves the thoughts out takes the long way', () => {
    const attrs = { 'gen_ai.provider.name': 'gcp.gemini', [IN]: 1290, [OUT]: 205, [REASONING]: 892 };
    const out = normalizeAttributes(attrs);
    assert.equal(out[OUT], 1097);
    assert.deepEqual(normalizeAttributes(out), out);
  });

  it('Logfire: Anthropic and Gemini usage objects in JSON are read with their rules, and marked', () => {
    const anthropic = normalizeAttributes({
      'gen_ai.system': 'anthropic',
      'gen_ai.usage.raw': JSON.stringify({ input_tokens: 12, cache_read_input_tokens: 4096, output_tokens: 9 }),
    });
    assert.equal(anthropic[IN], 4108);
    assert.equal(anthropic[READ], 4096);
    assert.deepEqual(anthropic[MARK], ['input+cache_read']);
    const gemini = normalizeAttributes({
      'gen_ai.system': 'gemini',
      response_data: JSON.stringify({
        usageMetadata: { promptTokenCount: 310, toolUsePromptTokenCount: 96, candidatesTokenCount: 42 },
      }),
    });
    assert.equal(gemini['gen_ai.provider.name'], 'gcp.gemini');
    assert.equal(gemini[IN], 406);
    assert.equal(gemini[OUT], 42);
    assert.deepEqual(gemini[MARK], ['input+tool_use_prompt']);
    // An input the emitter set itself is kept, and then nothing says it was adjusted.
    const kept = normalizeAttributes({
      'gen_ai.system': 'anthropic',
      [IN]: 5000,
      'gen_ai.usage.raw': JSON.stringify({ input_tokens: 12, cache_read_input_tokens: 4096, output_tokens: 9 }),
    });
    assert.equal(kept[IN], 5000);
    assert.equal(kept[MARK], undefined);
  });
});
