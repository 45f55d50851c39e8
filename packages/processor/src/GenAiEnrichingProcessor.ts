/*
 * GenAiEnrichingProcessor: hold → join → normalize → forward, every span exactly once. This class is the
 * adapter to the SDK; each step lives in its own module (named on the right).
 *
 *   onStart ── GenAI span? ─► watch it for maxOpenMillis                                  watchdog.ts
 *                             capture setAttribute after end()                            late-attributes.ts
 *   onEnding ─ GenAI span? ─► normalize in place while the span is writable (SDK ≥ 2.3)   genai-spans.ts
 *   onEnd ──── _route ─► held? it stays until it is released; otherwise ─► forward
 *
 *   _route:  not GenAI ──────────────────────────────────────────────────────────────► forward
 *            normalize (unless onEnding did); usage in its events ─► the span, or as late usage
 *            a carrier: usage + the response id of a held span, or a Logfire stream
 *              record for a held sibling (logfire.ts) ─► move its usage there, release [joined] ─► forward
 *            not an inference span ──────────────────────────────────────────────────► forward
 *            has usage ─────────────── usage_source = telemetry ─┐   a tap report: fills what is missing;
 *            late usage waits for its id (late-usage.ts) ─ join ─┴─  differs? the bill wins ─► forward
 *            a tap report waits for it (tap-reports.ts) ─ its usage ─────────────────────────────────► forward
 *            nothing: a model call, no GenAI spans below? ─► HOLD                           held-spans.ts
 *
 *   recordUsage, another span's event ─► held span with that id? join, release [joined]; else late usage waits
 *   setAttribute after end() on a held span ─► merge; usage now? release [joined] once the burst of writes is done
 *   HTTP usage tap (processor.fetch, tap/sink.ts) ─► held span by response id or active span? its usage,
 *                                       release [joined]; else it waits with the open span, or by key or id
 *   held ─► release: joined │ holdMillis passes [expired] │ maxHeldSpans or maxHeldBytes [evicted] │
 *           flush, shutdown [flushed]; a copy of a held span (a retry, same ids) waits with it and leaves with it
 *   every GenAI span leaves with usage that hangs together: cache ≤ input, reasoning ≤ output (settleUsage)
 *   then counted once per trace (usage-tree.ts): usage equal to what its descendants counted, or to a twin
 *     of the same call ─► moved to genai_enrich.repeated_usage.*; children still pending? it waits for them
 *     [awaitingDescendants] ─► forward. Spans that are not GenAI only pass through the tree.
 *   watchdog: open longer than maxOpenMillis ─► force_ended = true, end() ─► onEnd
 *   a GenAI span forwarded ─► (the `metrics` option) the GenAI metrics of its final usage  metrics/genai-metrics.ts
 *   stats() ─► (the `metrics` option) observable instruments, read at collection          metrics/stats-metrics.ts
 *
 * Every wait (held spans, late usage, tap reports, open spans) is a DeadlineMap on one unref()ed
 * ExpiryTimer (deadlines.ts). Spans leave through NextStage (next-stage.ts): a SpanProcessor, or a
 * SpanExporter batched as BatchSpanProcessor would. Nothing here throws into the SDK: failures are counted
 * in stats().errors and reported once per place via diag (problems.ts).
 */
import type { Attributes, Context } from '@opentelemetry/api';
import {
  ATTR_GEN_AI_RESPONSE_ID,
  hasUsage,
  isInferenceSpan,
  isModelCall,
  moveUsage,
  settleUsage,
  toUsageCounts,
} from '@genai-enrich/normalizer';
import type { UsageCounts } from '@genai-enrich/normalizer';
import { ATTR_USAGE_MOVED_TO, ATTR_USAGE_SOURCE } from './attributes.js';
import { resolveConfig, validateConfig } from './config.js';
import { ExpiryTimer } from './deadlines.js';
import { GenAiSpans } from './genai-spans.js';
import { HeldSpans, spanKey } from './held-spans.js';
import type { Held } from './held-spans.js';
import { captureLateAttributes, mergeLateAttributes } from './late-attributes.js';
import type { LateAttributesListener } from './late-attributes.js';
import { PendingUsage, eventUsage, joinUsage } from './late-usage.js';
import { LogfireRequests, isLogfireStreamRecord } from './logfire.js';
import { markCallsBelow } from './metrics/genai-metrics.js';
import { ProcessorMetrics } from './metrics/processor-metrics.js';
import { NextStage } from './next-stage.js';
import { warnInvalidOptions } from './option-bounds.js';
import { Problems } from './problems.js';
import { TapReports } from './tap-reports.js';
import { usageTapFetch } from './tap/fetch.js';
import { registerTapSink } from './tap/sink.js';
import { UsageTree } from './usage-tree.js';
import { Watchdog } from './watchdog.js';
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

