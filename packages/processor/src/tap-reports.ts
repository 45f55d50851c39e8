/*
 * What the HTTP usage tap reported, on its way to the span it belongs to. The processor first offers a
 * report to a held span (by response id, then by the span that was active at the request); a report whose
 * span has not ended yet waits here:
 *
 *   span still open (watched) ─► waitForOpenSpan: kept with that span as long as the watchdog keeps it open
 *   otherwise ─────────────────► wait: by span key (or response id), holdMillis at most, maxPendingUsage
 *                                 entries at most; a second report for the same span is unmatched
 *   the span ends ─► take(span, responseId) ─► use: all counts (a span without usage), or reconcile:
 *                      telemetry agrees ─► fill only the counts it lacks
 *                      telemetry differs ─► the provider's bill wins: the report's counts on the span,
 *                                            telemetry's kept in genai_enrich.telemetry_usage [disagreed]
 *
 *   reports = used + superseded + unmatched + pending    (disagreed counts the used ones that overrode)
 */
import {
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  fillMissingUsage,
  keepTelemetryUsage,
  markUsageAdjusted,
  replaceUsage,
  toTokenCount,
  toUsageCounts,
  usageDiffers,
} from '@genai-enrich/normalizer';
import type { UsageAdjustment } from '@genai-enrich/normalizer';
import type { Attributes } from '@opentelemetry/api';
import { ATTR_USAGE_SOURCE } from './attributes.js';
import { knownEstimate } from './estimates.js';
import type { DeadlineMap, ExpiryTimer } from './deadlines.js';
import { spanKey } from './held-spans.js';
import { joinUsage } from './late-usage.js';
import type { ReadableSpanLike, TapReport } from './types.js';

/** A waiting report and the key it waits under. */
interface Waiting {
  readonly report: TapReport;
  readonly key: string;
}

/** A report as the tap handed it, checked field by field; undefined when it carries no usable count. */
export function cleanTapReport(raw: TapReport): TapReport | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const usage = toUsageCounts(raw.usage);
  if (usage === undefined) return undefined;
  return {
    responseId: typeof raw.responseId === 'string' && raw.responseId.length > 0 ? raw.responseId : undefined,
    spanKey: typeof raw.spanKey === 'string' && raw.spanKey.length > 0 ? raw.spanKey : undefined,
    model: typeof raw.model === 'string' ? raw.model : undefined,
    usage,
    totalTokens: toTokenCount(raw.totalTokens),
    ...(raw.streamed === true ? { streamed: true } : {}),
    ...(Array.isArray(raw.adjusted) ? { adjusted: raw.adjusted.filter(isAdjustment) } : {}),
    ...(raw.activeSpan !== null && typeof raw.activeSpan === 'object' ? { activeSpan: raw.activeSpan } : {}),
  };
}

/** An entry of `genai_enrich.usage_adjusted` (`input+…` or `output+…`), from a report the processor did not make. */
function isAdjustment(value: unknown): value is UsageAdjustment {
  return typeof value === 'string' && value.length <= 64 && (value.startsWith('input+') || value.startsWith('output+'));
}

export class TapReports {
  /** See the balance in the header; `pending` is {@link TapReports.pending}. */
  readonly counts = { reports: 0, used: 0, superseded: 0, unmatched: 0, disagreed: 0 };
  private readonly _waiting: DeadlineMap<string, Waiting>;
  private readonly _waitingById = new Map<string, Waiting>();
  private readonly _forOpenSpan = new Map<object, TapReport>();
  private readonly _maxPending: number;
  private readonly _onFull: () => void;

  constructor(timer: ExpiryTimer, options: { holdMillis: number; maxPendingUsage: number }, onFull: () => void) {
    this._waiting = timer.map(options.holdMillis, (waiting: Waiting) => {
      this._forgetId(waiting);
      this.counts.unmatched++;
    });
    this._maxPending = options.maxPendingUsage;
    this._onFull = onFull;
  }

  /** Counts a report from the tap and returns it checked, or undefined when it carries no usable count. */
  receive(raw: TapReport): TapReport | undefined {
    const report = cleanTapReport(raw);
    if (report !== undefined) this.counts.reports++;
    return report;
  }

  /** Reports waiting for their span to end. */
  get pending(): number {
    return this._waiting.size + this._forOpenSpan.size;
  }

  /** Keeps the report with a span that is still open; the first report for a span wins. */
  waitForOpenSpan(span: object, report: TapReport): void {
    if (this._forOpenSpan.has(span)) this.counts.unmatched++;
    else this._forOpenSpan.set(span, report);
  }

