/*
 * GenAiEnrichingProcessor: hold → join → normalize → forward, every span exactly once.
 *
 *   onStart ─── GenAI span? ── watch it (open, maxOpenMillis) and catch setAttribute after end()
 *   onEnding ── GenAI span? ── normalize in place while the span is still writable (SDK ≥ 2.3)
 *   onEnd ───── not GenAI ─────────────────────────────────────────────────────────► forward
 *               GenAI: normalize (if onEnding did not) and harvest what it carries:
 *                 gen_ai.response.id + usage (span or event) ─► join the held span with that id,
 *                                                               or wait as pending usage
 *                 Logfire "streaming response from …" record ─► join the nearest held sibling
 *                                                               (same trace, parent and model)
 *               inference span with usage ─► tap report for it? ─► fill missing counts ─► forward
 *               inference span without usage ─► pending usage, or a tap report, for it? ─► apply ─► forward
 *                                             └─► HOLD ────────────────────┐
 *   HTTP usage tap (processor.fetch) ─► _onTapReport: by response id, then by the span that was active
 *               when the request was made ─► the held span, or wait for that span to end (pending)
 *   held ─┬─ usage joins (late span, event, recordUsage, tap, late setAttribute, sibling) ► forward [joined]
 *         ├─ holdMillis passes ──────────────────────────── ► forward, usage_missing    [expired]
 *         ├─ maxHeldSpans reached, oldest first ──────────── ► forward, usage_missing    [evicted]
 *         └─ forceFlush / shutdown ───────────────────────── ► forward                   [flushed]
 *   watchdog: a GenAI span open longer than maxOpenMillis ─► force_ended=true, end() ─► onEnd above
 *
 * Holds, pending usage, tap reports and watched spans all share one deadline rule (a constant delay from
 * insertion), so each lives in an insertion-ordered Map whose first entry is its earliest deadline, and a
 * single unref()ed timer serves the earliest of them. A tap report for a span still open waits with that
 * span instead (its end, forced by the watchdog if need be, takes it).
 *
 * `next` is a SpanProcessor (delegated to) or a SpanExporter (batched here, as BatchSpanProcessor does).
 * Nothing here throws into the SDK: failures are counted in stats().errors and reported once via diag.
 */
import { diag } from '@opentelemetry/api';
import type { Attributes, AttributeValue, Context } from '@opentelemetry/api';
import {
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_TOTAL_TOKENS,
  ATTR_LOGFIRE_MSG_TEMPLATE,
  ATTR_LOGFIRE_REQUEST_DATA,
  ATTR_LOGFIRE_SPAN_TYPE,
  USAGE_ATTRIBUTE_KEYS,
  isGenAiScope,
  isGenAiSpan,
  isInferenceSpan,
  isSpanNormalized,
  normalizeAttributes,
  normalizeSpan,
  readUsage,
  toTokenCount,
} from '@genai-enrich/normalizer';
import type { NormalizeSpanOptions, UsageCounts } from '@genai-enrich/normalizer';
import {
  ATTR_FORCE_ENDED,
  ATTR_HOLD_OUTCOME,
  ATTR_USAGE_MISSING,
  ATTR_USAGE_MOVED_TO,
  ATTR_USAGE_SOURCE,
} from './attributes.js';
import { resolveConfig, validateConfig } from './config.js';
import type { ResolvedConfig } from './config.js';
import { ExportBatcher } from './export-batcher.js';
import { usageTapFetch } from './tap/fetch.js';
import type { FetchLike } from './tap/fetch.js';
import type {
  GenAiEnrichingProcessorOptions,
  GenAiEnrichingProcessorStats,
  LateUsage,
  ReadableSpanLike,
  SpanExporterLike,
  SpanLike,
  SpanProcessorLike,
  TapReport,
  UsageSource,
} from './types.js';

/** A held span and the keys it can be joined by. */
interface Held {
  readonly span: ReadableSpanLike;
  readonly key: string;
  readonly deadline: number;
  readonly responseId: string | undefined;
  /** `traceId/parentSpanId`: where a Logfire sibling record of this span would be. */
  readonly siblingKey: string;
  /**
   * A root-level Logfire request span's `request_data`. With no enclosing span, Logfire starts the stream
   * record in a new trace, so the record finds its request span by the request it repeats instead.
   */
  readonly requestKey: string | undefined;
  readonly model: unknown;
}

/** Late usage that arrived before its span ended. */
interface Pending {
  readonly usage: UsageCounts;
  readonly source: UsageSource;
  readonly deadline: number;
}

/** A tap report waiting for its span to end, findable by span key and by response id. */
interface TapPending {
  readonly report: TapReport;
  readonly key: string;
  readonly deadline: number;
}

