/*
 * The relay's sending queue: what the processor exports is encoded, stored (in memory, or in a directory
 * that survives a crash) and acknowledged to the processor at once; consumers then deliver each batch to
 * the forward target, retrying until it is delivered or its retry time runs out.
 *
 *   processor ─ export(spans) ─► encode (values as received) ─► store.add (batch-store.ts) ─► callback: done
 *     ─► journal.enqueued(spans): their requests need no replay now (journal.ts)
 *   consumers (at most `concurrency` batches in flight), oldest batch first:
 *     sender.send (http-sender.ts) ─ success ─────────────► store.remove, delivered (the target's partial
 *                                                           success counted in `rejectedByTarget`)
 *                                  ─ failure (not retryable) ─► store.remove, rejectedByTarget, reported
 *                                  ─ retryable ─► wait: back-off (initial × multiplier^n, at most maxInterval,
 *                                    ± randomization), or Retry-After when longer ─► again; once the batch has
 *                                    been retried for maxElapsed ─► store.remove, lost, reported
 *   drain(deadline): waits for the queue to empty; at the deadline what is left stays in a durable store for
 *     the next start, or is counted lost (memory store)
 *
 * The Collector's `sending_queue` and `retry_on_failure` are the model, with their defaults (5 s initial
 * interval, ×1.5, 30 s at most, 300 s in all). Every timer is unref()ed; nothing here throws into the
 * processor. The queue's bytes are reported through `onQueued` / `onSettled`, so that the relay counts
 * them in its byte budget and refuses new requests (503) when the target is behind, instead of dropping.
 */
import { diag } from '@opentelemetry/api';
import type { ExportResultLike, ReadableSpanLike, SpanExporterLike } from '@genai-enrich/processor';
import type { BatchStore, StoredBatch } from './batch-store.js';
import type { Sender } from './http-sender.js';

/** How failed deliveries are retried; the Collector's `retry_on_failure` defaults. */
export interface RetryPolicy {
  initialIntervalMillis: number;
  multiplier: number;
  maxIntervalMillis: number;
  /** How long one batch may be retried, from its first attempt; then it is counted lost. 0: never retried. */
  maxElapsedMillis: number;
  /** Each wait is the back-off ± this fraction of it, so that relays that failed together do not retry together. */
  randomization: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  initialIntervalMillis: 5_000,
  multiplier: 1.5,
  maxIntervalMillis: 30_000,
  maxElapsedMillis: 300_000,
  randomization: 0.5,
};

/** Default {@link DeliveryQueueOptions.concurrency}: batches in flight at once. */
export const DEFAULT_EXPORT_CONCURRENCY = 4;
/** Default {@link DeliveryQueueOptions.timeoutMillis}: one attempt, as the OTLP exporters' default timeout. */
export const DEFAULT_EXPORT_TIMEOUT_MILLIS = 10_000;

export interface DeliveryQueueOptions {
  encode(spans: readonly ReadableSpanLike[]): Uint8Array;
  sender: Sender;
  store: BatchStore;
  concurrency: number;
  timeoutMillis: number;
  retry: RetryPolicy;
  /**
   * The exported spans' batch is stored: their requests need no replay now. The batch is acknowledged to
   * the processor when this resolves. Must not throw or reject.
   */
  onStored(spans: readonly ReadableSpanLike[]): Promise<void> | void;
  /** A batch of `bytes` entered the queue / left it (delivered, rejected or lost). */
  onQueued(bytes: number): void;
  onSettled(bytes: number): void;
  random?: () => number;
}

/** The queue's counters (spans unless named otherwise). */
export interface DeliveryCounts {
  /** Spans delivered and accepted by the target. */
  delivered: number;
  /** Spans the target refused: not retryable answers, and partial success. */
  rejectedByTarget: number;
  /** Spans whose retry time ran out, or that a memory-only queue still held when shutdown's deadline came. */
  lost: number;
  /** Attempts that failed and were retried. */
  retries: number;
  /** Exports the processor handed over that could not be stored (a full disk): failed to the processor. */
  storeFailures: number;
  /** Spans of batches a previous run stored and did not deliver, queued again at start. */
  resumed: number;
}

