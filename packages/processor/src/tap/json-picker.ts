/*
 * A constant-memory, incremental JSON scanner that picks a few values out of one JSON object.
 *
 * It exists for the bodies and SSE events too large to buffer (a multi-MB embeddings body, a
 * `response.completed` event that repeats the whole output): the usage tap needs only
 *   top-level  type, id, model, usage
 *   and id, model, usage under a top-level `response` or `message` object.
 * Gemini's `responseId`, `modelVersion` and `usageMetadata` are picked as id, model and usage (a provider
 * sends one naming or the other; should both come, the later one wins).
 *
 * Shape of the scan:
 * - "Care" containers are the top-level object and a `response` / `message` object directly under it.
 *   Inside them the scanner walks byte by byte (there are only keys and short scalars there), reads each
 *   key into a 16-byte scratch buffer, and starts a capture when a wanted key's value begins.
 * - Every other container is skipped: the scanner only jumps from one structural byte (`"{}[]`) to the
 *   next with native indexOf, keeping a depth counter and the container kinds of the first 64 levels
 *   (deeper levels are only counted: nothing is captured down there).
 * - Strings are skipped with indexOf('"'); a quote is escaped iff an odd run of backslashes precedes it,
 *   and the parity of a run that ends a chunk is carried into the next one.
 * - A capture copies the value's raw bytes (at most 512 for a scalar, 16 KiB for `usage`), then
 *   JSON.parse reads them. A value over its bound is abandoned: the field is then unusable, which gives no
 *   finding rather than a wrong one.
 *
 * Last occurrence wins for duplicate keys, as in JSON.parse. Validation is partial (scalars and the
 * inside of skipped containers are not checked), but the result is only used when the top-level object
 * closed cleanly and nothing but whitespace followed it.
 */
import { Hay } from './bytes.js';

/** Bytes a captured scalar (id, model, type) may take, quotes and escapes included. */
export const PICKER_MAX_SCALAR_BYTES = 512;
/** Bytes a captured `usage` object may take. */
export const PICKER_MAX_USAGE_BYTES = 16 * 1024;

/** A field whose value exceeded its capture bound or was not valid JSON. */
export const ABANDONED: unique symbol = Symbol('abandoned');

export interface PickedFields {
  type?: unknown;
  id?: unknown;
  model?: unknown;
  usage?: unknown;
}
/** The picked values, shaped like the JSON they came from (a partial view of it). */
export interface Picked extends PickedFields {
  response?: PickedFields | null;
  message?: PickedFields | null;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;

const KIND_OBJ = 1;
const KIND_ARR = 2;
const KINDS_TRACKED = 64;

// What a care object expects next.
const E_KEY = 0;
const E_COLON = 1;
const E_VALUE = 2;
const E_COMMA = 3;

// What the current string is.
const S_SKIP = 0;
const S_KEY = 1;
const S_VALUE = 2;

// Keys.
const K_OTHER = 0;
const K_TYPE = 1;
const K_ID = 2;
const K_MODEL = 3;
const K_USAGE = 4;
const K_RESPONSE = 5;
const K_MESSAGE = 6;

const KEY_SCRATCH = 16;

const decoder = new TextDecoder('utf-8');

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function keyId(buf: Uint8Array, len: number): number {
  // Compared by length first: this runs for every key of a care object.
  switch (len) {
    case 2:
      return buf[0] === 0x69 && buf[1] === 0x64 ? K_ID : K_OTHER; // id
    case 4:
      return buf[0] === 0x74 && buf[1] === 0x79 && buf[2] === 0x70 && buf[3] === 0x65 ? K_TYPE : K_OTHER; // type
    case 5:
      if (buf[0] === 0x6d && buf[1] === 0x6f && buf[2] === 0x64 && buf[3] === 0x65 && buf[4] === 0x6c) return K_MODEL;
      if (buf[0] === 0x75 && buf[1] === 0x73 && buf[2] === 0x61 && buf[3] === 0x67 && buf[4] === 0x65) return K_USAGE;
      return K_OTHER;
    case 7:
      return equalsAscii(buf, 'message') ? K_MESSAGE : K_OTHER;
    case 8:
      return equalsAscii(buf, 'response') ? K_RESPONSE : K_OTHER;
    // Gemini's names for the same three (GenerateContentResponse).
    case 10:
      return equalsAscii(buf, 'responseId') ? K_ID : K_OTHER;
    case 12:
      return equalsAscii(buf, 'modelVersion') ? K_MODEL : K_OTHER;
    case 13:
      return equalsAscii(buf, 'usageMetadata') ? K_USAGE : K_OTHER;
    default:
      return K_OTHER;
  }
}

function equalsAscii(buf: Uint8Array, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (buf[i] !== text.charCodeAt(i)) return false;
  return true;
}

export class JsonPicker {
  private _depth = 0;
  private readonly _kinds = new Uint8Array(KINDS_TRACKED);
  private _started = false;
  private _complete = false;
  private _error = false;
  /** K_RESPONSE / K_MESSAGE while inside that care object at depth 2, else K_OTHER. */
  private _nested = K_OTHER;
  private _expect = E_KEY;
  private _curKey = K_OTHER;

