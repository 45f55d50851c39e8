/*
 * Where spans go after the processor: `next` is a SpanProcessor (every call is passed on) or a SpanExporter
 * (batched here by ExportBatcher, as BatchSpanProcessor would). Calls into `next` never throw out of here:
 * a failure is handed to `onError` with the name of the call. forceFlush and shutdown wait for `next` at
 * most `flushTimeoutMillis`: an exporter that never answers must not hold an application's exit forever.
 */
import { diag } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import type { ResolvedConfig } from './config.js';
import { ExportBatcher } from './export-batcher.js';
import type { ReadableSpanLike, SpanExporterLike, SpanLike, SpanProcessorLike } from './types.js';

export class NextStage {
  private readonly _processor: SpanProcessorLike | undefined;
  private readonly _batcher: ExportBatcher | undefined;
  private readonly _onError: (where: string, error: unknown) => void;
  private readonly _config: ResolvedConfig;
  /** forceFlush and shutdown calls that gave up waiting at flushTimeoutMillis. */
  flushTimeouts = 0;

  constructor(
    next: SpanExporterLike | SpanProcessorLike,
    config: ResolvedConfig,
    onError: (where: string, error: unknown) => void,
  ) {
    this._onError = onError;
    this._config = config;
    if (next !== null && typeof next === 'object' && typeof (next as SpanProcessorLike).onEnd === 'function') {
      this._processor = next as SpanProcessorLike;
    } else if (next !== null && typeof next === 'object' && typeof (next as SpanExporterLike).export === 'function') {
      this._batcher = new ExportBatcher(next as SpanExporterLike, {
        maxQueueSize: config.maxQueueSize,
        maxExportBatchSize: config.maxExportBatchSize,
        scheduledDelayMillis: config.scheduledDelayMillis,
        exportTimeoutMillis: config.exportTimeoutMillis,
        clock: config.clock,
        onError: (error) => onError('export', error),
      });
    } else {
      diag.error('GenAiEnrichingProcessor: next is neither a SpanExporter nor a SpanProcessor; spans go nowhere');
    }
  }

  /** Exporter mode: spans dropped because the export queue was full. */
  get dropped(): number {
    return this._batcher?.dropped ?? 0;
  }

  onStart(span: SpanLike, parentContext: Context): void {
    if (this._processor === undefined) return;
    try {
      this._processor.onStart(span, parentContext);
    } catch (error) {
      this._onError('next.onStart', error);
    }
  }

  onEnding(span: SpanLike): void {
    if (this._processor?.onEnding === undefined) return;
    try {
      this._processor.onEnding(span);
    } catch (error) {
      this._onError('next.onEnding', error);
    }
  }

  forward(span: ReadableSpanLike): void {
    if (this._processor !== undefined) {
      try {
        this._processor.onEnd(span);
      } catch (error) {
        this._onError('next.onEnd', error);
      }
    } else if (this._batcher !== undefined) {
      this._batcher.add(span);
    }
  }

  forceFlush(): Promise<void> {
    return this._within('next.forceFlush', () =>
      this._processor !== undefined ? this._processor.forceFlush() : this._batcher?.forceFlush(),
    );
  }

  shutdown(): Promise<void> {
    return this._within('next.shutdown', () =>
      this._processor !== undefined ? this._processor.shutdown() : this._batcher?.shutdown(),
    );
  }

  /** Runs `call`, waiting for it at most flushTimeoutMillis; never rejects. */
  private async _within(where: string, call: () => Promise<void> | undefined): Promise<void> {
    let timer: ReturnType<ResolvedConfig['clock']['setTimeout']> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = this._config.clock.setTimeout(() => resolve('timeout'), this._config.flushTimeoutMillis);
      timer.unref?.();
    });
    try {
      const outcome = await Promise.race([Promise.resolve(call()).then(() => 'done' as const), timedOut]);
      if (outcome === 'timeout') {
        this.flushTimeouts++;
        const queued = this._batcher?.queued ?? 0;
        diag.warn(
          `GenAiEnrichingProcessor: ${where} still waiting after ${this._config.flushTimeoutMillis} ms ` +
            `(flushTimeoutMillis); ${queued} spans not yet exported`,
        );
      }
    } catch (error) {
      this._onError(where, error);
    } finally {
      if (timer !== undefined) this._config.clock.clearTimeout(timer);
    }
  }
}
