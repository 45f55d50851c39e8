/*
 * Handing a decoded request's spans to the processor: admitted against the export queue's room (count and
 * estimated bytes, held spans included), then handed over in slices so that the event loop is never
 * blocked for long.
 *
 *   spans ─► end order and the bytes of each (end-order.ts: sorted and estimated in runs, a turn apart)
 *     ─ room for all of them now? ─► reserved ─► slices of SLICE_SPANS: processor.onEnd each, setImmediate between
 *     ─ more than the queue could ever hold? ─► slice by slice, each reserved when room frees up (an export
 *       finishes), waiting up to `waitMillis` in all; what finds no room by then is rejected (partial success)
 *     ─ a span in it carries late usage for a held span (processor.completesHeldSpan)? ─► the whole request
 *       is reserved in the carriers' overdraft (CARRIER_OVERDRAFT past both limits) and handed over as above
 *     ─ otherwise ─► refused: 503, retry later (nothing was taken)
 *   the relay starts shutting down between slices ─► the rest is refused: 503 (the client's retry sends
 *     again the spans already taken: at-least-once)
 *
 * Room means: spans in the processor's export queue + held spans + spans waiting for their descendants
 * (count-once) + spans reserved by requests being handed over ≤ maxQueueSize, and the ledger's bytes (every
 * span accepted and not yet exported) ≤ maxQueueBytes. Held and waiting spans count because each enters the
 * queue when it is released. So nothing handed over is ever dropped by a full queue, and the memory of
 * accepted spans stays under maxQueueBytes, or under maxQueueBytes × (1 + CARRIER_OVERDRAFT) while carriers are
 * let in past a full queue.
 *
 * Why carriers get an overdraft: a carrier completes a held span, which then leaves with its usage; refusing
 * it leaves the held span to expire without usage. The whole request is let in, not only its carriers,
 * because a client retries a refused request whole: half of it admitted would arrive twice.
 */
import { TraceFlags } from '@opentelemetry/api';
import type { SpanContext } from '@opentelemetry/api';
import type { GenAiEnrichingProcessor } from '@genai-enrich/processor';
import { estimateSpanBytes } from '@genai-enrich/processor/internal';
import type { SpanLedger } from './accounting.js';
import { EndOrder } from './end-order.js';
import type { RelaySpan } from './otlp/index.js';

/**
 * Spans handed to the processor between two turns of the event loop: about 10 ms of work for GenAI spans
 * on one core, so `/health` and small requests are answered within that while a large request goes in.
 */
export const SLICE_SPANS = 512;

/**
 * How far past a full export queue a request that carries late usage for a held span may go: this fraction
 * of `maxQueueSize` in count and of `maxQueueBytes` in bytes (8 MiB with the defaults).
 */
export const CARRIER_OVERDRAFT = 1 / 8;

/** A queue limit (spans or bytes) with the carriers' overdraft on top. */
export function withCarrierOverdraft(limit: number): number {
  return limit + Math.floor(limit * CARRIER_OVERDRAFT);
}

/** Resolves waiters when room may have freed up (an export finished). */
export class RoomSignal {
  private _waiters: Array<() => void> = [];

  /** Resolves true at the next notify, false after `ms`. */
  wait(ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this._waiters = this._waiters.filter((w) => w !== wake);
        resolve(false);
      }, ms);
      timer.unref();
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this._waiters.push(wake);
    });
  }

  notify(): void {
    const waiters = this._waiters;
    this._waiters = [];
    for (const wake of waiters) wake();
  }
}

/** What became of a request's spans. */
export type IntakeResult =
  { refused: false; handed: number; rejected: number; reason: string | undefined } | { refused: true; message: string };

export interface IntakeOptions {
  maxQueueSize: number;
  maxQueueBytes: number;
  /** How long an oversized request may wait for room, in all. */
  waitMillis: number;
  /** Spans in the processor's export queue now (forwarded, not yet handed to the exporter). */
  queued(): number;
  closing(): boolean;
  /** A span is handed to the processor (the journal's record of what was taken). */
  onHanded?(span: RelaySpan): void;
}

export class SpanIntake {
  /** Requests let in past a full queue because they carry late usage for a held span. */
  carrierOverdrafts = 0;
  private readonly _processor: GenAiEnrichingProcessor;
  private readonly _ledger: SpanLedger;
  private readonly _room: RoomSignal;
  private readonly _options: IntakeOptions;

  constructor(processor: GenAiEnrichingProcessor, ledger: SpanLedger, room: RoomSignal, options: IntakeOptions) {
    this._processor = processor;
    this._ledger = ledger;
    this._room = room;
    this._options = options;
  }

  /** Admits and hands over `spans` (see the header). Never rejects. */
  async take(spans: readonly RelaySpan[]): Promise<IntakeResult> {
    const order = await EndOrder.of(spans, estimateSpanBytes);
    const { maxQueueSize, maxQueueBytes } = this._options;
    if (this._options.closing()) return { refused: true, message: SHUTTING_DOWN };
    if (this._countRoom() >= order.length && this._ledger.reserve(order.length, order.totalBytes)) {
      return this._handAll(order);
    }
    if (order.length <= maxQueueSize && order.totalBytes <= maxQueueBytes) {
      if (this._completesHeldSpan(spans) && this._reserveOverdraft(order)) {
        this.carrierOverdrafts++;
        return this._handAll(order);
      }
      return {
        refused: true,
        message:
          `the export queue has no room for ${order.length} spans (${order.totalBytes} bytes): ` +
          `${this._options.queued()} spans queued and ${this._processor.stats().held} held, ` +
          `${this._ledger.bytes.used} bytes of spans accepted and not yet exported, limits ${maxQueueSize} ` +
          `(--max-queue-size) and ${maxQueueBytes} (--max-queue-bytes); the forward target is slow or down`,
      };
    }
    return this._handAsRoomFrees(order);
  }

