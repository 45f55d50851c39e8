// Waiting until a condition holds on state that grows as requests arrive (the loopback OTLP receivers):
// each waiter re-checks its predicate when the owner calls wake(), and gives up after its timeout.

export class ConditionWaiters<T> {
  private readonly _waiters = new Set<() => void>();

  /** `timeoutMessage` says what was not met, for the rejection (e.g. how many spans did arrive). */
  constructor(
    private readonly _state: T,
    private readonly _timeoutMessage: (timeoutMs: number) => string,
  ) {}

  /** Re-checks every waiting predicate; call it after the state changed. */
  wake(): void {
    for (const check of this._waiters) check();
  }

  /** Resolves once `predicate(state)` holds; rejects after `timeoutMs` (an unref'd timer). */
  waitFor(predicate: (state: T) => boolean, timeoutMs: number): Promise<void> {
    if (predicate(this._state)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!predicate(this._state)) return;
        clearTimeout(timer);
        this._waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this._waiters.delete(check);
        reject(new Error(this._timeoutMessage(timeoutMs)));
      }, timeoutMs);
      timer.unref();
      this._waiters.add(check);
    });
  }
}

/** Polls `check` every 5 ms until it holds (a mock sees a client go away a little after it went); throws after `timeoutMs`. */
export async function pollUntil(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
