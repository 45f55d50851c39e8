/*
 * Where spans go after the processor: `next` is a SpanProcessor (every call is passed on) or a SpanExporter
 * (batched here by ExportBatcher, as BatchSpanProcessor would). Calls into `next` never throw out of here:
 * a failure is handed to `onError` with the name of the call.
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

  constructor(
    next: SpanExporterLike | SpanProcessorLike,
    config: ResolvedConfig,
    onError: (where: string, error: unknown) => void,
  ) {
    this._onError = onError;
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

  async forceFlush(): Promise<void> {
    try {
      if (this._processor !== undefined) await this._processor.forceFlush();
      else if (this._batcher !== undefined) await this._batcher.forceFlush();
    } catch (error) {
      this._onError('next.forceFlush', error);
    }
  }

  async shutdown(): Promise<void> {
    try {
      if (this._processor !== undefined) await this._processor.shutdown();
      else if (this._batcher !== undefined) await this._batcher.shutdown();
    } catch (error) {
      this._onError('next.shutdown', error);
    }
  }
}
