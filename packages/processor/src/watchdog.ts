/*
 * The watchdog: GenAI spans that are never ended are never exported (an abandoned stream, an early
 * `break`). Every GenAI span seen in onStart is watched; one still open after maxOpenMillis is marked
 * `genai_enrich.force_ended` and ended, which brings it to onEnd like any other span.
 *
 *   onStart ─► watch (maxOpenSpans at most; beyond it, counted as unwatched)
 *   onEnd ───► unwatch
 *   maxOpenMillis passes ─► still open? set force_ended, end() ─► onEnd
 */
import { ATTR_FORCE_ENDED } from './attributes.js';
import type { DeadlineMap, ExpiryTimer } from './deadlines.js';
import type { SpanLike } from './types.js';

export class Watchdog {
  readonly counts = { forceEnded: 0, unwatched: 0 };
  private readonly _open: DeadlineMap<SpanLike, SpanLike>;
  private readonly _maxOpenSpans: number;
  private readonly _onFull: () => void;
  private readonly _onError: (error: unknown) => void;

  constructor(
    timer: ExpiryTimer,
    options: { maxOpenMillis: number; maxOpenSpans: number },
    onFull: () => void,
    onError: (error: unknown) => void,
  ) {
    this._open = timer.map(options.maxOpenMillis, (span: SpanLike) => this._forceEnd(span));
    this._maxOpenSpans = options.maxOpenSpans;
    this._onFull = onFull;
    this._onError = onError;
  }

  /** Open GenAI spans watched now. */
  get size(): number {
    return this._open.size;
  }

  watch(span: SpanLike): void {
    if (this._open.size >= this._maxOpenSpans) {
      this.counts.unwatched++;
      this._onFull();
      return;
    }
    this._open.set(span, span);
  }

  unwatch(span: object): void {
    if (this._open.size > 0) this._open.take(span as SpanLike);
  }

  isWatched(span: object): boolean {
    return this._open.has(span as SpanLike);
  }

  /** At shutdown: nothing is watched any more. */
  clear(): void {
    this._open.clear();
  }

  private _forceEnd(span: SpanLike): void {
    if (span.ended) return;
    this.counts.forceEnded++;
    try {
      span.setAttribute(ATTR_FORCE_ENDED, true);
      span.end();
    } catch (error) {
      this._onError(error);
    }
  }
}
