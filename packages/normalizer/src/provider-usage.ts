/*
 * Provider usage shapes: one row per API, naming where its usage object keeps each token count and how
 * those counts relate to the semconv ones. Data only; usage.ts reads usage objects by these rows, for the
 * attribute path (extractUsage: Logfire's `response_data`, `gen_ai.usage.raw`) and for the processor's
 * HTTP usage tap (which knows its endpoint, so its shape):
 *
 *   usage object ──readProviderCounts(shape)──► ProviderCounts ──toProviderUsage(shape)──► UsageCounts
 *                  (a stream that splits its usage across     (the provider's             + the provider's
 *                   events is read into one ProviderCounts)    own counts)                  total
 *
 * A new provider is a new row (and, for extractUsage, an entry in MIXED_ or FALLBACK_USAGE_SHAPES). The
 * rows follow the providers' API references; test/provider-usage.test.ts maps a real usage object of each
 * (typed by the provider's SDK where the repository has it).
 */

/** The counts a usage shape can name, in the provider's own terms. */
export type ProviderCountName =
  | 'input'
  | 'output'
  | 'cacheRead'
  | 'cacheCreation'
  | 'reasoning'
  | 'total'
  /** Gemini: tokens of tool results fed back to the model, outside its prompt count. Input-side; no semconv key. */
  | 'toolUsePrompt';

/**
 * Where a usage object keeps each count: a key of the object, or a dotted path into nested objects
 * (`prompt_tokens_details.cached_tokens`). Input and output are always named: a usage object counts as
 * found when it has either.
 */
export type UsageShapePaths = { readonly [K in ProviderCountName]?: string } & {
  readonly input: string;
  readonly output: string;
};

/** One row of the table. Read as it is when first used: a shape is not to be changed afterwards. */
export interface UsageShape {
  /** For messages and tests: `<provider>.<api>`. */
  readonly name: string;
  readonly paths: UsageShapePaths;
  /**
   * Counts the provider leaves out of its input count. Semconv's input count includes them, so they are
   * added to it (Anthropic and Bedrock: cache reads and writes; Gemini: tool-use prompt tokens).
   */
  readonly inputExcludes?: readonly ProviderCountName[];
  /** Counts the provider leaves out of its output count; added, like `inputExcludes` (Gemini: thoughts). */
  readonly outputExcludes?: readonly ProviderCountName[];
  /**
   * The provider leaves zero counts out of its JSON (protobuf's JSON mapping: Gemini). A sum is then taken
   * when any of its parts is there, a missing part counting 0; otherwise the count itself must be there.
   */
  readonly omitsZeroCounts?: boolean;
}

function row(shape: UsageShape): UsageShape {
  return Object.freeze({ ...shape, paths: Object.freeze({ ...shape.paths }) });
}