/**
 * A SpanProcessor that fixes GenAI spans on their way out: it holds inference spans whose token usage is
 * missing for a bounded grace window, joins late usage (keyed by `gen_ai.response.id`, the Logfire
 * streaming record, `recordUsage`, attributes set after `end()`, or the HTTP usage tap), normalizes
 * attributes and names to the GenAI semantic conventions v1.41, ends GenAI spans that were never ended,
 * and forwards every span exactly once to `next`.
 *
 * Register it in the provider's `spanProcessors` (SDK 2.x and 3.x have no `addSpanProcessor`):
 * `new NodeTracerProvider({ spanProcessors: [new GenAiEnrichingProcessor(new OTLPTraceExporter())] })`.
 *
 * ⚠ Stateful: held spans live in memory. Call `forceFlush()` or `shutdown()` before the process exits,
 * or they are lost with it.
 */
export class GenAiEnrichingProcessor implements SpanProcessorLike {
  private readonly _captureLateAttributes: boolean;
  private readonly _problems = new Problems();
  private readonly _next: NextStage;
  private readonly _spans: GenAiSpans;
  private readonly _timer: ExpiryTimer;
  private readonly _logfire = new LogfireRequests();
  private readonly _held: HeldSpans;
  private readonly _pending: PendingUsage;
  private readonly _taps: TapReports;
  private readonly _watchdog: Watchdog;
  private readonly _tree: UsageTree;
  /** Opt-in (the `metrics` option): GenAI metrics from each GenAI span leaving, and stats() as metrics. */
  private readonly _metrics: ProcessorMetrics | undefined;
  private readonly _onLateAttributes: LateAttributesListener = (span, attributes) =>
    this._joinLateAttributes(span, attributes);
  private readonly _counts = { received: 0, forwarded: 0, carriers: 0, lateAttributes: 0 };
  private _shutdownPromise: Promise<void> | undefined;
  private _fetch: FetchLike | undefined;

  /**
   * @param next the exporter (batched here) or processor (delegated to) that receives every span.
   * @param options see {@link GenAiEnrichingProcessorOptions}; invalid values are reported through
   *   `diag.warn` (naming each option and value) and replaced by their defaults.
   */
  constructor(next: SpanExporterLike | SpanProcessorLike, options?: GenAiEnrichingProcessorOptions) {
    warnInvalidOptions('GenAiEnrichingProcessor', validateConfig(options));
    const config = resolveConfig(options);
    const problems = this._problems;
    this._captureLateAttributes = config.captureLateAttributes;
    this._spans = new GenAiSpans({
      keepLegacyAttributes: config.keepLegacyAttributes,
      spanNames: config.spanNames,
      ...(config.rules === undefined ? {} : { rules: config.rules }),
    });
    this._next = new NextStage(next, config, (where, error) => problems.error(where, error));
    this._timer = new ExpiryTimer(config.clock, (error) => problems.error('timer', error));
    this._tree = new UsageTree(
      this._timer,
      {
        waitMillis: config.maxOpenMillis + config.holdMillis,
        maxNodes: config.maxOpenSpans + config.maxHeldSpans,
        countOnce: config.countUsageOnce,
        graceMillis: config.holdMillis,
      },
      (span) => this._forwardGenAi(span),
    );
    const leave = (span: ReadableSpanLike): void => {
      settleUsage(span.attributes);
      if (!this._tree.leaving(span)) this._forwardGenAi(span);
    };
    this._held = new HeldSpans(this._timer, config, leave, [this._logfire]);
    this._pending = new PendingUsage(this._timer, config, () =>
      problems.warnOnce(
        'pending-full',
        'GenAiEnrichingProcessor: maxPendingUsage reached; late usage is being dropped',
      ),
    );
    this._taps = new TapReports(this._timer, config, () =>
      problems.warnOnce(
        'tap-pending-full',
        'GenAiEnrichingProcessor: maxPendingUsage reached; HTTP tap usage is being dropped',
      ),
    );
    this._watchdog = new Watchdog(
      this._timer,
      config,
      () =>
        problems.warnOnce(
          'open-full',
          'GenAiEnrichingProcessor: maxOpenSpans reached; new GenAI spans are not watched',
        ),
      (error) => problems.error('force end', error),
    );
    registerTapSink(this, (report) => this._joinTapReport(report));
    this._metrics =
      config.metrics === undefined
        ? undefined
        : new ProcessorMetrics(
            config.metrics,
            () => this.stats(),
            (where, error) => problems.error(where, error),
          );
  }

