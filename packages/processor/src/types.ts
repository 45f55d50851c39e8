/*
 * Public types. The SDK shapes are declared here structurally, from `@opentelemetry/api` types only, so
 * the processor works with `@opentelemetry/sdk-trace-base` 2.x and `@opentelemetry/sdk-trace` 3.x alike
 * (their SpanProcessor, SpanExporter and ReadableSpan shapes are identical) without importing either.
 */
import type { UserRuleInput } from '@genai-enrich/normalizer';
import type {
  Attributes,
  AttributeValue,
  Context,
  HrTime,
  Link,
  MeterProvider,
  SpanContext,
  SpanKind,
  SpanStatus,
} from '@opentelemetry/api';
import type { SpanNameMode, UsageAdjustment, UsageCounts } from '@genai-enrich/normalizer';
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- named by the {@link}s below
import type { DEFAULT_METRICS_SKIP_SCOPES } from './metrics/options.js';

/** A span event, as the SDK records it. */
export interface TimedEventLike {
  time: HrTime;
  name: string;
  attributes?: Attributes;
  droppedAttributesCount?: number;
}

/** An instrumentation scope (SDK 2.x, 3.x) or library (SDK 1.x). */
export interface InstrumentationScopeLike {
  name: string;
  version?: string;
  schemaUrl?: string;
}

/** User rules as given: `{ rules: [...] }` or the array of rules (see `@genai-enrich/normalizer`'s compileUserRules). */
export type UserRulesInput = { rules: readonly UserRuleInput[] } | readonly UserRuleInput[];

/**
 * The SDK's `ReadableSpan`, as far as this package reads it. SDK 2.x and 3.x name the parent
 * `parentSpanContext` and the scope `instrumentationScope`; SDK 1.x names them `parentSpanId` and
 * `instrumentationLibrary`. sdk-compat.ts reads whichever the span has.
 */
export interface ReadableSpanLike {
  readonly name: string;
  readonly kind: SpanKind;
  readonly spanContext: () => SpanContext;
  readonly parentSpanContext?: SpanContext;
  /** SDK 1.x. */
  readonly parentSpanId?: string;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  readonly links: Link[];
  readonly events: TimedEventLike[];
  readonly ended: boolean;
  readonly instrumentationScope?: InstrumentationScopeLike;
  /** SDK 1.x. */
  readonly instrumentationLibrary?: InstrumentationScopeLike;
  // resource, duration and dropped counts are passed through untouched.
}

/** The SDK's writable `Span` handed to `onStart`/`onEnding`, as far as this package uses it. */
export interface SpanLike extends ReadableSpanLike {
  setAttribute(key: string, value: AttributeValue): this;
  setAttributes(attributes: Attributes): this;
  end(endTime?: HrTime | number | Date): void;
}

/** The SDK's `ExportResult`: `code` 0 is SUCCESS, 1 is FAILED. */
export interface ExportResultLike {
  code: number;
  error?: Error;
}

