/*
 * HeldSpans: inference spans that ended without token usage, waiting a bounded time for it.
 *
 *   hold(span, responseId) ─► over maxHeldSpans or maxHeldBytes with it? the oldest go first [evicted]
 *                             (a span larger than maxHeldBytes on its own is not kept: [evicted] at once)
 *                          ─► a copy of a held span (same trace id, span id and response id: a client's
 *                             retry)? it joins that span's hold as a copy
 *                          ─► else by span key (a DeadlineMap: holdMillis), by response id, and in each
 *                             extra index (Logfire's siblings)
 *   byKey / byResponseId ───► the held span a late usage report joins
 *   release(held, outcome) ─► out of every index ─► marked (hold_outcome, usage_missing) ─► forward,
 *                             then each copy, with what the join wrote on the span copied onto it
 *   outcomes: joined (usage arrived) · expired (holdMillis passed) · evicted (maxHeldSpans or maxHeldBytes
 *             reached, or a span with the same ids but another response id arrived) · flushed (forceFlush
 *             / shutdown)
 *
 * Every held span leaves exactly once, through release: a span no longer in the store is never forwarded
 * again, so a second join or a join racing with expiry is a no-op.
 *
 * Copies. The relay can receive one span twice: an exporter that timed out retries a request the relay
 * had accepted. Both copies are forwarded (at-least-once, as a Collector would), and both carry the usage
 * that joins: the copy waits with the first, takes no index entry of its own, counts in `size`, `bytes` and
 * the balance below like any held span, and leaves when the first leaves, with the attributes the join
 * set or changed on the first written onto it too. Nothing waits outside the bounds: a copy counts against
 * maxHeldSpans and maxHeldBytes, and the hold keeps the first copy's deadline.
 */
import { hasUsage } from '@genai-enrich/normalizer';
import type { Attributes } from '@opentelemetry/api';
import { ATTR_HOLD_OUTCOME, ATTR_USAGE_MISSING } from './attributes.js';
import type { DeadlineMap, ExpiryTimer } from './deadlines.js';
import { estimateSpanBytes } from './span-size.js';
import type { ReadableSpanLike } from './types.js';

/** A held span and the keys it is found by. */
export interface Held {
  readonly span: ReadableSpanLike;
  /** Trace id + span id. */
  readonly key: string;
  readonly responseId: string | undefined;
}

/** What the store keeps beside a {@link Held}. */
interface HeldRecord extends Held {
  /** The estimated bytes of the span and its copies (span-size.ts). */
  bytes: number;
  /** Copies of the span (same ids, same response id) that arrived while it was held; see the header. */
  copies: ReadableSpanLike[] | undefined;
  /** The span's attributes when its first copy arrived: what changed since is written onto the copies. */
  before: Attributes | undefined;
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
  maxHeldBytes: number;
}

/** The key a span is held under: its trace id and span id. */
export function spanKey(span: ReadableSpanLike): string {
  const context = span.spanContext();
  return context.traceId + context.spanId;
}

export class HeldSpans {
  /** Spans, copies included: `holds = joined + expired + evicted + flushed + size`. */
  readonly counts = { holds: 0, joined: 0, expired: 0, evicted: 0, flushed: 0 };
  private readonly _byKey: DeadlineMap<string, HeldRecord>;
  private readonly _byResponseId = new Map<string, HeldRecord>();
  private readonly _maxHeldSpans: number;
  private readonly _maxHeldBytes: number;
  private readonly _indexes: readonly HeldIndex[];
  private readonly _forward: (span: ReadableSpanLike) => void;
  private _size = 0;
  private _bytes = 0;

  /** `forward` must not throw: it is how every held span leaves. */
  constructor(
    timer: ExpiryTimer,
    options: HeldSpansOptions,
    forward: (span: ReadableSpanLike) => void,
    indexes: readonly HeldIndex[] = [],
  ) {
    this._byKey = timer.map(options.holdMillis, (held: HeldRecord) => this._leave(held, 'expired'));
    this._maxHeldSpans = options.maxHeldSpans;
    this._maxHeldBytes = options.maxHeldBytes;
    this._indexes = indexes;
    this._forward = forward;
  }