  /**
   * A `fetch` that reads token usage off LLM provider responses for this processor, over
   * `globalThis.fetch`: `new OpenAI({ fetch: processor.fetch })`. See `usageTapFetch` for the options.
   */
  get fetch(): FetchLike {
    return (this._fetch ??= usageTapFetch(this));
  }

  /** Watches open GenAI spans and captures attribute writes after `end()`. */
  onStart(span: SpanLike, parentContext: Context): void {
    try {
      if (this._shutdownPromise === undefined && this._spans.isGenAi(span)) {
        this._watchdog.watch(span);
        this._tree.started(span);
        if (this._captureLateAttributes) captureLateAttributes(span, this._onLateAttributes);
      }
    } catch (error) {
      this._problems.error('onStart', error);
    }
    this._next.onStart(span, parentContext);
  }

  /** Normalizes GenAI spans in place while the SDK still lets them be written (SDK ≥ 2.3). */
  onEnding(span: SpanLike): void {
    try {
      if (this._spans.isGenAiEnding(span)) this._spans.normalize(span);
    } catch (error) {
      this._problems.error('onEnding', error);
    }
    this._next.onEnding(span);
  }

  /** Holds the span, or forwards it now; see the data flow at the top of this file. */
  onEnd(span: ReadableSpanLike): void {
    if (this._shutdownPromise !== undefined) return;
    this._counts.received++;
    let route: Route = 'other';
    try {
      this._watchdog.unwatch(span);
      route = this._route(span);
    } catch (error) {
      this._problems.error('onEnd', error);
    }
    // A tap report kept with this span while it was open, and not used by _route, found no span.
    this._taps.discardFor(span);
    if (route === 'other') this._forward(span);
    else if (route === 'genai') this._forwardGenAi(span);
  }

  /**
   * Supplies usage for the span whose `gen_ai.response.id` is `responseId`. A held span is completed and
   * forwarded; usage for a span that has not ended yet waits up to `holdMillis` (bounded by
   * `maxPendingUsage`). Counts the span already set keep their value. Never throws.
   */
  recordUsage(responseId: string, usage: LateUsage): void {
    try {
      if (this._shutdownPromise !== undefined || typeof responseId !== 'string' || responseId.length === 0) return;
      const counts = toUsageCounts(usage);
      if (counts !== undefined) this._deliver(responseId, counts, 'record_usage');
    } catch (error) {
      this._problems.error('recordUsage', error);
    }
  }

  /**
   * Whether `span`, ended and handed to `onEnd` now, would complete a span held for late usage: it carries
   * usage with a held span's response id (in its attributes or its events), or it is Logfire's stream
   * record for a held request. A relay admits such a span even when its queue is full, because it empties
   * the hold. Reads the span and changes nothing; never throws (false on bad input).
   */
  completesHeldSpan(span: ReadableSpanLike): boolean {
    try {
      if (this._held.size === 0 || this._shutdownPromise !== undefined || !this._spans.isGenAi(span)) return false;
      const attributes = this._spans.normalizeAttributes(span.attributes);
      const responseId = responseIdOf(attributes);
      if (responseId !== undefined && hasUsage(attributes) && this._held.byResponseId(responseId) !== undefined) {
        return true;
      }
      for (const event of eventUsage(span)) if (this._held.byResponseId(event.responseId) !== undefined) return true;
      if (!isLogfireStreamRecord(attributes)) return false;
      const normalized = Object.create(span, { attributes: { value: attributes } }) as ReadableSpanLike;
      return this._logfire.findRequest(normalized) !== undefined;
    } catch {
      return false;
    }
  }

