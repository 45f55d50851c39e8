/*
 * The relay's sending queue: what the processor exports is encoded and acknowledged at once; consumers
 * deliver each batch to the forward target, retrying until it is delivered or its retry time runs out. A
 * batch goes to disk (the store) only when it has to wait: its first attempt failed, or the relay stops.
 *
 *   processor ─ export(spans) ─► encode (values as received) ─► claim: note the spans' places in the request
 *     journal (journal.ts), which keeps their requests until the batch is settled or stored ─► callback: done
 *   consumers (at most `concurrency` batches in flight), oldest batch first:
 *     sender.send (http-sender.ts) ─ success ─────────────► delivered (a partial success counted in
 *                                                           `rejectedByTarget`)
 *                                  ─ failure (not retryable) ─► rejectedByTarget, reported
 *                                  ─ retryable ─► not on disk yet? stored now (batch-store.ts), its journal
 *                                    places released ─► wait: back-off (initial × multiplier^n, at most
 *                                    maxInterval, ± randomization), or Retry-After when longer ─► again; once
 *                                    retried for maxElapsed ─► lost, reported
 *     settled (delivered, refused, lost) ─► its file removed, its journal places released
 *   drain(deadline): waits for the queue to empty; stop(): what is left is stored for the next start (a
 *     directory), or counted lost (memory)
 *
 * So in the healthy path the durable queue writes only the request journal: a batch is written when the
 * target fails it. A crash loses nothing acknowledged either way (what is not stored is journaled), and
 * sends again at most the batches in flight, whose journal places were not yet released.
 *
 * The Collector's `sending_queue` and `retry_on_failure` are the model, with their defaults. Every timer
 * is unref()ed but drain's deadline (see there); nothing here throws into the processor. The queue's bytes
 * are reported through `onQueued` / `onSettled`, so that the relay counts them in its byte budget and
 * refuses new requests (503) when the target is behind, instead of dropping.
 */
import { diag } from '@opentelemetry/api';
import type { ExportResultLike, ReadableSpanLike, SpanExporterLike } from '@genai-enrich/processor';
import type { BatchStore, StoredBatch } from './batch-store.js';
import type { Sender } from './http-sender.js';

/** How failed deliveries are retried (the relay's defaults are the Collector's `retry_on_failure`). */
export interface RetryPolicy {
  initialIntervalMillis: number;
  multiplier: number;
  maxIntervalMillis: number;
  /** How long one batch may be retried, from its first attempt; then it is counted lost. 0: never retried. */
  maxElapsedMillis: number;
  /** Each wait is the back-off ± this fraction of it, so that relays that failed together do not retry together. */
  randomization: number;
}

/** Marks a batch's spans as settled or stored in the request journal; never rejects. */
export type Release = () => Promise<void>;

export interface DeliveryQueueOptions {
  encode(spans: readonly ReadableSpanLike[]): Uint8Array;
  sender: Sender;
  store: BatchStore;
  concurrency: number;
  timeoutMillis: number;
  retry: RetryPolicy;
  /** Notes the spans' places in the request journal, to release once their batch is settled or stored. */
  claim?(spans: readonly ReadableSpanLike[]): Release;
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
  /** Spans whose retry time ran out, or that a memory-only queue still held when it stopped. */
  lost: number;
  /** Attempts that failed and were retried. */
  retries: number;
  /** Batches that could not be written to the store (a full or broken disk): kept in memory, still journaled. */
  storeFailures: number;
  /** Spans of batches a previous run stored and did not deliver, queued again at start. */
  resumed: number;
}

interface Pending {
  readonly spans: number;
  readonly bytes: number;
  /** The encoded batch in memory; undefined for a batch a previous run stored, read when it is sent. */
  body: Uint8Array | undefined;
  stored: StoredBatch | undefined;
  release: Release | undefined;
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
  /** Every batch not yet settled: waiting, in flight or backing off. */
  private readonly _unsettled = new Set<Pending>();
  private _inFlight = 0;
  private _spans = 0;
  private _bytes = 0;
  private _stopping = false;
  private readonly _sleeps = new Set<() => void>();
  private _idle: Array<() => void> = [];

  constructor(options: DeliveryQueueOptions) {
    this._options = options;
  }

  /** Spans not yet delivered (waiting, in flight, backing off; after stop(), left in the store). */
  get spans(): number {
    return this._spans;
  }

  get bytes(): number {
    return this._bytes;
  }

  get inFlight(): number {
    return this._inFlight;
  }

  /** Batches stored before a restart: delivered first, as they were queued first. */
  resume(batches: readonly StoredBatch[]): void {
    for (const stored of batches) {
      this.counts.resumed += stored.spans;
      this._enqueue({ spans: stored.spans, bytes: stored.bytes, body: undefined, stored, release: undefined });
    }
    this._pump();
  }

  export(spans: ReadableSpanLike[], resultCallback: (result: ExportResultLike) => void): void {
    let body: Uint8Array;
    try {
      body = this._options.encode(spans);
    } catch (error) {
      resultCallback({ code: 1, error: error instanceof Error ? error : new Error(String(error)) });
      return;
    }
    const release = this._options.claim?.(spans);
    // The spans' estimated bytes are given back by the callback, then the batch's encoded bytes taken.
    resultCallback({ code: 0 });
    this._enqueue({ spans: spans.length, bytes: body.length, body, stored: undefined, release });
    this._pump();
  }

