/*
 * Streamed top-level JSON arrays of objects, for Gemini's streamGenerateContent without `alt=sse`, which
 * answers `[{…}\n,\r\n{…}\n,\r\n{…}\n]` a chunk at a time. The usage parser treats each element it is handed
 * as it treats an SSE event's data: its bytes go to the same bounded buffer (or the picker), and the
 * element's end dispatches it. Two readers, one on top of the other:
 *
 * JsonArraySplitter: exact, every byte looked at.
 *
 *   before `[` ──► between elements (whitespace, `,`) ──► `{` ──► in an element ──► depth back to 0 ──► …
 *                                     │ `]` ──► done: only whitespace may follow (else failed)
 *                                     ▼                             ├ outside strings: braces counted in JS
 *                                  anything else: not ours (fail)   └ strings: skipped to the next `"` with
 *                                                                     V8's indexOf; escaped iff an odd run
 *                                                                     of `\` precedes it (carried across chunks)
 *
 *   Brackets inside an element need no count: only the braces of the top-level object decide where it ends,
 *   and every brace inside a string is skipped with the string.
 *
 * JsonArrayReader: the splitter on the first two elements, then skims (measured: looking at every byte
 * cost 2.2 ns a byte, 3.1× plain fetch; bench/tap.bench.ts):
 *
 *   exact (splitter) ──► the 2nd element ended and the gap before it held a line break ──► skimming
 *        ▲                                                                                     │
 *        │ a count-key needle in the chunk's last TAIL_WINDOW bytes, or the tail past its bound │
 *        └─── from the last separator before it (or the tail's start), splitter reset between ◄─┘
 *
 *   Skimming, per chunk: one native search for the needle in the chunk's tail window, one native
 *   lastIndexOf of the separator `}` + gap + `{`, and a copy of the bytes after it (the tail: everything
 *   since the last point known to be between elements, bounded). At the end the tail goes through the
 *   splitter, so the last element and the closing `]` are always read exactly.
 *
 *   Why a separator found by search is between elements: the gap holds a raw line break, which a JSON
 *   string cannot (control characters must be escaped there), so it is outside strings; and in an object
 *   a `,` is followed by a key, never by `{`, so it is between the elements of an array. That array could
 *   be nested in an element if the server wrote nested arrays with the same gap; Google's servers
 *   pretty-print nested arrays with indentation after the line break, so their separator never matches
 *   there. Were it to, the tail read at the end would not close with `]` followed by only whitespace,
 *   and nothing would be found.
 *
 *   What skimming gives up: an element with usage that is neither within TAIL_WINDOW of its chunk's end
 *   nor the last element is not read. Usage comes on the last chunk (or on every chunk, the last one
 *   counting), so the element that counts is always the last one read.
 */
import { Hay, lastIndexOfSeqIn } from './bytes.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

const S_BEFORE = 0;
const S_BETWEEN = 1;
const S_ELEMENT = 2;
const S_STRING = 3;
const S_DONE = 4;
const S_FAILED = 5;

/** The longest gap between the first two elements that skimming will search for (Gemini's is 4 bytes). */
const MAX_GAP = 16;

/**
 * How far back from each chunk's end the skimming reader searches for a count key: 8 KiB, as the SSE
 * parser does (usage-parser.ts TAIL_WINDOW): an element with usage ends within a few hundred bytes of its
 * chunk's end, or is still open there and read from the tail.
 */
const TAIL_WINDOW = 8 * 1024;

/** Receives the bytes of each element (in pieces, as chunks cut it) and its end. */
export interface JsonArrayElementSink {
  elementBytes(u8: Uint8Array, start: number, end: number): void;
  elementEnd(): void;
}

export class JsonArraySplitter {
  private _state = S_BEFORE;
  private _depth = 0;
  /** Backslashes that ended the last chunk inside a string (their parity decides a quote that opens the next). */
  private _backslashes = 0;
  /** Elements that have ended. */
  private _ended = 0;
  /** The bytes between the first element and the second (undefined until the second starts, or if too long). */
  private _gap: number[] | undefined = [];
  private _firstGap: Uint8Array | undefined;

  /** The bytes were not an array of objects. */
  get failed(): boolean {
    return this._state === S_FAILED;
  }

  /** The array closed. */
  get done(): boolean {
    return this._state === S_DONE;
  }

  /** Between two elements (or before the first): where a reader may stop looking at every byte. */
  get betweenElements(): boolean {
    return this._state === S_BETWEEN;
  }

  /** Elements that have ended so far. */
  get elementsEnded(): number {
    return this._ended;
  }

  /** The whitespace and `,` between the first two elements, once the second has started. */
  get firstGap(): Uint8Array | undefined {
    return this._firstGap;
  }

  /** Goes on from a point the caller knows to be between two elements of the array. */
  resumeBetween(): void {
    if (this._state !== S_FAILED && this._state !== S_DONE) {
      this._state = S_BETWEEN;
      this._depth = 0;
    }
  }

