/*
 * The byte searches: the portable fallbacks (used where there is no Buffer) must agree with a naive
 * search, and so must the Buffer-backed paths Node takes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Hay, findSeq, indexOfSeq, lastIndexOfSeq, lastIndexOfSeqIn } from '../../src/tap/bytes.js';

const RUNS = Number(process.env['FC_TAP_RUNS'] ?? 1000);

function naiveIndexOf(hay: Uint8Array, seq: Uint8Array, from: number): number {
  outer: for (let i = Math.max(0, from); i + seq.length <= hay.length; i++) {
    for (let k = 0; k < seq.length; k++) if (hay[i + k] !== seq[k]) continue outer;
    return i;
  }
  return -1;
}

function naiveLastIndexOf(hay: Uint8Array, seq: Uint8Array, from: number, to: number): number {
  for (let i = to - seq.length; i >= from; i--) {
    if (naiveIndexOf(hay.subarray(i, i + seq.length), seq, 0) === 0) return i;
  }
  return -1;
}

// A two-letter alphabet makes matches, near-matches and overlaps common.
const bytes = (max: number) => fc.uint8Array({ min: 0x61, max: 0x62, maxLength: max });

describe('byte search', () => {
  it('forward searches agree with a naive one (portable, Buffer, short and long ranges)', () => {
    fc.assert(
      fc.property(
        bytes(3000),
        bytes(5).filter((s) => s.length > 0),
        fc.nat(),
        (hay, seq, rawFrom) => {
          const from = rawFrom % (hay.length + 1);
          const expected = naiveIndexOf(hay, seq, from);
          assert.equal(indexOfSeq(hay, seq, from), expected);
          assert.equal(new Hay(hay).indexOf(seq, from), expected);
          assert.equal(findSeq(hay, hay.length, seq, from), expected);
          if (seq.length === 1) assert.equal(new Hay(hay).indexOfByte(seq[0], from), expected);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('backward searches within a range agree with a naive one', () => {
    fc.assert(
      fc.property(
        bytes(300),
        bytes(4).filter((s) => s.length > 0),
        fc.nat(),
        fc.nat(),
        (hay, seq, a, b) => {
          const from = a % (hay.length + 1);
          const to = from + (b % (hay.length - from + 1));
          const expected = naiveLastIndexOf(hay, seq, from, to);
          assert.equal(lastIndexOfSeqIn(hay, seq, from, to), expected);
          const inView = lastIndexOfSeq(hay.subarray(from, to), seq);
          assert.equal(inView < 0 ? -1 : from + inView, expected);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('works on views into a larger buffer', () => {
    const big = new TextEncoder().encode('xxkens"yy kens" zz');
    const view = big.subarray(2, 16);
    assert.equal(new Hay(view).indexOf(new TextEncoder().encode('kens"'), 1), 8);
    assert.equal(indexOfSeq(view, new TextEncoder().encode('kens"'), 1), 8);
    assert.equal(lastIndexOfSeqIn(view, new TextEncoder().encode('kens"'), 0, 14), 8);
  });
});
