/*
 * HeldSpans (held-spans.ts): holding real SDK spans, the four release outcomes and the attributes they set,
 * eviction at both bounds (count and bytes) and for a span with the same ids and another response id, copies
 * (a retry: same ids and response id) that wait and leave with the first, idempotent release, the response-id index
 * and extra indexes kept in step, and the balance holds = joined + expired + evicted + flushed + size
 * (also as a fast-check property over random operations).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ExpiryTimer } from '../src/deadlines.js';
import { HeldSpans, spanKey } from '../src/held-spans.js';
import type { Held, HeldIndex, ReleaseOutcome } from '../src/held-spans.js';
import type { ReadableSpanLike } from '../src/types.js';
import { FakeClock } from './helpers/fake-clock.js';
import { chatAttributes, endedSpan, fixedIds, spanSource } from './helpers/sdk-spans.js';
import type { SpanSource } from './helpers/sdk-spans.js';

const HOLD_MILLIS = 1000;

/** An index that mirrors what the store says is held, to check add/remove stay in step. */
class MirrorIndex implements HeldIndex {
  readonly entries = new Set<Held>();
  readonly calls: string[] = [];
  add(held: Held): void {
    assert.equal(this.entries.has(held), false, 'added twice');
    this.entries.add(held);
    this.calls.push(`add ${held.span.name}`);
  }
  remove(held: Held): void {
    assert.equal(this.entries.has(held), true, 'removed without being added');
    this.entries.delete(held);
    this.calls.push(`remove ${held.span.name}`);
  }
}

function setup(options: { maxHeldSpans?: number; maxHeldBytes?: number; source?: SpanSource } = {}) {
  const clock = new FakeClock(1_000_000);
  const errors: unknown[] = [];
  const timer = new ExpiryTimer(clock, (error) => errors.push(error));
  const forwarded: ReadableSpanLike[] = [];
  const index = new MirrorIndex();
  const held = new HeldSpans(
    timer,
    { holdMillis: HOLD_MILLIS, maxHeldSpans: options.maxHeldSpans ?? 3, maxHeldBytes: options.maxHeldBytes ?? 1e9 },
    (span) => forwarded.push(span),
    [index],
  );
  const source = options.source ?? spanSource();
  /** An ended chat span without usage, as the processor holds it. */
  const chat = (name: string, extra = {}): ReadableSpan => endedSpan(source, name, chatAttributes(extra));
  return { clock, errors, timer, forwarded, index, held, source, chat };
}

/** The same span objects in the same order; a failure names them (inspecting SDK spans is slow and long). */
function assertSpans(actual: readonly ReadableSpanLike[], expected: ReadonlyArray<ReadableSpanLike | undefined>): void {
  const same = actual.length === expected.length && actual.every((span, i) => span === expected[i]);
  assert.ok(
    same,
    `spans: [${actual.map((s) => s.name).join(', ')}], expected [${expected.map((s) => s?.name).join(', ')}]`,
  );
}

function names(helds: Iterable<Held>): string[] {
  return [...helds].map((h) => h.span.name).sort();
}

function assertBalanced(held: HeldSpans): void {
  const c = held.counts;
  assert.equal(
    c.holds,
    c.joined + c.expired + c.evicted + c.flushed + held.size,
    `holds balance: ${JSON.stringify(c)} size ${held.size}`,
  );
}

