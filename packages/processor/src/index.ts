/*
 * @genai-enrich/processor: the public API. One processor class and its options; the HTTP usage tap that
 * feeds it; the defaults and attribute names users configure and query by; the structural SDK types that
 * say what `next` may be. Everything else is internal (see ./internal.ts for what the repository's own
 * relay, demo and benches reach through `@genai-enrich/processor/internal`).
 */
export { GenAiEnrichingProcessor } from './GenAiEnrichingProcessor.js';
export type {
  GenAiEnrichingProcessorMetricsOptions,
  GenAiEnrichingProcessorOptions,
  GenAiEnrichingProcessorStats,
  LateUsage,
  UserRulesInput,
  UsageSource,
} from './types.js';
export {
  DEFAULT_HOLD_MILLIS,
  DEFAULT_MAX_HELD_SPANS,
  DEFAULT_MAX_HELD_BYTES,
  DEFAULT_MAX_PENDING_USAGE,
  DEFAULT_MAX_OPEN_MILLIS,
  DEFAULT_MAX_OPEN_SPANS,
  DEFAULT_SPAN_NAMES,
  DEFAULT_MAX_QUEUE_SIZE,
  DEFAULT_MAX_EXPORT_BATCH_SIZE,
  DEFAULT_SCHEDULED_DELAY_MILLIS,
  DEFAULT_EXPORT_TIMEOUT_MILLIS,
  DEFAULT_FLUSH_TIMEOUT_MILLIS,
  DEFAULT_METRICS_SKIP_SCOPES,
  validateConfig,
} from './config.js';
export {
  ATTR_FORCE_ENDED,
  ATTR_HOLD_OUTCOME,
  ATTR_USAGE_MISSING,
  ATTR_USAGE_MOVED_TO,
  ATTR_USAGE_REPEATS,
  ATTR_USAGE_SOURCE,
  REPEATED_USAGE_PREFIX,
} from './attributes.js';

// The metrics it records (the `metrics` option): names for Views and dashboards.
export {
  METRIC_GEN_AI_CLIENT_CACHE_READ_INPUT_TOKENS,
  METRIC_GEN_AI_CLIENT_CACHE_WRITE_INPUT_TOKENS,
  METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  METRIC_GEN_AI_CLIENT_REASONING_OUTPUT_TOKENS,
  METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
  OPERATION_DURATION_BUCKETS,
  TOKEN_USAGE_BUCKETS,
} from './metrics/genai-metrics.js';
export { PROCESSOR_METER_NAME } from './metrics/processor-metrics.js';
export { PROCESSOR_METRIC_PREFIX, STATS_METRICS } from './metrics/stats-metrics.js';
export type { StatsMetric } from './metrics/stats-metrics.js';

// The HTTP usage tap.
export { usageTapFetch, isUsageTap } from './tap/fetch.js';
export type { FetchLike, UsageTapOptions } from './tap/fetch.js';
export { installUsageTap, KNOWN_PROVIDER_HOSTS } from './tap/install.js';
export type { InstallUsageTapOptions } from './tap/install.js';
export { DEFAULT_TAP_MAX_BUFFER_BYTES } from './tap/usage-parser.js';

// What `next` may be, typed structurally so that one build serves SDK 1.x, 2.x and 3.x.
export type {
  ExportResultLike,
  InstrumentationScopeLike,
  ReadableSpanLike,
  SpanExporterLike,
  SpanLike,
  SpanProcessorLike,
  TimedEventLike,
} from './types.js';