  /** Reserved already: slices, one turn of the event loop apart. */
  private async _handAll(order: EndOrder): Promise<IntakeResult> {
    for (let handed = 0; handed < order.length;) {
      if (handed > 0) {
        await nextTurn();
        if (this._options.closing()) {
          this._ledger.unreserve(order.length - handed, order.remainingBytes);
          return { refused: true, message: SHUTTING_DOWN };
        }
      }
      for (let n = 0; n < SLICE_SPANS && handed < order.length; n++, handed++) {
        const next = order.take()!;
        this._hand(next.span, next.bytes);
      }
    }
    return { refused: false, handed: order.length, rejected: 0, reason: undefined };
  }

  /** Larger than the queue could ever hold: each slice goes in as room frees up. */
  private async _handAsRoomFrees(order: EndOrder): Promise<IntakeResult> {
    const deadline = Date.now() + this._options.waitMillis;
    let taken = 0;
    let tooLarge = 0;
    while (taken < order.length) {
      if (this._options.closing()) return { refused: true, message: SHUTTING_DOWN };
      let room = Math.min(SLICE_SPANS, this._countRoom());
      const start = taken;
      while (room > 0 && taken < order.length) {
        const bytes = order.peekBytes()!;
        if (bytes > this._options.maxQueueBytes) {
          order.take();
          tooLarge++; // could never fit, whatever is exported
        } else if (this._ledger.reserve(1, bytes)) {
          const next = order.take()!;
          this._hand(next.span, next.bytes);
          room--;
        } else break;
        taken++;
      }
      if (taken === order.length) break;
      const left = deadline - Date.now();
      if (taken > start) await nextTurn();
      else if (left <= 0 || !(await this._room.wait(left))) break;
    }
    const handed = taken - tooLarge;
    const rejected = order.length - handed;
    if (rejected === 0) return { refused: false, handed, rejected: 0, reason: undefined };
    const reasons: string[] = [];
    if (tooLarge > 0) {
      reasons.push(`${tooLarge} spans are each larger than --max-queue-bytes ${this._options.maxQueueBytes}`);
    }
    if (taken < order.length) {
      reasons.push(
        `${order.length - taken} spans found no room in the export queue within ${this._options.waitMillis} ms ` +
          '(the request holds more than --max-queue-size or --max-queue-bytes, and the forward target is slow)',
      );
    }
    return { refused: false, handed, rejected, reason: reasons.join('; ') };
  }

  /**
   * Spans a previous run acknowledged (the journal's replay, at start): taken whatever the room, since they
   * were admitted once already, in end order.
   */
  async replay(spans: readonly RelaySpan[]): Promise<void> {
    const order = await EndOrder.of(spans, estimateSpanBytes);
    this._ledger.bytes.force(order.totalBytes);
    this._ledger.reservedSpans += order.length;
    for (let next = order.take(); next !== undefined; next = order.take()) this._hand(next.span, next.bytes);
  }

  private _hand(span: RelaySpan, bytes: number): void {
    this._options.onHanded?.(span);
    const handed = sampled(span);
    this._ledger.handed(handed, bytes);
    this._processor.onEnd(handed);
  }

  /** Whether a span of the request would complete a held span (checked only when the queue is full). */
  private _completesHeldSpan(spans: readonly RelaySpan[]): boolean {
    if (this._processor.stats().held === 0) return false;
    for (const span of spans) if (this._processor.completesHeldSpan(span)) return true;
    return false;
  }

  /** Reserves the request in the carriers' overdraft: see CARRIER_OVERDRAFT. */
  private _reserveOverdraft(order: EndOrder): boolean {
    const { maxQueueSize, maxQueueBytes } = this._options;
    const overSpans = withCarrierOverdraft(maxQueueSize) - maxQueueSize;
    const overBytes = withCarrierOverdraft(maxQueueBytes) - maxQueueBytes;
    return (
      this._countRoom() + overSpans >= order.length && this._ledger.reserve(order.length, order.totalBytes, overBytes)
    );
  }

  /** Spans the queue can still take: see the header. */
  private _countRoom(): number {
    const { held, awaitingDescendants } = this._processor.stats();
    return (
      this._options.maxQueueSize - this._options.queued() - held - awaitingDescendants - this._ledger.reservedSpans
    );
  }
}

const SHUTTING_DOWN = 'the relay is shutting down';

function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A span that reached the relay was exported, so it was sampled, whatever its flags say. The decoder
 * already reads a zero flags byte as sampled (the Python SDK writes only the is-remote bits); this covers
 * any other byte without the sampled bit, which the processor's batcher, like the SDK's, would skip.
 */
function sampled(span: RelaySpan): RelaySpan {
  const context = span.spanContext();
  if ((context.traceFlags & TraceFlags.SAMPLED) !== 0) return span;
  const fixed: SpanContext = { ...context, traceFlags: context.traceFlags | TraceFlags.SAMPLED };
  try {
    (span as { spanContext: () => SpanContext }).spanContext = () => fixed;
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0) return span;
  } catch {
    // A frozen span: wrap it instead (the serializers read properties, so the prototype chain serves).
  }
  return Object.create(span, {
    spanContext: { value: () => fixed, writable: true, enumerable: true, configurable: true },
  }) as RelaySpan;
}