  private _inString = false;
  private _stringRole = S_SKIP;
  /** An odd run of backslashes ended the previous segment of the current string. */
  private _escapeOdd = false;
  private _inScalar = false;

  private readonly _keyBuf = new Uint8Array(KEY_SCRATCH);
  /** -1 once the key is longer than the scratch buffer (then it is no key we want). */
  private _keyLen = 0;

  private _capturing = false;
  private _capTarget = 0; // K_TYPE..K_USAGE
  private _capNested = false;
  private _capLimit = 0;
  private _capLen = 0;
  private _capOver = false;
  /** Depth at which the captured container was opened, or -1 for a captured scalar. */
  private _capDepth = -1;
  private _capBuf: Uint8Array | undefined;

  private _top: PickedFields = {};
  private _response: PickedFields | null | undefined;
  private _message: PickedFields | null | undefined;

  /** Bytes held in capture buffers (the key scratch of 16 bytes is fixed and not counted). */
  get bufferedBytes(): number {
    return this._capLen;
  }

  /** Whether the input can no longer yield a result (malformed). */
  get failed(): boolean {
    return this._error;
  }

  reset(): void {
    this._depth = 0;
    this._started = false;
    this._complete = false;
    this._error = false;
    this._nested = K_OTHER;
    this._expect = E_KEY;
    this._curKey = K_OTHER;
    this._inString = false;
    this._stringRole = S_SKIP;
    this._escapeOdd = false;
    this._inScalar = false;
    this._keyLen = 0;
    this._capturing = false;
    this._capLen = 0;
    this._capOver = false;
    this._capDepth = -1;
    this._top = {};
    this._response = undefined;
    this._message = undefined;
  }

  /**
   * The picked values if the input was one complete JSON object (plus whitespace), else undefined.
   * Does not reset.
   */
  finish(): Picked | undefined {
    if (this._error || !this._complete) return undefined;
    const out: Picked = { ...this._top };
    if (this._response !== undefined) out.response = this._response;
    if (this._message !== undefined) out.message = this._message;
    return out;
  }