describe('HeldSpans', () => {
  it('holds a span under its trace id + span id and its response id, and in every extra index', () => {
    const { held, index, chat, forwarded } = setup();
    const span = chat('chat a', { 'gen_ai.response.id': 'resp-a' });
    const key = span.spanContext().traceId + span.spanContext().spanId;
    assert.equal(spanKey(span), key);
    held.hold(span, 'resp-a');
    assert.equal(held.size, 1);
    assert.equal(held.byKey(key)?.span, span);
    assert.equal(held.byKey(key)?.key, key);
    assert.equal(held.byResponseId('resp-a')?.span, span);
    assert.equal(held.byResponseId('resp-b'), undefined);
    assert.deepEqual(
      [...index.entries].map((h) => h.span),
      [span],
    );
    assert.equal(forwarded.length, 0);
    assert.equal(held.counts.holds, 1);
    assertBalanced(held);
  });

  it('joined: forwarded once, hold_outcome joined, no usage_missing even without usage', () => {
    const { held, chat, forwarded, index } = setup();
    const withUsage = chat('with usage');
    const without = chat('without usage');
    held.hold(withUsage, 'r1');
    held.hold(without, undefined);
    (withUsage.attributes as Record<string, unknown>)['gen_ai.usage.input_tokens'] = 12;
    held.release(held.byKey(spanKey(withUsage))!, 'joined');
    held.release(held.byKey(spanKey(without))!, 'joined');
    assertSpans(forwarded, [withUsage, without]);
    assert.equal(withUsage.attributes['genai_enrich.hold_outcome'], 'joined');
    assert.equal(withUsage.attributes['genai_enrich.usage_missing'], undefined);
    assert.equal(without.attributes['genai_enrich.hold_outcome'], 'joined');
    assert.equal(without.attributes['genai_enrich.usage_missing'], undefined);
    assert.equal(held.byResponseId('r1'), undefined, 'out of the response-id index');
    assert.equal(index.entries.size, 0);
    assert.equal(held.counts.joined, 2);
    assertBalanced(held);
  });

  it('expired: released holdMillis after the hold, marked usage_missing when it has no usage', () => {
    const { held, chat, forwarded, clock, index } = setup();
    const a = chat('a');
    held.hold(a, 'ra');
    clock.advance(400);
    const b = chat('b');
    (b.attributes as Record<string, unknown>)['gen_ai.usage.output_tokens'] = 3;
    held.hold(b, 'rb');
    clock.advance(HOLD_MILLIS - 400 - 1);
    assert.equal(forwarded.length, 0);
    clock.advance(1);
    assertSpans(forwarded, [a]);
    assert.equal(a.attributes['genai_enrich.hold_outcome'], 'expired');
    assert.equal(a.attributes['genai_enrich.usage_missing'], true);
    assert.equal(held.byResponseId('ra'), undefined);
    assert.equal(held.byResponseId('rb')?.span, b);
    clock.advance(400);
    assertSpans(forwarded, [a, b]);
    assert.equal(b.attributes['genai_enrich.hold_outcome'], 'expired');
    assert.equal(b.attributes['genai_enrich.usage_missing'], undefined, 'a span with usage is not marked missing');
    assert.equal(held.counts.expired, 2);
    assert.equal(index.entries.size, 0);
    assert.equal(held.size, 0);
    assertBalanced(held);
  });

  it('placeholder zeros are not usage: such a span expires as usage_missing', () => {
    const { held, chat, forwarded, clock } = setup();
    const span = chat('zeros', { 'gen_ai.usage.input_tokens': 0, 'gen_ai.usage.output_tokens': 0 });
    held.hold(span, undefined);
    clock.advance(HOLD_MILLIS);
    assertSpans(forwarded, [span]);
    assert.equal(span.attributes['genai_enrich.usage_missing'], true);
  });

  it('evicts the oldest held span at maxHeldSpans, before the new one is held', () => {
    const { held, chat, forwarded, index, clock } = setup({ maxHeldSpans: 3 });
    const spans = ['s0', 's1', 's2', 's3', 's4'].map((name) => chat(name));
    for (const span of spans.slice(0, 3)) held.hold(span, span.name);
    assert.equal(forwarded.length, 0);
    held.hold(spans[3], 's3');
    assertSpans(forwarded, [spans[0]]);
    assert.equal(spans[0].attributes['genai_enrich.hold_outcome'], 'evicted');
    assert.equal(spans[0].attributes['genai_enrich.usage_missing'], true);
    assert.equal(held.byResponseId('s0'), undefined);
    assert.equal(held.size, 3);
    held.hold(spans[4], 's4');
    assertSpans(forwarded, [spans[0], spans[1]]);
    assert.deepEqual(index.calls, ['add s0', 'add s1', 'add s2', 'remove s0', 'add s3', 'remove s1', 'add s4']);
    assert.equal(held.counts.evicted, 2);
    assertBalanced(held);
    // What is still held is what the index has.
    assert.deepEqual(
      [...index.entries].map((h) => h.span.name),
      ['s2', 's3', 's4'],
    );
    clock.advance(HOLD_MILLIS);
    assert.equal(forwarded.length, 5);
    assertBalanced(held);
  });

  it('a span with the same trace id and span id but another response id evicts the first; each is forwarded once', () => {
    const source = spanSource({ idGenerator: fixedIds() });
    const { held, forwarded, chat, index } = setup({ source, maxHeldSpans: 10 });
    const first = chat('first');
    const second = chat('second');
    assert.notEqual(first, second);
    assert.equal(spanKey(first), spanKey(second), 'the SDK gave both the same ids');
    held.hold(first, 'r-first');
    held.hold(second, 'r-second');
    assertSpans(forwarded, [first]);
    assert.equal(first.attributes['genai_enrich.hold_outcome'], 'evicted');
    assert.equal(held.size, 1);
    assert.equal(held.byKey(spanKey(second))?.span, second);
    assert.equal(held.byResponseId('r-first'), undefined);
    assert.equal(held.byResponseId('r-second')?.span, second);
    assert.deepEqual(index.calls, ['add first', 'remove first', 'add second']);
    held.releaseAll('flushed');
    assertSpans(forwarded, [first, second]);
    assert.equal(second.attributes['genai_enrich.hold_outcome'], 'flushed');
    assert.deepEqual({ ...held.counts }, { holds: 2, joined: 0, expired: 0, evicted: 1, flushed: 1 });
  });

  it('a copy (same ids, same response id: a retry) waits with the first, both leave with the usage joined', () => {
    const source = spanSource({ idGenerator: fixedIds() });
    const { held, forwarded, chat, index } = setup({ source, maxHeldSpans: 10 });
    const first = chat('retried', { 'gen_ai.response.id': 'r-1' });
    const copy = chat('retried', { 'gen_ai.response.id': 'r-1' });
    held.hold(first, 'r-1');
    const bytesOfOne = held.bytes;
    held.hold(copy, 'r-1');
    assert.equal(forwarded.length, 0, 'nothing is evicted or forwarded: the copy waits');
    assert.equal(held.size, 2, 'both are counted held');
    assert.equal(held.bytes, 2 * bytesOfOne);
    assert.equal(held.byKey(spanKey(first))?.span, first, 'the first stays the one found');
    assert.equal(held.byResponseId('r-1')?.span, first);
    assert.deepEqual(index.calls, ['add retried'], 'the copy takes no index entry');
    // Usage joins the first, as the processor does; the copy gets what the join wrote.
    const target = held.byResponseId('r-1')!;
    const attributes = target.span.attributes as Record<string, unknown>;
    attributes['gen_ai.usage.input_tokens'] = 40;
    attributes['gen_ai.usage.output_tokens'] = 7;
    attributes['genai_enrich.usage_source'] = 'late_span';
    held.release(target, 'joined');
    assertSpans(forwarded, [first, copy]);
    for (const span of [first, copy]) {
      assert.equal(span.attributes['gen_ai.usage.input_tokens'], 40);
      assert.equal(span.attributes['gen_ai.usage.output_tokens'], 7);
      assert.equal(span.attributes['genai_enrich.usage_source'], 'late_span');
      assert.equal(span.attributes['genai_enrich.hold_outcome'], 'joined');
      assert.equal(span.attributes['genai_enrich.usage_missing'], undefined);
    }
    assert.equal(held.size, 0);
    assert.equal(held.bytes, 0);
    assert.deepEqual({ ...held.counts }, { holds: 2, joined: 2, expired: 0, evicted: 0, flushed: 0 });
    assertBalanced(held);
  });

  it('a copy that expires leaves marked usage_missing like the first; a key the join removed goes from the copy', () => {
    const source = spanSource({ idGenerator: fixedIds() });
    const { held, forwarded, chat, clock } = setup({ source, maxHeldSpans: 10 });
    const first = chat('a', { 'legacy.key': 'x' });
    const copy = chat('a', { 'legacy.key': 'x' });
    held.hold(first, undefined);
    held.hold(copy, undefined);
    delete (first.attributes as Record<string, unknown>)['legacy.key'];
    clock.advance(HOLD_MILLIS);
    assertSpans(forwarded, [first, copy]);
    assert.equal(copy.attributes['legacy.key'], undefined);
    assert.equal(copy.attributes['genai_enrich.hold_outcome'], 'expired');
    assert.equal(copy.attributes['genai_enrich.usage_missing'], true);
    assert.deepEqual({ ...held.counts }, { holds: 2, joined: 0, expired: 2, evicted: 0, flushed: 0 });
  });

  it('copies count against maxHeldSpans: the oldest hold goes first, with its copies', () => {
    const source = spanSource({ idGenerator: fixedIds() });
    const { held, forwarded, chat } = setup({ source, maxHeldSpans: 2 });
    const first = chat('first');
    const copy = chat('first');
    held.hold(first, undefined);
    held.hold(copy, undefined);
    const other = endedSpan(spanSource(), 'other', chatAttributes());
    held.hold(other, undefined);
    assertSpans(forwarded, [first, copy]);
    assert.equal(held.size, 1);
    assert.equal(first.attributes['genai_enrich.hold_outcome'], 'evicted');
    assert.equal(copy.attributes['genai_enrich.hold_outcome'], 'evicted');
    assertBalanced(held);
  });

  it('evicts the oldest held spans to stay within maxHeldBytes, and never holds a span larger than it', () => {
    const { held, chat, forwarded, index } = setup({ maxHeldSpans: 100, maxHeldBytes: 32_000 });
    const big = (name: string): ReadableSpan => chat(name, { 'gen_ai.prompt': 'p'.repeat(9_000) });
    const spans = ['a', 'b', 'c'].map(big);
    for (const span of spans) held.hold(span, span.name);
    assert.equal(forwarded.length, 0);
    assert.ok(held.bytes > 27_000 && held.bytes <= 32_000, `3 spans of about 10 KB: ${held.bytes}`);
    const d = big('d');
    held.hold(d, 'd');
    assertSpans(forwarded, [spans[0]]);
    assert.equal(spans[0].attributes['genai_enrich.hold_outcome'], 'evicted');
    assert.equal(spans[0].attributes['genai_enrich.usage_missing'], true);
    assert.ok(held.bytes <= 32_000);
    assert.equal(held.size, 3);
    // Larger than the bound on its own: forwarded at once, counted as a hold that was evicted.
    const huge = chat('huge', { 'gen_ai.prompt': 'p'.repeat(40_000) });
    held.hold(huge, 'huge');
    assertSpans(forwarded, [spans[0], huge]);
    assert.equal(huge.attributes['genai_enrich.hold_outcome'], 'evicted');
    assert.equal(held.byResponseId('huge'), undefined);
    assert.equal(held.size, 3, 'what was held stays');
    assert.deepEqual(index.calls, ['add a', 'add b', 'add c', 'remove a', 'add d']);
    assert.deepEqual({ ...held.counts }, { holds: 5, joined: 0, expired: 0, evicted: 2, flushed: 0 });
    assertBalanced(held);
  });

  it('release is idempotent: a second release, or a release after expiry or eviction, forwards nothing', () => {
    const { held, chat, forwarded, clock } = setup({ maxHeldSpans: 1 });
    const a = chat('a');
    held.hold(a, 'ra');
    const heldA = held.byKey(spanKey(a))!;
    held.release(heldA, 'joined');
    held.release(heldA, 'joined');
    held.release(heldA, 'flushed');
    assertSpans(forwarded, [a]);
    assert.equal(a.attributes['genai_enrich.hold_outcome'], 'joined', 'the first outcome stays');

    const b = chat('b');
    held.hold(b, 'rb');
    const heldB = held.byKey(spanKey(b))!;
    clock.advance(HOLD_MILLIS);
    held.release(heldB, 'joined');
    assertSpans(forwarded, [a, b]);
    assert.equal(b.attributes['genai_enrich.hold_outcome'], 'expired');

    const c = chat('c');
    const d = chat('d');
    held.hold(c, undefined);
    const heldC = held.byKey(spanKey(c))!;
    held.hold(d, undefined); // evicts c
    held.release(heldC, 'joined');
    assertSpans(forwarded, [a, b, c]);
    assert.equal(held.size, 1);
    assert.deepEqual({ ...held.counts }, { holds: 4, joined: 1, expired: 1, evicted: 1, flushed: 0 });
    assertBalanced(held);
  });

  it('releaseAll forwards every held span oldest first, and the timer finds nothing left', () => {
    const { held, chat, forwarded, index, clock } = setup({ maxHeldSpans: 10 });
    const spans = ['a', 'b', 'c', 'd'].map((name) => chat(name));
    for (const span of spans) {
      held.hold(span, `r-${span.name}`);
      clock.advance(10);
    }
    // Holding b again (the same ids and response id: a copy) adds a copy to b's hold, without moving it.
    held.hold(spans[1], 'r-b');
    assert.equal(forwarded.length, 0);
    assert.equal(held.size, 5);
    held.releaseAll('flushed');
    assert.deepEqual(
      forwarded.map((s) => s.name),
      ['a', 'b', 'b', 'c', 'd'],
    );
    for (const span of spans) assert.equal(span.attributes['genai_enrich.hold_outcome'], 'flushed');
    assert.equal(held.size, 0);
    assert.equal(held.bytes, 0);
    assert.equal(index.entries.size, 0);
    for (const span of spans) assert.equal(held.byResponseId(`r-${span.name}`), undefined);
    clock.advance(HOLD_MILLIS * 2);
    assert.equal(forwarded.length, 5, 'nothing expires after the flush');
    assert.deepEqual({ ...held.counts }, { holds: 5, joined: 0, expired: 0, evicted: 0, flushed: 5 });
  });

  it('two held spans with one response id: the newer is found by it, and the older leaving does not unindex the newer', () => {
    const { held, chat } = setup({ maxHeldSpans: 10 });
    const older = chat('older');
    const newer = chat('newer');
    held.hold(older, 'same');
    held.hold(newer, 'same');
    assert.equal(held.byResponseId('same')?.span, newer);
    held.release(held.byKey(spanKey(older))!, 'joined');
    assert.equal(held.byResponseId('same')?.span, newer);
    held.release(held.byKey(spanKey(newer))!, 'joined');
    assert.equal(held.byResponseId('same'), undefined);
  });

  it('the SDK exports the released span with the outcome attributes (they are written on the span itself)', () => {
    const source = spanSource();
    const { held, forwarded, clock } = setup({ source });
    const span = endedSpan(source, 'chat gpt-4o-mini', chatAttributes());
    held.hold(span, undefined);
    clock.advance(HOLD_MILLIS);
    assert.equal(forwarded[0], span);
    const exported = source.exporter.getFinishedSpans().find((s) => s.name === 'chat gpt-4o-mini')!;
    assert.equal(exported, span, 'the same object the SDK exported');
    assert.equal(exported.attributes['genai_enrich.hold_outcome'], 'expired');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Property: any sequence of holds, releases, time and flushes keeps the store balanced and in step.

const RUNS = Number(process.env['FC_HELD_RUNS'] ?? 300);

type Op =
  | { t: 'hold'; reuse: boolean; pick: number; withId: boolean }
  | { t: 'release'; pick: number; outcome: ReleaseOutcome }
  | { t: 'advance'; ms: number }
  | { t: 'releaseAll' };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('hold' as const),
      reuse: fc.boolean(),
      pick: fc.nat(),
      withId: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('release' as const),
      pick: fc.nat(),
      outcome: fc.constantFrom<ReleaseOutcome>('joined', 'expired', 'evicted', 'flushed'),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 700 }) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'releaseAll' as const }) },
);

