/*
 * Hand-written exporters for batcher tests: a recording one and the faulty kinds a real exporter can be
 * (throws, returns FAILED, never calls back, slow). All count calls so tests can assert "once" and overlap.
 */
import type { ExportResultLike, ReadableSpanLike, SpanExporterLike } from '../../src/types.js';
import type { FakeClock } from './fake-clock.js';

/** The SDK's ExportResultCode values, spelled out so the tests do not depend on `@opentelemetry/core`. */
export const SUCCESS = 0;
export const FAILED = 1;

/** Records every batch and call; succeeds synchronously unless a subclass says otherwise. */
export class RecordingExporter implements SpanExporterLike {
  /** Every batch passed to `export`, in call order. */
  readonly batches: ReadableSpanLike[][] = [];
  /** Exports started and not yet called back. */
  inFlight = 0;
  /** The most exports ever in flight at once. */
  maxInFlight = 0;
  shutdownCalls = 0;
  forceFlushCalls = 0;
  /** Runs inside `export`, before the exporter's own behaviour (e.g. to inspect the active context). */
  onExport: ((spans: ReadableSpanLike[]) => void) | undefined;

  get exportCalls(): number {
    return this.batches.length;
  }

  /** All spans exported, flattened, in order. */
  get spans(): ReadableSpanLike[] {
    return this.batches.flat();
  }

  export(spans: ReadableSpanLike[], resultCallback: (result: ExportResultLike) => void): void {
    this.batches.push([...spans]);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.onExport?.(spans);
    this.run(spans, (result) => {
      this.inFlight--;
      resultCallback(result);
    });
  }

  /** The exporter's behaviour; the default succeeds at once. */
  protected run(_spans: ReadableSpanLike[], done: (result: ExportResultLike) => void): void {
    done({ code: SUCCESS });
  }

  shutdown(): Promise<void> {
    this.shutdownCalls++;
    return Promise.resolve();
  }

  forceFlush(): Promise<void> {
    this.forceFlushCalls++;
    return Promise.resolve();
  }
}

/** `export()` throws synchronously. */
export class ThrowingExporter extends RecordingExporter {
  readonly error = new Error('exporter exploded');

  protected override run(): void {
    this.inFlight--;
    throw this.error;
  }
}

/** Calls back at once with `FAILED` (and an error, unless constructed with `withError = false`). */
export class FailingExporter extends RecordingExporter {
  readonly error = new Error('collector said no');

  constructor(private readonly _withError = true) {
    super();
  }

  protected override run(_spans: ReadableSpanLike[], done: (result: ExportResultLike) => void): void {
    done(this._withError ? { code: FAILED, error: this.error } : { code: FAILED });
  }
}

/** Never calls back by itself; `callBack` lets a test deliver a late result. */
export class HangingExporter extends RecordingExporter {
  private readonly _callbacks: Array<(result: ExportResultLike) => void> = [];

  protected override run(_spans: ReadableSpanLike[], done: (result: ExportResultLike) => void): void {
    this._callbacks.push(done);
  }

  /** Calls back the `index`-th export (late, as far as the batcher is concerned). */
  callBack(index: number, result: ExportResultLike = { code: SUCCESS }): void {
    this._callbacks[index](result);
  }
}

/** Calls back after `delayMs` of the fake clock, with `result` (success by default). */
export class SlowExporter extends RecordingExporter {
  constructor(
    private readonly _clock: FakeClock,
    private readonly _delayMs: number,
    private readonly _result: ExportResultLike = { code: SUCCESS },
  ) {
    super();
  }

  protected override run(_spans: ReadableSpanLike[], done: (result: ExportResultLike) => void): void {
    this._clock.setTimeout(() => done(this._result), this._delayMs);
  }
}

/** Succeeds, but `shutdown` and `forceFlush` reject (and count), to check they never reject through the batcher. */
export class RejectingLifecycleExporter extends RecordingExporter {
  readonly error = new Error('lifecycle failure');

  override shutdown(): Promise<void> {
    this.shutdownCalls++;
    return Promise.reject(this.error);
  }

  override forceFlush(): Promise<void> {
    this.forceFlushCalls++;
    return Promise.reject(this.error);
  }
}
