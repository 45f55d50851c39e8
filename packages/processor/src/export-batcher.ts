/*
 * The batching half of exporter mode: when `GenAiEnrichingProcessor` is given a SpanExporter instead of a
 * SpanProcessor, it batches spans itself with this class, as the SDK's BatchSpanProcessor would.
 *
 * Behaviour follows opentelemetry-js `BatchSpanProcessorBase` (bounded queue, size- and time-triggered
 * exports, timeout per export, tracing suppressed inside exports, unsampled spans skipped), without importing
 * the SDK at runtime (types-only policy). Differences, on purpose:
 * - at most one export is ever in flight, also during forceFlush/shutdown (the SDK runs flush batches
 *   concurrently), so an exporter never sees overlapping calls;
 * - failures never reject: they are counted and handed to `onError`, and forceFlush/shutdown always resolve;
 * - a late callback after a timeout, or a second callback, is ignored, so every export is accounted once.
 */
import { context, diag, TraceFlags } from '@opentelemetry/api';
import type { Clock, ExportResultLike, ReadableSpanLike, SpanExporterLike } from './types.js';
import { suppressTracing } from './suppress-tracing.js';
import { MAX_TIMER_MILLIS } from './option-bounds.js';

/** Options of {@link ExportBatcher}; the processor fills in the defaults. */
export interface ExportBatcherOptions {
  /** The most spans queued; more are dropped and counted. Values below 1 are treated as 1. */
  maxQueueSize: number;
  /** The most spans in one export call; clamped to `maxQueueSize`. Values below 1 are treated as 1. */
  maxExportBatchSize: number;
  /** How long a span may wait in the queue before a partial batch is exported, in ms. */
  scheduledDelayMillis: number;
  /** How long one export may take before it counts as failed, in ms. */
  exportTimeoutMillis: number;
  /** Time source and timers. */
  clock: Clock;
  /** Called once per failure (export FAILED result, export() throwing, timeout); must not throw. */
  onError: (error: unknown) => void;
}

type TimerHandle = ReturnType<Clock['setTimeout']>;

/** Resources of SDK spans may still be resolving attributes; the SDK waits for them before exporting. */
interface AsyncResourceLike {
  asyncAttributesPending?: boolean;
  waitForAsyncAttributes?(): Promise<unknown>;
}

// The processor passes values already checked against PROCESSOR_OPTION_BOUNDS (option-bounds.ts); these
// clamps keep the queue and the timers sane for any other caller, without a second set of messages.
function count(value: number): number {
  // `!(value >= 1)` also catches NaN; the upper clamp keeps `Math.ceil(n / size)` meaningful for Infinity.
  return !(value >= 1) ? 1 : Math.min(Math.floor(value), Number.MAX_SAFE_INTEGER);
}

function millis(value: number): number {
  // Node would fire a longer delay at once: "wait a long time" must not become "do not wait".
  return !(value >= 0) ? 0 : Math.min(value, MAX_TIMER_MILLIS);
}

function ignore(): void {}

/**
 * Batches ended spans and hands them to a SpanExporter: a bounded FIFO queue, exported when it reaches
 * `maxExportBatchSize` or `scheduledDelayMillis` after the first waiting span, one export at a time, each
 * with a timeout and with tracing suppressed. Never throws and never rejects; failures go to `onError`.
 */
export class ExportBatcher {
  private readonly _exporter: SpanExporterLike;
  private readonly _maxQueueSize: number;
  private readonly _maxExportBatchSize: number;
  private readonly _scheduledDelayMillis: number;
  private readonly _exportTimeoutMillis: number;
  private readonly _clock: Clock;
  private readonly _onError: (error: unknown) => void;

  private _queue: ReadableSpanLike[] = [];
  /** The scheduled-delay timer; only armed while spans wait and no export is in flight. */
  private _timer: TimerHandle | undefined;
  /** The export in flight (resolves after its bookkeeping, never rejects); undefined when idle. */
  private _inFlight: Promise<void> | undefined;
  private _droppedTotal = 0;
  /** Spans dropped since the last warning; warned about once, when a span is accepted again or on flush. */
  private _droppedInBurst = 0;
  private _failedTotal = 0;
  private _stopped = false;
  private _shutdownOnce: Promise<void> | undefined;

