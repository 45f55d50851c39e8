/*
 * Attribute writes after end() (late-attributes.ts): on real SDK spans, writes before end() (and in
 * onEnding) pass straight through and the SDK records them; writes after end() reach the listener instead
 * of being dropped; only the first capturer's listener hears them; only that span instance is wrapped.
 * Then mergeLateAttributes' rules: absent and null keys take the late value, placeholder zero counts only
 * while the span reports no usage.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Attributes } from '@opentelemetry/api';
import type { Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { captureLateAttributes, mergeLateAttributes } from '../src/late-attributes.js';
import type { LateAttributesListener } from '../src/late-attributes.js';
import type { SpanLike } from '../src/types.js';
import { chatAttributes, spanSource, startSpan } from './helpers/sdk-spans.js';

interface Heard {
  span: SpanLike;
  attributes: Attributes;
}

/** A processor that captures late writes in onStart, as GenAiEnrichingProcessor does; `heard` records them. */
function capturing(heard: Heard[] | LateAttributesListener, onEnding?: (span: Span) => void): SpanProcessor {
  const listener: LateAttributesListener = Array.isArray(heard)
    ? (span, attributes) => heard.push({ span, attributes })
    : heard;
  return {
    onStart: (span) => captureLateAttributes(span, listener),
    ...(onEnding !== undefined ? { onEnding } : {}),
    onEnd() {},
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

describe('captureLateAttributes', () => {
  it('before end(): setAttribute and setAttributes pass through, the SDK records them, the listener hears nothing', () => {
    const heard: Heard[] = [];
    const source = spanSource({ processors: [capturing(heard)] });
    const span = startSpan(source, 'chat', chatAttributes());
    assert.equal(span.setAttribute('gen_ai.response.model', 'gpt-4o-mini-2024-07-18'), span, 'chainable');
    assert.equal(
      span.setAttributes({ 'gen_ai.usage.input_tokens': 3, 'gen_ai.usage.output_tokens': 1 }),
      span,
      'chainable',
    );
    span.end();
    const exported = source.exporter.getFinishedSpans()[0];
    assert.equal(exported.attributes['gen_ai.response.model'], 'gpt-4o-mini-2024-07-18');
    assert.equal(exported.attributes['gen_ai.usage.input_tokens'], 3);
    assert.equal(exported.attributes['gen_ai.usage.output_tokens'], 1);
    assert.equal(heard.length, 0);
  });

  it('in onEnding (the span is not ended yet) a write still passes through', () => {
    const heard: Heard[] = [];
    const source = spanSource({
      processors: [capturing(heard, (span) => span.setAttribute('written.in.onEnding', true))],
    });
    startSpan(source, 'chat', chatAttributes()).end();
    assert.equal(source.exporter.getFinishedSpans()[0].attributes['written.in.onEnding'], true);
    assert.equal(heard.length, 0);
  });

  it('after end(): the write goes to the listener (the SDK would drop it), and the span is returned', () => {
    const heard: Heard[] = [];
    const source = spanSource({ processors: [capturing(heard)] });
    const span = startSpan(source, 'chat', chatAttributes());
    span.end();
    assert.equal(span.setAttribute('gen_ai.usage.output_tokens', 42), span);
    const late = { 'gen_ai.usage.input_tokens': 7, 'gen_ai.response.id': 'resp-1' };
    assert.equal(span.setAttributes(late), span);
    late['gen_ai.usage.input_tokens'] = 999; // the caller reuses its object
    assert.equal(heard.length, 2);
    assert.ok(
      heard.every((h) => h.span === span),
      'the listener is told which span',
    );
    assert.deepEqual(heard[0].attributes, { 'gen_ai.usage.output_tokens': 42 });
    assert.deepEqual(
      heard[1].attributes,
      { 'gen_ai.usage.input_tokens': 7, 'gen_ai.response.id': 'resp-1' },
      'a copy, taken at the call',
    );
    assert.equal(span.attributes['gen_ai.usage.output_tokens'], undefined, 'the SDK itself did not record it');
    assert.equal(span.attributes['gen_ai.usage.input_tokens'], undefined);
  });

  it('after end(): setAttributes with no object tells the listener nothing and does not throw', () => {
    const heard: Heard[] = [];
    const source = spanSource({ processors: [capturing(heard)] });
    const span = startSpan(source, 'chat', chatAttributes());
    span.end();
    assert.equal(span.setAttributes(null as unknown as Attributes), span);
    assert.equal(span.setAttributes(undefined as unknown as Attributes), span);
    assert.equal(heard.length, 0);
  });

  it('the first capturer wins: a second processor asking for the same span hears nothing', () => {
    const first: Heard[] = [];
    const second: Heard[] = [];
    const source = spanSource({ processors: [capturing(first), capturing(second)] });
    const span = startSpan(source, 'chat', chatAttributes());
    span.setAttribute('before', 1);
    span.end();
    span.setAttribute('after', 2);
    assert.deepEqual(
      first.map((h) => h.attributes),
      [{ after: 2 }],
    );
    assert.deepEqual(second, []);
    assert.equal(source.exporter.getFinishedSpans()[0].attributes['before'], 1, 'passed through once, recorded');
  });

  it('wraps only the captured instance: other spans and the SDK prototype are untouched', () => {
    const heard: Heard[] = [];
    const source = spanSource({ processors: [capturing(heard)] });
    const captured = startSpan(source, 'captured');
    const prototype = Object.getPrototypeOf(captured) as { setAttribute: unknown; setAttributes: unknown };
    const plainSource = spanSource();
    const plain = startSpan(plainSource, 'plain');
    assert.notEqual(captured.setAttribute, prototype.setAttribute);
    assert.equal(Object.getPrototypeOf(plain).setAttribute, prototype.setAttribute, 'same SDK class');
    assert.equal(plain.setAttribute, prototype.setAttribute);
    assert.equal(plain.setAttributes, prototype.setAttributes);
    plain.end();
    plain.setAttribute('after', 1);
    assert.equal(heard.length, 0);
    captured.end();
  });
});

describe('mergeLateAttributes', () => {
  it('a key the span lacks, or holds as null, takes the late value; any other value stays', () => {
    const target: Attributes = {
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': null as unknown as string,
      temperature: 0,
    };
    const late: Attributes = {
      'gen_ai.request.model': 'other',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.response.id': 'r1',
      temperature: 1,
    };
    assert.equal(mergeLateAttributes(target, late), false, 'no usage came with it');
    assert.deepEqual(target, {
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.response.id': 'r1',
      temperature: 0,
    });
  });

  it('placeholder zero counts take late counts while the span reports no usage; true when it now has usage', () => {
    const target: Attributes = {
      'gen_ai.usage.input_tokens': 0,
      'gen_ai.usage.output_tokens': 0,
      'gen_ai.usage.reasoning.output_tokens': 0,
    };
    const late: Attributes = {
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 5,
      'gen_ai.usage.reasoning.output_tokens': 2,
    };
    assert.equal(mergeLateAttributes(target, late), true);
    assert.deepEqual(target, late);
  });

  it('once the span reports usage, its zero counts are counts, and the merge says it gave no usage', () => {
    const target: Attributes = { 'gen_ai.usage.input_tokens': 9, 'gen_ai.usage.reasoning.output_tokens': 0 };
    assert.equal(
      mergeLateAttributes(target, {
        'gen_ai.usage.input_tokens': 12,
        'gen_ai.usage.reasoning.output_tokens': 2,
        'gen_ai.usage.output_tokens': 4,
      }),
      false,
    );
    assert.deepEqual(target, {
      'gen_ai.usage.input_tokens': 9,
      'gen_ai.usage.reasoning.output_tokens': 0,
      'gen_ai.usage.output_tokens': 4,
    });
  });

  it('a zero that is not a usage count is never a placeholder', () => {
    const target: Attributes = { 'gen_ai.request.temperature': 0, 'gen_ai.usage.input_tokens': 0 };
    assert.equal(
      mergeLateAttributes(target, { 'gen_ai.request.temperature': 0.7, 'gen_ai.usage.input_tokens': 3 }),
      true,
    );
    assert.deepEqual(target, { 'gen_ai.request.temperature': 0, 'gen_ai.usage.input_tokens': 3 });
  });

  it('late zeros give no usage', () => {
    const target: Attributes = {};
    assert.equal(
      mergeLateAttributes(target, { 'gen_ai.usage.input_tokens': 0, 'gen_ai.usage.output_tokens': 0 }),
      false,
    );
    assert.deepEqual(target, { 'gen_ai.usage.input_tokens': 0, 'gen_ai.usage.output_tokens': 0 });
  });

  it('on a captured span: a late write merged into the ended span is what the exporter holds', () => {
    const merging = capturing((span, attributes) => mergeLateAttributes(span.attributes, attributes));
    const source = spanSource({ processors: [merging] });
    const span = startSpan(
      source,
      'chat',
      chatAttributes({ 'gen_ai.usage.input_tokens': 0, 'gen_ai.usage.output_tokens': 0 }),
    );
    span.end();
    span.setAttributes({ 'gen_ai.usage.input_tokens': 30, 'gen_ai.usage.output_tokens': 6 });
    const exported = source.exporter.getFinishedSpans()[0];
    assert.equal(exported.attributes['gen_ai.usage.input_tokens'], 30);
    assert.equal(exported.attributes['gen_ai.usage.output_tokens'], 6);
  });
});
