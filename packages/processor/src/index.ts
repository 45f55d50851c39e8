export { GenAiEnrichingProcessor } from './GenAiEnrichingProcessor.js';
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
  TimedEventLike,
  UsageSource,
} from './types.js';
