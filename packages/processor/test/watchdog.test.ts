/*
 * The watchdog (watchdog.ts) on real SDK spans: watching up to maxOpenSpans (the rest counted as
 * unwatched), ending a span still open after maxOpenMillis with genai_enrich.force_ended (the SDK then
 * exports it), leaving ended and unwatched spans alone, and handing a failing end() to onError.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ExpiryTimer } from '../src/deadlines.js';
import { Watchdog } from '../src/watchdog.js';
import { FakeClock } from './helpers/fake-clock.js';
import { chatAttributes, spanSource, startSpan } from './helpers/sdk-spans.js';
import type { SpanSource } from './helpers/sdk-spans.js';

const MAX_OPEN_MILLIS = 5000;

function setup(options: { maxOpenSpans?: number; source?: SpanSource } = {}) {
  const clock = new FakeClock(0);
  const timerErrors: unknown[] = [];
  const timer = new ExpiryTimer(clock, (error) => timerErrors.push(error));
  const errors: unknown[] = [];
  let full = 0;
  const watchdog = new Watchdog(
    timer,
    { maxOpenMillis: MAX_OPEN_MILLIS, maxOpenSpans: options.maxOpenSpans ?? 3 },
    () => full++,
    (error) => errors.push(error),
  );
  const source = options.source ?? spanSource();
  const open = (name = 'chat') => startSpan(source, name, chatAttributes());
  return { clock, timer, timerErrors, errors, watchdog, source, open, full: () => full };
}

function exportedNames(source: SpanSource): string[] {
  return source.exporter.getFinishedSpans().map((s) => s.name);
}

describe('Watchdog', () => {
  it('watches open spans up to maxOpenSpans; beyond it counts them as unwatched and tells onFull', () => {
    const { watchdog, open, full } = setup({ maxOpenSpans: 2 });
    const [a, b, c, d] = [open('a'), open('b'), open('c'), open('d')];
    watchdog.watch(a);
    watchdog.watch(b);
    watchdog.watch(c);
    watchdog.watch(d);
    assert.equal(watchdog.size, 2);
    assert.deepEqual(
      [watchdog.isWatched(a), watchdog.isWatched(b), watchdog.isWatched(c), watchdog.isWatched(d)],
      [true, true, false, false],
    );
    assert.equal(watchdog.counts.unwatched, 2);
    assert.equal(full(), 2);
    watchdog.unwatch(a);
    watchdog.watch(c);
    assert.equal(watchdog.isWatched(c), true, 'room again after unwatch');
    assert.equal(watchdog.counts.unwatched, 2);
  });

  it('force-ends a span still open after maxOpenMillis: force_ended = true, and the SDK exports it', () => {
    const { watchdog, open, clock, source, errors } = setup();
    const span = open('abandoned stream');
    watchdog.watch(span);
    clock.advance(MAX_OPEN_MILLIS - 1);
    assert.equal(span.ended, false);
    clock.advance(1);
    assert.equal(span.ended, true);
    assert.deepEqual(exportedNames(source), ['abandoned stream']);
    const exported = source.exporter.getFinishedSpans()[0];
    assert.equal(exported.attributes['genai_enrich.force_ended'], true);
    assert.equal(watchdog.counts.forceEnded, 1);
    assert.equal(watchdog.size, 0);
    assert.equal(watchdog.isWatched(span), false);
    assert.deepEqual(errors, []);
  });

  it('measures maxOpenMillis from each watch', () => {
    const { watchdog, open, clock } = setup();
    const first = open('first');
    watchdog.watch(first);
    clock.advance(2000);
    const second = open('second');
    watchdog.watch(second);
    clock.advance(MAX_OPEN_MILLIS - 2000);
    assert.deepEqual([first.ended, second.ended], [true, false]);
    clock.advance(2000);
    assert.deepEqual([first.ended, second.ended], [true, true]);
    assert.equal(watchdog.counts.forceEnded, 2);
  });

  it('leaves an unwatched span open, and does not count it', () => {
    const { watchdog, open, clock, source } = setup();
    const span = open();
    watchdog.watch(span);
    clock.advance(100);
    watchdog.unwatch(span);
    watchdog.unwatch(span); // twice: no-op
    clock.advance(MAX_OPEN_MILLIS * 2);
    assert.equal(span.ended, false);
    assert.equal(watchdog.counts.forceEnded, 0);
    assert.deepEqual(exportedNames(source), []);
    span.end();
  });

  it('does not touch a span that ended while still watched (force end only if still open)', () => {
    const { watchdog, open, clock, source, errors } = setup();
    const span = open('ended normally');
    watchdog.watch(span);
    span.end(); // its onEnd never unwatched it
    clock.advance(MAX_OPEN_MILLIS);
    assert.equal(watchdog.counts.forceEnded, 0);
    assert.equal(source.exporter.getFinishedSpans()[0].attributes['genai_enrich.force_ended'], undefined);
    assert.equal(exportedNames(source).length, 1, 'not ended (and exported) twice');
    assert.equal(watchdog.size, 0);
    assert.deepEqual(errors, []);
  });

  it('hands a failing end() to onError, still counts the span, and goes on with the others', () => {
    const boom = new Error('a processor failed in onEnd');
    let failures = 1;
    const failingOnce: SpanProcessor = {
      onStart() {},
      onEnd(span: ReadableSpan) {
        if (span.name === 'fails' && failures-- > 0) throw boom;
      },
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
    const source = spanSource({ processors: [failingOnce] });
    const { watchdog, open, clock, errors, timerErrors } = setup({ source });
    const fails = open('fails');
    const fine = open('fine');
    watchdog.watch(fails);
    watchdog.watch(fine);
    clock.advance(MAX_OPEN_MILLIS);
    assert.deepEqual(errors, [boom]);
    assert.deepEqual(timerErrors, [], 'the error went to onError, not up through the timer');
    assert.equal(fails.ended, true);
    assert.equal(fine.ended, true);
    assert.equal(watchdog.counts.forceEnded, 2);
    assert.deepEqual(exportedNames(source), ['fine']);
  });

  it('clear() stops watching everything: nothing is force-ended later', () => {
    const { watchdog, open, clock } = setup();
    const span = open();
    watchdog.watch(span);
    watchdog.clear();
    assert.equal(watchdog.size, 0);
    assert.equal(watchdog.isWatched(span), false);
    clock.advance(MAX_OPEN_MILLIS * 2);
    assert.equal(span.ended, false);
    assert.equal(watchdog.counts.forceEnded, 0);
    span.end();
  });

  it('its timer is unref()ed, so a watched span never keeps the process alive', () => {
    const { watchdog, open, clock } = setup();
    watchdog.watch(open());
    clock.advance(MAX_OPEN_MILLIS);
    watchdog.watch(open());
    assert.ok(clock.timers.length >= 2, `timers: ${clock.timers.length}`);
    for (const t of clock.timers) assert.equal(t.unrefCalled, true);
  });
});
