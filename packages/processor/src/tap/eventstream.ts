/*
 * An incremental, bounded reader of the AWS event-stream encoding (`application/vnd.amazon.eventstream`),
 * which Bedrock's ConverseStream and InvokeModelWithResponseStream answer in. Each message is a binary frame:
 *
 *   ┌ prelude (12) ───────────────────────────┬ headers (headers length) ─┬ payload ─┬ message CRC (4) ┐
 *   │ total length │ headers length │ CRC-32  │ name len, name, type,     │ bytes    │ CRC-32 of all   │
 *   │ u32 BE       │ u32 BE         │ of 0..8 │ value … (:event-type, …)  │          │ before it       │
 *   └──────────────┴────────────────┴─────────┴───────────────────────────┴──────────┴─────────────────┘
 *
 * Stepping over a frame by its length costs nothing; checking its prelude and reading its headers costs more
 * than reading the frame. So, unless asked to look at every frame (`every`), the reader looks only at the
 * last whole frame of each chunk and at frames chunks cut: a stream's final frame (Bedrock's `metadata`
 * event, an InvokeModel stream's last chunk, an exception) is always one of those, since nothing follows it.
 * The frames stepped over are checked only for possible lengths; the frames looked at are checked fully.
 *
 * For each frame it looks at, the reader checks the prelude's CRC and reads the headers, then asks its owner
 * what to do with the payload:
 *
 *   'skip'    nothing is copied or checked: a long stream costs a prelude check and a header parse per frame
 *   'now'     the frame is CRC-checked and handed over (ConverseStream's `metadata` event)
 *   'latest'  the frame is copied over the previous one kept so, and checked only when asked for
 *             (`takeLatest`): InvokeModel streams, where only the last chunk matters and CRC-checking every
 *             chunk would cost more than reading them
 *
 * A frame that lies whole in the chunk being read (most do) is read in place; one that chunks cut is
 * gathered piece by piece, holding its headers (at most MAX_HEADERS_BYTES) and, when wanted, its payload
 * (at most `maxPayloadBytes`; a larger one is skipped). A prelude whose CRC fails, or lengths that cannot be,
 * mean the bytes are not an event stream (or lost their framing): the reader stops for good (`failed`).
 */
import { crc32 } from './crc32.js';

/** The event stream's own limit on a message's headers (128 KiB). */
export const MAX_HEADERS_BYTES = 128 * 1024;
/** The event stream's own limit on a whole message (16 MiB); a longer total length is not a frame. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

const PRELUDE_BYTES = 12;
const CRC_BYTES = 4;

/** The string-valued headers of a frame (`:event-type`, `:message-type`, `:content-type`, `:exception-type`). */
export type EventStreamHeaders = Readonly<Record<string, string>>;

/** What to do with a frame's payload. */
export type FrameUse = 'skip' | 'now' | 'latest';

/** What the reader's owner does with frames. */
export interface EventStreamSink {
  /** What to do with the payload of a frame with these headers. */
  use(headers: EventStreamHeaders): FrameUse;
  /** A frame used 'now': its payload, whole and CRC-checked; valid only during the call. */
  frame(headers: EventStreamHeaders, payload: Uint8Array): void;
}

// Where the reader is within a frame that chunks cut.
const S_PRELUDE = 0;
const S_HEADERS = 1;
const S_PAYLOAD = 2;
const S_CRC = 3;
const S_FAILED = 4;

const utf8 = new TextDecoder('utf-8');

export class EventStreamReader {
  private readonly _sink: EventStreamSink;
  private readonly _maxPayload: number;
  private _state = S_PRELUDE;

  /** The current frame, gathered while chunks cut it: [prelude | headers | payload (when kept) | CRC]. */
  private _frame = new Uint8Array(PRELUDE_BYTES);
  private _have = 0;
  private _total = 0;
  private _headersEnd = 0;
  private _headers: EventStreamHeaders = {};
  private _use: FrameUse = 'skip';

  /** The frame last used 'latest', whole, unchecked; `_latestLength` bytes of it. */
  private _latest: Uint8Array | undefined;
  private _latestLength = 0;
  private _latestHeaders: EventStreamHeaders = {};

  /** Look at every frame, not only each chunk's last (tests compare every frame with the AWS SDK's codec). */
  private readonly _every: boolean;

  constructor(sink: EventStreamSink, maxPayloadBytes: number, options: { every?: boolean } = {}) {
    this._sink = sink;
    this._maxPayload = maxPayloadBytes;
    this._every = options.every === true;
  }

  /** The bytes were not an event stream; nothing more is read. */
  get failed(): boolean {
    return this._state === S_FAILED;
  }

  /** Between frames: the body may end here. */
  get atBoundary(): boolean {
    return this._state === S_PRELUDE && this._have === 0;
  }