  /** Resolves once every queued batch has settled, or at `deadline` (epoch ms), whichever is first. */
  async drain(deadline: number): Promise<void> {
    while (this._spans > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        // Not unref()ed, the one timer here that is not: shutdown awaits this deadline, and the retries'
        // own (unref()ed) timers must get to run until it, even when nothing else keeps the process alive.
        const timer = setTimeout(resolve, left);
        this._idle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  forceFlush(): Promise<void> {
    return Promise.resolve(); // drain() is what waits for delivery
  }

  /** The processor's shutdown: nothing yet; the relay drains the queue within its grace, then calls stop(). */
  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Stops: no new attempts, back-offs cut short. What is left is stored for the next start (a directory
   * store) or counted lost (memory). Call drain() first to give deliveries a chance.
   */
  async stop(): Promise<void> {
    if (this._stopping) return;
    this._stopping = true;
    for (const wake of [...this._sleeps]) wake();
    this._waiting.length = 0;
    const left = [...this._unsettled];
    if (this._options.store.durable) {
      for (const pending of left) await this._store(pending);
    } else {
      const unsent = left.reduce((n, p) => n + p.spans, 0);
      if (unsent > 0) diag.error(`genai-enrich relay: ${unsent} spans not delivered when the relay stopped are lost`);
      for (const pending of left) this._settle(pending, 'lost');
    }
    this._options.sender.shutdown();
    await this._options.store.close();
  }

  private _enqueue(fields: Omit<Pending, 'firstAttempt' | 'attempts'>): void {
    const pending: Pending = { ...fields, firstAttempt: undefined, attempts: 0 };
    this._waiting.push(pending);
    this._unsettled.add(pending);
    this._spans += pending.spans;
    this._bytes += pending.bytes;
    this._options.onQueued(pending.bytes);
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
    for (;;) {
      let body: Uint8Array;
      try {
        body = pending.body ?? (await pending.stored!.body());
      } catch (error) {
        return this._settle(pending, 'lost', `its stored body cannot be read: ${String(error)}`);
      }
      pending.firstAttempt ??= Date.now();
      pending.attempts++;
      const outcome = await this._options.sender.send(body, this._options.timeoutMillis);
      if (!this._unsettled.has(pending)) return; // stop() settled it meanwhile
      if (outcome.status === 'success') {
        const rejected = Math.min(outcome.rejectedSpans, pending.spans);
        this.counts.rejectedByTarget += rejected;
        if (rejected > 0)
          diag.warn(`genai-enrich relay: the target rejected ${rejected} spans: ${outcome.message ?? ''}`);
        return this._settle(pending, 'delivered', undefined, pending.spans - rejected);
      }
      if (outcome.status === 'failure') return this._settle(pending, 'rejected', outcome.reason);
      if (this._stopping) return; // stop() stores it, or counts it lost
      const wait = this._backoff(pending.attempts, outcome.retryInMillis);
      const elapsed = Date.now() - pending.firstAttempt;
      if (elapsed + wait > this._options.retry.maxElapsedMillis) {
        return this._settle(pending, 'lost', `still failing after ${Math.round(elapsed / 1000)} s: ${outcome.reason}`);
      }
      this.counts.retries++;
      await this._store(pending); // it waits now: on disk, not only in the journal
      await this._sleep(wait);
      if (this._stopping) return;
    }
  }

  /** Writes the batch to a durable store, once, and releases its journal places; never rejects. */
  private async _store(pending: Pending): Promise<void> {
    if (!this._options.store.durable || pending.stored !== undefined || pending.body === undefined) return;
    try {
      pending.stored = await this._options.store.add(pending.body, pending.spans);
    } catch (error) {
      this.counts.storeFailures++;
      diag.error(
        `genai-enrich relay: cannot store a batch of ${pending.spans} spans (${String(error)}); ` +
          'it stays in memory, and its requests in the journal',
      );
      return;
    }
    const release = pending.release;
    pending.release = undefined;
    await release?.();
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

  private _settle(pending: Pending, how: 'delivered' | 'rejected' | 'lost', reason?: string, delivered = 0): void {
    if (!this._unsettled.delete(pending)) return;
    if (how === 'delivered') this.counts.delivered += delivered;
    else if (how === 'rejected') {
      this.counts.rejectedByTarget += pending.spans;
      diag.error(`genai-enrich relay: the target refused ${pending.spans} spans, not retried: ${reason ?? ''}`);
    } else {
      this.counts.lost += pending.spans;
      if (reason !== undefined) diag.error(`genai-enrich relay: ${pending.spans} spans lost: ${reason}`);
    }
    if (pending.stored !== undefined) this._options.store.remove(pending.stored);
    void pending.release?.();
    pending.release = undefined;
    pending.body = undefined;
    this._spans -= pending.spans;
    this._bytes -= pending.bytes;
    this._options.onSettled(pending.bytes);
    if (this._spans === 0) {
      const idle = this._idle;
      this._idle = [];
      for (const wake of idle) wake();
    }
  }
}
