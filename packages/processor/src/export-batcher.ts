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
  private readonly exporter: SpanExporterLike;
  private readonly maxQueueSize: number;
  private readonly maxExportBatchSize: number;
  private readonly scheduledDelayMillis: number;
  private readonly exportTimeoutMillis: number;
  private readonly clock: Clock;
  private readonly onError: (error: unknown) => void;

  private queue: ReadableSpanLike[] = [];
  /** The scheduled-delay timer; only armed while spans wait and no export is in flight. */
  private timer: TimerHandle | undefined;
  /** The export in flight (resolves after its bookkeeping, never rejects); undefined when idle. */
  private inFlight: Promise<void> | undefined;
  private droppedTotal = 0;
  /** Spans dropped since the last warning; warned about once, when a span is accepted again or on flush. */
  private droppedInBurst = 0;
  private failedTotal = 0;
  private stopped = false;
  private shutdownOnce: Promise<void> | undefined;

  /** Creates a batcher for `exporter`; it starts idle (no timer until a span is added). */
  constructor(exporter: SpanExporterLike, options: ExportBatcherOptions) {
    this.exporter = exporter;
    this.maxQueueSize = count(options.maxQueueSize);
    let maxExportBatchSize = count(options.maxExportBatchSize);
    if (maxExportBatchSize > this.maxQueueSize) {
      // A batch larger than the queue could never fill, so size-triggered exports would never happen.
      diag.warn(
        'ExportBatcher: maxExportBatchSize must be smaller or equal to maxQueueSize, setting maxExportBatchSize to match maxQueueSize',
      );
      maxExportBatchSize = this.maxQueueSize;
    }
    this.maxExportBatchSize = maxExportBatchSize;
    this.scheduledDelayMillis = millis(options.scheduledDelayMillis);
    this.exportTimeoutMillis = millis(options.exportTimeoutMillis);
    this.clock = options.clock;
    this.onError = options.onError;
  }

  /** Spans dropped because the queue was full. */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Export calls that failed (FAILED result, `export()` throwing, timeout, resource attributes rejecting). */
  get failed(): number {
    return this.failedTotal;
  }

  /** Spans waiting in the queue now (not counting the batch in flight). */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Queues a span. Returns `true` when it was queued, `false` when it was not: the queue is full (the span is
   * dropped and counted in {@link dropped}), the span is not sampled (skipped like the SDK does, not counted),
   * or the batcher is shut down (not counted). Never throws.
   */
  add(span: ReadableSpanLike): boolean {
    if (this.stopped) return false;
    // Hot path: no closures or allocations here beyond the push; try/catch costs nothing in V8 when not thrown.
    try {
      if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return false;
      if (this.queue.length >= this.maxQueueSize) {
        if (this.droppedInBurst === 0) diag.debug('ExportBatcher: maxQueueSize reached, dropping spans');
        this.droppedInBurst++;
        this.droppedTotal++;
        return false;
      }
      // One warning per burst of drops, not one per span: logging per span would amplify the overload.
      if (this.droppedInBurst > 0) this.reportDropped();
      this.queue.push(span);
      this.schedule();
      return true;
    } catch (error) {
      // A span whose spanContext() throws, a diag logger that throws, a clock that throws: never the caller's problem.
      this.reportError(error);
      return false;
    }
  }

  /**
   * Exports everything queued (in batches of `maxExportBatchSize`, one at a time, after any export already in
   * flight), then calls `exporter.forceFlush?.()`. Resolves, never rejects; errors go to `onError`. After
   * shutdown, returns the shutdown promise.
   */
  forceFlush(): Promise<void> {
    if (this.shutdownOnce !== undefined) return this.shutdownOnce;
    return this.drain()
      .then(() => this.exporter.forceFlush?.())
      .then(ignore, this.reportError);
  }

  /**
   * Once (idempotent, later calls return the same promise): stops the timer, exports everything queued, then
   * calls `exporter.shutdown()`. Spans added afterwards are refused. Resolves, never rejects (errors go to
   * `onError`).
   */
  shutdown(): Promise<void> {
    if (this.shutdownOnce === undefined) {
      // Set before draining so that spans added from now on (even from inside an export) are refused.
      this.stopped = true;
      this.shutdownOnce = this.drain()
        .catch(this.reportError)
        .then(() => this.exporter.shutdown())
        .then(ignore, this.reportError);
    }
    return this.shutdownOnce;
  }

  /** Starts an export now if a full batch waits, else arms the delay timer; no-op while an export is in flight. */
  private schedule(): void {
    // The in-flight export's completion calls back here, so nothing is lost by waiting for it.
    if (this.inFlight !== undefined) return;
    if (this.queue.length >= this.maxExportBatchSize) {
      void this.startExport();
      return;
    }
    if (this.timer !== undefined || this.queue.length === 0 || this.stopped) return;
    const timer = this.clock.setTimeout(this.onTimer, this.scheduledDelayMillis);
    // A pending batch must not keep the process alive; shutdown/forceFlush are how an app flushes on exit.
    timer.unref?.();
    this.timer = timer;
  }

  /** Bound once, so that arming the timer allocates no closure. */
  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.inFlight === undefined && this.queue.length > 0) void this.startExport();
  };

  private clearTimer(): void {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Exports one batch from the front of the queue; the caller ensures none is in flight. Never rejects. */
  private startExport(): Promise<void> {
    this.clearTimer();
    const inFlight = this.exportOneBatch().then(this.afterExport);
    this.inFlight = inFlight;
    return inFlight;
  }

  private readonly afterExport = (): void => {
    this.inFlight = undefined;
    // Re-arm: spans that arrived during the export start the next one (full batch) or the timer.
    try {
      if (this.queue.length > 0) this.schedule();
    } catch (error) {
      this.reportError(error);
    }
  };

  /** Takes up to one batch off the queue and exports it; resolves (never rejects) once it is accounted for. */
  private exportOneBatch(): Promise<void> {
    let spans: ReadableSpanLike[];
    if (this.queue.length <= this.maxExportBatchSize) {
      // Hand over the whole array instead of copying it; the queue starts afresh.
      spans = this.queue;
      this.queue = [];
    } else {
      spans = this.queue.splice(0, this.maxExportBatchSize);
    }
    return new Promise<void>((resolve) => {
      let settled = false;
      let timeout: TimerHandle | undefined;
      // The first of callback / throw / timeout wins; anything later (a late or second callback) is ignored,
      // so an export is counted once and never both timed out and failed.
      const settle = (failed: boolean, error?: unknown): void => {
        if (settled) return;
        settled = true;
        if (timeout !== undefined) this.clock.clearTimeout(timeout);
        if (failed) {
          this.failedTotal++;
          this.reportError(error);
        }
        resolve();
      };
      const doExport = (): void => {
        try {
          // Exporters do instrumented I/O; without suppression each export would create spans to export.
          context.with(suppressTracing(context.active()), () => {
            this.exporter.export(spans, (result: ExportResultLike) => {
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
        timeout = this.clock.setTimeout(() => {
          settle(
            true,
            new Error(`ExportBatcher: export of ${spans.length} spans timed out after ${this.exportTimeoutMillis} ms`),
          );
        }, this.exportTimeoutMillis);
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
  private async drain(): Promise<void> {
    this.clearTimer();
    let exports = Math.ceil(this.queue.length / this.maxExportBatchSize) + (this.inFlight === undefined ? 0 : 1);
    while (exports-- > 0) {
      const inFlight = this.inFlight ?? (this.queue.length > 0 ? this.startExport() : undefined);
      if (inFlight === undefined) break;
      await inFlight;
    }
    // Spans that arrived during the drain still need their timer (schedule() arms none after shutdown).
    if (this.queue.length > 0) this.schedule();
    // Report the last burst of drops now rather than never (no span may be accepted after it).
    if (this.droppedInBurst > 0) this.reportDropped();
  }

  private reportDropped(): void {
    const n = this.droppedInBurst;
    this.droppedInBurst = 0;
    diag.warn(`Dropped ${n} spans because maxQueueSize reached`);
  }

  /** Bound once; `onError` must not throw, but a throwing one must not break the batcher either. */
  private readonly reportError = (error: unknown): void => {
    try {
      this.onError(error);
    } catch {
      // Nowhere left to report it.
    }
  };
}