  /** Bytes held: the frame being gathered, and the latest frame kept. */
  get bufferedBytes(): number {
    return (this._state === S_PRELUDE ? 0 : this._frame.length) + (this._latest?.length ?? 0);
  }

  /** The frame last used 'latest', if its CRC holds: its headers and payload. Forgets it. */
  takeLatest(): { headers: EventStreamHeaders; payload: Uint8Array } | undefined {
    const frame = this._latest;
    this._latest = undefined;
    if (frame === undefined || !crcHolds(frame, this._latestLength)) return undefined;
    const headersLength = u32(frame, 4);
    return {
      headers: this._latestHeaders,
      payload: frame.subarray(PRELUDE_BYTES + headersLength, this._latestLength - CRC_BYTES),
    };
  }

  /** Reads the next chunk. May call the sink; never keeps a reference to `chunk`. */
  push(chunk: Uint8Array): void {
    let pos = 0;
    const n = chunk.length;
    while (pos < n && this._state !== S_FAILED) {
      if (this._state === S_PRELUDE && this._have === 0 && n - pos >= PRELUDE_BYTES) {
        // Frames that lie whole in this chunk are read where they are; all but the last are stepped over.
        if (!this._every) {
          const last = lastWholeFrame(chunk, pos);
          if (last < 0) return this._fail();
          pos = last;
        }
        const total = this._prelude(chunk, pos);
        if (total < 0) return;
        if (n - pos >= total) {
          this._whole(chunk.subarray(pos, pos + total));
          pos += total;
          continue;
        }
      }
      pos = this._gather(chunk, pos);
    }
  }

  /** Checks the prelude at `at`; returns the frame's total length, or -1 (and fails) when it is no prelude. */
  private _prelude(bytes: Uint8Array, at: number): number {
    const total = u32(bytes, at);
    const headersLength = u32(bytes, at + 4);
    if (
      u32(bytes, at + 8) !== crc32(bytes, 0, at, at + 8) ||
      total > MAX_MESSAGE_BYTES ||
      headersLength > MAX_HEADERS_BYTES ||
      total < PRELUDE_BYTES + headersLength + CRC_BYTES
    ) {
      this._fail();
      return -1;
    }
    return total;
  }

  /** A whole frame, in place. */
  private _whole(frame: Uint8Array): void {
    const headersEnd = PRELUDE_BYTES + u32(frame, 4);
    const headers = parseHeaders(frame.subarray(PRELUDE_BYTES, headersEnd));
    if (headers === undefined) return this._fail();
    const use = this._useOf(headers, frame.length - headersEnd - CRC_BYTES);
    if (use === 'now') {
      if (crcHolds(frame, frame.length))
        this._sink.frame(headers, frame.subarray(headersEnd, frame.length - CRC_BYTES));
    } else if (use === 'latest') {
      this._keepLatest(frame, frame.length, headers);
    }
  }

  /** Gathers a frame that chunks cut, from `pos`; returns where reading stopped. */
  private _gather(chunk: Uint8Array, pos: number): number {
    const n = chunk.length;
    switch (this._state) {
      case S_PRELUDE: {
        const take = Math.min(PRELUDE_BYTES - this._have, n - pos);
        this._frame.set(chunk.subarray(pos, pos + take), this._have);
        this._have += take;
        if (this._have === PRELUDE_BYTES) this._beginFrame();
        return pos + take;
      }
      case S_HEADERS:
      case S_PAYLOAD:
      case S_CRC: {
        // The headers are always kept; payload and CRC only when the frame is used (else counted past).
        const partEnd =
          this._state === S_HEADERS
            ? this._headersEnd
            : this._state === S_PAYLOAD
              ? this._total - CRC_BYTES
              : this._total;
        const take = Math.min(partEnd - this._have, n - pos);
        if (this._state === S_HEADERS || this._use !== 'skip')
          this._frame.set(chunk.subarray(pos, pos + take), this._have);
        this._have += take;
        if (this._have === partEnd) this._endPart();
        return pos + take;
      }
      default:
        return n;
    }
  }

  private _beginFrame(): void {
    const total = this._prelude(this._frame, 0);
    if (total < 0) return;
    this._total = total;
    this._headersEnd = PRELUDE_BYTES + u32(this._frame, 4);
    // Room for the headers for now; the rest once the frame is known to be used.
    this._grow(this._headersEnd);
    this._state = S_HEADERS;
    if (this._have === this._headersEnd) this._endPart();
  }