  /**
   * Usage the HTTP usage tap read in a provider response (see `usageTapFetch`; registered as this
   * processor's tap sink in the constructor). Completes the
   * held span it belongs to (by response id, then by the span that was active when the request was made),
   * or waits for that span to end: up to `holdMillis`, or as long as the watchdog keeps it open. Counts
   * telemetry set keep their value. Never throws.
   */
  private _joinTapReport(raw: TapReport): void {
    try {
      if (this._shutdownPromise !== undefined) return;
      const report = this._taps.receive(raw);
      if (report === undefined) return;
      const held =
        (report.responseId !== undefined ? this._held.byResponseId(report.responseId) : undefined) ??
        (report.spanKey !== undefined ? this._held.byKey(report.spanKey) : undefined);
      if (held !== undefined) {
        this._taps.use(held.span, report);
        this._held.release(held, 'joined');
      } else if (report.activeSpan !== undefined && this._watchdog.isWatched(report.activeSpan)) {
        // An abandoned stream's span ends only when the watchdog ends it: the report waits as long.
        this._taps.waitForOpenSpan(report.activeSpan, report);
      } else {
        this._taps.wait(report);
      }
    } catch (error) {
      this._problems.error('tap report', error);
    }
  }

  /**
   * A snapshot of the counters; `received = forwarded + held + awaitingDescendants`, `holds = joined + expired + evicted + flushed + held`
   * and `tapReports = tapUsed + tapSuperseded + tapUnmatched + tapPending`.
   */
  stats(): GenAiEnrichingProcessorStats {
    const held = this._held.counts;
    const taps = this._taps.counts;
    return {
      received: this._counts.received,
      forwarded: this._counts.forwarded,
      held: this._held.size,
      heldBytes: this._held.bytes,
      holds: held.holds,
      joined: held.joined,
      expired: held.expired,
      evicted: held.evicted,
      flushed: held.flushed,
      carriers: this._counts.carriers,
      pendingUsage: this._pending.size,
      pendingUsageExpired: this._pending.counts.expired,
      pendingUsageDropped: this._pending.counts.dropped,
      lateAttributes: this._counts.lateAttributes,
      forceEnded: this._watchdog.counts.forceEnded,
      open: this._watchdog.size,
      openUnwatched: this._watchdog.counts.unwatched,
      queueDropped: this._next.dropped,
      flushTimeouts: this._next.flushTimeouts,
      tapReports: taps.reports,
      tapUsed: taps.used,
      tapSuperseded: taps.superseded,
      tapDisagreed: taps.disagreed,
      tapUnmatched: taps.unmatched,
      tapPending: this._taps.pending,
      usageRepeated: this._tree.counts.repeatedDescendants + this._tree.counts.repeatedTwins,
      awaitingDescendants: this._tree.waiting,
      usageUnaccounted: this._tree.counts.unaccounted,
      errors: this._problems.errors,
    };
  }

  /** Forwards every held span (without waiting for usage), then flushes `next`. */
  async forceFlush(): Promise<void> {
    if (this._shutdownPromise !== undefined) return this._shutdownPromise;
    this._metrics?.resolve();
    this._held.releaseAll('flushed');
    this._tree.releaseAll();
    await this._next.forceFlush();
  }

  /** Once: stops the timer, forwards every held span, drops what still waits, then shuts `next` down. */
  shutdown(): Promise<void> {
    if (this._shutdownPromise === undefined) this._shutdownPromise = this._shutdown();
    return this._shutdownPromise;
  }

  private async _shutdown(): Promise<void> {
    this._timer.stop();
    this._held.releaseAll('flushed');
    this._tree.releaseAll();
    this._pending.clear();
    this._taps.clear();
    this._watchdog.clear();
    await this._next.shutdown();
  }

  /** The way of an ended span (see the header): it waits (held, or for its descendants), or is forwarded now. */
  private _route(span: ReadableSpanLike): Route {
    if (!this._spans.isGenAiEnded(span)) {
      this._tree.passThrough(span);
      return 'other';
    }
    this._spans.normalize(span);
    if (this._routeGenAi(span)) return 'waits';
    settleUsage(span.attributes);
    return this._tree.leaving(span) ? 'waits' : 'genai';
  }

