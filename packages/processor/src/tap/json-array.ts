/*
 * Splits a streamed top-level JSON array of objects into its elements, for Gemini's streamGenerateContent
 * without `alt=sse`, which answers `[{…},\r\n{…},\r\n{…}]` a chunk at a time. The usage parser treats each
 * element as it treats an SSE event's data: its bytes go to the same bounded buffer (or the picker), and the
 * element's end dispatches it.
 *
 *   before `[` ──► between elements (whitespace, `,`) ──► `{` ──► in an element ──► depth back to 0 ──► …
 *                                     │ `]` ──► done                │
 *                                     ▼                             ├ outside strings: braces counted in JS
 *                                  anything else: not ours (fail)   └ strings: skipped to the next `"` with
 *                                                                     V8's indexOf; escaped iff an odd run
 *                                                                     of `\` precedes it (carried across chunks)
 *
 * Brackets inside an element need no count: only the braces of the top-level object decide where it ends,
 * and every brace inside a string is skipped with the string.
 */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;
const COMMA = 0x2c;

const S_BEFORE = 0;
const S_BETWEEN = 1;
const S_ELEMENT = 2;
const S_STRING = 3;
const S_DONE = 4;
const S_FAILED = 5;

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

  /** The bytes were not an array of objects. */
  get failed(): boolean {
    return this._state === S_FAILED;
  }

  /** The array closed. */
  get done(): boolean {
    return this._state === S_DONE;
  }

  /** Splits one chunk; calls the sink for what it finds. Keeps no reference to the chunk. */
  push(u8: Uint8Array, sink: JsonArrayElementSink): void {
    const n = u8.length;
    let pos = 0;
    let elementStart = this._state === S_ELEMENT || this._state === S_STRING ? 0 : -1;
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
          pos = i + 1;
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
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
          pos++;
        } else if (state === S_BEFORE) {
          if (c !== OPEN_ARR) return this._fail();
          this._state = S_BETWEEN;
          pos++;
        } else if (c === COMMA) {
          pos++;
        } else if (c === OPEN_OBJ) {
          this._state = S_ELEMENT;
          this._depth = 1;
          elementStart = pos;
          pos++;
        } else if (c === CLOSE_ARR) {
          this._state = S_DONE;
          return;
        } else {
          return this._fail(); // a non-object element, or not JSON
        }
      } else {
        return; // done or failed: nothing more to read
      }
    }
    if (elementStart >= 0 && elementStart < n) sink.elementBytes(u8, elementStart, n);
  }

  private _fail(): void {
    this._state = S_FAILED;
  }
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