/** One row per provider usage shape. */
export const USAGE_SHAPES = Object.freeze({
  /** OpenAI Chat Completions, and embeddings (`prompt_tokens` and `total_tokens` only). Prompt includes the cache. */
  openaiChat: row({
    name: 'openai.chat',
    paths: {
      input: 'prompt_tokens',
      output: 'completion_tokens',
      cacheRead: 'prompt_tokens_details.cached_tokens',
      reasoning: 'completion_tokens_details.reasoning_tokens',
      total: 'total_tokens',
    },
  }),
  /** OpenAI Responses. Input includes the cache, output includes reasoning. */
  openaiResponses: row({
    name: 'openai.responses',
    paths: {
      input: 'input_tokens',
      output: 'output_tokens',
      cacheRead: 'input_tokens_details.cached_tokens',
      reasoning: 'output_tokens_details.reasoning_tokens',
      total: 'total_tokens',
    },
  }),
  /** Anthropic Messages: `input_tokens` leaves out cache reads and writes. No total. */
  anthropicMessages: row({
    name: 'anthropic.messages',
    paths: {
      input: 'input_tokens',
      output: 'output_tokens',
      cacheRead: 'cache_read_input_tokens',
      cacheCreation: 'cache_creation_input_tokens',
    },
    inputExcludes: ['cacheRead', 'cacheCreation'],
  }),
  /**
   * Gemini and Vertex AI `usageMetadata` (GenerateContentResponseUsageMetadata): the prompt includes cached
   * content but not the tool-use prompt (tool results fed back to the model); candidates leave out thoughts.
   * The total is the sum of all four, which is semconv's input + output.
   */
  gemini: row({
    name: 'gcp.gemini',
    paths: {
      input: 'promptTokenCount',
      output: 'candidatesTokenCount',
      cacheRead: 'cachedContentTokenCount',
      reasoning: 'thoughtsTokenCount',
      total: 'totalTokenCount',
      toolUsePrompt: 'toolUsePromptTokenCount',
    },
    inputExcludes: ['toolUsePrompt'],
    outputExcludes: ['reasoning'],
    omitsZeroCounts: true,
  }),
  /**
   * Amazon Bedrock Converse and ConverseStream `usage` (TokenUsage; ConverseStream sends it in its `metadata`
   * event): `inputTokens` leaves out cache reads and writes, as Anthropic's does (the AI SDK's Bedrock
   * provider adds them back the same way).
   */
  bedrockConverse: row({
    name: 'aws.bedrock.converse',
    paths: {
      input: 'inputTokens',
      output: 'outputTokens',
      cacheRead: 'cacheReadInputTokens',
      cacheCreation: 'cacheWriteInputTokens',
      total: 'totalTokens',
    },
    inputExcludes: ['cacheRead', 'cacheCreation'],
  }),
  /**
   * Amazon Bedrock InvokeModelWithResponseStream: the last chunk of every model family carries
   * `amazon-bedrock-invocationMetrics`, Bedrock's own counts (the same as the InvokeModel response's
   * `x-amzn-bedrock-*-token-count` headers), the input without the cache.
   */
  bedrockInvocationMetrics: row({
    name: 'aws.bedrock.invocation_metrics',
    paths: {
      input: 'inputTokenCount',
      output: 'outputTokenCount',
      cacheRead: 'cacheReadInputTokenCount',
      cacheCreation: 'cacheWriteInputTokenCount',
    },
    inputExcludes: ['cacheRead', 'cacheCreation'],
  }),
  /**
   * LangChain's `UsageMetadata`, which LangSmith writes as the JSON attribute
   * `langsmith.metadata.usage_metadata`: its details break the input and output counts down.
   */
  langchain: row({
    name: 'langchain.usage_metadata',
    paths: {
      input: 'input_tokens',
      output: 'output_tokens',
      cacheRead: 'input_token_details.cache_read',
      cacheCreation: 'input_token_details.cache_creation',
      reasoning: 'output_token_details.reasoning',
      total: 'total_tokens',
    },
  }),
});

/**
 * What extractUsage reads a usage object of unknown origin as. Proxies (LiteLLM) mix OpenAI's and
 * Anthropic's keys in one object, so these shapes are read together, count by count: each count comes
 * from the first of them, in this order, that has it.
 */
export const MIXED_USAGE_SHAPES: readonly UsageShape[] = Object.freeze([
  USAGE_SHAPES.openaiChat,
  USAGE_SHAPES.openaiResponses,
  USAGE_SHAPES.anthropicMessages,
]);

/**
 * Read by extractUsage only when the mixed shapes found no input count; the first that finds one wins. Their
 * keys are camelCase, so no mix of them with the snake_case shapes above is expected.
 */
export const FALLBACK_USAGE_SHAPES: readonly UsageShape[] = Object.freeze([
  USAGE_SHAPES.gemini,
  USAGE_SHAPES.bedrockConverse,
  USAGE_SHAPES.bedrockInvocationMetrics,
]);
