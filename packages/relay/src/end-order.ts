/*
 * A request's spans in end order, without one long sort. An SDK ends (and exports) spans in end order,
 * but a protobuf or JSON body groups them by resource and scope, and the processor's joins expect end order
 * (a usage carrier after the span it completes). Sorting 200 000 spans at once takes about 50 ms, all of it
 * a stall; so the spans are sorted in runs, a turn of the event loop each, and the runs are merged as the
 * spans are taken (a binary heap over the runs' heads: log2(runs) comparisons a span).
 *
 *   spans ─► runs of RUN_SPANS, each sorted (stable) and its spans' bytes estimated, a turn apart
 *         ─► peek() / take(): the earliest end time among the runs' heads; ties go to the earlier run,
 *            so the order is the stable sort of the whole request
 */
import type { RelaySpan } from './otlp/index.js';

/** Spans sorted and estimated between two turns of the event loop (a few milliseconds). */
export const RUN_SPANS = 8192;

interface Run {
  readonly spans: RelaySpan[];
  readonly bytes: number[];
  at: number;
}

export class EndOrder {
  /** Spans in all, and their estimated bytes. */
  readonly length: number;
  readonly totalBytes: number;
  private readonly _runs: Run[];
  /** Runs with spans left, as a binary min-heap by their head span. */
  private readonly _heap: number[];
  private _takenBytes = 0;

  private constructor(runs: Run[], length: number, totalBytes: number) {
    this._runs = runs;
    this.length = length;
    this.totalBytes = totalBytes;
    this._heap = [];
    for (let i = 0; i < runs.length; i++) if (runs[i].spans.length > 0) this._push(i);
  }

  /** Sorts `spans` in runs and estimates each with `bytesOf`, a turn apart (see the header). */
  static async of(spans: readonly RelaySpan[], bytesOf: (span: RelaySpan) => number): Promise<EndOrder> {
    const runs: Run[] = [];
    let total = 0;
    for (let from = 0; from < spans.length; from += RUN_SPANS) {
      if (from > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const run = spans.slice(from, from + RUN_SPANS);
      if (!isSorted(run)) run.sort(compareEnd); // stable
      const bytes = new Array<number>(run.length);
      for (let i = 0; i < run.length; i++) total += bytes[i] = bytesOf(run[i]);
      runs.push({ spans: run, bytes, at: 0 });
    }
    return new EndOrder(runs, spans.length, total);
  }

  /** The estimated bytes of the spans not taken yet. */
  get remainingBytes(): number {
    return this.totalBytes - this._takenBytes;
  }

  /** The next span in end order and its bytes, without taking it; undefined when none is left. */
  peekBytes(): number | undefined {
    if (this._heap.length === 0) return undefined;
    const run = this._runs[this._heap[0]];
    return run.bytes[run.at];
  }

  /** Takes the next span in end order. */
  take(): { span: RelaySpan; bytes: number } | undefined {
    if (this._heap.length === 0) return undefined;
    const index = this._heap[0];
    const run = this._runs[index];
    const span = run.spans[run.at];
    const bytes = run.bytes[run.at];
    run.at++;
    this._takenBytes += bytes;
    if (run.at < run.spans.length) this._siftDown(0);
    else {
      const last = this._heap.pop()!;
      if (this._heap.length > 0) {
        this._heap[0] = last;
        this._siftDown(0);
      }
    }
    return { span, bytes };
  }

  /** Whether run `a`'s head comes before run `b`'s: earlier end, or the same end and an earlier run. */
  private _before(a: number, b: number): boolean {
    const ra = this._runs[a];
    const rb = this._runs[b];
    const order = compareEnd(ra.spans[ra.at], rb.spans[rb.at]);
    return order < 0 || (order === 0 && a < b);
  }

  private _push(index: number): void {
    const heap = this._heap;
    heap.push(index);
    for (let i = heap.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!this._before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  private _siftDown(i: number): void {
    const heap = this._heap;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let first = i;
      if (left < heap.length && this._before(heap[left], heap[first])) first = left;
      if (right < heap.length && this._before(heap[right], heap[first])) first = right;
      if (first === i) return;
      [heap[i], heap[first]] = [heap[first], heap[i]];
      i = first;
    }
  }
}

function compareEnd(a: RelaySpan, b: RelaySpan): number {
  return a.endTime[0] !== b.endTime[0] ? a.endTime[0] - b.endTime[0] : a.endTime[1] - b.endTime[1];
}

function isSorted(spans: readonly RelaySpan[]): boolean {
  for (let i = 1; i < spans.length; i++) if (compareEnd(spans[i - 1], spans[i]) > 0) return false;
  return true;
}