interface Pending {
  batch: StoredBatch;
  firstAttempt: number | undefined;
  attempts: number;
}

export class DeliveryQueue implements SpanExporterLike {
  readonly counts: DeliveryCounts = {
    delivered: 0,
    rejectedByTarget: 0,
    lost: 0,
    retries: 0,
    storeFailures: 0,
    resumed: 0,
  };
  private readonly _options: DeliveryQueueOptions;
  private readonly _waiting: Pending[] = [];
  private _inFlight = 0;
  /** Spans and bytes in the queue now: waiting, in flight or backing off. */
  private _spans = 0;
  private _bytes = 0;
  /** Spans of exports being stored (not yet in `_spans`). */
  private _storing = 0;
  private _stopping = false;
  private readonly _sleeps = new Set<() => void>();
  private _idle: Array<() => void> = [];

  constructor(options: DeliveryQueueOptions) {
    this._options = options;
  }

  /** Spans not yet delivered (being stored, waiting, in flight, backing off). */
  get spans(): number {
    return this._spans + this._storing;
  }

  get bytes(): number {
    return this._bytes;
  }

  get inFlight(): number {
    return this._inFlight;
  }

  /** Batches stored before a restart: delivered first, as they were queued first. */
  resume(batches: readonly StoredBatch[]): void {
    for (const batch of batches) {
      this.counts.resumed += batch.spans;
      this._enqueue(batch);
    }
    this._pump();
  }

  export(spans: ReadableSpanLike[], resultCallback: (result: ExportResultLike) => void): void {
    let body: Uint8Array;
    try {
      body = this._options.encode(spans);
    } catch (error) {
      this.counts.storeFailures += spans.length;
      resultCallback({ code: 1, error: error instanceof Error ? error : new Error(String(error)) });
      return;
    }
    this._storing += spans.length;
    this._options.store.add(body, spans.length).then(
      async (batch) => {
        await this._options.onStored(spans);
        this._storing -= spans.length;
        // The spans' estimated bytes are given back first, then the batch's encoded bytes (never more) taken.
        resultCallback({ code: 0 });
        this._enqueue(batch);
        this._pump();
      },
      (error: unknown) => {
        this._storing -= spans.length;
        this.counts.storeFailures += spans.length;
        diag.error(`genai-enrich relay: cannot queue ${spans.length} spans for delivery: ${String(error)}`);
        resultCallback({ code: 1, error: error instanceof Error ? error : new Error(String(error)) });
      },
    );
  }