describe('HeldSpans (property)', () => {
  it('balances, stays within both bounds, forwards every held span once per hold, and keeps its indexes in step', () => {
    const source = spanSource();
    // Spans of a few sizes, so that the byte bound (about three small spans) and the count bound both bite.
    const MAX_BYTES = 4_000;
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40, size: 'max' }), (ops) => {
        source.exporter.reset();
        const s = setup({ maxHeldSpans: 3, maxHeldBytes: MAX_BYTES, source });
        const spans: ReadableSpan[] = [];
        // Every Held ever made, to release stale ones too.
        const helds: Held[] = [];
        let n = 0;
        for (const o of ops) {
          switch (o.t) {
            case 'hold': {
              const span =
                o.reuse && spans.length > 0
                  ? spans[o.pick % spans.length]
                  : s.chat(`span ${n++}`, { 'gen_ai.prompt': 'p'.repeat((o.pick % 3) * 700) });
              if (!spans.includes(span)) spans.push(span);
              s.held.hold(span, o.withId ? `id-${o.pick % 4}` : undefined);
              const found = s.held.byKey(spanKey(span));
              if (found !== undefined && !helds.includes(found)) helds.push(found);
              break;
            }
            case 'release':
              if (helds.length > 0) s.held.release(helds[o.pick % helds.length], o.outcome);
              break;
            case 'advance':
              s.clock.advance(o.ms);
              break;
            case 'releaseAll':
              s.held.releaseAll('flushed');
              break;
          }
          assertBalanced(s.held);
          assert.ok(s.held.size <= 3, `size ${s.held.size} above the bound`);
          assert.ok(s.held.bytes <= MAX_BYTES, `bytes ${s.held.bytes} above the bound`);
          assert.ok(s.held.bytes >= 0 && (s.held.size === 0) === (s.held.bytes === 0));
          // Compared by name: a failing comparison of SDK spans would inspect the whole provider.
          const heldNow = helds.filter((h) => s.held.byKey(h.key) === h);
          assert.ok(heldNow.length <= s.held.size, 'copies are counted, never lost');
          assert.deepEqual(names(s.index.entries), names(heldNow), 'the extra index holds exactly what is held');
          assert.ok(
            heldNow.every((h) => s.index.entries.has(h)),
            'the index has the very Held objects',
          );
          for (const h of helds) {
            const found = h.responseId === undefined ? undefined : s.held.byResponseId(h.responseId);
            if (found !== undefined)
              assert.ok(s.held.byKey(found.key) === found, 'the response-id index names only held spans');
          }
          // Every hold is forwarded once, or still held.
          const c = s.held.counts;
          assert.equal(s.forwarded.length, c.joined + c.expired + c.evicted + c.flushed);
          assert.equal(s.forwarded.length + s.held.size, c.holds);
        }
        s.held.releaseAll('flushed');
        assert.equal(s.held.size, 0);
        assert.equal(s.held.bytes, 0);
        assert.equal(s.index.entries.size, 0);
        assert.equal(s.forwarded.length, s.held.counts.holds);
        assert.deepEqual(s.errors, []);
      }),
      { numRuns: RUNS },
    );
  });
});
