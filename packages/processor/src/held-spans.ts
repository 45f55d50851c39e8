/*
 * HeldSpans: inference spans that ended without token usage, waiting a bounded time for it.
 *
 *   hold(span, responseId) ─► full? the oldest goes first [evicted]
 *                          ─► by span key (a DeadlineMap: holdMillis), by response id, and in each extra
 *                             index (Logfire's siblings)
 *   byKey / byResponseId ───► the held span a late usage report joins
 *   release(held, outcome) ─► out of every index ─► marked (hold_outcome, usage_missing) ─► forward
 *   outcomes: joined (usage arrived) · expired (holdMillis passed) · evicted (maxHeldSpans reached, or
 *             a second span with the same ids arrived) · flushed (forceFlush / shutdown)
 *
 * Every held span leaves exactly once, through release: a span no longer in the store is never forwarded
 * again, so a second join or a join racing with expiry is a no-op.
 */
import { hasUsage } from '@genai-enrich/normalizer';
import { ATTR_HOLD_OUTCOME, ATTR_USAGE_MISSING } from './attributes.js';
import type { DeadlineMap, ExpiryTimer } from './deadlines.js';
import type { ReadableSpanLike } from './types.js';

/** A held span and the keys it is found by. */
export interface Held {
  readonly span: ReadableSpanLike;
  /** Trace id + span id. */
  readonly key: string;
  readonly responseId: string | undefined;
}

/** How a held span left: see the header. */
export type ReleaseOutcome = 'joined' | 'expired' | 'evicted' | 'flushed';

/** A secondary index over held spans, kept in step by the store. */
export interface HeldIndex {
  add(held: Held): void;
  remove(held: Held): void;
}

export interface HeldSpansOptions {
  holdMillis: number;
  maxHeldSpans: number;
}

/** The key a span is held under: its trace id and span id. */
export function spanKey(span: ReadableSpanLike): string {
  const context = span.spanContext();
  return context.traceId + context.spanId;
}

export class HeldSpans {
  /** `holds = joined + expired + evicted + flushed + size`. */
  readonly counts = { holds: 0, joined: 0, expired: 0, evicted: 0, flushed: 0 };
  private readonly _byKey: DeadlineMap<string, Held>;
  private readonly _byResponseId = new Map<string, Held>();
  private readonly _maxHeldSpans: number;
  private readonly _indexes: readonly HeldIndex[];
  private readonly _forward: (span: ReadableSpanLike) => void;

  /** `forward` must not throw: it is how every held span leaves. */
  constructor(
    timer: ExpiryTimer,
    options: HeldSpansOptions,
    forward: (span: ReadableSpanLike) => void,
    indexes: readonly HeldIndex[] = [],
  ) {
    this._byKey = timer.map(options.holdMillis, (held: Held) => this._leave(held, 'expired'));
    this._maxHeldSpans = options.maxHeldSpans;
    this._indexes = indexes;
    this._forward = forward;
  }

  get size(): number {
    return this._byKey.size;
  }

  byKey(key: string): Held | undefined {
    return this._byKey.get(key);
  }

  byResponseId(responseId: string): Held | undefined {
    return this._byResponseId.get(responseId);
  }

  /** Holds the span; makes room first by releasing the oldest held span, or the one with the same ids. */
  hold(span: ReadableSpanLike, responseId: string | undefined): void {
    const held: Held = { span, key: spanKey(span), responseId };
    const same = this._byKey.get(held.key);
    if (same !== undefined) this.release(same, 'evicted');
    else if (this._byKey.size >= this._maxHeldSpans) this.release(this._byKey.oldest()!, 'evicted');
    if (responseId !== undefined) this._byResponseId.set(responseId, held);
    for (const index of this._indexes) index.add(held);
    this._byKey.set(held.key, held);
    this.counts.holds++;
  }

  /** Forwards a held span with its outcome; a span already released is left alone. */
  release(held: Held, outcome: ReleaseOutcome): void {
    if (this._byKey.get(held.key) !== held) return;
    this._byKey.take(held.key);
    this._leave(held, outcome);
  }

  /** Releases every held span, oldest first. */
  releaseAll(outcome: ReleaseOutcome): void {
    for (const held of this._byKey.values()) this.release(held, outcome);
  }

  private _leave(held: Held, outcome: ReleaseOutcome): void {
    if (held.responseId !== undefined && this._byResponseId.get(held.responseId) === held) {
      this._byResponseId.delete(held.responseId);
    }
    for (const index of this._indexes) index.remove(held);
    this.counts[outcome]++;
    const attributes = held.span.attributes;
    attributes[ATTR_HOLD_OUTCOME] = outcome;
    if (outcome !== 'joined' && !hasUsage(attributes)) attributes[ATTR_USAGE_MISSING] = true;
    this._forward(held.span);
  }
}