  /** Spans held now, copies included. */
  get size(): number {
    return this._size;
  }

  /** The estimated bytes of the spans held now (span-size.ts). */
  get bytes(): number {
    return this._bytes;
  }

  byKey(key: string): Held | undefined {
    return this._byKey.get(key);
  }

  byResponseId(responseId: string): Held | undefined {
    return this._byResponseId.get(responseId);
  }

  /**
   * Holds the span. Makes room first by releasing the oldest held spans; a copy of a held span joins it;
   * a span with the same ids and another response id replaces it (the first leaves, evicted).
   */
  hold(span: ReadableSpanLike, responseId: string | undefined): void {
    const bytes = estimateSpanBytes(span);
    this.counts.holds++;
    if (bytes > this._maxHeldBytes) {
      this._evictAtOnce(span);
      return;
    }
    while (this._size > 0 && (this._size >= this._maxHeldSpans || this._bytes + bytes > this._maxHeldBytes)) {
      this.release(this._byKey.oldest()!, 'evicted');
    }
    const key = spanKey(span);
    const same = this._byKey.get(key);
    if (same !== undefined && same.responseId === responseId) {
      if (same.copies === undefined) {
        same.copies = [];
        same.before = { ...same.span.attributes };
      }
      same.copies.push(span);
      same.bytes += bytes;
      this._size++;
      this._bytes += bytes;
      return;
    }
    if (same !== undefined) this.release(same, 'evicted');
    const held: HeldRecord = { span, key, responseId, bytes, copies: undefined, before: undefined };
    if (responseId !== undefined) this._byResponseId.set(responseId, held);
    for (const index of this._indexes) index.add(held);
    this._byKey.set(key, held);
    this._size++;
    this._bytes += bytes;
  }

  /** Forwards a held span (and its copies) with its outcome; a span already released is left alone. */
  release(held: Held, outcome: ReleaseOutcome): void {
    const record = this._byKey.get(held.key);
    if (record !== held || record === undefined) return;
    this._byKey.take(held.key);
    this._leave(record, outcome);
  }

  /** Releases every held span, oldest first. */
  releaseAll(outcome: ReleaseOutcome): void {
    for (const held of this._byKey.values()) this.release(held, outcome);
  }

  private _leave(held: HeldRecord, outcome: ReleaseOutcome): void {
    if (held.responseId !== undefined && this._byResponseId.get(held.responseId) === held) {
      this._byResponseId.delete(held.responseId);
    }
    for (const index of this._indexes) index.remove(held);
    const copies = held.copies ?? [];
    this._size -= 1 + copies.length;
    this._bytes -= held.bytes;
    this._mark(held.span, outcome);
    this._forward(held.span);
    for (const copy of copies) {
      copyChanges(held.before!, held.span.attributes, copy.attributes);
      this._mark(copy, outcome);
      this._forward(copy);
    }
  }

  /** A span too large to hold within maxHeldBytes: it leaves now, counted as held and evicted. */
  private _evictAtOnce(span: ReadableSpanLike): void {
    this._mark(span, 'evicted');
    this._forward(span);
  }

  private _mark(span: ReadableSpanLike, outcome: ReleaseOutcome): void {
    this.counts[outcome]++;
    const attributes = span.attributes;
    attributes[ATTR_HOLD_OUTCOME] = outcome;
    if (outcome !== 'joined' && !hasUsage(attributes)) attributes[ATTR_USAGE_MISSING] = true;
  }
}

/** Writes onto `copy` what changed from `before` to `after`: keys set or changed, and keys removed. */
function copyChanges(before: Attributes, after: Attributes, copy: Attributes): void {
  if (copy === after) return; // the same object held twice
  for (const key of Object.keys(after)) {
    if (!(key in before) || before[key] !== after[key]) copy[key] = after[key];
  }
  for (const key of Object.keys(before)) {
    if (!(key in after)) delete copy[key];
  }
}