  /** Creates a batcher for `exporter`; it starts idle (no timer until a span is added). */
  constructor(exporter: SpanExporterLike, options: ExportBatcherOptions) {
    this._exporter = exporter;
    this._maxQueueSize = count(options.maxQueueSize);
    let maxExportBatchSize = count(options.maxExportBatchSize);
    if (maxExportBatchSize > this._maxQueueSize) {
      // A batch larger than the queue could never fill, so size-triggered exports would never happen.
      diag.warn(
        'ExportBatcher: maxExportBatchSize must be smaller or equal to maxQueueSize, ' +
          'setting maxExportBatchSize to match maxQueueSize',
      );
      maxExportBatchSize = this._maxQueueSize;
    }
    this._maxExportBatchSize = maxExportBatchSize;
    this._scheduledDelayMillis = millis(options.scheduledDelayMillis);
    this._exportTimeoutMillis = millis(options.exportTimeoutMillis);
    this._clock = options.clock;
    this._onError = options.onError;
  }

  /** Spans dropped because the queue was full. */
  get dropped(): number {
    return this._droppedTotal;
  }

  /** Export calls that failed (FAILED result, `export()` throwing, timeout, resource attributes rejecting). */
  get failed(): number {
    return this._failedTotal;
  }

  /** Spans waiting in the queue now (not counting the batch in flight). */
  get queued(): number {
    return this._queue.length;
  }

  /**
   * Queues a span. Returns `true` when it was queued, `false` when it was not: the queue is full (the span is
   * dropped and counted in {@link dropped}), the span is not sampled (skipped like the SDK does, not counted),
   * or the batcher is shut down (not counted). Never throws.
   */
  add(span: ReadableSpanLike): boolean {
    if (this._stopped) return false;
    // Hot path: no closures or allocations here beyond the push; try/catch costs nothing in V8 when not thrown.
    try {
      if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return false;
      if (this._queue.length >= this._maxQueueSize) {
        if (this._droppedInBurst === 0) diag.debug('ExportBatcher: maxQueueSize reached, dropping spans');
        this._droppedInBurst++;
        this._droppedTotal++;
        return false;
      }
      // One warning per burst of drops, not one per span: logging per span would amplify the overload.
      if (this._droppedInBurst > 0) this._reportDropped();
      this._queue.push(span);
      this._schedule();
      return true;
    } catch (error) {
      // A span whose spanContext() throws, a diag logger that throws, a clock that throws: never the caller's problem.
      this._reportError(error);
      return false;
    }
  }

  /**
   * Exports everything queued (in batches of `maxExportBatchSize`, one at a time, after any export already in
   * flight), then calls `exporter.forceFlush?.()`. Resolves, never rejects; errors go to `onError`. After
   * shutdown, returns the shutdown promise.
   */
  forceFlush(): Promise<void> {
    if (this._shutdownOnce !== undefined) return this._shutdownOnce;
    return this._drain()
      .then(() => this._exporter.forceFlush?.())
      .then(ignore, this._reportError);
  }

  /**
   * Once (idempotent, later calls return the same promise): stops the timer, exports everything queued, then
   * calls `exporter.shutdown()`. Spans added afterwards are refused. Resolves, never rejects (errors go to
   * `onError`).
   */
  shutdown(): Promise<void> {
    if (this._shutdownOnce === undefined) {
      // Set before draining so that spans added from now on (even from inside an export) are refused.
      this._stopped = true;
      this._shutdownOnce = this._drain()
        .catch(this._reportError)
        .then(() => this._exporter.shutdown())
        .then(ignore, this._reportError);
    }
    return this._shutdownOnce;
  }

  /** Starts an export now if a full batch waits, else arms the delay timer; no-op while an export is in flight. */
  private _schedule(): void {
    // The in-flight export's completion calls back here, so nothing is lost by waiting for it.
    if (this._inFlight !== undefined) return;
    if (this._queue.length >= this._maxExportBatchSize) {
      void this._startExport();
      return;
    }
    if (this._timer !== undefined || this._queue.length === 0 || this._stopped) return;
    const timer = this._clock.setTimeout(this._onTimer, this._scheduledDelayMillis);
    // A pending batch must not keep the process alive; shutdown/forceFlush are how an app flushes on exit.
    timer.unref?.();
    this._timer = timer;
  }

  /** Bound once, so that arming the timer allocates no closure. */
  private readonly _onTimer = (): void => {
    this._timer = undefined;
    if (this._inFlight === undefined && this._queue.length > 0) void this._startExport();
  };

  private _clearTimer(): void {
    if (this._timer !== undefined) {
      this._clock.clearTimeout(this._timer);
      this._timer = undefined;
    }
  }

