/*
 * What the relay keeps in memory, counted: the two byte budgets and the exporter wrapper that tells when
 * spans leave.
 *
 *   request bodies being read ─► ByteBudget (maxInflightBytes): each chunk off the wire, and again each
 *                                chunk out of gunzip, taken before it is kept; given back when the body
 *                                is decoded or refused
 *   decoded spans ─► SpanLedger (maxQueueBytes, maxQueueSize): reserved when the request is admitted,
 *                    live once handed to the processor (held, queued or in an export), released when the
 *                    exporter calls back for them (CountingExporter)
 *
 * A span's bytes are the processor's estimate (estimateSpanBytes), taken once when the request is
 * admitted and remembered on the span object under a symbol of the relay's (exporters read the fields they
 * know and nothing else), so that what is released is exactly what was counted. A WeakMap would do the same
 * at 3–4 % of the relay's CPU: its entries cost on every insert and in every garbage collection.
 */
import type { ExportResultLike, ReadableSpanLike, SpanExporterLike } from '@genai-enrich/processor';

/** Where a handed span keeps its bytes (see the header). */
const SPAN_BYTES = Symbol('genai-enrich.relay.spanBytes');
type Sized = { [SPAN_BYTES]?: number | undefined };

/** A byte budget: what is taken now, the most ever taken, and a limit that taking never passes. */
export class ByteBudget {
  used = 0;
  peak = 0;
  readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Takes `bytes` when they fit under the limit (plus `over`); false (and nothing taken) when they do not. */
  tryTake(bytes: number, over = 0): boolean {
    if (this.used + bytes > this.limit + over) return false;
    this.used += bytes;
    if (this.used > this.peak) this.peak = this.used;
    return true;
  }

  /** Takes `bytes` whatever the limit (bytes already in memory, counted late); the intake sees less room. */
  force(bytes: number): void {
    this.used += bytes;
    if (this.used > this.peak) this.peak = this.used;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

/**
 * The spans the relay has accepted and not yet seen exported, in count and estimated bytes: reserved for a
 * request being handed over, then live until the exporter calls back for them.
 */
export class SpanLedger {
  /** Spans admitted whose request is still being handed to the processor. */
  reservedSpans = 0;
  readonly bytes: ByteBudget;
  /** Spans that cannot take a property (frozen): their sizes are kept here instead. */
  private readonly _frozen = new WeakMap<object, number>();

  constructor(maxBytes: number) {
    this.bytes = new ByteBudget(maxBytes);
  }

  /** Reserves room for a request's spans; false when their bytes do not fit now (beyond `overBytes` past the limit). */
  reserve(spans: number, bytes: number, overBytes = 0): boolean {
    if (!this.bytes.tryTake(bytes, overBytes)) return false;
    this.reservedSpans += spans;
    return true;
  }

  /** Gives back what a request reserved and did not hand over. */
  unreserve(spans: number, bytes: number): void {
    this.reservedSpans -= spans;
    this.bytes.give(bytes);
  }

  /** A reserved span goes to the processor: it stays counted until it is exported. */
  handed(span: object, bytes: number): void {
    this.reservedSpans--;
    if (Object.isExtensible(span)) (span as Sized)[SPAN_BYTES] = bytes;
    else this._frozen.set(span, bytes);
  }

  /** The exporter is done with these spans (exported or failed): their bytes are free. */
  released(spans: readonly object[]): void {
    let bytes = 0;
    for (const span of spans) {
      const sized = span as Sized;
      const size = sized[SPAN_BYTES];
      if (size !== undefined) {
        sized[SPAN_BYTES] = undefined; // released once, whatever happens to the span next
        bytes += size;
      } else {
        bytes += this._frozen.get(span) ?? 0;
        this._frozen.delete(span);
      }
    }
    this.bytes.give(bytes);
  }
}

/**
 * Counts what the processor hands its exporter, so that the relay knows how full the export queue is, and
 * releases the spans' bytes from the ledger when the exporter calls back (once per export, whatever it does).
 */
export class CountingExporter implements SpanExporterLike {
  handed = 0;
  failed = 0;
  private readonly _next: SpanExporterLike;
  private readonly _ledger: SpanLedger | undefined;
  private readonly _onRelease: () => void;

  constructor(next: SpanExporterLike, ledger?: SpanLedger, onRelease: () => void = () => {}) {
    this._next = next;
    this._ledger = ledger;
    this._onRelease = onRelease;
  }

  export(spans: ReadableSpanLike[], resultCallback: (result: ExportResultLike) => void): void {
    this.handed += spans.length;
    let called = false;
    const done = (failed: boolean): void => {
      if (called) return;
      called = true;
      if (failed) this.failed += spans.length;
      this._ledger?.released(spans);
      this._onRelease();
    };
    try {
      this._next.export(spans, (result) => {
        done(result?.code !== 0);
        resultCallback(result);
      });
    } catch (error) {
      // The processor's batcher counts the failure; the spans are gone either way.
      done(true);
      throw error;
    }
  }

  forceFlush(): Promise<void> {
    return this._next.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this._next.shutdown();
  }
}