  private _routeGenAi(span: ReadableSpanLike): boolean {
    const attributes = span.attributes;
    const responseId = responseIdOf(attributes);
    this._joinEventUsage(span, responseId);

    const target = this._carrierTarget(span, responseId);
    if (target !== undefined) {
      this._joinCarrier(target, span, responseId !== undefined ? 'late_span' : 'sibling_record');
      return false;
    }
    if (!isInferenceSpan(attributes)) return false;

    const tap = this._taps.take(span, responseId);
    const pending = hasUsage(attributes) || responseId === undefined ? undefined : this._pending.take(responseId);
    if (hasUsage(attributes)) {
      if (attributes[ATTR_USAGE_SOURCE] === undefined) attributes[ATTR_USAGE_SOURCE] = 'telemetry';
    } else if (pending !== undefined) {
      joinUsage(span, pending.usage, pending.source);
    } else if (tap !== undefined) {
      this._taps.use(span, tap);
      return false;
    } else if (isModelCall(attributes) && !this._tree.hasGenAiBelow(span)) {
      this._held.hold(span, responseId);
      return true;
    } else {
      // No model was called (a prompt template LangSmith labels chat), or the calls are the spans below it
      // (an embeddings root over its batches): no usage will come for this span, and the calls record metrics.
      markCallsBelow(span);
      return false;
    }
    if (tap !== undefined) this._taps.reconcile(span, tap);
    return false;
  }

  /** Usage in the span's events: its own (when it has none), or another span's by response id. */
  private _joinEventUsage(span: ReadableSpanLike, responseId: string | undefined): void {
    if (span.events === undefined || span.events.length === 0) return;
    for (const event of eventUsage(span)) {
      if (event.responseId !== responseId) this._deliver(event.responseId, event.usage, 'span_event');
      else if (!hasUsage(span.attributes)) joinUsage(span, event.usage, 'span_event');
    }
  }

  /** The held span a carrier completes: by its response id when it has usage, or Logfire's sibling. */
  private _carrierTarget(span: ReadableSpanLike, responseId: string | undefined): Held | undefined {
    if (responseId !== undefined) return hasUsage(span.attributes) ? this._held.byResponseId(responseId) : undefined;
    return isLogfireStreamRecord(span.attributes) ? this._logfire.findRequest(span) : undefined;
  }

  /** Moves a carrier's usage to the held span it completes, so the trace counts it once. */
  private _joinCarrier(target: Held, carrier: ReadableSpanLike, source: UsageSource): void {
    const targetAttributes = target.span.attributes;
    const carrierAttributes = carrier.attributes;
    moveUsage(carrierAttributes, targetAttributes);
    targetAttributes[ATTR_USAGE_SOURCE] = source;
    carrierAttributes[ATTR_USAGE_MOVED_TO] = target.span.spanContext().spanId;
    this._counts.carriers++;
    this._held.release(target, 'joined');
  }

  /** Late usage by response id: into the held span, or waiting until the span ends. */
  private _deliver(responseId: string, usage: UsageCounts, source: UsageSource): void {
    const held = this._held.byResponseId(responseId);
    if (held === undefined) {
      this._pending.add(responseId, usage, source);
      return;
    }
    joinUsage(held.span, usage, source);
    this._held.release(held, 'joined');
  }

  /**
   * Attribute writes on a GenAI span after `end()`, which the SDK would drop. Instrumentations write late
   * usage in bursts (`setAttribute(input)`, then `setAttributes({ output, … })`), so the span that a write
   * gives its usage is released on the next microtask: every write of the same synchronous burst lands.
   */
  private _joinLateAttributes(span: SpanLike, attributes: Attributes): void {
    try {
      if (this._shutdownPromise !== undefined) return;
      const held = this._held.byKey(spanKey(span));
      if (held === undefined) return;
      this._counts.lateAttributes++;
      const target = held.span.attributes;
      if (mergeLateAttributes(target, this._spans.normalizeAttributes(attributes))) {
        target[ATTR_USAGE_SOURCE] = 'late_attribute';
        queueMicrotask(() => this._held.release(held, 'joined'));
      }
    } catch (error) {
      this._problems.error('late setAttribute', error);
    }
  }

  private _forward(span: ReadableSpanLike): void {
    this._counts.forwarded++;
    this._next.forward(span);
  }

  /** A GenAI span leaves: its usage is final now, so its metrics are recorded here. */
  private _forwardGenAi(span: ReadableSpanLike): void {
    this._metrics?.record(span);
    this._forward(span);
  }
}

/** Where `_route` sends an ended span: it waits (held or for descendants), or leaves now, GenAI or other. */
type Route = 'waits' | 'genai' | 'other';

function responseIdOf(attributes: Attributes): string | undefined {
  const id = attributes[ATTR_GEN_AI_RESPONSE_ID];
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}