  /** Exports one batch from the front of the queue; the caller ensures none is in flight. Never rejects. */
  private _startExport(): Promise<void> {
    this._clearTimer();
    const inFlight = this._exportOneBatch().then(this._afterExport);
    this._inFlight = inFlight;
    return inFlight;
  }

  private readonly _afterExport = (): void => {
    this._inFlight = undefined;
    // Re-arm: spans that arrived during the export start the next one (full batch) or the timer.
    try {
      if (this._queue.length > 0) this._schedule();
    } catch (error) {
      this._reportError(error);
    }
  };

  /** Takes up to one batch off the queue and exports it; resolves (never rejects) once it is accounted for. */
  private _exportOneBatch(): Promise<void> {
    let spans: ReadableSpanLike[];
    if (this._queue.length <= this._maxExportBatchSize) {
      // Hand over the whole array instead of copying it; the queue starts afresh.
      spans = this._queue;
      this._queue = [];
    } else {
      spans = this._queue.splice(0, this._maxExportBatchSize);
    }
    return new Promise<void>((resolve) => {
      let settled = false;
      let timeout: TimerHandle | undefined;
      // The first of callback / throw / timeout wins; anything later (a late or second callback) is ignored,
      // so an export is counted once and never both timed out and failed.
      const settle = (failed: boolean, error?: unknown): void => {
        if (settled) return;
        settled = true;
        if (timeout !== undefined) this._clock.clearTimeout(timeout);
        if (failed) {
          this._failedTotal++;
          this._reportError(error);
        }
        resolve();
      };
      const doExport = (): void => {
        try {
          // Exporters do instrumented I/O; without suppression each export would create spans to export.
          context.with(suppressTracing(context.active()), () => {
            this._exporter.export(spans, (result: ExportResultLike) => {
              if (result?.code === 0) settle(false);
              else settle(true, result?.error ?? new Error('ExportBatcher: span export failed'));
            });
          });
        } catch (error) {
          settle(true, error);
        }
      };
      try {
        // Armed before export() is called, so that an exporter calling back synchronously clears it.
        timeout = this._clock.setTimeout(() => {
          settle(
            true,
            new Error(`ExportBatcher: export of ${spans.length} spans timed out after ${this._exportTimeoutMillis} ms`),
          );
        }, this._exportTimeoutMillis);
        timeout.unref?.();
        // As the SDK does: spans whose resource still resolves async attributes wait for them.
        let pending: Promise<unknown>[] | undefined;
        for (let i = 0; i < spans.length; i++) {
          const resource = (spans[i] as { resource?: AsyncResourceLike }).resource;
          if (resource?.asyncAttributesPending && typeof resource.waitForAsyncAttributes === 'function') {
            (pending ??= []).push(resource.waitForAsyncAttributes());
          }
        }
        // No promise hop in the common case: the export starts synchronously, which keeps timing predictable.
        if (pending === undefined) doExport();
        else Promise.all(pending).then(doExport, (error: unknown) => settle(true, error));
      } catch (error) {
        settle(true, error);
      }
    });
  }

  /**
   * Exports what is queued now, one batch at a time, waiting for the export in flight first. The number of
   * exports is fixed up front, so a steady stream of new spans cannot keep a flush from finishing; since every
   * export takes from the front of the queue, these exports cover every span queued when the drain began.
   */
  private async _drain(): Promise<void> {
    this._clearTimer();
    let exports = Math.ceil(this._queue.length / this._maxExportBatchSize) + (this._inFlight === undefined ? 0 : 1);
    while (exports-- > 0) {
      const inFlight = this._inFlight ?? (this._queue.length > 0 ? this._startExport() : undefined);
      if (inFlight === undefined) break;
      await inFlight;
    }
    // Spans that arrived during the drain still need their timer (schedule() arms none after shutdown).
    if (this._queue.length > 0) this._schedule();
    // Report the last burst of drops now rather than never (no span may be accepted after it).
    if (this._droppedInBurst > 0) this._reportDropped();
  }

  private _reportDropped(): void {
    const n = this._droppedInBurst;
    this._droppedInBurst = 0;
    diag.warn(`Dropped ${n} spans because maxQueueSize reached`);
  }

  /** Bound once; `onError` must not throw, but a throwing one must not break the batcher either. */
  private readonly _reportError = (error: unknown): void => {
    try {
      this._onError(error);
    } catch {
      // Nowhere left to report it.
    }
  };
}