  /** Scans the next bytes of the document. */
  feed(u8: Uint8Array): void {
    if (this._error || u8.length === 0) return;
    const hay = new Hay(u8);
    const len = u8.length;
    let i = 0;
    // Where the running capture's bytes start in this segment (-1: no capture running).
    let capFrom = this._capturing ? 0 : -1;
    // Next position of each structural byte in this segment; -2 = not searched yet, len = none.
    let qAt = -2;
    let obAt = -2;
    let cbAt = -2;
    let oaAt = -2;
    let caAt = -2;

    while (i < len) {
      if (this._inString) {
        if (qAt < i) qAt = orEnd(hay.indexOfByte(QUOTE, i), len);
        const q = qAt;
        if (q >= len) {
          // The string goes on in the next segment: carry the parity of a trailing backslash run.
          let k = 0;
          while (len - 1 - k >= i && u8[len - 1 - k] === BACKSLASH) k++;
          this._escapeOdd = len - k === i ? this._escapeOdd !== ((k & 1) === 1) : (k & 1) === 1;
          if (this._stringRole === S_KEY) this._keyAppend(u8, i, len);
          i = len;
          break;
        }
        let k = 0;
        while (q - 1 - k >= i && u8[q - 1 - k] === BACKSLASH) k++;
        const escaped = q - k === i ? this._escapeOdd !== ((k & 1) === 1) : (k & 1) === 1;
        this._escapeOdd = false;
        if (escaped) {
          if (this._stringRole === S_KEY) this._keyAppend(u8, i, q + 1);
          i = q + 1;
          continue;
        }
        if (this._stringRole === S_KEY) this._keyAppend(u8, i, q);
        i = q + 1;
        this._inString = false;
        if (this._stringRole === S_KEY) {
          this._curKey = this._keyLen < 0 ? K_OTHER : keyId(this._keyBuf, this._keyLen);
          this._expect = E_COLON;
        } else if (this._stringRole === S_VALUE) {
          if (this._capturing && this._capDepth < 0) {
            this._endCapture(u8, capFrom, i);
            capFrom = -1;
          }
          this._expect = E_COMMA;
        }
        continue;
      }

      if (this._depth === 0) {
        const c = u8[i];
        // A UTF-8 BOM before the document is skipped, as TextDecoder does for JSON.parse.
        if (isWhitespace(c) || (!this._started && (c === 0xef || c === 0xbb || c === 0xbf))) {
          i++;
          continue;
        }
        if (this._started || c !== OPEN_OBJ) {
          // Something after the top-level object, or a top-level value that is not an object.
          this._error = true;
          return;
        }
        this._started = true;
        this._kinds[0] = KIND_OBJ;
        this._depth = 1;
        this._expect = E_KEY;
        i++;
        continue;
      }

      if (this._depth === 1 || (this._depth === 2 && this._nested !== K_OTHER)) {
        // Inside a care object: walk byte by byte.
        const c = u8[i];
        if (this._inScalar) {
          if (isWhitespace(c) || c === COMMA || c === CLOSE_OBJ || c === CLOSE_ARR) {
            this._inScalar = false;
            if (this._capturing) {
              this._endCapture(u8, capFrom, i);
              capFrom = -1;
            }
            this._expect = E_COMMA;
            continue; // the delimiter is read below, as the next byte
          }
          i++;
          continue;
        }
        if (isWhitespace(c)) {
          i++;
          continue;
        }
        switch (this._expect) {
          case E_KEY:
            if (c === QUOTE) {
              this._inString = true;
              this._stringRole = S_KEY;
              this._escapeOdd = false;
              this._keyLen = 0;
              i++;
              continue;
            }
            if (c === CLOSE_OBJ) {
              this._closeCare();
              i++;
              continue;
            }
            this._error = true;
            return;
          case E_COLON:
            if (c === COLON) {
              this._expect = E_VALUE;
              i++;
              continue;
            }
            this._error = true;
            return;
          case E_COMMA:
            if (c === COMMA) {
              this._expect = E_KEY;
              i++;
              continue;
            }
            if (c === CLOSE_OBJ) {
              this._closeCare();
              i++;
              continue;
            }
            this._error = true;
            return;
          default: {
            // E_VALUE
            const key = this._curKey;
            const atTop = this._depth === 1;
            const wanted = key === K_TYPE ? atTop : key >= K_ID && key <= K_USAGE;
            if (atTop && (key === K_RESPONSE || key === K_MESSAGE)) {
              if (c === OPEN_OBJ) {
                // A care object of its own; a repeated key replaces the earlier one, as in JSON.parse.
                if (key === K_RESPONSE) this._response = {};
                else this._message = {};
                this._push(KIND_OBJ);
                this._nested = key;
                this._expect = E_KEY;
                i++;
                continue;
              }
              if (key === K_RESPONSE) this._response = null;
              else this._message = null;
            }
            if (c === QUOTE) {
              if (wanted) {
                this._startCapture(key, !atTop, PICKER_MAX_SCALAR_BYTES, -1);
                capFrom = i;
              }
              this._inString = true;
              this._stringRole = S_VALUE;
              this._escapeOdd = false;
              i++;
              continue;
            }
            if (c === OPEN_OBJ || c === OPEN_ARR) {
              this._push(c === OPEN_OBJ ? KIND_OBJ : KIND_ARR);
              if (wanted) {
                this._startCapture(
                  key,
                  !atTop,
                  key === K_USAGE ? PICKER_MAX_USAGE_BYTES : PICKER_MAX_SCALAR_BYTES,
                  this._depth,
                );
                capFrom = i;
              }
              i++;
              continue;
            }
            if (c === COLON || c === COMMA || c === CLOSE_OBJ || c === CLOSE_ARR) {
              this._error = true;
              return;
            }
            // A number or literal; JSON.parse judges it if it is captured.
            if (wanted) {
              this._startCapture(key, !atTop, PICKER_MAX_SCALAR_BYTES, -1);
              capFrom = i;
            }
            this._inScalar = true;
            i++;
            continue;
          }
        }
      }

      // Inside a skipped container: jump to the next structural byte.
      if (qAt < i) qAt = orEnd(hay.indexOfByte(QUOTE, i), len);
      if (obAt < i) obAt = orEnd(hay.indexOfByte(OPEN_OBJ, i), len);
      if (cbAt < i) cbAt = orEnd(hay.indexOfByte(CLOSE_OBJ, i), len);
      if (oaAt < i) oaAt = orEnd(hay.indexOfByte(OPEN_ARR, i), len);
      if (caAt < i) caAt = orEnd(hay.indexOfByte(CLOSE_ARR, i), len);
      const p = Math.min(qAt, obAt, cbAt, oaAt, caAt);
      if (p >= len) {
        i = len;
        break;
      }
      const c = u8[p];
      i = p + 1;
      if (c === QUOTE) {
        this._inString = true;
        this._stringRole = S_SKIP;
        this._escapeOdd = false;
        continue;
      }
      if (c === OPEN_OBJ || c === OPEN_ARR) {
        this._push(c === OPEN_OBJ ? KIND_OBJ : KIND_ARR);
        continue;
      }
      if (!this._pop(c === CLOSE_OBJ ? KIND_OBJ : KIND_ARR)) return;
      if (this._capturing && this._capDepth > this._depth) {
        this._endCapture(u8, capFrom, i);
        capFrom = -1;
      }
      if (this._depth === 1 || (this._depth === 2 && this._nested !== K_OTHER)) this._expect = E_COMMA;
    }

    if (this._capturing && capFrom >= 0) this._appendCapture(u8, capFrom, len);
  }

