/*
 * Late usage (late-usage.ts): PendingUsage (first report wins, bounded, expires, clear), joinUsage (the
 * emitter's counts win, placeholder zeros do not, the source is named) and eventUsage (usage of other
 * calls reported in a real span's events, by response id).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ExpiryTimer } from '../src/deadlines.js';
import { PendingUsage, eventUsage, joinUsage } from '../src/late-usage.js';
import { FakeClock } from './helpers/fake-clock.js';
import { chatAttributes, endedSpan, spanSource, startSpan } from './helpers/sdk-spans.js';

const HOLD_MILLIS = 500;

function setup(maxPendingUsage = 2) {
  const clock = new FakeClock(0);
  const timer = new ExpiryTimer(clock, (error) => assert.fail(String(error)));
  let full = 0;
  const pending = new PendingUsage(timer, { holdMillis: HOLD_MILLIS, maxPendingUsage }, () => full++);
  return { clock, pending, full: () => full };
}

describe('PendingUsage', () => {
  it('keeps usage by response id until its span takes it, once', () => {
    const { pending } = setup();
    pending.add('r1', { inputTokens: 5, outputTokens: 2 }, 'record_usage');
    assert.equal(pending.size, 1);
    assert.deepEqual(pending.take('r1'), { usage: { inputTokens: 5, outputTokens: 2 }, source: 'record_usage' });
    assert.equal(pending.take('r1'), undefined);
    assert.equal(pending.take('unknown'), undefined);
    assert.equal(pending.size, 0);
    assert.deepEqual({ ...pending.counts }, { expired: 0, dropped: 0 });
  });

  it('the first report for an id wins; a second is ignored, neither stored nor counted', () => {
    const { pending, full } = setup();
    pending.add('r1', { inputTokens: 5 }, 'span_event');
    pending.add('r1', { inputTokens: 99 }, 'record_usage');
    assert.equal(pending.size, 1);
    assert.deepEqual(pending.take('r1'), { usage: { inputTokens: 5 }, source: 'span_event' });
    assert.deepEqual({ ...pending.counts }, { expired: 0, dropped: 0 });
    assert.equal(full(), 0);
  });

  it('drops and counts usage that arrives while maxPendingUsage entries wait, telling onFull each time', () => {
    const { pending, full } = setup(2);
    pending.add('r1', { inputTokens: 1 }, 'record_usage');
    pending.add('r2', { inputTokens: 2 }, 'record_usage');
    pending.add('r3', { inputTokens: 3 }, 'record_usage');
    pending.add('r4', { inputTokens: 4 }, 'record_usage');
    assert.equal(pending.size, 2);
    assert.equal(pending.counts.dropped, 2);
    assert.equal(full(), 2);
    assert.equal(pending.take('r3'), undefined);
    // A report for an id already waiting is not a drop, even when full.
    pending.add('r1', { inputTokens: 100 }, 'record_usage');
    assert.equal(pending.counts.dropped, 2);
    // Room again after a take.
    pending.take('r1');
    pending.add('r5', { inputTokens: 5 }, 'record_usage');
    assert.deepEqual(pending.take('r5')?.usage, { inputTokens: 5 });
  });

  it('expires usage holdMillis after it arrived, and counts it', () => {
    const { pending, clock } = setup();
    pending.add('r1', { inputTokens: 1 }, 'record_usage');
    clock.advance(200);
    pending.add('r2', { inputTokens: 2 }, 'record_usage');
    clock.advance(HOLD_MILLIS - 200 - 1);
    assert.equal(pending.size, 2);
    clock.advance(1);
    assert.equal(pending.size, 1);
    assert.equal(pending.take('r1'), undefined);
    assert.equal(pending.counts.expired, 1);
    clock.advance(200);
    assert.equal(pending.counts.expired, 2);
    assert.equal(pending.size, 0);
  });

  it('clear() counts what waits as expired and empties it', () => {
    const { pending, clock } = setup(5);
    pending.add('r1', { inputTokens: 1 }, 'record_usage');
    pending.add('r2', { inputTokens: 2 }, 'record_usage');
    pending.clear();
    assert.equal(pending.size, 0);
    assert.equal(pending.counts.expired, 2);
    clock.advance(HOLD_MILLIS * 2);
    assert.equal(pending.counts.expired, 2, 'not counted a second time by the timer');
  });
});

describe('joinUsage', () => {
  const source = spanSource();

  it('writes the usage as gen_ai.usage.* attributes and names its source', () => {
    const span = endedSpan(source, 'chat', chatAttributes());
    joinUsage(span, { inputTokens: 10, outputTokens: 4, cacheReadInputTokens: 3 }, 'record_usage', 14);
    assert.equal(span.attributes['gen_ai.usage.input_tokens'], 10);
    assert.equal(span.attributes['gen_ai.usage.output_tokens'], 4);
    assert.equal(span.attributes['gen_ai.usage.cache_read.input_tokens'], 3);
    assert.equal(span.attributes['gen_ai.usage.total_tokens'], 14);
    assert.equal(span.attributes['genai_enrich.usage_source'], 'record_usage');
  });

  it('keeps the counts the emitter set, replaces placeholder zeros only while the span has no usage', () => {
    const withUsage = endedSpan(
      source,
      'chat',
      chatAttributes({ 'gen_ai.usage.input_tokens': 7, 'gen_ai.usage.reasoning.output_tokens': 0 }),
    );
    joinUsage(withUsage, { inputTokens: 70, outputTokens: 3, reasoningOutputTokens: 2 }, 'span_event');
    assert.equal(withUsage.attributes['gen_ai.usage.input_tokens'], 7, "the emitter's count wins");
    assert.equal(withUsage.attributes['gen_ai.usage.output_tokens'], 3, 'a missing count is filled');
    assert.equal(
      withUsage.attributes['gen_ai.usage.reasoning.output_tokens'],
      0,
      'a zero is a count when the span has usage',
    );

    const zeros = endedSpan(
      source,
      'chat',
      chatAttributes({ 'gen_ai.usage.input_tokens': 0, 'gen_ai.usage.output_tokens': 0 }),
    );
    joinUsage(zeros, { inputTokens: 8, outputTokens: 2 }, 'late_span');
    assert.equal(zeros.attributes['gen_ai.usage.input_tokens'], 8);
    assert.equal(zeros.attributes['gen_ai.usage.output_tokens'], 2);
    assert.equal(zeros.attributes['genai_enrich.usage_source'], 'late_span');
  });
});

describe('eventUsage', () => {
  const source = spanSource();

  it("reads usage and response id from the span's GenAI events, in order", () => {
    const span = startSpan(source, 'invoke_agent', { 'gen_ai.operation.name': 'invoke_agent' });
    span.addEvent('gen_ai.client.inference.operation.details', {
      'gen_ai.operation.name': 'chat',
      'gen_ai.response.id': 'resp-1',
      'gen_ai.usage.input_tokens': 11,
      'gen_ai.usage.output_tokens': 3,
    });
    span.addEvent('gen_ai.client.inference.operation.details', {
      'gen_ai.response.id': 'resp-2',
      // Legacy names are normalized first.
      'gen_ai.usage.prompt_tokens': 20,
      'gen_ai.usage.completion_tokens': 5,
    });
    span.end();
    assert.deepEqual(eventUsage(span), [
      { responseId: 'resp-1', usage: { inputTokens: 11, outputTokens: 3 } },
      { responseId: 'resp-2', usage: { inputTokens: 20, outputTokens: 5 } },
    ]);
  });

  it('skips events that are not GenAI, have no response id, or no usage', () => {
    const span = startSpan(source, 'chat', chatAttributes());
    span.addEvent('exception', { 'exception.message': 'boom', 'exception.type': 'Error' });
    span.addEvent('gen_ai.choice', { 'gen_ai.usage.input_tokens': 4, 'gen_ai.usage.output_tokens': 1 });
    span.addEvent('gen_ai.choice', { 'gen_ai.response.id': '', 'gen_ai.usage.input_tokens': 4 });
    span.addEvent('gen_ai.choice', {
      'gen_ai.response.id': 'resp-zero',
      'gen_ai.usage.input_tokens': 0,
      'gen_ai.usage.output_tokens': 0,
    });
    span.addEvent('no attributes');
    span.end();
    assert.deepEqual(eventUsage(span), []);
  });

  it('finds nothing on a span without events', () => {
    assert.deepEqual(eventUsage(endedSpan(source, 'chat', chatAttributes())), []);
  });
});
