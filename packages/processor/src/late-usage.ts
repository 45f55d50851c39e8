/*
 * Usage that arrives apart from its span, keyed by `gen_ai.response.id`: from `recordUsage`, or from a span
 * event of another span. If its span is held, the processor joins it at once; if the span has not ended
 * yet, the usage waits here until it does.
 *
 *   add(responseId, usage) ─► first report for an id wins; full (maxPendingUsage)? dropped and counted
 *   span with that id ends ─► take(responseId) ─► applyLateUsage ─► forwarded with its usage
 *   holdMillis passes ─────► expired and counted
 */
import {
  applyLateUsage,
  isGenAiSpan,
  normalizeAttributes,
  ATTR_GEN_AI_RESPONSE_ID,
  hasUsage,
  readUsage,
} from '@genai-enrich/normalizer';
import type { UsageCounts } from '@genai-enrich/normalizer';
import { ATTR_USAGE_SOURCE } from './attributes.js';
import type { DeadlineMap, ExpiryTimer } from './deadlines.js';
import type { ReadableSpanLike, UsageSource } from './types.js';

/** Late usage waiting for its span. */
export interface Pending {
  readonly usage: UsageCounts;
  readonly source: UsageSource;
}

export class PendingUsage {
  /** `expired`: never found its span; `dropped`: came while maxPendingUsage entries waited. */
  readonly counts = { expired: 0, dropped: 0 };
  private readonly _byResponseId: DeadlineMap<string, Pending>;
  private readonly _maxPending: number;
  private readonly _onFull: () => void;

  constructor(timer: ExpiryTimer, options: { holdMillis: number; maxPendingUsage: number }, onFull: () => void) {
    this._byResponseId = timer.map(options.holdMillis, () => this.counts.expired++);
    this._maxPending = options.maxPendingUsage;
    this._onFull = onFull;
  }

  get size(): number {
    return this._byResponseId.size;
  }

  add(responseId: string, usage: UsageCounts, source: UsageSource): void {
    if (this._byResponseId.has(responseId)) return; // the first report wins, as for attributes
    if (this._byResponseId.size >= this._maxPending) {
      this.counts.dropped++;
      this._onFull();
      return;
    }
    this._byResponseId.set(responseId, { usage, source });
  }

  take(responseId: string): Pending | undefined {
    return this._byResponseId.take(responseId);
  }

  /** At shutdown: what still waits will never find its span. */
  clear(): void {
    this.counts.expired += this._byResponseId.clear().length;
  }
}

/** Writes late usage into the span (counts the emitter set win, see applyLateUsage) and names its source. */
export function joinUsage(span: ReadableSpanLike, usage: UsageCounts, source: UsageSource, totalTokens?: number): void {
  const attributes = span.attributes;
  applyLateUsage(attributes, usage, totalTokens);
  attributes[ATTR_USAGE_SOURCE] = source;
}

/** Usage reported in the span's GenAI events (e.g. `gen_ai.client.inference.operation.details`), by response id. */
export function eventUsage(span: ReadableSpanLike): Array<{ responseId: string; usage: UsageCounts }> {
  const out: Array<{ responseId: string; usage: UsageCounts }> = [];
  for (const event of span.events ?? []) {
    const raw = event.attributes;
    if (raw === undefined || !isGenAiSpan(raw)) continue;
    const attributes = normalizeAttributes(raw);
    const responseId = attributes[ATTR_GEN_AI_RESPONSE_ID];
    if (typeof responseId === 'string' && responseId.length > 0 && hasUsage(attributes)) {
      out.push({ responseId, usage: readUsage(attributes) });
    }
  }
  return out;
}