  /** Keeps the report until a span with its key or response id ends, or holdMillis passes. */
  wait(report: TapReport): void {
    const id = report.responseId;
    const key = report.spanKey ?? (id !== undefined ? 'id:' + id : undefined);
    if (key === undefined || this._waiting.has(key) || (id !== undefined && this._waitingById.has(id))) {
      // No key to join by, or a first report for this span already waits (the first wins).
      this.counts.unmatched++;
      return;
    }
    if (this._waiting.size >= this._maxPending) {
      this.counts.unmatched++;
      this._onFull();
      return;
    }
    const waiting: Waiting = { report, key };
    this._waiting.set(key, waiting);
    if (id !== undefined) this._waitingById.set(id, waiting);
  }

  /** The report waiting for this span: kept with it while open, or by its span key, or by its response id. */
  take(span: ReadableSpanLike, responseId: string | undefined): TapReport | undefined {
    if (this._forOpenSpan.size > 0) {
      const report = this._forOpenSpan.get(span);
      if (report !== undefined) {
        this._forOpenSpan.delete(span);
        return report;
      }
    }
    if (this._waiting.size === 0) return undefined;
    const key = spanKey(span);
    const waiting =
      this._waiting.get(key) ?? (responseId !== undefined ? this._waitingById.get(responseId) : undefined);
    if (waiting === undefined) return undefined;
    this._waiting.take(waiting.key);
    this._forgetId(waiting);
    return waiting.report;
  }

  /** The span ended as something that takes no usage (a carrier, no inference span): its report is unmatched. */
  discardFor(span: object): void {
    if (this._forOpenSpan.size > 0 && this._forOpenSpan.delete(span)) this.counts.unmatched++;
  }

  /** A span without usage takes all of the report's counts, and the response id and model it lacks. */
  use(span: ReadableSpanLike, report: TapReport): void {
    joinUsage(span, report.usage, 'http_tap', report.totalTokens);
    markUsageAdjusted(span.attributes, report.adjusted, report.usage);
    fillIdentity(span.attributes, report);
    this.counts.used++;
  }

  /**
   * A span whose telemetry carried usage. Where telemetry and the report agree, the span keeps every count
   * it has and the report fills only the missing ones. Where they differ on a count both have, the
   * provider's bill wins: the report's counts go on the span, and telemetry's are kept under
   * `genai_enrich.telemetry_usage`, with the reason they are an estimate when that is known.
   */
  reconcile(span: ReadableSpanLike, report: TapReport): void {
    const attributes = span.attributes;
    if (usageDiffers(attributes, report.usage, report.totalTokens)) {
      const telemetry = replaceUsage(attributes, report.usage, report.totalTokens);
      markUsageAdjusted(attributes, report.adjusted, report.usage);
      const estimate = knownEstimate(span, report);
      keepTelemetryUsage(
        attributes,
        'provider_disagreed',
        telemetry,
        estimate !== undefined ? { estimate } : undefined,
      );
      fillIdentity(attributes, report);
      attributes[ATTR_USAGE_SOURCE] = 'http_tap';
      this.counts.used++;
      this.counts.disagreed++;
      return;
    }
    const filled = fillMissingUsage(attributes, report.usage) > 0;
    // Telemetry that agrees with the provider's adjusted count is that count: it says so too.
    markUsageAdjusted(attributes, report.adjusted, report.usage);
    fillIdentity(attributes, report);
    if (filled) {
      const source = attributes[ATTR_USAGE_SOURCE];
      attributes[ATTR_USAGE_SOURCE] = source === 'telemetry' ? 'telemetry+http_tap' : (source ?? 'http_tap');
      this.counts.used++;
    } else {
      this.counts.superseded++;
    }
  }

  /** At shutdown: every waiting report is unmatched. */
  clear(): void {
    this.counts.unmatched += this._waiting.clear().length + this._forOpenSpan.size;
    this._forOpenSpan.clear();
    this._waitingById.clear();
  }

  private _forgetId(waiting: Waiting): void {
    const id = waiting.report.responseId;
    if (id !== undefined && this._waitingById.get(id) === waiting) this._waitingById.delete(id);
  }
}

/**
 * The tap read the response id and model off the wire: a span that lacks them (e.g. OpenLLMetry's Responses stream
 * span) gets them.
 */
function fillIdentity(attributes: Attributes, report: TapReport): void {
  if (
    report.responseId !== undefined &&
    report.responseId.length > 0 &&
    attributes[ATTR_GEN_AI_RESPONSE_ID] === undefined
  ) {
    attributes[ATTR_GEN_AI_RESPONSE_ID] = report.responseId;
  }
  if (report.model !== undefined && report.model.length > 0 && attributes[ATTR_GEN_AI_RESPONSE_MODEL] === undefined) {
    attributes[ATTR_GEN_AI_RESPONSE_MODEL] = report.model;
  }
}
