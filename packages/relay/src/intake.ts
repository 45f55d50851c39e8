/*
 * Handing a decoded request's spans to the processor: admitted against the export queue's room (count and
 * estimated bytes, held spans included), then handed over in slices so that the event loop is never
 * blocked for long.
 *
 *   spans ─► end order ─► bytes of each (estimateSpanBytes)
 *     ─ room for all of them now? ─► reserved ─► slices of SLICE_SPANS: processor.onEnd each, setImmediate between
 *     ─ more than the queue could ever hold? ─► slice by slice, each reserved when room frees up (an export
 *       finishes), waiting up to `waitMillis` in all; what finds no room by then is rejected (partial success)
 *     ─ otherwise ─► refused: 503, retry later (nothing was taken)
 *   the relay starts shutting down between slices ─► the rest is refused: 503 (the client's retry sends
 *     again the spans already taken: at-least-once)
 *
 * Room means: spans in the processor's export queue + held spans + spans reserved by requests being
 * handed over ≤ maxQueueSize, and the ledger's bytes (every span accepted and not yet exported) ≤
 * maxQueueBytes. Held spans count because each enters the queue when it is released. So nothing handed
 * over is ever dropped by a full queue, and the memory of accepted spans stays under maxQueueBytes.
 */
import { TraceFlags } from '@opentelemetry/api';
import type { SpanContext } from '@opentelemetry/api';
import type { GenAiEnrichingProcessor } from '@genai-enrich/processor';
import { estimateSpanBytes } from '@genai-enrich/processor/internal';
import type { SpanLedger } from './accounting.js';
import type { RelaySpan } from './otlp/index.js';

/**
 * Spans handed to the processor between two turns of the event loop: about 10 ms of work for GenAI spans
 * on one core, so `/health` and small requests are answered within that while a large request goes in.
 */
export const SLICE_SPANS = 512;

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
}

export class SpanIntake {
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
    const ordered = sortByEndTime(spans);
    const sizes = new Array<number>(ordered.length);
    let total = 0;
    for (let i = 0; i < ordered.length; i++) total += sizes[i] = estimateSpanBytes(ordered[i]);
    const { maxQueueSize, maxQueueBytes } = this._options;
    if (this._countRoom() >= ordered.length && this._ledger.reserve(ordered.length, total)) {
      return this._handAll(ordered, sizes);
    }
    if (ordered.length <= maxQueueSize && total <= maxQueueBytes) {
      return {
        refused: true,
        message:
          `the export queue has no room for ${ordered.length} spans (${total} bytes): ${this._options.queued()} ` +
          `spans queued and ${this._processor.stats().held} held, ${this._ledger.bytes.used} bytes of spans ` +
          `accepted and not yet exported, limits ${maxQueueSize} (--max-queue-size) and ${maxQueueBytes} ` +
          '(--max-queue-bytes); the forward target is slow or down',
      };
    }
    return this._handAsRoomFrees(ordered, sizes);
  }

  /** Reserved already: slices, one turn of the event loop apart. */
  private async _handAll(ordered: RelaySpan[], sizes: number[]): Promise<IntakeResult> {
    for (let at = 0; at < ordered.length; at += SLICE_SPANS) {
      if (at > 0) {
        await nextTurn();
        if (this._options.closing()) {
          let bytes = 0;
          for (let i = at; i < ordered.length; i++) bytes += sizes[i];
          this._ledger.unreserve(ordered.length - at, bytes);
          return { refused: true, message: SHUTTING_DOWN };
        }
      }
      const end = Math.min(ordered.length, at + SLICE_SPANS);
      for (let i = at; i < end; i++) this._hand(ordered[i], sizes[i]);
    }
    return { refused: false, handed: ordered.length, rejected: 0, reason: undefined };
  }

  /** Larger than the queue could ever hold: each slice goes in as room frees up. */
  private async _handAsRoomFrees(ordered: RelaySpan[], sizes: number[]): Promise<IntakeResult> {
    const deadline = Date.now() + this._options.waitMillis;
    let at = 0;
    let tooLarge = 0;
    while (at < ordered.length) {
      if (this._options.closing()) return { refused: true, message: SHUTTING_DOWN };
      let room = Math.min(SLICE_SPANS, this._countRoom());
      const start = at;
      while (room > 0 && at < ordered.length) {
        if (sizes[at] > this._options.maxQueueBytes) {
          tooLarge++; // could never fit, whatever is exported
        } else if (this._ledger.reserve(1, sizes[at])) {
          this._hand(ordered[at], sizes[at]);
          room--;
        } else break;
        at++;
      }
      if (at === ordered.length) break;
      const left = deadline - Date.now();
      if (at > start) await nextTurn();
      else if (left <= 0 || !(await this._room.wait(left))) break;
    }
    const handed = at - tooLarge;
    const rejected = ordered.length - handed;
    if (rejected === 0) return { refused: false, handed, rejected: 0, reason: undefined };
    const reasons: string[] = [];
    if (tooLarge > 0)
      reasons.push(`${tooLarge} spans are each larger than --max-queue-bytes ${this._options.maxQueueBytes}`);
    if (at < ordered.length) {
      reasons.push(
        `${ordered.length - at} spans found no room in the export queue within ${this._options.waitMillis} ms ` +
          '(the request holds more than --max-queue-size or --max-queue-bytes, and the forward target is slow)',
      );
    }
    return { refused: false, handed, rejected, reason: reasons.join('; ') };
  }

  private _hand(span: RelaySpan, bytes: number): void {
    const handed = sampled(span);
    this._ledger.handed(handed, bytes);
    this._processor.onEnd(handed);
  }

  /** Spans the queue can still take: see the header. */
  private _countRoom(): number {
    return (
      this._options.maxQueueSize - this._options.queued() - this._processor.stats().held - this._ledger.reservedSpans
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

/**
 * An SDK ends (and exports) spans in end order, but a protobuf or JSON body groups them by resource and
 * scope. The processor's joins expect end order (a usage carrier after the span it completes), so it is
 * restored; the sort is stable, so spans that end together keep their order.
 */
function sortByEndTime(spans: readonly RelaySpan[]): RelaySpan[] {
  const sorted = [...spans];
  let ordered = true;
  for (let i = 1; i < sorted.length && ordered; i++)
    ordered = compareTime(sorted[i - 1].endTime, sorted[i].endTime) <= 0;
  if (!ordered) sorted.sort((a, b) => compareTime(a.endTime, b.endTime));
  return sorted;
}

function compareTime(a: readonly [number, number], b: readonly [number, number]): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}
