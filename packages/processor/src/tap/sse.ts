/*
 * SSE line ends, for both readers of an SSE body: the usage parser (usage-parser.ts) and the usage-chunk
 * stripper (strip.ts).
 *
 * A line ends at CR, LF or CR LF, and an empty line ends an event. Bodies arrive in chunks cut anywhere,
 * so a CR LF may be cut in two; one SseLineEnds per body carries that across chunks:
 *
 *   chunk ─► beginChunk ─────────► where the chunk's first line starts (past the LF of a cut CR LF)
 *            lineEnd(pos) ───────► the next CR or LF at or after pos, or the chunk's length
 *            afterLineEnd(e) ────► where the next line starts; a CR that ends the chunk sets pendingCR
 *            lastBlankLineEnd ───► just past a late empty line before a position: where skipping may resume
 *
 * Built for the parser's hot path: LF is looked for with V8's indexOf over a short range first (lines are
 * short) and with memchr (bytes.ts) across a long line; CR is rare, so it is looked for only up to the
 * next LF (a search to the chunk's end would scan every chunk whole, as reading resumes at each chunk's
 * head to finish the event cut there). Both positions are cached until the reader passes them.
 */
import type { Hay } from './bytes.js';
import { SHORT_RANGE, lastIndexOfSeqIn, needle } from './bytes.js';

export const LF = 0x0a;
export const CR = 0x0d;

const LFLF = needle('\n\n');
const LFCR = needle('\n\r');
const CRCR = needle('\r\r');

export class SseLineEnds {
  /** The last chunk ended with a CR: a LF that opens the next chunk is the second half of its CR LF. */
  pendingCR = false;
  // The next LF and CR in the current chunk (-1: not searched yet; the chunk's length: none).
  private _lfAt = -1;
  private _crAt = -1;

  /**
   * Starts reading a new chunk (not empty). Returns where its first line starts: 1 past the LF of a CR LF
   * that the previous chunk cut, else 0.
   */
  beginChunk(chunk: Uint8Array): number {
    this._lfAt = -1;
    this._crAt = -1;
    if (!this.pendingCR) return 0;
    this.pendingCR = false;
    return chunk[0] === LF ? 1 : 0;
  }

  /** The first CR or LF at or after `pos` in the chunk `hay` views, or the chunk's length if none. */
  lineEnd(hay: Hay, pos: number): number {
    const u8 = hay.u8;
    const n = u8.length;
    if (this._lfAt < pos) {
      // Lines are short: look nearby in JavaScript first, then let memchr cross a long line.
      let at = n - pos <= SHORT_RANGE ? u8.indexOf(LF, pos) : u8.subarray(pos, pos + SHORT_RANGE).indexOf(LF);
      if (at >= 0 && n - pos > SHORT_RANGE) at += pos;
      else if (at < 0 && n - pos > SHORT_RANGE) at = hay.indexOfByte(LF, pos + SHORT_RANGE);
      this._lfAt = at < 0 ? n : at;
    }
    if (this._crAt < pos) {
      // CR is rare: look for it only up to the next LF.
      const at = u8.subarray(pos, this._lfAt).indexOf(CR);
      this._crAt = at < 0 ? this._lfAt : pos + at;
    }
    return this._crAt < this._lfAt ? this._crAt : this._lfAt;
  }

  /**
   * Where the line after the line end at `e` (a CR or LF of `u8`) starts: past CR, LF or CR LF. A CR that
   * is the chunk's last byte sets `pendingCR`, as its LF may open the next chunk.
   */
  afterLineEnd(u8: Uint8Array, e: number): number {
    if (u8[e] !== CR) return e + 1;
    if (e + 1 < u8.length) return u8[e + 1] === LF ? e + 2 : e + 1;
    this.pendingCR = true;
    return e + 1;
  }

  /**
   * Just past the last empty line inside [from, to) of `chunk`, where `from` is at the start of a line;
   * -1 if there is none. Any two line-end bytes in a row other than CR LF end a line and then an empty
   * one. Finding *a* late empty line is enough (any is a safe place to resume reading), so LF LF, the usual
   * one, is tried first. Like afterLineEnd, sets `pendingCR` when the empty line's CR ends the chunk.
   */
  lastBlankLineEnd(chunk: Uint8Array, from: number, to: number): number {
    // Usually the last LF is the end of an empty line already: check it before searching for LF LF (a
    // search that scans the whole range backward when the stream has none, as CR LF streams do).
    // (A view bounds the backward scan: in a CR-only stream it would otherwise run to the chunk's start
    // for every call.)
    // The same for CR LF line ends (Gemini's): LF CR LF or CR CR LF, an empty line after a line end.
    const lf = to - from >= 2 ? chunk.subarray(from, to).lastIndexOf(LF) : -1;
    if (lf > 0) {
      const before = chunk[from + lf - 1];
      if (before === LF) return from + lf + 1;
      if (before === CR && lf > 1) {
        const twoBefore = chunk[from + lf - 2];
        if (twoBefore === LF || twoBefore === CR) return from + lf + 1;
      }
    }
    let i = lastIndexOfSeqIn(chunk, LFLF, from, to);
    if (i >= 0) return i + 2;
    i = lastIndexOfSeqIn(chunk, LFCR, from, to);
    if (i < 0) i = lastIndexOfSeqIn(chunk, CRCR, from, to);
    if (i < 0) return -1;
    return this.afterLineEnd(chunk, i + 1); // past the CR that ends the empty line
  }
}
