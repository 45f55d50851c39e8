export { GenAiEnrichingProcessor } from './GenAiEnrichingProcessor.js';
export { usageTapFetch, isUsageTap } from './tap/fetch.js';
export type { FetchLike, UsageTapOptions } from './tap/fetch.js';
export { installUsageTap, KNOWN_PROVIDER_HOSTS } from './tap/install.js';
export type { InstallUsageTapOptions } from './tap/install.js';
export { DEFAULT_TAP_MAX_BUFFER_BYTES, UsageStreamParser } from './tap/usage-parser.js';
export type { TapBodyFormat, TapEndpoint, TapFinding } from './tap/usage-parser.js';
export {
  DEFAULT_HOLD_MILLIS,
  DEFAULT_MAX_HELD_SPANS,
  DEFAULT_MAX_PENDING_USAGE,
  DEFAULT_MAX_OPEN_MILLIS,
  DEFAULT_MAX_OPEN_SPANS,
  DEFAULT_SPAN_NAMES,
  DEFAULT_MAX_QUEUE_SIZE,
  DEFAULT_MAX_EXPORT_BATCH_SIZE,
  DEFAULT_SCHEDULED_DELAY_MILLIS,
  DEFAULT_EXPORT_TIMEOUT_MILLIS,
  validateConfig,
} from './config.js';
export { ATTR_FORCE_ENDED, ATTR_HOLD_OUTCOME, ATTR_USAGE_MISSING, ATTR_USAGE_MOVED_TO, ATTR_USAGE_SOURCE } from './attributes.js';
export type {
  Clock,
  ExportResultLike,
  GenAiEnrichingProcessorOptions,
  GenAiEnrichingProcessorStats,
  LateUsage,
  ReadableSpanLike,
  SpanExporterLike,
  SpanLike,
  SpanProcessorLike,
  TapReport,
  TimedEventLike,
  UsageSource,
} from './types.js';
