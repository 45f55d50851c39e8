/*
 * Everything the processor keeps waiting, it keeps here: held spans, late usage, tap reports and watched
 * open spans each live in a DeadlineMap, and one ExpiryTimer expires them all.
 *
 *   DeadlineMap.set(key, value) ─► entry at the tail, deadline = now + the map's fixed delay
 *        │                            (one delay per map, so tail order is deadline order)
 *        ├─ get / take(key) ──────► O(1) through the key Map, unlinked from the list in O(1)
 *        └─ oldest() ─────────────► the head, O(1): the entry evicted first
 *   ExpiryTimer: one unref()ed host timer at the earliest head deadline of all its maps
 *        fires ─► each map: while head.deadline ≤ now: unlink, onExpire(value) ─► re-arm at the next head
 *
 * Why a linked list beside the Map instead of the Map's own insertion order: V8 leaves a hole for every
 * entry deleted from a Map until its next rehash, and iteration from the start walks over those holes. A
 * store that deletes from its front (expiry, eviction) then pays for every earlier deletion on each walk:
 * linear per eviction at large bounds. The list makes every operation O(1) at any size.
 */
import { MAX_TIMER_MILLIS } from './option-bounds.js';
import type { Clock } from './types.js';

interface Entry<K, V> {
  readonly key: K;
  readonly value: V;
  readonly deadline: number;
  prev: Entry<K, V> | undefined;
  next: Entry<K, V> | undefined;
}

/** What the timer needs of a map. */
interface Expirable {
  nextDeadline(): number;
  expire(now: number): void;
}

/**
 * One host timer for several DeadlineMaps, set to the earliest deadline among them. Never throws: a failing
 * expiry callback is reported to `onError` and the other maps still expire.
 */
export class ExpiryTimer {
  private readonly _clock: Clock;
  private readonly _onError: (error: unknown) => void;
  private readonly _maps: Expirable[] = [];
  private _handle: { unref?(): unknown } | undefined;
  private _armedAt = Infinity;
  private _stopped = false;

  constructor(clock: Clock, onError: (error: unknown) => void) {
    this._clock = clock;
    this._onError = onError;
  }

  get clock(): Clock {
    return this._clock;
  }

  /** A new map whose entries expire `delayMillis` after they are set, calling `onExpire` for each. */
  map<K, V>(delayMillis: number, onExpire: (value: V, key: K) => void): DeadlineMap<K, V> {
    const map = new DeadlineMap<K, V>(this, delayMillis, onExpire);
    this._maps.push(map);
    return map;
  }

  /** Makes sure the timer fires no later than `deadline`. */
  schedule(deadline: number): void {
    if (deadline >= this._armedAt || this._stopped) return;
    this._disarm();
    this._armedAt = deadline;
    this._handle = this._clock.setTimeout(
      () => this._fire(),
      Math.min(MAX_TIMER_MILLIS, Math.max(0, deadline - this._clock.now())),
    );
    this._handle.unref?.();
  }

  /** Stops for good (shutdown): nothing expires any more and nothing is scheduled. */
  stop(): void {
    this._stopped = true;
    this._disarm();
  }

  private _disarm(): void {
    if (this._handle !== undefined) this._clock.clearTimeout(this._handle);
    this._handle = undefined;
    this._armedAt = Infinity;
  }

  private _fire(): void {
    this._handle = undefined;
    this._armedAt = Infinity;
    if (this._stopped) return;
    const now = this._clock.now();
    for (const map of this._maps) {
      try {
        map.expire(now);
      } catch (error) {
        this._onError(error);
      }
    }
    let next = Infinity;
    for (const map of this._maps) next = Math.min(next, map.nextDeadline());
    if (next !== Infinity) this.schedule(next);
  }
}

/**
 * A keyed store whose entries expire a fixed delay after they were set (see the header). Made by
 * {@link ExpiryTimer.map}. Setting a key that is present replaces its entry and restarts its delay.
 */
export class DeadlineMap<K, V> implements Expirable {
  private readonly _timer: ExpiryTimer;
  private readonly _delayMillis: number;
  private readonly _onExpire: (value: V, key: K) => void;
  private readonly _entries = new Map<K, Entry<K, V>>();
  private _head: Entry<K, V> | undefined;
  private _tail: Entry<K, V> | undefined;

  constructor(timer: ExpiryTimer, delayMillis: number, onExpire: (value: V, key: K) => void) {
    this._timer = timer;
    this._delayMillis = delayMillis;
    this._onExpire = onExpire;
  }

  get size(): number {
    return this._entries.size;
  }

  has(key: K): boolean {
    return this._entries.has(key);
  }

  get(key: K): V | undefined {
    return this._entries.get(key)?.value;
  }

  set(key: K, value: V): void {
    const existing = this._entries.get(key);
    if (existing !== undefined) this._unlink(existing);
    const entry: Entry<K, V> = {
      key,
      value,
      deadline: this._timer.clock.now() + this._delayMillis,
      prev: this._tail,
      next: undefined,
    };
    if (this._tail === undefined) this._head = entry;
    else this._tail.next = entry;
    this._tail = entry;
    this._entries.set(key, entry);
    this._timer.schedule(entry.deadline);
  }

  /** Removes the entry and returns its value, or undefined when the key is absent. */
  take(key: K): V | undefined {
    const entry = this._entries.get(key);
    if (entry === undefined) return undefined;
    this._entries.delete(key);
    this._unlink(entry);
    return entry.value;
  }

  /** The value set longest ago (the next to expire), without removing it. */
  oldest(): V | undefined {
    return this._head?.value;
  }

  /** Values oldest first. The loop may take the value it is at, but no other entry. */
  *values(): IterableIterator<V> {
    for (let entry = this._head; entry !== undefined;) {
      const next = entry.next;
      yield entry.value;
      entry = next;
    }
  }

  /** Empties the map without calling `onExpire`; returns the values oldest first. */
  clear(): V[] {
    const values = [...this.values()];
    this._entries.clear();
    this._head = this._tail = undefined;
    return values;
  }

  nextDeadline(): number {
    return this._head?.deadline ?? Infinity;
  }

  /** Takes every entry whose deadline has passed, oldest first, and hands each to `onExpire`. */
  expire(now: number): void {
    for (let entry = this._head; entry !== undefined && entry.deadline <= now; entry = this._head) {
      this._entries.delete(entry.key);
      this._unlink(entry);
      this._onExpire(entry.value, entry.key);
    }
  }

  private _unlink(entry: Entry<K, V>): void {
    if (entry.prev === undefined) this._head = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === undefined) this._tail = entry.prev;
    else entry.next.prev = entry.prev;
    entry.prev = entry.next = undefined;
  }
}