/** Per-span state for GenAI spans seen in onStart, stored on the span under a private symbol. */
interface SpanState {
  readonly processor: GenAiEnrichingProcessor;
  readonly setAttribute: SpanLike['setAttribute'];
  readonly setAttributes: SpanLike['setAttributes'];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const STATE: unique symbol = Symbol('genai-enrich span state');
type StatefulSpan = SpanLike & { [STATE]?: SpanState };
const NORMALIZED: unique symbol = Symbol('genai-enrich normalized');
type MarkedSpan = ReadableSpanLike & { [NORMALIZED]?: boolean };
const MAX_CACHED_SCOPES = 1024;

const USAGE_KEYS: readonly string[] = [...Object.values(USAGE_ATTRIBUTE_KEYS), ATTR_GEN_AI_USAGE_TOTAL_TOKENS];
const USAGE_KEY_SET: ReadonlySet<string> = new Set(USAGE_KEYS);
const LOGFIRE_STREAM_TEMPLATE_PREFIX = 'streaming response from ';

/**
 * A SpanProcessor that fixes GenAI spans on their way out: it holds inference spans whose token usage is
 * missing for a bounded grace window, joins late usage (keyed by `gen_ai.response.id`, the Logfire
 * streaming record, `recordUsage`, or attributes set after `end()`), normalizes attributes and names to
 * the GenAI semantic conventions v1.41, ends GenAI spans that were never ended, and forwards every span
 * exactly once to `next`.
 *
 * Register it in the provider's `spanProcessors` (SDK 2.x and 3.x have no `addSpanProcessor`):
 * `new NodeTracerProvider({ spanProcessors: [new GenAiEnrichingProcessor(new OTLPTraceExporter())] })`.
 *
 * ⚠ Stateful: held spans live in memory. Call `forceFlush()` or `shutdown()` before the process exits,
 * or they are lost with it.
 */
export class GenAiEnrichingProcessor implements SpanProcessorLike {
  private readonly _config: ResolvedConfig;
  private readonly _normalizeOptions: NormalizeSpanOptions;
  private readonly _processor: SpanProcessorLike | undefined;
  private readonly _batcher: ExportBatcher | undefined;
  private readonly _held = new Map<string, Held>();
  private readonly _heldByResponseId = new Map<string, Held>();
  private readonly _heldBySibling = new Map<string, Held[]>();
  private readonly _heldByLogfireRequest = new Map<string, Held[]>();
  private readonly _pending = new Map<string, Pending>();
  /** Tap reports by span key (or `id:` + response id when no span was active), in deadline order. */
  private readonly _tapPending = new Map<string, TapPending>();
  private readonly _tapPendingById = new Map<string, TapPending>();
  /** Tap reports for spans that were still open (watched) when the report came; taken when they end. */
  private readonly _tapForOpen = new Map<SpanLike, TapReport>();
  private readonly _open = new Map<SpanLike, number>();
  /** Scope name → whether it is a GenAI instrumentation; spans of one tracer share a scope. */
  private readonly _scopes = new Map<string, boolean>();
  private _lastScope: object | undefined;
  private _lastScopeGenAi = false;
  // onEnd follows the same span's onEnding synchronously: remember that verdict instead of rescanning.
  private _lastEnding: object | undefined;
  private _lastEndingGenAi = false;
  private readonly _stats: GenAiEnrichingProcessorStats = {
    received: 0,
    forwarded: 0,
    held: 0,
    holds: 0,
    joined: 0,
    expired: 0,
    evicted: 0,
    flushed: 0,
    carriers: 0,
    pendingUsage: 0,
    pendingUsageExpired: 0,
    pendingUsageDropped: 0,
    lateAttributes: 0,
    forceEnded: 0,
    open: 0,
    openUnwatched: 0,
    queueDropped: 0,
    tapReports: 0,
    tapUsed: 0,
    tapSuperseded: 0,
    tapUnmatched: 0,
    tapPending: 0,
    errors: 0,
  };
  private _timer: { unref?(): unknown } | undefined;
  private _timerDeadline = Infinity;
  private _shutdownPromise: Promise<void> | undefined;
  private readonly _reported = new Set<string>();
  private _fetch: FetchLike | undefined;

  /**
   * @param next the exporter (batched here) or processor (delegated to) that receives every span.
   * @param options see {@link GenAiEnrichingProcessorOptions}; invalid values are reported through
   *   `diag.warn` (naming each option and value) and replaced by their defaults.
   */
  constructor(next: SpanExporterLike | SpanProcessorLike, options?: GenAiEnrichingProcessorOptions) {
    const problems = validateConfig(options);
    if (problems.length > 0) diag.warn(`GenAiEnrichingProcessor: invalid options, defaults used instead: ${problems.join('; ')}`);
    this._config = resolveConfig(options);
    this._normalizeOptions = {
      keepLegacyAttributes: this._config.keepLegacyAttributes,
      spanNames: this._config.spanNames,
    };
    if (next !== null && typeof next === 'object' && typeof (next as SpanProcessorLike).onEnd === 'function') {
      this._processor = next as SpanProcessorLike;
    } else if (next !== null && typeof next === 'object' && typeof (next as SpanExporterLike).export === 'function') {
      const c = this._config;
      this._batcher = new ExportBatcher(next as SpanExporterLike, {
        maxQueueSize: c.maxQueueSize,
        maxExportBatchSize: c.maxExportBatchSize,
        scheduledDelayMillis: c.scheduledDelayMillis,
        exportTimeoutMillis: c.exportTimeoutMillis,
        clock: c.clock,
        onError: (error) => this._error('export', error),
      });
    } else {
      diag.error('GenAiEnrichingProcessor: next is neither a SpanExporter nor a SpanProcessor; spans go nowhere');
    }
  }

