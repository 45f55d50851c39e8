/*
 * Nothing the processor does may throw into the SDK. Failures are counted (`stats().errors`) and reported
 * through `diag.warn` once per place, so a failure on every span cannot flood the host's logs.
 */
import { diag } from '@opentelemetry/api';

export class Problems {
  /** Failed exports, `next` calls that threw, and internal errors. */
  errors = 0;
  private readonly _reported = new Set<string>();

  /** Counts a failure and reports the first one at `where`. */
  error(where: string, error: unknown): void {
    this.errors++;
    this.warnOnce(where, `GenAiEnrichingProcessor: ${where} failed; further failures there are only counted`, error);
  }

  /** Reports a condition once per key (a bound reached, say); the caller counts it. */
  warnOnce(key: string, message: string, error?: unknown): void {
    if (this._reported.has(key)) return;
    this._reported.add(key);
    diag.warn(message, error);
  }
}
