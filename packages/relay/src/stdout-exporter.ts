/*
 * The embedded mode's exporter: each export batch becomes one line of OTLP/JSON (an
 * ExportTraceServiceRequest, as the relay forwards it with `--forward-protocol http/json`: the same encoder,
 * values as received) on stdout, so the relay can sit in a shell pipeline (`genai-enrich-relay | jq`) with
 * no server behind it.
 */
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResultLike, ReadableSpanLike, SpanExporterLike } from '@genai-enrich/processor';
import type { RelayOutput } from './config.js';
import { encodeJsonTraceRequestText } from './otlp/encode-json.js';

/** Writes each batch as one OTLP/JSON line; an export succeeds once its line is written. */
export class OtlpJsonLinesExporter implements SpanExporterLike {
  private readonly _output: RelayOutput;
  private readonly _pending = new Set<Promise<void>>();
  private _shutdown = false;

  /** @param output where lines go; `process.stdout` in the CLI. */
  constructor(output: RelayOutput) {
    this._output = output;
  }

  export(spans: ReadableSpanLike[], resultCallback: (result: ExportResultLike) => void): void {
    if (this._shutdown) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('OtlpJsonLinesExporter is shut down') });
      return;
    }
    let line: Uint8Array;
    try {
      // Strings are written by JSON.stringify, which escapes every newline in them, so the line is one line.
      line = Buffer.from(encodeJsonTraceRequestText(spans) + '\n', 'utf8');
    } catch (error) {
      resultCallback({
        code: ExportResultCode.FAILED,
        error: error instanceof Error ? error : new Error(String(error)),
      });
      return;
    }
    const written = new Promise<void>((resolve) => {
      try {
        this._output.write(line, (error) => {
          resultCallback(error ? { code: ExportResultCode.FAILED, error } : { code: ExportResultCode.SUCCESS });
          resolve();
        });
      } catch (error) {
        resultCallback({
          code: ExportResultCode.FAILED,
          error: error instanceof Error ? error : new Error(String(error)),
        });
        resolve();
      }
    });
    this._pending.add(written);
    void written.then(() => this._pending.delete(written));
  }

  /** Resolves once every line handed to the output has been written. */
  async forceFlush(): Promise<void> {
    await Promise.all([...this._pending]);
  }

  async shutdown(): Promise<void> {
    this._shutdown = true;
    await this.forceFlush();
  }
}
