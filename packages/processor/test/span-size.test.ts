/*
 * estimateSpanBytes (span-size.ts): what a span's estimate counts — its name, every attribute key and value
 * (strings by length, arrays by element, byte arrays by size, kvlists by entry, nested as deep as the relay
 * decodes), events and links — and that it never throws on a malformed span.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableSpanLike } from '../src/types.js';
import { ENTRY_BYTES, ITEM_BYTES, SPAN_BASE_BYTES, estimateSpanBytes } from '../src/span-size.js';
import { chatAttributes, endedSpan, spanSource } from './helpers/sdk-spans.js';

/** A span-shaped object with only what the estimate reads. */
function shaped(fields: Partial<Record<keyof ReadableSpanLike, unknown>>): ReadableSpanLike {
  return { name: '', attributes: {}, events: [], links: [], ...fields } as unknown as ReadableSpanLike;
}

describe('estimateSpanBytes', () => {
  it('is the base cost for an empty span, and grows by each attribute its key and value', () => {
    assert.equal(estimateSpanBytes(shaped({})), SPAN_BASE_BYTES);
    const one = estimateSpanBytes(shaped({ attributes: { k: 1 } }));
    assert.equal(one, SPAN_BASE_BYTES + ENTRY_BYTES + 1 + 8);
    const text = estimateSpanBytes(shaped({ attributes: { k: 'x'.repeat(1000) } }));
    assert.ok(text >= SPAN_BASE_BYTES + ENTRY_BYTES + 1000, String(text));
    assert.equal(estimateSpanBytes(shaped({ name: 'n'.repeat(50) })), SPAN_BASE_BYTES + 50);
  });

  it('counts arrays by element, byte arrays by size, kvlists by entry, events and links', () => {
    const strings = estimateSpanBytes(shaped({ attributes: { a: Array.from({ length: 100 }, () => 'abcd') } }));
    assert.ok(strings > SPAN_BASE_BYTES + 100 * 4, String(strings));
    const bytes = estimateSpanBytes(shaped({ attributes: { b: new Uint8Array(10_000) } }));
    assert.ok(bytes >= SPAN_BASE_BYTES + 10_000, String(bytes));
    const kvlist = estimateSpanBytes(shaped({ attributes: { m: { inner: 'y'.repeat(500), n: 1 } } }));
    assert.ok(kvlist >= SPAN_BASE_BYTES + 500 + 2 * ENTRY_BYTES, String(kvlist));
    const withEvents = estimateSpanBytes(
      shaped({ events: [{ name: 'e', attributes: { p: 'z'.repeat(300) } }, { name: 'f' }] }),
    );
    assert.ok(withEvents >= SPAN_BASE_BYTES + 2 * ITEM_BYTES + 300, String(withEvents));
    const withLinks = estimateSpanBytes(shaped({ links: [{ attributes: { q: 'w'.repeat(200) } }] }));
    assert.ok(withLinks >= SPAN_BASE_BYTES + ITEM_BYTES + 200, String(withLinks));
  });

  it('follows nested values only so deep, so a hostile nesting costs a bounded walk', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    const bytes = estimateSpanBytes(shaped({ attributes: { d: deep } }));
    assert.ok(bytes > SPAN_BASE_BYTES && bytes < SPAN_BASE_BYTES + 100 * 64, String(bytes));
  });

  it('never throws: missing fields, odd values and throwing getters count what could be read', () => {
    assert.equal(estimateSpanBytes({} as ReadableSpanLike), SPAN_BASE_BYTES);
    assert.ok(estimateSpanBytes(shaped({ attributes: null, events: 'x', links: [null] })) >= SPAN_BASE_BYTES);
    const throwing = {
      name: 'n',
      get attributes(): never {
        throw new Error('boom');
      },
    } as unknown as ReadableSpanLike;
    assert.equal(estimateSpanBytes(throwing), SPAN_BASE_BYTES + 1);
  });

  it('covers a real SDK chat span at about its size on the heap (a kilobyte or two)', () => {
    const span = endedSpan(spanSource(), 'chat gpt-4o-mini', chatAttributes({ 'gen_ai.response.id': 'chatcmpl-1' }));
    const bytes = estimateSpanBytes(span);
    assert.ok(bytes > 800 && bytes < 2000, String(bytes));
  });
});
