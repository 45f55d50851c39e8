/*
 * ExpiryTimer and DeadlineMap (deadlines.ts): order of entries and expiry, O(1) take, restarting a delay, one
 * host timer for all maps at the earliest deadline, unref, stop, failure isolation between maps, clamped
 * delays; then a fast-check model test against a plain array model.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ExpiryTimer } from '../src/deadlines.js';
import type { DeadlineMap } from '../src/deadlines.js';
import { MAX_TIMER_MILLIS } from '../src/option-bounds.js';
import { FakeClock } from './helpers/fake-clock.js';

const T0 = 1_000_000;

/** A timer on a fake clock, with the errors it reported. */
function setup() {
  const clock = new FakeClock(T0);
  const errors: unknown[] = [];
  const timer = new ExpiryTimer(clock, (error) => errors.push(error));
  return { clock, errors, timer };
}

/** A map whose expiries are recorded as `key@time`. */
function recordingMap(timer: ExpiryTimer, clock: FakeClock, delayMillis: number, log: string[] = []) {
  const map = timer.map<string, string>(delayMillis, (value, key) => log.push(`${key}=${value}@${clock.now() - T0}`));
  return { map, log };
}

function valuesOf<V>(map: DeadlineMap<string, V>): V[] {
  return [...map.values()];
}

describe('DeadlineMap', () => {
  it('keeps entries in insertion order and expires each its delay after it was set, oldest first', () => {
    const { clock, timer } = setup();
    const { map, log } = recordingMap(timer, clock, 100);
    map.set('a', 'A');
    clock.advance(10);
    map.set('b', 'B');
    clock.advance(10);
    map.set('c', 'C');
    assert.equal(map.size, 3);
    assert.deepEqual(valuesOf(map), ['A', 'B', 'C']);
    assert.equal(map.oldest(), 'A');
    assert.equal(map.get('b'), 'B');
    assert.equal(map.has('c'), true);
    assert.equal(map.nextDeadline(), T0 + 100);

    clock.advance(79); // t = 99
    assert.deepEqual(log, []);
    clock.advance(1); // t = 100
    assert.deepEqual(log, ['a=A@100']);
    assert.equal(map.has('a'), false);
    assert.equal(map.oldest(), 'B');
    clock.advance(25); // t = 125
    assert.deepEqual(log, ['a=A@100', 'b=B@110', 'c=C@120']);
    assert.equal(map.size, 0);
    assert.equal(map.oldest(), undefined);
    assert.equal(map.nextDeadline(), Infinity);
  });

  it('take of a middle entry returns it once, and the rest still expire in order', () => {
    const { clock, timer } = setup();
    const { map, log } = recordingMap(timer, clock, 100);
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) {
      if (i > 0) clock.advance(10);
      map.set(key, key.toUpperCase());
    }
    assert.equal(map.take('b'), 'B');
    assert.equal(map.take('b'), undefined, 'a second take finds nothing');
    assert.equal(map.take('zz'), undefined);
    assert.deepEqual(valuesOf(map), ['A', 'C', 'D']);
    clock.advance(200);
    assert.deepEqual(log, ['a=A@100', 'c=C@120', 'd=D@130']);
  });

  it('take of the head and of the tail keeps the list whole', () => {
    const { clock, timer } = setup();
    const { map, log } = recordingMap(timer, clock, 50);
    map.set('a', 'A');
    map.set('b', 'B');
    map.set('c', 'C');
    assert.equal(map.take('a'), 'A');
    assert.equal(map.take('c'), 'C');
    assert.equal(map.oldest(), 'B');
    map.set('d', 'D');
    assert.deepEqual(valuesOf(map), ['B', 'D']);
    clock.advance(50);
    assert.deepEqual(log, ['b=B@50', 'd=D@50']);
  });

  it('set of a present key replaces its value and restarts its delay (it moves to the tail)', () => {
    const { clock, timer } = setup();
    const { map, log } = recordingMap(timer, clock, 100);
    map.set('a', 'A1');
    clock.advance(10);
    map.set('b', 'B');
    clock.advance(40); // t = 50
    map.set('a', 'A2');
    assert.equal(map.size, 2);
    assert.deepEqual(valuesOf(map), ['B', 'A2']);
    assert.equal(map.oldest(), 'B');
    clock.advance(50); // t = 100: a's first deadline, which no longer counts
    assert.deepEqual(log, []);
    clock.advance(10); // t = 110
    assert.deepEqual(log, ['b=B@110']);
    clock.advance(39); // t = 149
    assert.deepEqual(log, ['b=B@110']);
    clock.advance(1); // t = 150
    assert.deepEqual(log, ['b=B@110', 'a=A2@150'], 'a expires once, with its new value');
  });

  it('values() may take the value it is at, and still visits every entry once, oldest first', () => {
    const { clock, timer } = setup();
    const map = timer.map<number, number>(100, () => assert.fail('nothing expires here'));
    for (let i = 0; i < 6; i++) map.set(i, i);
    const seen: number[] = [];
    for (const value of map.values()) {
      seen.push(value);
      if (value % 2 === 0) assert.equal(map.take(value), value);
    }
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
    assert.deepEqual([...map.values()], [1, 3, 5]);
    assert.equal(map.size, 3);
    // Taking every value while iterating empties the map.
    for (const value of map.values()) map.take(value);
    assert.equal(map.size, 0);
    assert.deepEqual([...map.values()], []);
    clock.advance(1000);
  });

  it('clear() empties the map without onExpire and returns the values oldest first', () => {
    const { clock, timer } = setup();
    const { map, log } = recordingMap(timer, clock, 100);
    map.set('a', 'A');
    map.set('b', 'B');
    map.set('a', 'A2');
    assert.deepEqual(map.clear(), ['B', 'A2']);
    assert.equal(map.size, 0);
    assert.equal(map.get('a'), undefined);
    clock.advance(500);
    assert.deepEqual(log, []);
    map.set('c', 'C');
    clock.advance(100);
    assert.deepEqual(log, ['c=C@600'], 'the map works after clear()');
  });

  it('a map with no delay expires its entries when the timer next runs', () => {
    const { clock, timer } = setup();
    const { map, log } = recordingMap(timer, clock, 0);
    map.set('a', 'A');
    assert.equal(map.size, 1, 'not synchronously');
    clock.advance(0);
    assert.deepEqual(log, ['a=A@0']);
  });

  it('expire(now) hands over every entry due by now, and only those', () => {
    const { clock, timer } = setup();
    const { map, log } = recordingMap(timer, clock, 100);
    map.set('a', 'A');
    clock.advance(30);
    map.set('b', 'B');
    map.expire(T0 + 99);
    assert.deepEqual(log, []);
    map.expire(T0 + 100);
    assert.deepEqual(log, ['a=A@30']);
    assert.deepEqual(valuesOf(map), ['B']);
  });
});

