/*
 * An incremental, bounded reader of the AWS event-stream encoding (`application/vnd.amazon.eventstream`),
 * which Bedrock's ConverseStream and InvokeModelWithResponseStream answer in. Each message is a binary frame:
 *
 *   ┌ prelude (12) ───────────────────────────┬ headers (headers length) ─┬ payload ─┬ message CRC (4) ┐
 *   │ total length │ headers length │ CRC-32  │ name len, name, type,     │ bytes    │ CRC-32 of all   │
 *   │ u32 BE       │ u32 BE         │ of 0..8 │ value … (:event-type, …)  │          │ before it       │
 *   └──────────────┴────────────────┴─────────┴───────────────────────────┴──────────┴─────────────────┘
 *
 * Bodies arrive in chunks cut anywhere; the reader keeps the prelude and the headers of the current frame
 * (at most MAX_HEADERS_BYTES) and asks its owner, once it has the headers, whether it wants the payload:
 * only then are the payload's bytes copied (at most `maxPayloadBytes`, else the frame is skipped as too large)
 * and the message CRC checked. Unwanted payloads are skipped without a look, so a long stream costs a
 * prelude check and a header parse per frame. A prelude whose CRC fails, or lengths that cannot be, mean the
 * bytes are not an event stream (or lost their framing): the reader stops for good and says so (`failed`).
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

/** What the reader's owner does with frames. */
export interface EventStreamSink {
  /** Whether the payload of a frame with these headers is wanted. */
  wants(headers: EventStreamHeaders): boolean;
  /** A wanted frame's payload, whole and CRC-checked; valid only during the call. */
  frame(headers: EventStreamHeaders, payload: Uint8Array): void;
}

// Where the reader is within a frame.
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

  /** Prelude, then headers, then (for a wanted frame) payload, then message CRC: bytes of the current part. */
  private readonly _prelude = new Uint8Array(PRELUDE_BYTES);
  private _headerBytes: Uint8Array | undefined;
  private _payload: Uint8Array | undefined;
  private readonly _crc = new Uint8Array(CRC_BYTES);
  private _have = 0;

  private _payloadLength = 0;
  private _headers: EventStreamHeaders = {};
  /** The payload is copied and its CRC computed as it streams by. */
  private _keep = false;
  private _runningCrc = 0;

  constructor(sink: EventStreamSink, maxPayloadBytes: number) {
    this._sink = sink;
    this._maxPayload = maxPayloadBytes;
  }

  /** The bytes were not an event stream; nothing more is read. */
  get failed(): boolean {
    return this._state === S_FAILED;
  }

  /** Between frames: the body may end here. */
  get atBoundary(): boolean {
    return this._state === S_PRELUDE && this._have === 0;
  }

  /** Bytes held: the current frame's headers and wanted payload. */
  get bufferedBytes(): number {
    return (this._headerBytes?.length ?? 0) + (this._payload?.length ?? 0);
  }

  /** Reads the next chunk. May call the sink; never keeps a reference to `chunk`. */
  push(chunk: Uint8Array): void {
    let pos = 0;
    const n = chunk.length;
    while (pos < n && this._state !== S_FAILED) {
      switch (this._state) {
        case S_PRELUDE: {
          const take = Math.min(PRELUDE_BYTES - this._have, n - pos);
          this._prelude.set(chunk.subarray(pos, pos + take), this._have);
          this._have += take;
          pos += take;
          if (this._have === PRELUDE_BYTES) this._beginFrame();
          break;
        }
        case S_HEADERS: {
          const buf = this._headerBytes!;
          const take = Math.min(buf.length - this._have, n - pos);
          buf.set(chunk.subarray(pos, pos + take), this._have);
          this._have += take;
          pos += take;
          if (this._have === buf.length) this._endHeaders();
          break;
        }
        case S_PAYLOAD: {
          const take = Math.min(this._payloadLength - this._have, n - pos);
          if (this._keep) this._payload!.set(chunk.subarray(pos, pos + take), this._have);
          this._have += take;
          pos += take;
          if (this._have === this._payloadLength) this._beginCrc();
          break;
        }
        case S_CRC: {
          const take = Math.min(CRC_BYTES - this._have, n - pos);
          this._crc.set(chunk.subarray(pos, pos + take), this._have);
          this._have += take;
          pos += take;
          if (this._have === CRC_BYTES) this._endFrame();
          break;
        }
      }
    }
  }

  private _fail(): void {
    this._state = S_FAILED;
    this._headerBytes = undefined;
    this._payload = undefined;
  }

  private _beginFrame(): void {
    const p = this._prelude;
    const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
    const total = view.getUint32(0);
    const headersLength = view.getUint32(4);
    if (
      view.getUint32(8) !== crc32(p, 0, 0, 8) ||
      total > MAX_MESSAGE_BYTES ||
      headersLength > MAX_HEADERS_BYTES ||
      total < PRELUDE_BYTES + headersLength + CRC_BYTES
    ) {
      this._fail();
      return;
    }
    this._payloadLength = total - PRELUDE_BYTES - headersLength - CRC_BYTES;
    this._headerBytes = new Uint8Array(headersLength);
    this._have = 0;
    this._state = S_HEADERS;
    if (headersLength === 0) this._endHeaders();
  }

  private _endHeaders(): void {
    const headers = parseHeaders(this._headerBytes!);
    if (headers === undefined) {
      this._fail();
      return;
    }
    this._headers = headers;
    let keep = false;
    try {
      keep = this._payloadLength <= this._maxPayload && this._sink.wants(headers);
    } catch {
      keep = false;
    }
    this._keep = keep;
    if (keep) {
      this._runningCrc = crc32(this._headerBytes!, crc32(this._prelude));
      this._payload = new Uint8Array(this._payloadLength);
    }
    this._headerBytes = undefined;
    this._have = 0;
    this._state = S_PAYLOAD;
    if (this._payloadLength === 0) this._beginCrc();
  }

  private _beginCrc(): void {
    this._have = 0;
    this._state = S_CRC;
  }

  private _endFrame(): void {
    const payload = this._payload;
    this._payload = undefined;
    this._have = 0;
    this._state = S_PRELUDE;
    if (!this._keep || payload === undefined) return;
    const c = this._crc;
    const expected = ((c[0] << 24) | (c[1] << 16) | (c[2] << 8) | c[3]) >>> 0;
    // A frame whose bytes were damaged is not used (the next prelude check decides whether to go on).
    if (crc32(payload, this._runningCrc) !== expected) return;
    this._sink.frame(this._headers, payload);
  }
}

/**
 * The string-valued headers of a frame (other types are skipped: Bedrock sends only strings); undefined when
 * the bytes are not a well-formed header block.
 */
export function parseHeaders(bytes: Uint8Array): EventStreamHeaders | undefined {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const nameLength = bytes[i++];
    if (nameLength === 0 || i + nameLength + 1 > n) return undefined;
    const name = utf8.decode(bytes.subarray(i, i + nameLength));
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
        size = view.getUint16(i);
        i += 2;
        break;
      default:
        return undefined;
    }
    if (i + size > n) return undefined;
    if (type === 7) out[name] = utf8.decode(bytes.subarray(i, i + size));
    i += size;
  }
  return out;
}