  /** Resolves once every queued batch has settled, or at `deadline` (epoch ms), whichever is first. */
  async drain(deadline: number): Promise<void> {
    while (this._spans > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        timer.unref();
        this._idle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  forceFlush(): Promise<void> {
    return Promise.resolve(); // stored is as flushed as the processor can make it; drain() waits for delivery
  }

  /** The processor's shutdown: nothing yet; the relay drains the queue within its grace, then calls stop(). */
  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Stops: no new attempts, back-offs cut short. What is left stays in a durable store for the next start;
   * in memory it is counted lost. Call drain() first to give deliveries a chance.
   */
  async stop(): Promise<void> {
    if (this._stopping) return;
    this._stopping = true;
    for (const wake of [...this._sleeps]) wake();
    const left = this._waiting.splice(0);
    const unsent = left.reduce((n, p) => n + p.batch.spans, 0);
    // Durable: they stay queued (on disk, and in queuedSpans) for the next start. Memory: lost.
    if (!this._options.store.durable && unsent > 0) {
      this._spans -= unsent;
      this.counts.lost += unsent;
      diag.error(`genai-enrich relay: ${unsent} spans not delivered by shutdown's deadline are lost (memory queue)`);
      for (const pending of left) this._settleBytes(pending.batch);
    }
    this._options.sender.shutdown();
    await this._options.store.close();
  }

  private _enqueue(batch: StoredBatch): void {
    this._waiting.push({ batch, firstAttempt: undefined, attempts: 0 });
    this._spans += batch.spans;
    this._bytes += batch.bytes;
    this._options.onQueued(batch.bytes);
  }

  private _pump(): void {
    while (!this._stopping && this._inFlight < this._options.concurrency && this._waiting.length > 0) {
      const pending = this._waiting.shift()!;
      this._inFlight++;
      void this._deliver(pending).finally(() => {
        this._inFlight--;
        this._pump();
      });
    }
  }

  /** Attempts until the batch settles (see the header); never rejects. */
  private async _deliver(pending: Pending): Promise<void> {
    const { batch } = pending;
    for (;;) {
      let body: Uint8Array;
      try {
        body = await batch.body();
      } catch (error) {
        this._settle(pending, 'lost', `its stored body cannot be read: ${String(error)}`);
        return;
      }
      pending.firstAttempt ??= Date.now();
      pending.attempts++;
      const outcome = await this._options.sender.send(body, this._options.timeoutMillis);
      if (outcome.status === 'success') {
        this.counts.rejectedByTarget += Math.min(outcome.rejectedSpans, batch.spans);
        if (outcome.rejectedSpans > 0) {
          diag.warn(`genai-enrich relay: the target rejected ${outcome.rejectedSpans} spans: ${outcome.message ?? ''}`);
        }
        this._settle(pending, 'delivered', undefined, batch.spans - Math.min(outcome.rejectedSpans, batch.spans));
        return;
      }
      if (outcome.status === 'failure') {
        this._settle(pending, 'rejected', outcome.reason);
        return;
      }
      if (this._stopping) {
        this._requeueForShutdown(pending);
        return;
      }
      const wait = this._backoff(pending.attempts, outcome.retryInMillis);
      const elapsed = Date.now() - pending.firstAttempt;
      if (elapsed + wait > this._options.retry.maxElapsedMillis) {
        this._settle(pending, 'lost', `still failing after ${Math.round(elapsed / 1000)} s: ${outcome.reason}`);
        return;
      }
      this.counts.retries++;
      await this._sleep(wait);
      if (this._stopping) {
        this._requeueForShutdown(pending);
        return;
      }
    }
  }

  /** Exponential back-off with randomization; Retry-After when it asks for longer (capped at maxElapsed). */
  private _backoff(attempts: number, retryInMillis: number | undefined): number {
    const { initialIntervalMillis, multiplier, maxIntervalMillis, randomization } = this._options.retry;
    const base = Math.min(maxIntervalMillis, initialIntervalMillis * multiplier ** (attempts - 1));
    const random = this._options.random ?? Math.random;
    const jittered = base * (1 - randomization + 2 * randomization * random());
    return Math.max(jittered, Math.min(retryInMillis ?? 0, this._options.retry.maxElapsedMillis));
  }

  private _sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this._sleeps.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      this._sleeps.add(wake);
    });
  }

  /** Shutdown came during its attempts: it stays queued for the next start (durable) or is lost (memory). */
  private _requeueForShutdown(pending: Pending): void {
    if (!this._options.store.durable) this._settle(pending, 'lost', 'shutdown came before it could be delivered');
  }

  private _settle(pending: Pending, how: 'delivered' | 'rejected' | 'lost', reason?: string, delivered = 0): void {
    const { batch } = pending;
    if (how === 'delivered') this.counts.delivered += delivered;
    else if (how === 'rejected') {
      this.counts.rejectedByTarget += batch.spans;
      diag.error(`genai-enrich relay: the target refused ${batch.spans} spans, not retried: ${reason ?? ''}`);
    } else {
      this.counts.lost += batch.spans;
      diag.error(`genai-enrich relay: ${batch.spans} spans lost: ${reason ?? ''}`);
    }
    this._options.store.remove(batch);
    this._spans -= batch.spans;
    this._settleBytes(batch);
    this._wakeIdle();
  }

  private _settleBytes(batch: StoredBatch): void {
    this._bytes -= batch.bytes;
    this._options.onSettled(batch.bytes);
  }

  private _wakeIdle(): void {
    if (this._spans > 0) return;
    const idle = this._idle;
    this._idle = [];
    for (const wake of idle) wake();
  }
}