  private _endPart(): void {
    if (this._state === S_HEADERS) {
      const headers = parseHeaders(this._frame.subarray(PRELUDE_BYTES, this._headersEnd));
      if (headers === undefined) return this._fail();
      this._headers = headers;
      this._use = this._useOf(headers, this._total - this._headersEnd - CRC_BYTES);
      if (this._use !== 'skip') this._grow(this._total);
      this._state = S_PAYLOAD;
      if (this._have === this._total - CRC_BYTES) this._endPart();
      return;
    }
    if (this._state === S_PAYLOAD) {
      this._state = S_CRC;
      return;
    }
    // The whole frame is here (its payload only if kept).
    const use = this._use;
    const frame = this._frame;
    this._state = S_PRELUDE;
    this._have = 0;
    this._use = 'skip';
    if (use === 'now') {
      if (crcHolds(frame, this._total))
        this._sink.frame(this._headers, frame.subarray(this._headersEnd, this._total - CRC_BYTES));
    } else if (use === 'latest') {
      this._keepLatest(frame, this._total, this._headers);
    }
    // A large frame's buffer is not kept for the next, small ones.
    if (frame.length > 4096) this._frame = new Uint8Array(PRELUDE_BYTES);
  }

  private _useOf(headers: EventStreamHeaders, payloadLength: number): FrameUse {
    if (payloadLength > this._maxPayload) return 'skip';
    try {
      return this._sink.use(headers);
    } catch {
      return 'skip';
    }
  }

  private _keepLatest(frame: Uint8Array, length: number, headers: EventStreamHeaders): void {
    let latest = this._latest;
    if (latest === undefined || latest.length < length) latest = this._latest = new Uint8Array(Math.max(length, 256));
    latest.set(frame.subarray(0, length));
    this._latestLength = length;
    this._latestHeaders = headers;
  }

  /** Makes the gathering buffer hold `size` bytes, keeping what it has. */
  private _grow(size: number): void {
    if (this._frame.length >= size) return;
    const grown = new Uint8Array(size);
    grown.set(this._frame.subarray(0, this._have));
    this._frame = grown;
  }

  private _fail(): void {
    this._state = S_FAILED;
    this._frame = new Uint8Array(0);
    this._latest = undefined;
  }
}

/**
 * From a frame's start at `pos`: where the chunk's last frame starts that is whole in it, or the start of the
 * frame the chunk cuts (when no frame at or after `pos` is whole, `pos` itself); -1 when a length read on the
 * way cannot be a frame's.
 */
function lastWholeFrame(chunk: Uint8Array, pos: number): number {
  const n = chunk.length;
  // A DataView's getUint32 compiles to one load; each length is read once (the next frame's is carried over).
  const view = new DataView(chunk.buffer, chunk.byteOffset, n);
  let total = view.getUint32(pos);
  for (;;) {
    if (total < PRELUDE_BYTES + CRC_BYTES || total > MAX_MESSAGE_BYTES) return -1;
    const next = pos + total;
    // This frame is the last whole one unless the next one is whole too.
    if (next + PRELUDE_BYTES > n) return pos;
    const nextTotal = view.getUint32(next);
    if (next + nextTotal > n) return pos;
    pos = next;
    total = nextTotal;
  }
}

function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/** Whether the message CRC at the end of frame[0, length) matches the bytes before it. */
function crcHolds(frame: Uint8Array, length: number): boolean {
  return crc32(frame, 0, 0, length - CRC_BYTES) === u32(frame, length - CRC_BYTES);
}

/** bytes[s, e) as text: ASCII (every name and value Bedrock sends) without a TextDecoder call. */
function text(bytes: Uint8Array, s: number, e: number): string {
  let out = '';
  for (let i = s; i < e; i++) {
    const c = bytes[i];
    if (c >= 0x80) return utf8.decode(bytes.subarray(s, e));
    out += String.fromCharCode(c);
  }
  return out;
}

/**
 * The string-valued headers of a frame (other types are skipped: Bedrock sends only strings); undefined when
 * the bytes are not a well-formed header block.
 */
export function parseHeaders(bytes: Uint8Array): EventStreamHeaders | undefined {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const nameLength = bytes[i++];
    if (nameLength === 0 || i + nameLength + 1 > n) return undefined;
    const nameStart = i;
    i += nameLength;
    const type = bytes[i++];
    let size: number;
    switch (type) {
      case 0: // true
      case 1: // false
        size = 0;
        break;
      case 2: // byte
        size = 1;
        break;
      case 3: // short
        size = 2;
        break;
      case 4: // integer
        size = 4;
        break;
      case 5: // long
      case 8: // timestamp
        size = 8;
        break;
      case 9: // uuid
        size = 16;
        break;
      case 6: // byte array
      case 7: // string
        if (i + 2 > n) return undefined;
        size = (bytes[i] << 8) | bytes[i + 1];
        i += 2;
        break;
      default:
        return undefined;
    }
    if (i + size > n) return undefined;
    if (type === 7) out[text(bytes, nameStart, nameStart + nameLength)] = text(bytes, i, i + size);
    i += size;
  }
  return out;
}
