export type { AttributePrimitive, AttributeValue, Attributes } from './types.js';
export { normalizeAttributes, isNormalized, toStringArray, ATTR_OPENINFERENCE_SPAN_KIND } from './normalize.js';
export type { NormalizeOptions } from './normalize.js';
export { compileUserRules, hasUserRuleSource, UserRulesError, USER_RULE_KINDS, MAX_USER_RULES } from './user-rules.js';
export type { UserRuleInput, UserRuleKind, UserRules, CompiledUserRule } from './user-rules.js';
export {
  normalizeSpan,
  normalizeSpanName,
  isSpanNormalized,
  hasTemplateField,
  DEFAULT_SPAN_NAME_MODE,
} from './span-name.js';
export type { NormalizeSpanOptions, SpanNameAndAttributes, SpanNameMode } from './span-name.js';
export {
  formatTemplate,
  MAX_OUTPUT_LENGTH,
  MAX_FORMAT_WIDTH,
  MAX_FORMAT_PRECISION,
  MAX_JSON_DEPTH,
} from './format-template.js';
export {
  isGenAiSpan,
  isGenAiScope,
  isInferenceSpan,
  isModelCall,
  INFERENCE_OPERATIONS,
  GENAI_SCOPE_PREFIXES,
} from './predicates.js';
export { normalizeProviderName, PROVIDER_VALUE_MAP, PROVIDER_PREFIX_MAP, SCOPE_PROVIDERS } from './providers.js';
export {
  MAPPING_RULES,
  REQUEST_TYPE_MAP,
  OPERATION_VALUE_MAP,
  OUTPUT_TYPE_MAP,
  VERCEL_PROVIDER_CALL_OPERATIONS,
} from './rules.js';
export type { MappingRule, ValueKind } from './rules.js';
export {
  extractUsage,
  extractProviderUsage,
  extractUsageFromJson,
  toTokenCount,
  USAGE_ATTRIBUTE_KEYS,
  MAX_USAGE_JSON_LENGTH,
  readProviderCounts,
  toProviderUsage,
  mapProviderUsage,
} from './usage.js';
export type { ProviderCounts, ProviderUsage } from './usage.js';
export { USAGE_SHAPES } from './provider-usage.js';
export {
  settleUsage,
  includeAnthropicCache,
  includeExcludedUsage,
  mayExcludeUsage,
  keepTelemetryUsage,
  CACHE_EXCLUDING_PROVIDERS,
  CACHE_EXCLUDING_EMITTERS,
  REASONING_EXCLUDING_PROVIDERS,
  emitterExcludesCache,
} from './usage-consistency.js';
export { ATTR_GENAI_ENRICH_USAGE_ADJUSTED, markUsageAdjusted } from './usage-adjustments.js';
export type { UsageAdjustment } from './usage-adjustments.js';
export type { EmitterScope, TelemetryUsageReason } from './usage-consistency.js';
export type { UsageShape, ProviderCountName } from './provider-usage.js';
export {
  USAGE_KEYS,
  isUsageKey,
  hasUsage,
  readUsage,
  toUsageCounts,
  applyUsage,
  applyLateUsage,
  fillMissingUsage,
  moveUsage,
  replaceUsage,
  usageDiffers,
  setAsideRepeatedUsage,
  REPEATED_USAGE_PREFIX,
  ATTR_USAGE_REPEATS,
} from './usage-attributes.js';
export type { UsageCounts } from './usage.js';
export {
  SEMCONV_VERSION,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_REQUEST_STREAM,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_TOTAL_TOKENS,
  ATTR_LOGFIRE_MSG,
  ATTR_LOGFIRE_MSG_TEMPLATE,
  ATTR_LOGFIRE_SPAN_TYPE,
  ATTR_LOGFIRE_REQUEST_DATA,
  ATTR_GENAI_ENRICH_USAGE_MOVED_TO,
  ATTR_GENAI_ENRICH_TELEMETRY_USAGE,
} from './semconv.js';