  /**
   * A `fetch` that reads token usage off LLM provider responses for this processor, over
   * `globalThis.fetch`: `new OpenAI({ fetch: processor.fetch })`. See `usageTapFetch` for the options.
   */
  get fetch(): FetchLike {
    return (this._fetch ??= usageTapFetch(this));
  }

  /** Notes open GenAI spans for the watchdog and catches attribute writes after `end()`. */
  onStart(span: SpanLike, parentContext: Context): void {
    try {
      if (this._shutdownPromise === undefined && this._isGenAi(span)) {
        this._watch(span);
        if (this._config.captureLateAttributes) this._patch(span as StatefulSpan);
      }
    } catch (error) {
      this._error('onStart', error);
    }
    if (this._processor !== undefined) {
      try {
        this._processor.onStart(span, parentContext);
      } catch (error) {
        this._error('next.onStart', error);
      }
    }
  }

  /** Normalizes GenAI spans in place while the SDK still lets them be written (SDK ≥ 2.3). */
  onEnding(span: SpanLike): void {
    try {
      const genAi = this._isGenAi(span);
      this._lastEnding = span;
      this._lastEndingGenAi = genAi;
      if (genAi) this._normalize(span);
    } catch (error) {
      this._error('onEnding', error);
    }
    if (this._processor?.onEnding !== undefined) {
      try {
        this._processor.onEnding(span);
      } catch (error) {
        this._error('next.onEnding', error);
      }
    }
  }

  /** Holds, joins or forwards the span; see the data flow at the top of this file. */
  onEnd(span: ReadableSpanLike): void {
    if (this._shutdownPromise !== undefined) return;
    this._stats.received++;
    let done = false;
    let openTap: TapReport | undefined;
    try {
      if (this._open.size > 0) this._open.delete(span as SpanLike);
      if (this._tapForOpen.size > 0) {
        openTap = this._tapForOpen.get(span as SpanLike);
        if (openTap !== undefined) this._tapForOpen.delete(span as SpanLike);
      }
      const genAi = this._lastEnding === span ? this._lastEndingGenAi : this._isGenAi(span);
      this._lastEnding = undefined;
      if (!genAi) {
        done = true;
        this._forward(span);
        return;
      }
      if ((span as MarkedSpan)[NORMALIZED] !== true) this._normalize(span);
      const attributes = span.attributes;
      this._harvestEvents(span);
      const responseId = attributes[ATTR_GEN_AI_RESPONSE_ID];
      const own = typeof responseId === 'string' && responseId.length > 0 ? responseId : undefined;
      // A carrier has given its usage away; it is forwarded as it is, never held itself.
      const target =
        own !== undefined && hasUsage(attributes)
          ? this._heldByResponseId.get(own)
          : this._isLogfireStreamRecord(attributes)
            ? this._findSibling(span)
            : undefined;
      if (target !== undefined) {
        this._joinFromCarrier(target, span, own !== undefined ? 'late_span' : 'sibling_record');
        done = true;
        this._forward(span);
        return;
      }
      if (!isInferenceSpan(attributes)) {
        done = true;
        this._forward(span);
        return;
      }
      const tap = openTap ?? (this._tapPending.size > 0 ? this._takeTap(span, own) : undefined);
      openTap = undefined;
      if (hasUsage(attributes)) {
        if (attributes[ATTR_USAGE_SOURCE] === undefined) setAttr(span, ATTR_USAGE_SOURCE, 'telemetry');
        if (tap !== undefined) this._fillFromTap(span, tap);
        done = true;
        this._forward(span);
        return;
      }
      const pending = own === undefined ? undefined : this._pending.get(own);
      if (pending !== undefined) {
        this._pending.delete(own!);
        applyLateUsage(span, pending.usage, pending.source);
        if (tap !== undefined) this._fillFromTap(span, tap);
        done = true;
        this._forward(span);
        return;
      }
      if (tap !== undefined) {
        this._applyTap(span, tap);
        done = true;
        this._forward(span);
        return;
      }
      done = true;
      this._hold(span, own);
    } catch (error) {
      this._error('onEnd', error);
      if (!done) this._forward(span);
    } finally {
      // The span the report was for ended as something that takes no usage.
      if (openTap !== undefined) this._stats.tapUnmatched++;
    }
  }