  private _push(kind: number): void {
    if (this._depth < KINDS_TRACKED) this._kinds[this._depth] = kind;
    this._depth++;
  }

  /** Closes a skipped container; false (and failed) on a mismatched bracket. */
  private _pop(kind: number): boolean {
    const d = this._depth - 1;
    if (d < 1 || (d < KINDS_TRACKED && this._kinds[d] !== kind)) {
      // d < 1: closing a care object is handled in closeCare, so this is a stray bracket.
      this._error = true;
      return false;
    }
    this._depth = d;
    return true;
  }

  private _closeCare(): void {
    this._depth--;
    if (this._depth === 0) {
      this._complete = true;
    } else {
      // Back from `response` / `message` into the top-level object.
      this._nested = K_OTHER;
      this._expect = E_COMMA;
    }
  }

  private _keyAppend(u8: Uint8Array, from: number, to: number): void {
    if (this._keyLen < 0) return;
    const n = to - from;
    if (this._keyLen + n > KEY_SCRATCH) {
      this._keyLen = -1;
      return;
    }
    for (let k = 0; k < n; k++) this._keyBuf[this._keyLen + k] = u8[from + k]!;
    this._keyLen += n;
  }

  private _startCapture(key: number, nested: boolean, limit: number, depth: number): void {
    this._capturing = true;
    this._capTarget = key;
    this._capNested = nested;
    this._capLimit = limit;
    this._capLen = 0;
    this._capOver = false;
    this._capDepth = depth;
  }

  private _appendCapture(u8: Uint8Array, from: number, to: number): void {
    if (this._capOver) return;
    const n = to - from;
    if (this._capLen + n > this._capLimit) {
      // Too big to be what we look for: give the bytes back at once rather than at the value's end.
      this._capOver = true;
      this._capLen = 0;
      return;
    }
    let buf = this._capBuf;
    if (buf === undefined || buf.length < this._capLen + n) {
      const grown = new Uint8Array(
        Math.min(PICKER_MAX_USAGE_BYTES, Math.max(this._capLen + n, (buf?.length ?? 0) * 2, 256)),
      );
      if (buf !== undefined && this._capLen > 0) grown.set(buf.subarray(0, this._capLen));
      buf = this._capBuf = grown;
    }
    buf.set(u8.subarray(from, to), this._capLen);
    this._capLen += n;
  }

  private _endCapture(u8: Uint8Array, from: number, to: number): void {
    this._appendCapture(u8, from, to);
    let value: unknown = ABANDONED;
    if (!this._capOver && this._capBuf !== undefined) {
      try {
        value = JSON.parse(decoder.decode(this._capBuf.subarray(0, this._capLen)));
      } catch {
        value = ABANDONED;
      }
    }
    this._capturing = false;
    this._capLen = 0;
    this._capOver = false;
    const fields = this._capNested ? (this._nested === K_RESPONSE ? this._response : this._message) : this._top;
    if (fields === null || fields === undefined) return;
    switch (this._capTarget) {
      case K_TYPE:
        fields.type = value;
        break;
      case K_ID:
        fields.id = value;
        break;
      case K_MODEL:
        fields.model = value;
        break;
      default:
        fields.usage = value;
    }
  }
}

function orEnd(index: number, len: number): number {
  return index < 0 ? len : index;
}