  /**
   * Splits u8[from, …); calls the sink for what it finds. With `stopAtElementEnd`, returns just past the
   * first element that ends; else (and when none ends) returns u8.length. Keeps no reference to the chunk.
   */
  push(u8: Uint8Array, sink: JsonArrayElementSink, from = 0, stopAtElementEnd = false): number {
    const n = u8.length;
    let pos = from;
    let elementStart = this._state === S_ELEMENT || this._state === S_STRING ? from : -1;
    while (pos < n) {
      const state = this._state;
      if (state === S_ELEMENT) {
        // Strings in a chunk are short: V8's own indexOf finds the next quote sooner than a call into C++.
        let q = u8.indexOf(QUOTE, pos);
        if (q < 0) q = n;
        let i = pos;
        for (; i < q; i++) {
          const c = u8[i];
          if (c === OPEN_OBJ) this._depth++;
          else if (c === CLOSE_OBJ && --this._depth === 0) break;
        }
        if (i < q) {
          sink.elementBytes(u8, elementStart, i + 1);
          sink.elementEnd();
          elementStart = -1;
          this._state = S_BETWEEN;
          this._ended++;
          pos = i + 1;
          if (stopAtElementEnd) return pos;
        } else if (q < n) {
          this._state = S_STRING;
          this._backslashes = 0;
          pos = q + 1;
        } else {
          pos = n;
        }
      } else if (state === S_STRING) {
        const q = u8.indexOf(QUOTE, pos);
        if (q < 0) {
          this._backslashes = trailingBackslashes(u8, pos, n, this._backslashes);
          pos = n;
        } else {
          const run = trailingBackslashes(u8, pos, q, this._backslashes);
          this._backslashes = 0;
          if (run % 2 === 0) this._state = S_ELEMENT;
          pos = q + 1;
        }
      } else if (state === S_BETWEEN || state === S_BEFORE) {
        const c = u8[pos];
        if (isWs(c) || (c === COMMA && state === S_BETWEEN)) {
          if (this._ended === 1) this._keepGap(c);
          pos++;
        } else if (state === S_BEFORE) {
          if (c !== OPEN_ARR) return this._fail(n);
          this._state = S_BETWEEN;
          pos++;
        } else if (c === OPEN_OBJ) {
          if (this._ended === 1 && this._gap !== undefined) {
            this._firstGap = Uint8Array.from(this._gap);
            this._gap = undefined;
          }
          this._state = S_ELEMENT;
          this._depth = 1;
          elementStart = pos;
          pos++;
        } else if (c === CLOSE_ARR) {
          this._state = S_DONE;
          pos++;
        } else {
          return this._fail(n); // a non-object element, or not JSON
        }
      } else if (state === S_DONE) {
        // Only whitespace may follow the array (as JSON.parse would have it).
        if (!isWs(u8[pos])) return this._fail(n);
        pos++;
      } else {
        return n; // failed: nothing more to read
      }
    }
    if (elementStart >= 0 && elementStart < n) sink.elementBytes(u8, elementStart, n);
    return n;
  }

  private _keepGap(c: number): void {
    const gap = this._gap;
    if (gap === undefined) return;
    if (gap.length < MAX_GAP) gap.push(c);
    else this._gap = undefined;
  }

  private _fail(n: number): number {
    this._state = S_FAILED;
    return n;
  }
}

/** Reads a streamed array's elements: exactly at first, then skimming (see the header). */
export class JsonArrayReader {
  private readonly _splitter = new JsonArraySplitter();
  private readonly _needle: Uint8Array;
  private readonly _maxTail: number;
  /** `}` + the first gap + `{`: a separator that can only be between elements; undefined: never skim. */
  private _separator: Uint8Array | undefined;
  private _skimming = false;
  /** Skimming: the bytes since the last point known to be between elements. */
  private _tail: Uint8Array | undefined;
  private _tailLen = 0;
  private readonly _seam: Uint8Array;

  /**
   * @param needle bytes every element with usage holds (the endpoint's count-key needle)
   * @param maxTailBytes bound on the tail; past it the reader reads exactly again
   */
  constructor(needle: Uint8Array, maxTailBytes: number) {
    this._needle = needle;
    this._maxTail = maxTailBytes;
    this._seam = new Uint8Array(2 * (needle.length - 1));
  }

  get failed(): boolean {
    return this._splitter.failed;
  }

  get done(): boolean {
    return this._splitter.done;
  }

  /** Bytes held by the reader itself (the tail). */
  get bufferedBytes(): number {
    return this._tailLen;
  }