  /**
   * Supplies usage for the span whose `gen_ai.response.id` is `responseId`. A held span is completed and
   * forwarded; usage for a span that has not ended yet waits up to `holdMillis` (bounded by
   * `maxPendingUsage`). Counts the span already set keep their value. Never throws.
   */
  recordUsage(responseId: string, usage: LateUsage): void {
    try {
      if (this._shutdownPromise !== undefined || typeof responseId !== 'string' || responseId.length === 0) return;
      const clean = cleanUsage(usage);
      if (clean === undefined) return;
      this._deliver(responseId, clean, 'record_usage');
    } catch (error) {
      this._error('recordUsage', error);
    }
  }

  /**
   * @internal Usage the HTTP usage tap read in a provider response (see `usageTapFetch`). Completes the
   * held span it belongs to (by response id, then by the span that was active when the request was made),
   * or waits for that span to end: up to `holdMillis`, or as long as the watchdog keeps it open. Counts
   * telemetry set keep their value. Never throws.
   */
  _onTapReport(raw: TapReport): void {
    try {
      if (this._shutdownPromise !== undefined || raw === null || typeof raw !== 'object') return;
      const usage = cleanUsage(raw.usage);
      if (usage === undefined) return;
      const id = typeof raw.responseId === 'string' && raw.responseId.length > 0 ? raw.responseId : undefined;
      const report: TapReport = {
        responseId: id,
        spanKey: typeof raw.spanKey === 'string' && raw.spanKey.length > 0 ? raw.spanKey : undefined,
        model: typeof raw.model === 'string' ? raw.model : undefined,
        usage,
        totalTokens: toTokenCount(raw.totalTokens),
        ...(raw.activeSpan !== null && typeof raw.activeSpan === 'object' ? { activeSpan: raw.activeSpan } : {}),
      };
      this._stats.tapReports++;
      const held = (id !== undefined ? this._heldByResponseId.get(id) : undefined) ?? (report.spanKey !== undefined ? this._held.get(report.spanKey) : undefined);
      if (held !== undefined) {
        this._applyTap(held.span, report);
        this._release(held, 'joined');
        return;
      }
      // A span still open (an abandoned stream's span ends only when the watchdog ends it) keeps its report
      // until it ends, however long that takes; the watchdog bounds it.
      const open = report.activeSpan as SpanLike | undefined;
      if (open !== undefined && this._open.has(open)) {
        if (this._tapForOpen.has(open)) this._stats.tapUnmatched++;
        else this._tapForOpen.set(open, report);
        return;
      }
      const key = report.spanKey ?? (id !== undefined ? 'id:' + id : undefined);
      if (key === undefined || this._tapPending.has(key) || (id !== undefined && this._tapPendingById.has(id))) {
        // No key to join by, or a first report for this span already waits (the first wins).
        this._stats.tapUnmatched++;
        return;
      }
      if (this._tapPending.size >= this._config.maxPendingUsage) {
        this._stats.tapUnmatched++;
        this._reportOnce('tap-pending-full', 'GenAiEnrichingProcessor: maxPendingUsage reached; HTTP tap usage is being dropped');
        return;
      }
      const entry: TapPending = { report, key, deadline: this._config.clock.now() + this._config.holdMillis };
      this._tapPending.set(key, entry);
      if (id !== undefined) this._tapPendingById.set(id, entry);
      this._schedule(entry.deadline);
    } catch (error) {
      this._error('tap report', error);
    }
  }

  /**
   * A snapshot of the counters; `received = forwarded + held`, `holds = joined + expired + evicted + flushed + held`
   * and `tapReports = tapUsed + tapSuperseded + tapUnmatched + tapPending`.
   */
  stats(): GenAiEnrichingProcessorStats {
    const s = { ...this._stats };
    s.held = this._held.size;
    s.open = this._open.size;
    s.pendingUsage = this._pending.size;
    s.tapPending = this._tapPending.size + this._tapForOpen.size;
    s.queueDropped = this._batcher?.dropped ?? 0;
    return s;
  }

  /** Forwards every held span (without waiting for usage), then flushes `next`. */
  async forceFlush(): Promise<void> {
    if (this._shutdownPromise !== undefined) return this._shutdownPromise;
    this._releaseAll();
    try {
      if (this._processor !== undefined) await this._processor.forceFlush();
      else if (this._batcher !== undefined) await this._batcher.forceFlush();
    } catch (error) {
      this._error('next.forceFlush', error);
    }
  }

  /** Once: stops the timer, forwards every held span, drops pending usage, then shuts `next` down. */
  shutdown(): Promise<void> {
    if (this._shutdownPromise === undefined) this._shutdownPromise = this._shutdown();
    return this._shutdownPromise;
  }

  private async _shutdown(): Promise<void> {
    this._clearTimer();
    this._releaseAll();
    this._stats.pendingUsageExpired += this._pending.size;
    this._pending.clear();
    this._stats.tapUnmatched += this._tapPending.size + this._tapForOpen.size;
    this._tapPending.clear();
    this._tapForOpen.clear();
    this._tapPendingById.clear();
    this._open.clear();
    try {
      if (this._processor !== undefined) await this._processor.shutdown();
      else if (this._batcher !== undefined) await this._batcher.shutdown();
    } catch (error) {
      this._error('next.shutdown', error);
    }
  }