describe('ExpiryTimer', () => {
  it('runs one host timer for several maps, armed at the earliest deadline', () => {
    const { clock, timer } = setup();
    const slow = recordingMap(timer, clock, 100);
    const fast = recordingMap(timer, clock, 30, slow.log);
    slow.map.set('s1', 'S1');
    assert.equal(clock.pendingTimers, 1);
    assert.equal(clock.pendingList()[0].due, T0 + 100);
    fast.map.set('f1', 'F1');
    assert.equal(clock.pendingTimers, 1, 'the earlier deadline replaces the timer, it does not add one');
    assert.equal(clock.pendingList()[0].due, T0 + 30);
    assert.equal(clock.timers.length, 2);
    assert.equal(clock.timers[0].cleared, true);

    // Later deadlines in either map arm nothing new.
    slow.map.set('s2', 'S2');
    fast.map.set('f2', 'F2');
    assert.equal(clock.timers.length, 2);

    clock.advance(30);
    assert.deepEqual(slow.log, ['f1=F1@30', 'f2=F2@30']);
    assert.equal(clock.pendingTimers, 1, 're-armed once, at the next head');
    assert.equal(clock.pendingList()[0].due, T0 + 100);
    clock.advance(70);
    assert.deepEqual(slow.log, ['f1=F1@30', 'f2=F2@30', 's1=S1@100', 's2=S2@100']);
    assert.equal(clock.pendingTimers, 0, 'nothing left, no timer');
    assert.equal(clock.timers.length, 3);
  });

  it('a timer armed for an entry that was taken fires, expires nothing, and re-arms at the next deadline', () => {
    const { clock, timer } = setup();
    const { map, log } = recordingMap(timer, clock, 100);
    map.set('a', 'A');
    clock.advance(50);
    map.set('b', 'B');
    map.take('a');
    clock.advance(50); // t = 100: the timer armed for a
    assert.deepEqual(log, []);
    assert.equal(clock.pendingTimers, 1);
    assert.equal(clock.pendingList()[0].due, T0 + 150);
    clock.advance(50);
    assert.deepEqual(log, ['b=B@150']);
  });

  it('calls unref() on every host timer it creates', () => {
    const { clock, timer } = setup();
    const a = timer.map<string, number>(100, () => {});
    const b = timer.map<string, number>(10, () => {});
    a.set('x', 1);
    b.set('y', 2);
    clock.advance(10);
    a.set('z', 3);
    clock.advance(1000);
    b.set('w', 4);
    assert.ok(clock.timers.length >= 4, `timers created: ${clock.timers.length}`);
    for (const t of clock.timers) assert.equal(t.unrefCalled, true, `timer ${t.id} was not unref()ed`);
  });

  it('stop() prevents any further expiry and any further scheduling', () => {
    const { clock, timer } = setup();
    const { map, log } = recordingMap(timer, clock, 100);
    map.set('a', 'A');
    timer.stop();
    assert.equal(clock.pendingTimers, 0);
    assert.equal(clock.timers[0].cleared, true);
    const created = clock.timers.length;
    map.set('b', 'B');
    assert.equal(clock.timers.length, created, 'nothing is scheduled after stop()');
    clock.advance(10_000);
    assert.deepEqual(log, []);
    assert.equal(map.size, 2, 'the entries stay until taken or cleared');
    assert.equal(map.take('a'), 'A');
  });

  it('stop() called from an onExpire leaves no timer armed, so nothing set later expires', () => {
    const { clock, timer } = setup();
    const { map, log } = recordingMap(timer, clock, 0);
    const later = recordingMap(timer, clock, 100, log);
    later.map.set('b', 'B');
    // Shutdown reached from inside an expiry (e.g. through a forwarded span) must not re-arm the timer.
    const stopping = timer.map<string, string>(0, () => timer.stop());
    stopping.set('stop', 'now');
    map.set('a', 'A');
    clock.advance(0);
    assert.deepEqual(log, ['a=A@0']);
    assert.equal(clock.pendingTimers, 0, 'not re-armed for b');
    map.set('c', 'C');
    clock.advance(1000);
    assert.deepEqual(log, ['a=A@0']);
    assert.equal(later.map.size, 1);
    assert.equal(map.size, 1);
  });

  it('a throwing onExpire in one map does not stop another map, nor the rest of its own map', () => {
    const { clock, errors, timer } = setup();
    const boom = new Error('onExpire exploded');
    const log: string[] = [];
    const failing = timer.map<string, string>(100, (value) => {
      log.push(`failing:${value}`);
      if (value === 'x1') throw boom;
    });
    const other = timer.map<string, string>(100, (value) => log.push(`other:${value}`));
    failing.set('1', 'x1');
    failing.set('2', 'x2');
    other.set('1', 'y1');
    clock.advance(100);
    assert.deepEqual(errors, [boom]);
    assert.deepEqual(log.sort(), ['failing:x1', 'failing:x2', 'other:y1']);
    assert.equal(failing.size, 0);
    assert.equal(other.size, 0);
    assert.equal(clock.now(), T0 + 100, 'all within the same instant');
    // And the timer keeps working afterwards.
    other.set('2', 'y2');
    clock.advance(100);
    assert.ok(log.includes('other:y2'), `log: ${log.join(', ')}`);
  });

  it('an onExpire that sets an entry in another map gets it expired in time', () => {
    const { clock, timer } = setup();
    const log: string[] = [];
    const second = timer.map<string, string>(50, (value) => log.push(`${value}@${clock.now() - T0}`));
    const first = timer.map<string, string>(100, (value) => second.set(value, value));
    first.set('a', 'A');
    clock.advance(149);
    assert.deepEqual(log, []);
    clock.advance(1);
    assert.deepEqual(log, ['A@150']);
    assert.ok(clock.pendingTimers <= 1, `pending timers: ${clock.pendingTimers}`);
  });

  it(`clamps a delay beyond 2^31-1 ms to that bound and re-arms for the rest`, () => {
    const { clock, timer } = setup();
    const delay = MAX_TIMER_MILLIS + 5_000;
    const { map, log } = recordingMap(timer, clock, delay);
    map.set('far', 'F');
    assert.equal(clock.timers.length, 1);
    assert.equal(clock.timers[0].delay, MAX_TIMER_MILLIS, 'Node would fire a longer timer at once');
    clock.advance(MAX_TIMER_MILLIS);
    assert.deepEqual(log, [], 'not expired at the clamp');
    assert.equal(clock.pendingTimers, 1);
    assert.equal(clock.pendingList()[0].delay, 5_000);
    clock.advance(4_999);
    assert.deepEqual(log, []);
    clock.advance(1);
    assert.deepEqual(log, [`far=F@${delay}`]);
    for (const t of clock.timers) assert.ok(t.delay <= MAX_TIMER_MILLIS, `timer delay ${t.delay}`);
  });

  it('exposes its clock', () => {
    const { clock, timer } = setup();
    assert.equal(timer.clock, clock);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Model test

const RUNS = Number(process.env['FC_DEADLINES_RUNS'] ?? 1000);
/** Delays of the maps in the model: two differ, one is zero. */
const DELAYS = [100, 30, 0] as const;

type Op =
  | { t: 'set'; map: number; key: number }
  | { t: 'take'; map: number; key: number }
  | { t: 'advance'; ms: number }
  | { t: 'expire'; map: number; ahead: number }
  | { t: 'stop' };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ t: fc.constant('set' as const), map: fc.nat(DELAYS.length - 1), key: fc.nat(5) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('take' as const), map: fc.nat(DELAYS.length - 1), key: fc.nat(5) }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 120 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('expire' as const),
      map: fc.nat(DELAYS.length - 1),
      ahead: fc.integer({ min: 0, max: 120 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'stop' as const }) },
);

interface ModelEntry {
  key: number;
  value: number;
  deadline: number;
}

describe('DeadlineMap (model)', () => {
  it('behaves like an array of entries per map, expired in deadline order by one timer', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80, size: 'max' }), (ops) => {
        const clock = new FakeClock(T0);
        const errors: unknown[] = [];
        const timer = new ExpiryTimer(clock, (error) => errors.push(error));
        const actualLog: string[] = [];
        const maps = DELAYS.map((delay, m) =>
          timer.map<number, number>(delay, (value, key) => actualLog.push(`${m}:${key}=${value}@${clock.now()}`)),
        );
        const model: ModelEntry[][] = DELAYS.map(() => []);
        const modelLog: string[] = [];
        let stopped = false;
        let nextValue = 0;

        const expireModel = (m: number, now: number): void => {
          const entries = model[m];
          while (entries.length > 0 && entries[0].deadline <= now) {
            const e = entries.shift()!;
            modelLog.push(`${m}:${e.key}=${e.value}@${now}`);
          }
        };

        for (const o of ops) {
          switch (o.t) {
            case 'set': {
              const value = nextValue++;
              maps[o.map].set(o.key, value);
              const entries = model[o.map];
              const i = entries.findIndex((e) => e.key === o.key);
              if (i >= 0) entries.splice(i, 1);
              entries.push({ key: o.key, value, deadline: clock.now() + DELAYS[o.map] });
              break;
            }
            case 'take': {
              const entries = model[o.map];
              const i = entries.findIndex((e) => e.key === o.key);
              const expected = i >= 0 ? entries.splice(i, 1)[0].value : undefined;
              assert.equal(maps[o.map].take(o.key), expected);
              break;
            }
            case 'advance': {
              const end = clock.now() + o.ms;
              if (!stopped) {
                // The timer fires at each earliest deadline; every map expires what is due then, in map order.
                for (;;) {
                  const due = Math.min(...model.map((entries) => entries[0]?.deadline ?? Infinity));
                  if (due > end) break;
                  for (let m = 0; m < model.length; m++) expireModel(m, due);
                }
              }
              clock.advance(o.ms);
              break;
            }
            case 'expire': {
              // Called directly (as the timer would), possibly ahead of time: the log shows the clock's time.
              const now = clock.now() + o.ahead;
              const entries = model[o.map];
              while (entries.length > 0 && entries[0].deadline <= now) {
                const e = entries.shift()!;
                modelLog.push(`${o.map}:${e.key}=${e.value}@${clock.now()}`);
              }
              maps[o.map].expire(now);
              break;
            }
            case 'stop':
              stopped = true;
              timer.stop();
              break;
          }

          assert.deepEqual(actualLog, modelLog);
          for (let m = 0; m < model.length; m++) {
            const entries = model[m];
            const map = maps[m];
            assert.equal(map.size, entries.length);
            assert.deepEqual(
              [...map.values()],
              entries.map((e) => e.value),
            );
            assert.equal(map.oldest(), entries[0]?.value);
            assert.equal(map.nextDeadline(), entries[0]?.deadline ?? Infinity);
            for (const e of entries) assert.equal(map.get(e.key), e.value);
          }
          // One host timer at most; while anything waits (and the timer runs), one is armed, no later than
          // the earliest deadline.
          assert.ok(clock.pendingTimers <= 1, `pending timers: ${clock.pendingTimers}`);
          const earliest = Math.min(...model.map((entries) => entries[0]?.deadline ?? Infinity));
          if (stopped) assert.equal(clock.pendingTimers, 0);
          else if (earliest !== Infinity) {
            assert.equal(clock.pendingTimers, 1);
            assert.ok(
              clock.pendingList()[0].due <= earliest,
              `timer due ${clock.pendingList()[0].due}, earliest deadline ${earliest}`,
            );
          }
        }
        assert.deepEqual(errors, []);
        for (const t of clock.timers) assert.equal(t.unrefCalled, true);
      }),
      { numRuns: RUNS },
    );
  });
});
