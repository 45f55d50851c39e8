/*
 * Removes the usage-only chunk from an OpenAI chat completions SSE stream.
 *
 * Used only when the tap itself added `stream_options.include_usage` to a request: the provider then sends
 * one extra chunk, `"choices":[]` with the usage, that the application never asked for and may not expect
 * (code that reads `chunk.choices[0]` without a guard). Every other byte passes unchanged. To know whether
 * an event is that chunk, its bytes are held until the event is complete (its blank line): SSE clients
 * dispatch nothing before that, so what they see is only re-chunked, never delayed past an event.
 */

import { findSeq, needle } from './bytes.js';

const LF = 0x0a;
const CR = 0x0d;
const USAGE_NEEDLE = needle('"usage"');
const EMPTY_CHOICES_NEEDLE = needle('"choices":[]');

export class UsageChunkStripper {
  private readonly _maxBufferBytes: number;
  /** The bytes of the current, incomplete event. */
  private _parts: Uint8Array[] = [];
  private _bytes = 0;
  /** The current event outgrew the buffer: it is passed through as it comes, unchecked. */
  private _passThrough = false;
  /** The last byte seen ended a line (or the stream just started). */
  private _atLineStart = true;
  private _lastWasCr = false;
  /** A blank line just ended with CR: the event ends after it, with the LF that may follow. */
  private _endAfterCr = false;
  private readonly _decoder = new TextDecoder();
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
    let eventStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this._endAfterCr) {
        // A blank line ended with CR: its LF, if one follows, still belongs to the event that ended.
        this._endAfterCr = false;
        const end = byte === LF ? i + 1 : i;
        this._endEvent(chunk, eventStart, end, out);
        eventStart = end;
        this._atLineStart = true;
        this._lastWasCr = false;
        if (byte === LF) continue;
      }
      if (byte === LF) {
        if (this._lastWasCr) {
          this._lastWasCr = false; // the LF of a CRLF: the line ended at the CR
          continue;
        }
        if (this._atLineStart) {
          this._endEvent(chunk, eventStart, i + 1, out);
          eventStart = i + 1;
        }
        this._atLineStart = true;
      } else if (byte === CR) {
        if (this._atLineStart) this._endAfterCr = true;
        this._atLineStart = true;
        this._lastWasCr = true;
      } else {
        this._atLineStart = false;
        this._lastWasCr = false;
      }
    }
    if (eventStart < chunk.length) this._hold(chunk.subarray(eventStart), out);
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
    if (findSeq(event, event.length, USAGE_NEEDLE) < 0 || findSeq(event, event.length, EMPTY_CHOICES_NEEDLE) < 0) return false;
    let data = '';
    let first = true;
    for (const line of this._decoder.decode(event).split(/\r\n|\r|\n/)) {
      if (!line.startsWith('data:')) continue;
      data += (first ? '' : '\n') + line.slice(line.startsWith('data: ') ? 6 : 5);
      first = false;
    }
    try {
      const chunk = JSON.parse(data) as { choices?: unknown; usage?: unknown };
      return Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage !== null && typeof chunk.usage === 'object';
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