  // ── holding ──────────────────────────────────────────────────────────────────────────────────────

  private _hold(span: ReadableSpanLike, responseId: string | undefined): void {
    if (this._held.size >= this._config.maxHeldSpans) {
      const oldest = this._held.values().next().value as Held;
      this._release(oldest, 'evicted');
    }
    const ctx = span.spanContext();
    const held: Held = {
      span,
      key: ctx.traceId + ctx.spanId,
      deadline: this._config.clock.now() + this._config.holdMillis,
      responseId,
      siblingKey: ctx.traceId + '/' + (span.parentSpanContext?.spanId ?? ''),
      requestKey: logfireRootRequest(span),
      model: span.attributes[ATTR_GEN_AI_REQUEST_MODEL],
    };
    this._held.set(held.key, held);
    if (responseId !== undefined) this._heldByResponseId.set(responseId, held);
    addToIndex(this._heldBySibling, held.siblingKey, held);
    if (held.requestKey !== undefined) addToIndex(this._heldByLogfireRequest, held.requestKey, held);
    this._stats.holds++;
    this._schedule(held.deadline);
  }

  /** Removes a held span from every index and forwards it. */
  private _release(held: Held, outcome: 'joined' | 'expired' | 'evicted' | 'flushed'): void {
    if (this._held.get(held.key) !== held) return;
    this._held.delete(held.key);
    if (held.responseId !== undefined && this._heldByResponseId.get(held.responseId) === held) {
      this._heldByResponseId.delete(held.responseId);
    }
    removeFromIndex(this._heldBySibling, held.siblingKey, held);
    if (held.requestKey !== undefined) removeFromIndex(this._heldByLogfireRequest, held.requestKey, held);
    this._stats[outcome]++;
    setAttr(held.span, ATTR_HOLD_OUTCOME, outcome);
    if (outcome !== 'joined' && !hasUsage(held.span.attributes)) setAttr(held.span, ATTR_USAGE_MISSING, true);
    this._forward(held.span);
  }

  private _releaseAll(): void {
    for (const held of [...this._held.values()]) this._release(held, 'flushed');
  }

  /** Routes usage keyed by response id: into the held span, or pending until the span ends. */
  private _deliver(responseId: string, usage: UsageCounts, source: UsageSource): void {
    const held = this._heldByResponseId.get(responseId);
    if (held !== undefined) {
      applyLateUsage(held.span, usage, source);
      this._release(held, 'joined');
      return;
    }
    if (this._pending.has(responseId)) return; // the first report wins, as for attributes
    if (this._pending.size >= this._config.maxPendingUsage) {
      this._stats.pendingUsageDropped++;
      this._reportOnce('pending-full', 'GenAiEnrichingProcessor: maxPendingUsage reached; late usage is being dropped');
      return;
    }
    const deadline = this._config.clock.now() + this._config.holdMillis;
    this._pending.set(responseId, { usage, source, deadline });
    this._schedule(deadline);
  }

  /** Moves a carrier span's usage to the held span it completes, so the trace counts it once. */
  private _joinFromCarrier(target: Held, carrier: ReadableSpanLike, source: UsageSource): void {
    const usage = readUsage(carrier.attributes);
    applyLateUsage(target.span, usage, source);
    const attributes = carrier.attributes as Attributes;
    // The total is not a UsageCounts field, but it is billed usage too: it moves with the rest.
    const total = toTokenCount(attributes[ATTR_GEN_AI_USAGE_TOTAL_TOKENS]);
    const targetAttributes = target.span.attributes as Attributes;
    if (total !== undefined && !((toTokenCount(targetAttributes[ATTR_GEN_AI_USAGE_TOTAL_TOKENS]) ?? 0) > 0)) {
      targetAttributes[ATTR_GEN_AI_USAGE_TOTAL_TOKENS] = total;
    }
    for (const key of USAGE_KEYS) delete attributes[key];
    attributes[ATTR_USAGE_MOVED_TO] = target.span.spanContext().spanId;
    this._stats.carriers++;
    this._release(target, 'joined');
  }

  /** The tap report waiting for this span, by its own span key or its response id; removed when found. */
  private _takeTap(span: ReadableSpanLike, responseId: string | undefined): TapReport | undefined {
    const ctx = span.spanContext();
    const entry = this._tapPending.get(ctx.traceId + ctx.spanId) ?? (responseId !== undefined ? this._tapPendingById.get(responseId) : undefined);
    if (entry === undefined) return undefined;
    this._dropTap(entry);
    return entry.report;
  }

  private _dropTap(entry: TapPending): void {
    this._tapPending.delete(entry.key);
    const id = entry.report.responseId;
    if (id !== undefined && this._tapPendingById.get(id) === entry) this._tapPendingById.delete(id);
  }

