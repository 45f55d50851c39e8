// The provider usage table: each row reads its provider's real usage objects, and extractUsage (which does
// not know the API) agrees with the mapper the usage tap uses (which does) on every shape.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { CompletionUsage } from 'openai/resources/completions';
import type { CreateEmbeddingResponse } from 'openai/resources/embeddings';
import type { ResponseUsage } from 'openai/resources/responses/responses';
import type { MessageDeltaUsage, Usage as AnthropicUsage } from '@anthropic-ai/sdk/resources/messages';
import type { TokenUsage as BedrockTokenUsage } from '@aws-sdk/client-bedrock-runtime';
import type { GenerateContentResponseUsageMetadata } from '@google/genai';
import { FALLBACK_USAGE_SHAPES, MIXED_USAGE_SHAPES, USAGE_SHAPES } from '../src/provider-usage.js';
import type { UsageShape } from '../src/provider-usage.js';
import {
  PROVIDER_COUNT_NAMES,
  extractProviderUsage,
  extractUsage,
  mapProviderUsage,
  readProviderCounts,
  toProviderUsage,
} from '../src/usage.js';
import type { ProviderCounts } from '../src/usage.js';

// Real usage objects, typed by the providers' SDKs where there is one (the numbers of the tap's fixtures).
const CHAT = {
  prompt_tokens: 1117,
  completion_tokens: 46,
  total_tokens: 1163,
  prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
  completion_tokens_details: {
    reasoning_tokens: 16,
    audio_tokens: 0,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0,
  },
} satisfies CompletionUsage;
const EMBEDDINGS = { prompt_tokens: 8, total_tokens: 8 } satisfies CreateEmbeddingResponse.Usage;
const RESPONSES = {
  input_tokens: 2006,
  input_tokens_details: { cached_tokens: 1920, cache_write_tokens: 0 },
  output_tokens: 312,
  output_tokens_details: { reasoning_tokens: 256 },
  total_tokens: 2318,
} satisfies ResponseUsage;
const ANTHROPIC = {
  input_tokens: 12,
  cache_creation_input_tokens: 2048,
  cache_read_input_tokens: 4096,
  cache_creation: { ephemeral_5m_input_tokens: 2048, ephemeral_1h_input_tokens: 0 },
  output_tokens: 321,
  output_tokens_details: null,
  server_tool_use: null,
  service_tier: 'standard',
  inference_geo: null,
  speed: null,
} satisfies AnthropicUsage;
// Gemini's generateContent `usageMetadata` (REST reference, UsageMetadata): protobuf JSON, zero counts left out.
const GEMINI = {
  promptTokenCount: 1290,
  cachedContentTokenCount: 1024,
  candidatesTokenCount: 205,
  thoughtsTokenCount: 892,
  totalTokenCount: 2387,
  promptTokensDetails: [{ modality: 'TEXT', tokenCount: 1290 }],
};
// A Gemini turn after a tool call: the tool's result is prompt too, counted apart (total = all four).
const GEMINI_TOOL_USE = {
  promptTokenCount: 310,
  candidatesTokenCount: 42,
  toolUsePromptTokenCount: 96,
  thoughtsTokenCount: 64,
  totalTokenCount: 512,
} satisfies GenerateContentResponseUsageMetadata;
// Bedrock Converse `usage` (TokenUsage): inputTokens without the cache; totalTokens with it.
const BEDROCK = {
  inputTokens: 11,
  outputTokens: 52,
  totalTokens: 1247,
  cacheReadInputTokens: 1184,
  cacheWriteInputTokens: 0,
} satisfies BedrockTokenUsage;
// InvokeModelWithResponseStream's last chunk: `amazon-bedrock-invocationMetrics` (Anthropic on Bedrock).
const BEDROCK_INVOCATION_METRICS = {
  inputTokenCount: 3,
  outputTokenCount: 13,
  invocationLatency: 3037,
  firstByteLatency: 2635,
  cacheReadInputTokenCount: 0,
  cacheWriteInputTokenCount: 25037,
};