  /** Reads one chunk; the sink gets the elements read exactly. Keeps no reference to the chunk. */
  push(u8: Uint8Array, sink: JsonArrayElementSink): void {
    const n = u8.length;
    const splitter = this._splitter;
    let pos = 0;
    // Not stopping at done: the splitter checks that only whitespace follows the array.
    while (pos < n && !splitter.failed) {
      if (this._skimming) {
        pos = this._skim(u8, pos, sink);
      } else {
        pos = splitter.push(u8, sink, pos, true);
        if (splitter.betweenElements && this._maySkim()) {
          this._skimming = true;
          this._tailLen = 0;
        }
      }
    }
  }

  /** The body ended: what the tail holds is read exactly; true when the array closed. */
  finish(sink: JsonArrayElementSink): boolean {
    if (this._skimming) this._readTailExactly(sink);
    return this._splitter.done;
  }

  private _maySkim(): boolean {
    if (this._separator === undefined) {
      const gap = this._splitter.firstGap;
      if (gap === undefined || this._splitter.elementsEnded < 2 || !(gap.includes(LF) || gap.includes(CR))) {
        return false;
      }
      const separator = new Uint8Array(gap.length + 2);
      separator[0] = CLOSE_OBJ;
      separator.set(gap, 1);
      separator[gap.length + 1] = OPEN_OBJ;
      this._separator = separator;
    }
    return true;
  }

  /** Skims u8[from, …); returns where exact reading goes on (u8.length when it does not). */
  private _skim(u8: Uint8Array, from: number, sink: JsonArrayElementSink): number {
    const n = u8.length;
    const separator = this._separator!;
    const hay = new Hay(u8);
    const windowStart = Math.max(from, n - TAIL_WINDOW);
    let hit = hay.indexOf(this._needle, windowStart);
    if (hit < 0 && windowStart === from && this._needleAcrossSeam(u8, from)) hit = from;
    if (hit < 0) {
      const k = lastIndexOfSeqIn(u8, separator, from, n);
      if (k >= 0) {
        const start = k + separator.length - 1; // the next element's `{`
        this._tailLen = 0;
        return this._appendTail(u8, start, n) ? n : this._exactFrom(start);
      }
      if (this._appendTail(u8, from, n)) return n;
      this._readTailExactly(sink);
      return from;
    }
    // A count key near the chunk's end: read exactly from the last separator before it, or from the tail.
    const k = lastIndexOfSeqIn(u8, separator, from, hit);
    if (k >= 0) return this._exactFrom(k + separator.length - 1);
    this._readTailExactly(sink);
    return from;
  }

  /** Exact reading goes on at u8[pos], a point known to be between elements; the tail is dropped. */
  private _exactFrom(pos: number): number {
    this._skimming = false;
    this._tailLen = 0;
    this._splitter.resumeBetween();
    return pos;
  }

  /** The tail through the splitter, from between elements; the reader is exact afterwards. */
  private _readTailExactly(sink: JsonArrayElementSink): void {
    this._skimming = false;
    this._splitter.resumeBetween();
    const len = this._tailLen;
    this._tailLen = 0;
    if (len > 0) this._splitter.push(this._tail!.subarray(0, len), sink);
  }

  /** Appends u8[s, e) to the tail; false (nothing appended) past the bound. */
  private _appendTail(u8: Uint8Array, s: number, e: number): boolean {
    const need = this._tailLen + (e - s);
    if (need > this._maxTail) return false;
    let tail = this._tail;
    if (tail === undefined || tail.length < need) {
      const grown = new Uint8Array(Math.min(this._maxTail, Math.max(need, (tail?.length ?? 0) * 2, 1024)));
      if (tail !== undefined && this._tailLen > 0) grown.set(tail.subarray(0, this._tailLen));
      tail = this._tail = grown;
    }
    tail.set(u8.subarray(s, e), this._tailLen);
    this._tailLen = need;
    return true;
  }

  /** Whether the needle starts in the tail's last bytes and ends in u8's first (the chunk cut it). */
  private _needleAcrossSeam(u8: Uint8Array, from: number): boolean {
    const half = this._needle.length - 1;
    const fromTail = Math.min(half, this._tailLen);
    const fromChunk = Math.min(half, u8.length - from);
    if (fromTail === 0 || fromChunk === 0) return false;
    const seam = this._seam;
    seam.set(this._tail!.subarray(this._tailLen - fromTail, this._tailLen), 0);
    seam.set(u8.subarray(from, from + fromChunk), fromTail);
    return new Hay(seam.subarray(0, fromTail + fromChunk)).indexOf(this._needle, 0) >= 0;
  }
}

function isWs(c: number | undefined): boolean {
  return c === 0x20 || c === LF || c === CR || c === 0x09;
}

/**
 * The run of backslashes that ends bytes[from, to), plus `carried` when the run reaches `from` (it goes on
 * from the chunk before).
 */
function trailingBackslashes(u8: Uint8Array, from: number, to: number, carried: number): number {
  let i = to;
  while (i > from && u8[i - 1] === BACKSLASH) i--;
  return to - i + (i === from ? carried : 0);
}