  /** A span without usage takes all of the tap's counts, and the response id and model it lacks. */
  private _applyTap(span: ReadableSpanLike, report: TapReport): void {
    applyLateUsage(span, report.usage, 'http_tap');
    const attributes = span.attributes as Attributes;
    if (report.totalTokens !== undefined && attributes[ATTR_GEN_AI_USAGE_TOTAL_TOKENS] === undefined) {
      attributes[ATTR_GEN_AI_USAGE_TOTAL_TOKENS] = report.totalTokens;
    }
    fillIdentity(attributes, report);
    this._stats.tapUsed++;
  }

  /** A span whose telemetry carried usage keeps every count it has; the tap fills only the missing ones. */
  private _fillFromTap(span: ReadableSpanLike, report: TapReport): void {
    const attributes = span.attributes as Attributes;
    let filled = false;
    for (const field of Object.keys(USAGE_ATTRIBUTE_KEYS) as Array<keyof UsageCounts>) {
      const value = report.usage[field];
      const key = USAGE_ATTRIBUTE_KEYS[field];
      // A zero detail (no cache, no reasoning) says nothing the missing key does not.
      if (value !== undefined && value > 0 && toTokenCount(attributes[key]) === undefined) {
        attributes[key] = value;
        filled = true;
      }
    }
    fillIdentity(attributes, report);
    if (filled) {
      attributes[ATTR_USAGE_SOURCE] = attributes[ATTR_USAGE_SOURCE] === 'telemetry' ? 'telemetry+http_tap' : attributes[ATTR_USAGE_SOURCE] ?? 'http_tap';
      this._stats.tapUsed++;
    } else {
      this._stats.tapSuperseded++;
    }
  }

  /** Span events that carry a response id and usage (e.g. `gen_ai.client.inference.operation.details`). */
  private _harvestEvents(span: ReadableSpanLike): void {
    const events = span.events;
    if (events === undefined || events.length === 0) return;
    const own = span.attributes[ATTR_GEN_AI_RESPONSE_ID];
    for (const event of events) {
      const raw = event.attributes;
      if (raw === undefined || !isGenAiSpan(raw)) continue;
      const attrs = normalizeAttributes(raw);
      const id = attrs[ATTR_GEN_AI_RESPONSE_ID];
      if (typeof id !== 'string' || id.length === 0 || !hasUsage(attrs)) continue;
      const usage = readUsage(attrs);
      if (id === own) {
        if (!hasUsage(span.attributes)) applyLateUsage(span, usage, 'span_event');
      } else {
        this._deliver(id, usage, 'span_event');
      }
    }
  }

  private _isLogfireStreamRecord(attributes: Attributes): boolean {
    if (attributes[ATTR_LOGFIRE_SPAN_TYPE] !== 'log' || attributes[ATTR_GEN_AI_RESPONSE_ID] !== undefined) return false;
    const template = attributes[ATTR_LOGFIRE_MSG_TEMPLATE];
    return typeof template === 'string' && template.startsWith(LOGFIRE_STREAM_TEMPLATE_PREFIX) && hasUsage(attributes);
  }

  /**
   * Logfire reports streamed usage on a log record that is a sibling of the request span and carries no
   * response id: match on trace, parent and request model, taking the nearest preceding held span. A
   * root-level record (no enclosing span: Logfire puts it in a new trace) matches a root-level request
   * span by the `request_data` both repeat.
   */
  private _findSibling(record: ReadableSpanLike): Held | undefined {
    const ctx = record.spanContext();
    const sibling = nearestPreceding(this._heldBySibling.get(ctx.traceId + '/' + (record.parentSpanContext?.spanId ?? '')), record);
    if (sibling !== undefined || record.parentSpanContext !== undefined) return sibling;
    const requestData = record.attributes[ATTR_LOGFIRE_REQUEST_DATA];
    return typeof requestData === 'string' ? nearestPreceding(this._heldByLogfireRequest.get(requestData), record) : undefined;
  }

  // ── late attributes ──────────────────────────────────────────────────────────────────────────────

  private _patch(span: StatefulSpan): void {
    if (span[STATE] !== undefined || typeof span.setAttribute !== 'function') return;
    span[STATE] = { processor: this, setAttribute: span.setAttribute, setAttributes: span.setAttributes };
    span.setAttribute = patchedSetAttribute;
    span.setAttributes = patchedSetAttributes;
  }

  /** @internal Attribute writes on a GenAI span after `end()`, which the SDK would drop. */
  _onLateAttributes(span: SpanLike, attributes: Attributes): void {
    try {
      if (this._shutdownPromise !== undefined) return;
      const ctx = span.spanContext();
      const held = this._held.get(ctx.traceId + ctx.spanId);
      if (held === undefined) return;
      this._stats.lateAttributes++;
      const late = normalizeAttributes(attributes, this._normalizeOptions);
      const target = held.span.attributes as Attributes;
      const hadUsage = hasUsage(target);
      for (const key of Object.keys(late)) {
        // SDK 3.x keeps null values; a null or a placeholder zero count is not a value to keep.
        const current = target[key] as unknown;
        if (current === undefined || current === null || (!hadUsage && current === 0 && USAGE_KEY_SET.has(key))) {
          target[key] = late[key];
        }
      }
      if (!hadUsage && hasUsage(target)) {
        setAttr(held.span, ATTR_USAGE_SOURCE, 'late_attribute');
        this._release(held, 'joined');
      }
    } catch (error) {
      this._error('late setAttribute', error);
    }
  }

