/*
 * A deterministic clock for tests: time only moves when the test calls `advance`, and timers fire in due
 * order (ties in creation order), so batching and timeouts can be tested without real waiting.
 */
import type { Clock } from '../../src/types.js';

/** A timer created by {@link FakeClock.setTimeout}; records whether `unref()` was called on it. */
export class FakeTimer {
  /** Whether `unref()` was called (a real timer would then not keep the process alive). */
  unrefCalled = false;
  /** Whether it was cleared before it fired. */
  cleared = false;
  /** Whether it fired. */
  fired = false;

  constructor(
    readonly id: number,
    readonly due: number,
    readonly delay: number,
    readonly callback: () => void,
  ) {}

  /** Like Node's `Timeout.unref()`, returns the timer. */
  unref(): this {
    this.unrefCalled = true;
    return this;
  }
}

/** A fake {@link Clock}: `now()` starts at `start` and moves only through {@link FakeClock.advance}. */
export class FakeClock implements Clock {
  private _time: number;
  private _nextId = 1;
  private readonly _pending: FakeTimer[] = [];
  /** Every timer ever created, in creation order (to check `unref`). */
  readonly timers: FakeTimer[] = [];

  constructor(start = 0) {
    this._time = start;
  }

  now(): number {
    return this._time;
  }

  setTimeout(callback: () => void, ms: number): FakeTimer {
    const delay = Math.max(0, ms);
    const timer = new FakeTimer(this._nextId++, this._time + delay, delay, callback);
    this.timers.push(timer);
    this._pending.push(timer);
    return timer;
  }

  clearTimeout(handle: { unref?(): unknown }): void {
    const index = this._pending.indexOf(handle as FakeTimer);
    if (index >= 0) {
      this._pending.splice(index, 1);
      (handle as FakeTimer).cleared = true;
    }
  }

  /** Timers created and neither fired nor cleared yet. */
  get pendingTimers(): number {
    return this._pending.length;
  }

  /** The pending timers, soonest first. */
  pendingList(): FakeTimer[] {
    return [...this._pending].sort(byDue);
  }

  /**
   * Moves time forward by `ms`, running every timer that falls due on the way, in due order, with `now()` set
   * to each timer's due time while it runs. Timers created by callbacks run too if they fall due in the window.
   */
  advance(ms: number): void {
    const end = this._time + Math.max(0, ms);
    for (;;) {
      let next: FakeTimer | undefined;
      for (const timer of this._pending)
        if (timer.due <= end && (next === undefined || byDue(timer, next) < 0)) next = timer;
      if (next === undefined) break;
      this._pending.splice(this._pending.indexOf(next), 1);
      this._time = Math.max(this._time, next.due);
      next.fired = true;
      next.callback();
    }
    this._time = end;
  }
}

function byDue(a: FakeTimer, b: FakeTimer): number {
  return a.due - b.due || a.id - b.id;
}

/** Lets pending promise reactions (export completions, flush chains) run: one macrotask turn. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