/** The SDK's `SpanExporter`. */
export interface SpanExporterLike {
  export(spans: ReadableSpanLike[], resultCallback: (result: ExportResultLike) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

/** The SDK's `SpanProcessor`. */
export interface SpanProcessorLike {
  onStart(span: SpanLike, parentContext: Context): void;
  onEnding?(span: SpanLike): void;
  onEnd(span: ReadableSpanLike): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Late token usage, in semconv terms (input includes cached input, output includes reasoning). */
export type LateUsage = UsageCounts;

/** Where the usage a span was exported with came from (`genai_enrich.usage_source`). */
export type UsageSource =
  | 'telemetry'
  | 'late_span'
  | 'span_event'
  | 'record_usage'
  | 'late_attribute'
  | 'sibling_record'
  /** The HTTP usage tap read the provider's own usage: all of it, or over telemetry numbers that differed. */
  | 'http_tap'
  /** The instrumentation set some counts and the HTTP usage tap filled the rest (e.g. cache or reasoning). */
  | 'telemetry+http_tap';

/**
 * What the HTTP usage tap read in one provider response, in semconv terms. `spanKey` is the trace id and
 * span id of the span that was active when the request was made: spans without a response id join by it.
 */
export interface TapReport {
  readonly responseId: string | undefined;
  readonly spanKey: string | undefined;
  readonly model: string | undefined;
  readonly usage: UsageCounts;
  readonly totalTokens: number | undefined;
  /** The response was a stream (SSE): some instrumentations estimate a stream's usage instead of reading it. */
  readonly streamed?: boolean;
  /**
   * What the provider's usage row added to its input or output count (Anthropic's and Bedrock's cache, Gemini's
   * thoughts), written to the span as `genai_enrich.usage_adjusted` where its counts are the ones used.
   */
  readonly adjusted?: readonly UsageAdjustment[];
  /**
   * The span object that was active when the request was made. While the watchdog still tracks it as
   * open, the report waits for it past `holdMillis` (an abandoned stream's span ends only when the
   * watchdog ends it). Only compared by identity, never read.
   */
  readonly activeSpan?: object;
}

/** Time source and timers, replaceable for tests. */
export interface Clock {
  /** Milliseconds on a monotonic-enough clock. */
  now(): number;
  setTimeout(callback: () => void, ms: number): { unref?(): unknown };
  clearTimeout(handle: { unref?(): unknown }): void;
}

/** Options of {@link GenAiEnrichingProcessor}; every field is optional. */
export interface GenAiEnrichingProcessorOptions {
  /**
   * How long an ended GenAI inference span without token usage is held for late usage, in ms. A Logfire
   * streaming record arrives as long after its request span as the stream lasts, tens of seconds for long
   * answers, so the default covers a one-minute stream. The default value is 60000.
   */
  holdMillis?: number;
  /** The most spans held at once; the oldest is forwarded (evicted) when full. The default value is 4096. */
  maxHeldSpans?: number;
  /**
   * The most bytes of spans held at once, as estimated from the lengths of their names, attribute keys and
   * values, events and links (about what the span keeps on the heap). The oldest are forwarded (evicted) to
   * make room; a span larger than this on its own is not held. The default value is 33554432 (32 MiB).
   */
  maxHeldBytes?: number;
  /**
   * Late usage that arrives before its span has ended (through `recordUsage` or a span event) waits this
   * many entries at most. The default value is 4096.
   */
  maxPendingUsage?: number;
  /**
   * A GenAI span still open after this many ms is ended by the processor (`genai_enrich.force_ended`).
   * The openai client's default request timeout is 10 minutes, so no call it makes can legitimately stay
   * open longer. The default value is 600000.
   */
  maxOpenMillis?: number;
  /**
   * The most open GenAI spans the watchdog tracks; beyond it, new spans are not watched. The default value is 10000.
   */
  maxOpenSpans?: number;
  /** Keep legacy attributes after mapping them to canonical keys. The default value is `false`. */
  keepLegacyAttributes?: boolean;
  /** How span names are rewritten. The default value is `'fix-templates'`. */
  spanNames?: SpanNameMode;
  /**
   * Capture `setAttribute`/`setAttributes` calls made on a GenAI span after `end()`, which the SDK drops,
   * and merge them into the held span. Patches those span instances only. The default value is `true`.
   */
  captureLateAttributes?: boolean;
  /**
   * Count each call's usage once per trace: a span whose usage repeats the usage of its descendants (an
   * agent, chain or workflow total; an SDK's outer span) or of a twin span of the same call has it moved to
   * `genai_enrich.repeated_usage.*`, so that summing `gen_ai.usage.*` over a trace gives the bill. `false`
   * keeps such usage in place, for consumers that handle agent spans themselves. The default value is `true`.
   */
  countUsageOnce?: boolean;
  /** Exporter mode only: the most spans queued for export; more are dropped and counted. The default value is 2048. */
  maxQueueSize?: number;
  /** Exporter mode only: the most spans in one export call. The default value is 512. */
  maxExportBatchSize?: number;
  /** Exporter mode only: the delay between two scheduled exports, in ms. The default value is 5000. */
  scheduledDelayMillis?: number;
  /** Exporter mode only: how long one export may take before it counts as failed, in ms. The default value is 30000. */
  exportTimeoutMillis?: number;
  /**
   * Key mappings and value maps for an emitter the built-in rules do not know: `{ rules: [{ source,
   * target, kind?, values? }] }` (or the array), as data. Applied before the built-in rules; a span with a
   * rule's source key counts as GenAI. Invalid rules are reported (validateConfig) and ignored. The default is none.
   */
  rules?: UserRulesInput;
  /**
   * The longest `forceFlush()` and `shutdown()` wait for `next` (its flush, or the exports of what is
   * queued), in ms; then they resolve, and the spans not yet exported are reported (diag, and
   * `stats().flushTimeouts`). The default value is 30000.
   */
  flushTimeoutMillis?: number;
  /**
   * Metrics, off by default: the GenAI client metrics of the conventions, recorded from each model-call span
   * as it leaves (after joins, the usage tap and counting once), and `stats()` as observable instruments.
   * See {@link GenAiEnrichingProcessorMetricsOptions}.
   */
  metrics?: GenAiEnrichingProcessorMetricsOptions;
  /** @internal Time source and timers; tests pass a fake one. The default is the system clock. */
  clock?: Clock;
}

/**
 * Where and what the processor records. Give `meterProvider`, or `global: true` for the global one
 * (`metrics.getMeterProvider()` of `@opentelemetry/api`, looked up again until one is registered, so the
 * processor may be made before `NodeSDK.start()` sets it).
 */
export interface GenAiEnrichingProcessorMetricsOptions {
  /** The MeterProvider to record with (`@opentelemetry/sdk-metrics`' or any other). */
  meterProvider?: MeterProvider;
  /** Record with the global MeterProvider. Not together with `meterProvider`. The default value is `false`. */
  global?: boolean;
  /**
   * `gen_ai.client.token.usage` and `gen_ai.client.operation.duration` (and the cache and reasoning
   * counters) from each model-call span. The default value is `true`.
   */
  genAi?: boolean;
  /** `stats()` as `genai_enrich.processor.*` observable counters and up-down counters. The default value is `true`. */
  stats?: boolean;
  /**
   * Instrumentation scope names whose spans get no GenAI metrics from the processor, because the
   * instrumentation records the same metrics itself: counting them here too would count each call twice.
   * `[]` records every call (drop the instrumentation's own metrics with a View then). The default value is
   * {@link DEFAULT_METRICS_SKIP_SCOPES}.
   */
  skipScopes?: readonly string[];
}

/** Counters and gauges from {@link GenAiEnrichingProcessor.stats}. */
export interface GenAiEnrichingProcessorStats {
  /** Spans that entered `onEnd` before shutdown. `received = forwarded + held + awaitingDescendants`. */
  received: number;
  /** Spans handed to `next` (exactly once each). */
  forwarded: number;
  /** Spans held now, waiting for usage (a gauge). */
  held: number;
  /** The estimated bytes of the spans held now (a gauge), at most `maxHeldBytes`. */
  heldBytes: number;
  /** Spans ever held. `holds = joined + expired + evicted + flushed + held`. */
  holds: number;
  /** Held spans released because late usage joined them. */
  joined: number;
  /** Held spans forwarded without usage after `holdMillis`. */
  expired: number;
  /**
   * Held spans forwarded without usage because `maxHeldSpans` or `maxHeldBytes` was reached, or because a
   * span with the same ids and another response id replaced them.
   */
  evicted: number;
  /** Held spans forwarded by `forceFlush` or `shutdown`. */
  flushed: number;
  /** Spans whose usage moved to the span they completed (LiteLLM callback spans, Logfire streaming records). */
  carriers: number;
  /** Late usage waiting for its span to end (a gauge). */
  pendingUsage: number;
  /** Late usage that never found its span. */
  pendingUsageExpired: number;
  /** Late usage dropped because `maxPendingUsage` was reached. */
  pendingUsageDropped: number;
  /** Attribute writes captured after a span's `end()`. */
  lateAttributes: number;
  /** GenAI spans ended by the watchdog. */
  forceEnded: number;
  /** Open GenAI spans watched now (a gauge). */
  open: number;
  /** GenAI spans not watched because `maxOpenSpans` was reached. */
  openUnwatched: number;
  /** Exporter mode: spans dropped because the export queue was full. */
  queueDropped: number;
  /** `forceFlush()` and `shutdown()` calls that stopped waiting for `next` at `flushTimeoutMillis`. */
  flushTimeouts: number;
  /** Usage reports from the HTTP usage tap. `tapReports = tapUsed + tapSuperseded + tapUnmatched + tapPending`. */
  tapReports: number;
  /** Tap reports that supplied usage to a span (all of it, or the counts telemetry lacked). */
  tapUsed: number;
  /** Tap reports not needed: the span's telemetry already carried every count the tap had. */
  tapSuperseded: number;
  /**
   * Of `tapUsed`: reports whose numbers differed from the span's telemetry. The provider's numbers were put
   * on the span; telemetry's are in `genai_enrich.telemetry_usage`.
   */
  tapDisagreed: number;
  /**
   * Tap reports that found no span: no key, a second report for one span, `maxPendingUsage` reached, `holdMillis`
   * passed, or the span ended as no inference span.
   */
  tapUnmatched: number;
  /** Tap reports waiting for their span to end (a gauge). */
  tapPending: number;
  /**
   * Spans whose usage repeated usage counted on other spans of the trace (their descendants, or a twin of
   * the same call), set aside under `genai_enrich.repeated_usage.*`.
   */
  usageRepeated: number;
  /** Spans with usage waiting for their descendants to be accounted for (a gauge). */
  awaitingDescendants: number;
  /**
   * Spans the count-once rule could not follow because it already tracked `maxOpenSpans + maxHeldSpans`
   * spans: they leave as they are, and an aggregate among them may count twice.
   */
  usageUnaccounted: number;
  /** Failed exports, `next` calls that threw, and internal errors. */
  errors: number;
}