  // ── watchdog ─────────────────────────────────────────────────────────────────────────────────────

  private _watch(span: SpanLike): void {
    if (this._open.size >= this._config.maxOpenSpans) {
      this._stats.openUnwatched++;
      this._reportOnce('open-full', 'GenAiEnrichingProcessor: maxOpenSpans reached; new GenAI spans are not watched');
      return;
    }
    const deadline = this._config.clock.now() + this._config.maxOpenMillis;
    this._open.set(span, deadline);
    this._schedule(deadline);
  }

  private _forceEnd(span: SpanLike): void {
    if (span.ended) return;
    this._stats.forceEnded++;
    const state = (span as StatefulSpan)[STATE];
    try {
      (state?.setAttribute ?? span.setAttribute).call(span, ATTR_FORCE_ENDED, true);
      span.end();
    } catch (error) {
      this._error('force end', error);
    }
  }

  // ── timer ────────────────────────────────────────────────────────────────────────────────────────

  private _schedule(deadline: number): void {
    if (deadline >= this._timerDeadline || this._shutdownPromise !== undefined) return;
    this._clearTimer();
    const clock = this._config.clock;
    this._timerDeadline = deadline;
    this._timer = clock.setTimeout(() => this._onTimer(), Math.max(0, deadline - clock.now()));
    this._timer.unref?.();
  }

  private _clearTimer(): void {
    if (this._timer !== undefined) this._config.clock.clearTimeout(this._timer);
    this._timer = undefined;
    this._timerDeadline = Infinity;
  }

  private _onTimer(): void {
    this._timer = undefined;
    this._timerDeadline = Infinity;
    if (this._shutdownPromise !== undefined) return;
    try {
      const now = this._config.clock.now();
      for (const held of this._held.values()) {
        if (held.deadline > now) break;
        this._release(held, 'expired');
      }
      for (const [id, pending] of this._pending) {
        if (pending.deadline > now) break;
        this._pending.delete(id);
        this._stats.pendingUsageExpired++;
      }
      for (const entry of this._tapPending.values()) {
        if (entry.deadline > now) break;
        this._dropTap(entry);
        this._stats.tapUnmatched++;
      }
      for (const [span, deadline] of this._open) {
        if (deadline > now) break;
        this._open.delete(span);
        this._forceEnd(span);
      }
    } catch (error) {
      this._error('timer', error);
    }
    const next = Math.min(
      first(this._held.values())?.deadline ?? Infinity,
      first(this._pending.values())?.deadline ?? Infinity,
      first(this._tapPending.values())?.deadline ?? Infinity,
      first(this._open.values()) ?? Infinity
    );
    if (next !== Infinity) this._schedule(next);
  }

  // ── forwarding and errors ────────────────────────────────────────────────────────────────────────

  private _isGenAi(span: ReadableSpanLike): boolean {
    const scope = span.instrumentationScope;
    let known: boolean | undefined;
    // All spans of one tracer share one scope object, so consecutive spans mostly hit this slot.
    if (scope === this._lastScope) known = this._lastScopeGenAi;
    else if (scope !== undefined && scope !== null && typeof scope.name === 'string') {
      known = this._scopes.get(scope.name);
      if (known === undefined) {
        known = isGenAiScope(scope.name);
        if (this._scopes.size < MAX_CACHED_SCOPES) this._scopes.set(scope.name, known);
      }
      this._lastScope = scope;
      this._lastScopeGenAi = known;
    }
    return known === true || isGenAiSpan(span.attributes);
  }

  private _normalize(span: ReadableSpanLike): void {
    (span as MarkedSpan)[NORMALIZED] = true;
    // Most spans are already canonical: then the span's own attribute map stays, and no copy is made.
    if (isSpanNormalized(span, this._normalizeOptions)) return;
    const out = normalizeSpan({ name: span.name, attributes: span.attributes }, this._normalizeOptions);
    const writable = span as Mutable<ReadableSpanLike>;
    writable.attributes = out.attributes;
    if (out.name !== span.name) writable.name = out.name;
  }

  private _forward(span: ReadableSpanLike): void {
    this._stats.forwarded++;
    if (this._processor !== undefined) {
      try {
        this._processor.onEnd(span);
      } catch (error) {
        this._error('next.onEnd', error);
      }
    } else if (this._batcher !== undefined) {
      this._batcher.add(span);
    }
  }

  private _error(where: string, error: unknown): void {
    this._stats.errors++;
    this._reportOnce(where, `GenAiEnrichingProcessor: ${where} failed; further failures there are only counted`, error);
  }