describe('USAGE_SHAPES', () => {
  const cases: { shape: UsageShape; usage: object; expected: ReturnType<typeof mapProviderUsage> }[] = [
    {
      shape: USAGE_SHAPES.openaiChat,
      usage: CHAT,
      expected: {
        usage: { inputTokens: 1117, outputTokens: 46, cacheReadInputTokens: 1024, reasoningOutputTokens: 16 },
        totalTokens: 1163,
      },
    },
    { shape: USAGE_SHAPES.openaiChat, usage: EMBEDDINGS, expected: { usage: { inputTokens: 8 }, totalTokens: 8 } },
    {
      shape: USAGE_SHAPES.openaiResponses,
      usage: RESPONSES,
      expected: {
        usage: { inputTokens: 2006, outputTokens: 312, cacheReadInputTokens: 1920, reasoningOutputTokens: 256 },
        totalTokens: 2318,
      },
    },
    {
      // input_tokens leaves the cache out: 12 + 4096 + 2048.
      shape: USAGE_SHAPES.anthropicMessages,
      usage: ANTHROPIC,
      expected: {
        usage: { inputTokens: 6156, outputTokens: 321, cacheReadInputTokens: 4096, cacheCreationInputTokens: 2048 },
        totalTokens: undefined,
        adjusted: ['input+cache_read', 'input+cache_creation'],
      },
    },
    {
      // Candidates leave the thoughts out: 205 + 892.
      shape: USAGE_SHAPES.gemini,
      usage: GEMINI,
      expected: {
        usage: { inputTokens: 1290, outputTokens: 1097, cacheReadInputTokens: 1024, reasoningOutputTokens: 892 },
        totalTokens: 2387,
        adjusted: ['output+reasoning'],
      },
    },
    {
      // The prompt leaves the tool-use prompt out: 310 + 96; candidates the thoughts: 42 + 64.
      shape: USAGE_SHAPES.gemini,
      usage: GEMINI_TOOL_USE,
      expected: {
        usage: { inputTokens: 406, outputTokens: 106, reasoningOutputTokens: 64 },
        totalTokens: 512,
        adjusted: ['input+tool_use_prompt', 'output+reasoning'],
      },
    },
    {
      // inputTokens leaves the cache out: 11 + 1184 (+ 0 written, which is not an adjustment).
      shape: USAGE_SHAPES.bedrockConverse,
      usage: BEDROCK,
      expected: {
        usage: { inputTokens: 1195, outputTokens: 52, cacheReadInputTokens: 1184, cacheCreationInputTokens: 0 },
        totalTokens: 1247,
        adjusted: ['input+cache_read'],
      },
    },
    {
      shape: USAGE_SHAPES.bedrockInvocationMetrics,
      usage: BEDROCK_INVOCATION_METRICS,
      expected: {
        usage: { inputTokens: 25040, outputTokens: 13, cacheReadInputTokens: 0, cacheCreationInputTokens: 25037 },
        totalTokens: undefined,
        adjusted: ['input+cache_creation'],
      },
    },
  ];

  for (const { shape, usage, expected } of cases) {
    it(`${shape.name} maps a real usage object, by its row and by extractUsage`, () => {
      assert.deepStrictEqual(mapProviderUsage(shape, usage), expected);
      assert.deepStrictEqual(extractUsage(usage), expected!.usage);
      const extracted = extractProviderUsage(usage);
      assert.deepStrictEqual(extracted?.adjusted, expected!.adjusted);
    });
  }

  it('merges an Anthropic stream field by field: message_start, then message_delta', () => {
    const start = { ...ANTHROPIC, output_tokens: 1 } satisfies AnthropicUsage; // a placeholder output count
    const delta = {
      output_tokens: 321,
      input_tokens: null,
      cache_creation_input_tokens: null,
      cache_read_input_tokens: null,
      output_tokens_details: null,
      server_tool_use: null,
    } satisfies MessageDeltaUsage;
    const shape = USAGE_SHAPES.anthropicMessages;
    const counts: ProviderCounts = {};
    assert.equal(readProviderCounts(shape, start, counts), true);
    assert.equal(readProviderCounts(shape, delta, counts), true);
    assert.deepStrictEqual(counts, { input: 12, output: 321, cacheRead: 4096, cacheCreation: 2048 });
    assert.deepStrictEqual(toProviderUsage(shape, counts), mapProviderUsage(shape, ANTHROPIC));
    assert.equal(readProviderCounts(shape, { output_tokens: null }, counts), false);
    assert.equal(readProviderCounts(shape, 'junk', counts), false);
  });

  it('takes a Gemini sum when any part is there (zero counts are left out), an Anthropic one only with input', () => {
    assert.deepStrictEqual(
      mapProviderUsage(USAGE_SHAPES.gemini, { promptTokenCount: 5, thoughtsTokenCount: 7 })?.usage,
      {
        inputTokens: 5,
        outputTokens: 7,
        reasoningOutputTokens: 7,
      },
    );
    assert.equal(mapProviderUsage(USAGE_SHAPES.anthropicMessages, { cache_read_input_tokens: 5 }), undefined);
  });

  it('drops a sum that is not a safe integer, and gives no usage without an input or output count', () => {
    const huge = Number.MAX_SAFE_INTEGER;
    assert.deepStrictEqual(
      mapProviderUsage(USAGE_SHAPES.anthropicMessages, {
        input_tokens: huge,
        cache_read_input_tokens: 1,
        output_tokens: 3,
      })?.usage,
      {
        outputTokens: 3,
        cacheReadInputTokens: 1,
      },
    );
    assert.equal(
      mapProviderUsage(USAGE_SHAPES.anthropicMessages, { input_tokens: huge, cache_read_input_tokens: 1 }),
      undefined,
    );
    assert.equal(
      mapProviderUsage(USAGE_SHAPES.openaiChat, { total_tokens: 9, prompt_tokens_details: { cached_tokens: 4 } }),
      undefined,
    );
  });

  it('are frozen, and every row names its input and output counts', () => {
    assert.ok(
      Object.isFrozen(USAGE_SHAPES) && Object.isFrozen(MIXED_USAGE_SHAPES) && Object.isFrozen(FALLBACK_USAGE_SHAPES),
    );
    for (const shape of Object.values(USAGE_SHAPES)) {
      assert.ok(Object.isFrozen(shape) && Object.isFrozen(shape.paths), shape.name);
      assert.ok(shape.paths.input.length > 0 && shape.paths.output.length > 0, shape.name);
      for (const name of [...(shape.inputExcludes ?? []), ...(shape.outputExcludes ?? [])])
        assert.ok(shape.paths[name], `${shape.name}: ${name}`);
    }
  });

  it('are listed in the README, row by row with every path', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8').split('\n');
    for (const [key, shape] of Object.entries(USAGE_SHAPES)) {
      const line = readme.find((l) => l.startsWith(`  | \`${key}\``));
      assert.ok(line, key);
      for (const path of Object.values(shape.paths)) assert.ok(line.includes(`| \`${path}\` |`), `${key}: ${path}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------- property

const NAMES = PROVIDER_COUNT_NAMES;

/** A count as a provider or a buggy emitter may write it: mostly valid, sometimes junk or huge. */
const countValue = fc.oneof(
  { weight: 6, arbitrary: fc.nat(1_000_000) },
  { weight: 1, arbitrary: fc.constantFrom(Number.MAX_SAFE_INTEGER, 2 ** 52) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, '12', ' 7 ', -1, 1.5, 'many', true, [3], {}) },
);

/** A usage object of exactly one shape: some of its counts, at their paths, and keys no shape reads. */
function usageOf(shape: UsageShape, withInput: boolean): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .record({
      values: fc.array(fc.option(countValue, { nil: undefined }), { minLength: NAMES.length, maxLength: NAMES.length }),
      input: withInput ? fc.nat(1_000_000).map((n): unknown => n) : fc.option(countValue, { nil: undefined }),
      noise: fc.dictionary(
        fc.constantFrom('service_tier', 'model', 'audio_tokens', 'promptTokensDetails'),
        fc.jsonValue(),
        { maxKeys: 2 },
      ),
    })
    .map(({ values, input, noise }) => {
      const u: Record<string, unknown> = { ...noise };
      NAMES.forEach((name, i) => {
        const path = shape.paths[name];
        const value = name === 'input' ? input : values[i];
        if (path === undefined || value === undefined) return;
        const keys = path.split('.');
        let at = u;
        for (const key of keys.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
        at[keys[keys.length - 1]] = value;
      });
      return u;
    });
}

describe('extractUsage and the tap mapper', () => {
  // A fallback shape (Gemini) is read by extractUsage only when it has an input count; Gemini always sends one.
  const shapes = [
    ...MIXED_USAGE_SHAPES.map((shape) => ({ shape, withInput: false })),
    ...FALLBACK_USAGE_SHAPES.map((shape) => ({ shape, withInput: true })),
  ];
  for (const { shape, withInput } of shapes) {
    it(`agree on every ${shape.name} usage object`, () => {
      fc.assert(
        fc.property(usageOf(shape, withInput), (usage) => {
          const mapped = mapProviderUsage(shape, usage);
          const extracted = extractUsage(usage);
          const wrapped = extractUsage(shape === USAGE_SHAPES.gemini ? { usageMetadata: usage } : { usage });
          assert.deepStrictEqual(wrapped, extracted);
          if (mapped !== undefined) {
            assert.deepStrictEqual(extracted, mapped.usage);
          } else {
            // No input or output count: extractUsage may still report cache or reasoning counts alone.
            assert.equal(extracted?.inputTokens, undefined);
            assert.equal(extracted?.outputTokens, undefined);
          }
        }),
        { numRuns: 2000 },
      );
    });
  }
});
