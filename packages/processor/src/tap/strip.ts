/*
 * Removes the usage-only chunk from an OpenAI chat completions SSE stream.
 *
 * Used only when the tap itself added `stream_options.include_usage` to a request: the provider then sends
 * one extra chunk, `"choices":[]` with the usage, that the application never asked for and may not expect
 * (code that reads `chunk.choices[0]` without a guard). Every other byte passes unchanged. To know whether
 * an event is that chunk, its bytes are held until the event is complete (its blank line): SSE clients
 * dispatch nothing before that, so what they see is only re-chunked, never delayed past an event.
 *
 *   chunk ─► line ends (sse.ts) ─► an empty line ends the event ─► its bytes, with what was held:
 *                                                                    usage-only chunk ─► dropped
 *                                                                    any other event  ─► passed on
 *            the rest of the chunk (an event still open) ─► held, up to the bound; past it, passed on
 *
 * An empty line that ends with CR ends the event only after the next byte: a LF there (perhaps in the next
 * chunk) still belongs to it.
 */

import { Hay, findSeq, needle, startsWithAt } from './bytes.js';
import { SseLineEnds } from './sse.js';

const SPACE = 0x20;
const USAGE_NEEDLE = needle('"usage"');
const EMPTY_CHOICES_NEEDLE = needle('"choices":[]');
const DATA_COLON = needle('data:');
const BOM = new Uint8Array([0xef, 0xbb, 0xbf]);

export class UsageChunkStripper {
  private readonly _maxBufferBytes: number;
  /** The bytes of the current, incomplete event. */
  private _parts: Uint8Array[] = [];
  private _bytes = 0;
  /** The current event outgrew the buffer: it is passed through as it comes, unchecked. */
  private _passThrough = false;
  private readonly _lineEnds = new SseLineEnds();
  /** The last byte seen ended a line (or the stream just started). */
  private _atLineStart = true;
  /** An empty line ended with the last chunk's CR: the event ends after the LF that may open the next one. */
  private _endAfterCr = false;
  // Keeps a BOM inside a value, as decoding the whole event did; only a leading one is dropped, below.
  private readonly _decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  /** Usage-only chunks removed so far. */
  stripped = 0;

  constructor(maxBufferBytes: number) {
    this._maxBufferBytes = maxBufferBytes;
  }

  /** Bytes currently held back (the incomplete event). */
  get bufferedBytes(): number {
    return this._bytes;
  }

  /** Takes the next body chunk; returns the bytes to pass on now, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    const n = chunk.length;
    if (n === 0) return out;
    const lineEnds = this._lineEnds;
    let pos = lineEnds.beginChunk(chunk);
    let eventStart = 0;
    if (this._endAfterCr) {
      this._endAfterCr = false;
      this._endEvent(chunk, 0, pos, out);
      eventStart = pos;
    }
    const hay = new Hay(chunk);
    while (pos < n) {
      const e = lineEnds.lineEnd(hay, pos);
      if (e >= n) {
        this._atLineStart = false; // a line goes on in the next chunk
        break;
      }
      const empty = e === pos && this._atLineStart;
      this._atLineStart = true;
      pos = lineEnds.afterLineEnd(chunk, e);
      if (!empty) continue;
      if (lineEnds.pendingCR) {
        this._endAfterCr = true;
        break;
      }
      this._endEvent(chunk, eventStart, pos, out);
      eventStart = pos;
    }
    if (eventStart < n) this._hold(chunk.subarray(eventStart), out);
    return out;
  }

  /** The body ended: a last event that ended with CR is checked; anything else held is passed on as it is. */
  flush(): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (this._endAfterCr) {
      this._endAfterCr = false;
      this._endEvent(new Uint8Array(0), 0, 0, out);
    }
    for (const part of this._parts) out.push(part);
    this._parts = [];
    this._bytes = 0;
    return out;
  }

  private _hold(bytes: Uint8Array, out: Uint8Array[]): void {
    if (this._passThrough) {
      out.push(bytes);
      return;
    }
    // Copy: the application owns the chunk it reads and may reuse or transfer it.
    this._parts.push(bytes.slice());
    this._bytes += bytes.length;
    if (this._bytes > this._maxBufferBytes) {
      for (const part of this._parts) out.push(part);
      this._parts = [];
      this._bytes = 0;
      this._passThrough = true;
    }
  }

  private _endEvent(chunk: Uint8Array, start: number, end: number, out: Uint8Array[]): void {
    const tail = chunk.subarray(start, end);
    if (this._passThrough) {
      this._passThrough = false;
      if (tail.length > 0) out.push(tail);
      return;
    }
    const parts = this._parts;
    this._parts = [];
    this._bytes = 0;
    const event = parts.length === 0 ? tail : concat([...parts, tail]);
    if (this._isUsageOnlyChunk(event)) {
      this.stripped++;
      return;
    }
    for (const part of parts) out.push(part);
    if (tail.length > 0) out.push(tail);
  }

  private _isUsageOnlyChunk(event: Uint8Array): boolean {
    if (findSeq(event, event.length, USAGE_NEEDLE) < 0 || findSeq(event, event.length, EMPTY_CHOICES_NEEDLE) < 0)
      return false;
    // The event's `data:` lines, without one space after the colon, joined with LF.
    let data = '';
    let first = true;
    const lineEnds = new SseLineEnds();
    const hay = new Hay(event);
    for (let pos = startsWithAt(event, 0, BOM) ? BOM.length : 0; pos < event.length;) {
      const e = lineEnds.lineEnd(hay, pos);
      if (e - pos >= DATA_COLON.length && startsWithAt(event, pos, DATA_COLON)) {
        const s = pos + DATA_COLON.length;
        data += (first ? '' : '\n') + this._decoder.decode(event.subarray(s < e && event[s] === SPACE ? s + 1 : s, e));
        first = false;
      }
      pos = e < event.length ? lineEnds.afterLineEnd(event, e) : e;
    }
    try {
      const chunk = JSON.parse(data) as { choices?: unknown; usage?: unknown };
      return (
        Array.isArray(chunk.choices) &&
        chunk.choices.length === 0 &&
        chunk.usage !== null &&
        typeof chunk.usage === 'object'
      );
    } catch {
      return false;
    }
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