  private _reportOnce(key: string, message: string, error?: unknown): void {
    if (this._reported.has(key)) return;
    this._reported.add(key);
    diag.warn(message, error);
  }
}

function patchedSetAttribute(this: StatefulSpan, key: string, value: AttributeValue): StatefulSpan {
  const state = this[STATE]!;
  if (!this.ended) return state.setAttribute.call(this, key, value) as StatefulSpan;
  state.processor._onLateAttributes(this, { [key]: value });
  return this;
}

function patchedSetAttributes(this: StatefulSpan, attributes: Attributes): StatefulSpan {
  const state = this[STATE]!;
  if (!this.ended) return state.setAttributes.call(this, attributes) as StatefulSpan;
  if (attributes !== null && typeof attributes === 'object') state.processor._onLateAttributes(this, { ...attributes });
  return this;
}

/** An inference span has usage when it reports a positive input or output count; zeros are placeholders. */
function hasUsage(attributes: Attributes): boolean {
  return (toTokenCount(attributes[ATTR_GEN_AI_USAGE_INPUT_TOKENS]) ?? 0) > 0 || (toTokenCount(attributes[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]) ?? 0) > 0;
}

/** Writes late usage into a span; counts the emitter already set (other than placeholder zeros) win. */
function applyLateUsage(span: ReadableSpanLike, usage: UsageCounts, source: UsageSource): void {
  const attributes = span.attributes as Attributes;
  const placeholders = !hasUsage(attributes);
  for (const field of Object.keys(USAGE_ATTRIBUTE_KEYS) as Array<keyof UsageCounts>) {
    const value = usage[field];
    if (value === undefined) continue;
    const key = USAGE_ATTRIBUTE_KEYS[field];
    const current = attributes[key];
    // A null (SDK 3.x keeps them) or junk count is missing; a zero is a placeholder when nothing else is set.
    if (toTokenCount(current) === undefined || (placeholders && current === 0)) attributes[key] = value;
  }
  attributes[ATTR_USAGE_SOURCE] = source;
}

/** The tap read the response id and model off the wire: a span that lacks them (e.g. OpenLLMetry's Responses stream span) gets them. */
function fillIdentity(attributes: Attributes, report: TapReport): void {
  if (report.responseId !== undefined && report.responseId.length > 0 && attributes[ATTR_GEN_AI_RESPONSE_ID] === undefined) {
    attributes[ATTR_GEN_AI_RESPONSE_ID] = report.responseId;
  }
  if (report.model !== undefined && report.model.length > 0 && attributes[ATTR_GEN_AI_RESPONSE_MODEL] === undefined) {
    attributes[ATTR_GEN_AI_RESPONSE_MODEL] = report.model;
  }
}

function cleanUsage(usage: LateUsage): UsageCounts | undefined {
  if (usage === null || typeof usage !== 'object') return undefined;
  const out: UsageCounts = {};
  let any = false;
  for (const field of Object.keys(USAGE_ATTRIBUTE_KEYS) as Array<keyof UsageCounts>) {
    const n = toTokenCount(usage[field]);
    if (n !== undefined) {
      out[field] = n;
      any = true;
    }
  }
  return any ? out : undefined;
}

function setAttr(span: ReadableSpanLike, key: string, value: AttributeValue): void {
  (span.attributes as Attributes)[key] = value;
}

function hrTimeToNanosApprox(time: readonly [number, number] | undefined): number {
  return time === undefined ? 0 : time[0] * 1e9 + time[1];
}

/** The first entry of an insertion-ordered Map: the one with the earliest deadline. */
function first<T>(values: IterableIterator<T>): T | undefined {
  const entry = values.next();
  return entry.done === true ? undefined : entry.value;
}

/** The held span with the record's model that started last, at or before the record. */
function nearestPreceding(candidates: readonly Held[] | undefined, record: ReadableSpanLike): Held | undefined {
  if (candidates === undefined) return undefined;
  const model = record.attributes[ATTR_GEN_AI_REQUEST_MODEL];
  const start = hrTimeToNanosApprox(record.startTime);
  let best: Held | undefined;
  let bestStart = -Infinity;
  for (const held of candidates) {
    if (held.model !== model) continue;
    const heldStart = hrTimeToNanosApprox(held.span.startTime);
    if (heldStart <= start && heldStart >= bestStart) {
      best = held;
      bestStart = heldStart;
    }
  }
  return best;
}

function logfireRootRequest(span: ReadableSpanLike): string | undefined {
  if (span.parentSpanContext !== undefined || span.attributes[ATTR_LOGFIRE_MSG_TEMPLATE] === undefined) return undefined;
  const requestData = span.attributes[ATTR_LOGFIRE_REQUEST_DATA];
  return typeof requestData === 'string' ? requestData : undefined;
}

function addToIndex(index: Map<string, Held[]>, key: string, held: Held): void {
  const list = index.get(key);
  if (list === undefined) index.set(key, [held]);
  else list.push(held);
}

function removeFromIndex(index: Map<string, Held[]>, key: string, held: Held): void {
  const list = index.get(key);
  if (list === undefined) return;
  const at = list.indexOf(held);
  if (at >= 0) list.splice(at, 1);
  if (list.length === 0) index.delete(key);
}
