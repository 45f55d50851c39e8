// SseLineEnds finds the same lines however a body is cut into chunks, CR LF pairs included.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Hay, SHORT_RANGE } from '../../src/tap/bytes.js';
import { SseLineEnds } from '../../src/tap/sse.js';

const encoder = new TextEncoder();
const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');

/** The lines of `body` as SseLineEnds reads them from `chunks`; the last, unterminated one is left out. */
function linesOf(chunks: readonly Uint8Array[]): string[] {
  const lineEnds = new SseLineEnds();
  const lines: string[] = [];
  let open = '';
  for (const chunk of chunks) {
    if (chunk.length === 0) continue;
    const hay = new Hay(chunk);
    let pos = lineEnds.beginChunk(chunk);
    while (pos < chunk.length) {
      const e = lineEnds.lineEnd(hay, pos);
      open += latin1(chunk.subarray(pos, e));
      if (e >= chunk.length) break;
      lines.push(open);
      open = '';
      pos = lineEnds.afterLineEnd(chunk, e);
    }
  }
  return lines;
}

function cut(body: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    out.push(body.subarray(at, c));
    at = c;
  }
  out.push(body.subarray(at));
  return out;
}

describe('SseLineEnds', () => {
  it('ends lines at LF, CR and CR LF', () => {
    assert.deepEqual(linesOf([encoder.encode('a\nb\rc\r\nd\n\ne\r\rf')]), ['a', 'b', 'c', 'd', '', 'e', '']);
  });

  it('reads a CR LF cut between chunks as one line end', () => {
    assert.deepEqual(linesOf([encoder.encode('a\r'), encoder.encode('\nb\r'), encoder.encode('c\n')]), ['a', 'b', 'c']);
    const lineEnds = new SseLineEnds();
    const chunk = encoder.encode('x\r');
    assert.equal(lineEnds.beginChunk(chunk), 0);
    assert.equal(lineEnds.afterLineEnd(chunk, lineEnds.lineEnd(new Hay(chunk), 0)), 2);
    assert.equal(lineEnds.pendingCR, true);
    assert.equal(lineEnds.beginChunk(encoder.encode('\ny')), 1);
    assert.equal(lineEnds.pendingCR, false);
  });

  it('finds the end of a line longer than the short search range', () => {
    const long = 'x'.repeat(SHORT_RANGE * 3);
    assert.deepEqual(linesOf([encoder.encode(`${long}\n${long}\r\nend\n`)]), [long, long, 'end']);
  });

  it('gives the lines of String#split wherever the body is cut', () => {
    const text = fc
      .array(fc.constantFrom('data: x', 'a', '\n', '\r', '\r\n', 'é', ''), { maxLength: 40 })
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(
        text.chain((t) =>
          fc.tuple(fc.constant(t), fc.array(fc.nat(Math.max(0, encoder.encode(t).length)), { maxLength: 8 })),
        ),
        ([t, cuts]) => {
          const body = encoder.encode(t);
          const expected = latin1(body)
            .split(/\r\n|\r|\n/)
            .slice(0, -1); // the last part is not ended yet
          assert.deepEqual(linesOf(cut(body, cuts)), expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  describe('lastBlankLineEnd', () => {
    const at = (text: string, from = 0, to = text.length): number =>
      new SseLineEnds().lastBlankLineEnd(encoder.encode(text), from, to);

    it('returns just past a late empty line, for LF, CR LF and CR streams', () => {
      assert.equal(at('data: a\n\ndata: b\n\ndata: c'), 18);
      assert.equal(at('data: a\r\n\r\ndata: b'), 11);
      assert.equal(at('data: a\r\rdata: b'), 9);
      assert.equal(at('data: a\n\rdata: b'), 9);
    });

    it('finds the empty line at the last LF of a CR LF stream, and none where the last LF ends a line', () => {
      assert.equal(at('data: a\r\n\r\ndata: b\r\n\r\ndata: c'), 22);
      assert.equal(at('data: a\r\r\ndata: b'), 10); // CR ends the line, CR LF is the empty one
      assert.equal(at('data: a\n\r\ndata: b'), 10);
      assert.equal(at('data: a\r\ndata: b\r\n'), -1);
      assert.equal(at('data: a\r\n\r\ndata: b\r\n', 11), -1); // the empty line before `from` is not looked at
    });

    it('looks only inside [from, to), and returns -1 without an empty line there', () => {
      assert.equal(at('data: a\ndata: b\n'), -1);
      assert.equal(at('data: a\n\ndata: b\n\n', 0, 9), 9);
      assert.equal(at('data: a\n\ndata: b', 9), -1);
    });

    it('leaves a CR that ends the chunk pending, as its LF may open the next one', () => {
      const lineEnds = new SseLineEnds();
      assert.equal(lineEnds.lastBlankLineEnd(encoder.encode('data: a\r\r'), 0, 9), 9);
      assert.equal(lineEnds.pendingCR, true);
    });
  });
});
