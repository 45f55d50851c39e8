/*
 * Incremental, bounded reader of an LLM provider's response body: response id, model and token usage.
 *
 * It runs inside the application's read of the body (the tap hands it each chunk before the app gets it),
 * so it is built for the common case to cost little more than the read itself:
 *
 *   SSE chunk ─► at an event boundary? ─ no ──────────────────────────► line parser (below)
 *                  │ yes
 *                  ▼
 *              native search for a "might matter" needle (`kens"` / `put_tok`; `DONE]` / `_stop"` too
 *              once usage has been seen)
 *                  │ none: skip to the chunk's last blank line, line-parse only the incomplete tail
 *                  │ hit:  skip to the blank line before it, line-parse that one event, search again
 *                  ▼
 *   line parser: line ends from SseLineEnds (sse.ts, shared with the stripper: native indexOf for LF / CR,
 *   a CR LF cut across chunks; it also finds the blank lines skipping resumes at), `data:` values joined
 *   into a bounded event buffer; at the blank line an event is JSON.parse'd only if it is the first one
 *   (id, model), carries `"usage"` + `{`, or is a terminal marker ([DONE], message_stop). An event over
 *   the bound goes through the constant-memory JsonPicker instead. What the parsed event says (its id,
 *   model and usage, and whether that makes the finding) is usage-events.ts's, by the endpoint's row of the
 *   normalizer's usage table (usage-mapping.ts).
 *
 *   JSON body ─► buffered up to the bound, JSON.parse'd at end(); past the bound ─► JsonPicker.
 *   Gemini JSON body that is an array (streamGenerateContent without alt=sse) ─► JsonArrayReader
 *               (json-array.ts): the elements it reads exactly (the first two, those with a count key near
 *               a chunk's end, the last) go through the same event buffer and dispatch as an SSE event's
 *               data; the others are skimmed past. The last usageMetadata counts once the array closed.
 *
 * Gemini's chunks name their usage, id and model `usageMetadata`, `responseId` and `modelVersion` (the picker
 * reads them as usage, id and model), carry no terminal event (the usage of the last chunk counts at end()),
 * and every count key ends in `Count"`: its needle. Bedrock's JSON bodies are read here too (Converse's
 * `usage`, Claude's on InvokeModel) when the response has no token-count headers; its event streams are
 * bedrock-usage.ts's.
 *
 * Why the needles are safe to skip with: every count key of the endpoint's usage shape (the normalizer's
 * provider usage table, by way of usage-mapping.ts) ends in `_tokens"`, and Anthropic's all in
 * `put_tokens"` (a test checks the table against the needles), and a raw `"` cannot occur inside a JSON
 * string (it is escaped there), so an event without the needle has no counts and skipping it changes
 * nothing. `DONE]` and
 * `_stop"` likewise cover `[DONE]` and `"message_stop"`; those only matter once usage has been seen (a
 * [DONE] before any usage, a message_stop before any message_delta, end nothing and give nothing), so
 * they are searched for only from then on, and the two searches never run over the whole stream.
 * Needles were chosen by measurement: Node's Buffer#indexOf memchr's the first byte (so it should be rare
 * in the provider's boilerplate: `k` occurs once per chat chunk, `p` never in Anthropic's deltas) and
 * switches to a slower Boyer-Moore search at 8 bytes; `_tokens"` itself scans 5-10× slower than `kens"`.
 *
 * The `event:` SSE field is ignored: every provider repeats the event type inside the data.
 */
import type { UsageAdjustment, UsageCounts } from '@genai-enrich/normalizer';
import { Hay, findSeq, needle, startsWithAt } from './bytes.js';
import { JsonArrayReader } from './json-array.js';
import type { JsonArrayElementSink } from './json-array.js';
import { JsonPicker, PICKER_MAX_USAGE_BYTES } from './json-picker.js';
import { LF, SseLineEnds } from './sse.js';
import { TAP_USAGE, asRecord } from './usage-mapping.js';
import { EVENT_FINAL, EVENT_USAGE_SEEN, UsageEvents } from './usage-events.js';
import type { EventOutcome } from './usage-events.js';

export { makeFinding } from './usage-events.js';

export type TapEndpoint =
  | 'openai.chat'
  | 'openai.responses'
  | 'openai.embeddings'
  | 'anthropic.messages'
  /** Gemini API and Vertex AI `:generateContent` / `:streamGenerateContent` (SSE with `alt=sse`, else a JSON array). */
  | 'gemini.generate_content'
  /** Bedrock Converse's JSON body (ConverseStream is an event stream: bedrock-usage.ts). */
  | 'bedrock.converse'
  /** Bedrock InvokeModel's JSON body, read when the token-count headers are missing. */
  | 'bedrock.invoke';
export type TapBodyFormat = 'sse' | 'json';

export interface TapFinding {
  /** Chat `chatcmpl-…`, Responses `resp_…`, Anthropic `msg_…`; undefined for embeddings. */
  responseId: string | undefined;
  /** The model the response names. */
  model: string | undefined;
  /** In GenAI semconv terms (input includes cached input); has inputTokens or outputTokens. */
  usage: UsageCounts;
  /** The provider's own total when it sends one (OpenAI), else undefined. */
  totalTokens: number | undefined;
  /** What the usage row added to the provider's counts (`genai_enrich.usage_adjusted`); absent when nothing. */
  adjusted?: readonly UsageAdjustment[];
}

/**
 * Default bound on the bytes a parser buffers: 64 KiB.
 *
 * Large enough that every ordinary SSE event (a chat chunk is ~200-500 bytes, Anthropic's message_start
 * a few KiB) and most non-streamed chat / Anthropic JSON bodies are parsed whole with JSON.parse, the
 * fastest path. Small enough that a thousand concurrent tapped responses hold at most ~64 MiB; what does
 * not fit (embeddings bodies, a Responses `response.completed` event repeating a long output) is read by
 * the streaming picker with constant memory instead.
 */
export const DEFAULT_TAP_MAX_BUFFER_BYTES = 64 * 1024;

/**
 * What `bufferedBytes` may exceed `maxBufferBytes` by: the picker's capture of a `usage` object
 * (16 KiB). In practice the two do not add up (a value moves into the picker only as the buffer is
 * emptied), but the documented bound is the sum.
 */
export const TAP_CAPTURE_MAX_BYTES = PICKER_MAX_USAGE_BYTES;

/** Smallest accepted maxBufferBytes: below it an SSE `data: [DONE]` line could not be recognized. */
const MIN_BUFFER_BYTES = 256;

/**
 * How far back from the end of each chunk the needle search looks for events that carry usage. Every
 * provider sends its usage on the last event or next to it (chat: the usage chunk, then `[DONE]`;
 * Responses: `response.completed`, last; Anthropic: `message_delta`, then `message_stop`; servers that
 * repeat usage on every chunk: the last one counts), so the usage event of a stream always ends within a
 * few hundred bytes of its chunk's end, or is still open there and read line by line. Searching the whole
 * chunk instead costs a native scan of every byte, about a fifth of what reading the body costs
 * (bench/tap.bench.ts). An event that started before the window and is still open at the chunk's end is
 * not affected: it is read line by line. The first event (id, model) is always parsed.
 */
const TAIL_WINDOW = 8 * 1024;

const SPACE = 0x20;

const COUNT_KEY_NEEDLES = Object.fromEntries(
  Object.entries(TAP_USAGE).map(([endpoint, reading]) => [endpoint, needle(reading.countKeyNeedle)]),
) as Record<TapEndpoint, Uint8Array>;
const NEEDLE_DONE = needle('DONE]');
const NEEDLE_STOP = needle('_stop"');
// Searched without its opening quote: memchr on `"` would stop at every quote of the event.
const USAGE_KEYS = Object.fromEntries(
  Object.entries(TAP_USAGE).map(([endpoint, reading]) => [endpoint, needle(reading.keys.usage + '"')]),
) as Record<TapEndpoint, Uint8Array>;
const MESSAGE_STOP = needle('"message_stop"');
const DONE = needle('[DONE]');

// Line states of the SSE line parser: 0 = at line start; 1..4 = that many bytes of "data" matched;
// 5 = "data:" read, value not begun; 6 = in a data value; 7 = any other line (ignored to its end).
const L_START = 0;
const L_COLON = 4;
const L_VALUE_START = 5;
const L_VALUE = 6;
const L_OTHER = 7;
const DATA_FIELD = needle('data');
const BOM = [0xef, 0xbb, 0xbf];

const decoder = new TextDecoder('utf-8');

/** What the tap needs of a body reader; UsageStreamParser is one, bedrock-usage.ts has the others. */
export interface TapBodyReader {
  /** Set as soon as the response's usage is known for good; undefined otherwise. */
  readonly finding: TapFinding | undefined;
  /** The reader gave up; it ignores all further input. */
  readonly failed: boolean;
  /** Bytes currently held. */
  readonly bufferedBytes: number;
  /** Feeds the next body chunk. Never throws; keeps no reference to `chunk`. */
  push(chunk: Uint8Array): void;
  /** The body ended normally: the finding, if complete usage was seen. Never throws. */
  end(): TapFinding | undefined;
}

export class UsageStreamParser implements TapBodyReader {
  private readonly _endpoint: TapEndpoint;
  /** What the events say (usage-events.ts). */
  private readonly _events: UsageEvents;
  private readonly _usageKeyNeedle: Uint8Array;
  /** A Gemini JSON body that is an array (streamGenerateContent without alt=sse), split into its elements. */
  private _array: JsonArrayReader | undefined;
  /** Whether a Gemini JSON body's first byte was looked at (only Gemini's may be an array). */
  private _jsonKindKnown = false;
  private readonly _arraySink: JsonArrayElementSink = {
    elementBytes: (u8, start, end) => {
      this._eventHasData = true;
      this._appendData(u8, start, end);
    },
    elementEnd: () => this._dispatch(),
  };
  private readonly _sse: boolean;
  private readonly _max: number;
  /** [counts needle, terminal needle]; the second is searched for only once usage was seen. */
  private readonly _needles: readonly Uint8Array[];
  private _activeNeedles = 1;

  private _failed = false;
  /** Nothing more to read: the terminal event was handled, or the input can no longer yield a finding. */
  private _done = false;

  /** The SSE event data (joined data lines) or the JSON body; `len` bytes are used. */
  private _buf: Uint8Array | undefined;
  private _len = 0;
  private _picker: JsonPicker | undefined;
  /** The picker is reading the current SSE event, or the JSON body. */
  private _picking = false;

  // SSE line state.
  /** Bytes of a leading UTF-8 BOM still to check (EventSource drops one at the stream's start). */
  private _bomLeft = 3;
  private _line = L_START;
  private readonly _lineEnds = new SseLineEnds();
  private _eventHasData = false;
  /** The first data event has not been dispatched yet (its id and model are kept). */
  private _needFirst = true;

  // Per-push cache of the next hit of each needle (−1: not searched yet; the chunk length: none).
  private readonly _hitAt: number[];

  constructor(endpoint: TapEndpoint, format: TapBodyFormat, options?: { maxBufferBytes?: number }) {
    this._endpoint = endpoint;
    this._events = new UsageEvents(endpoint);
    this._usageKeyNeedle = USAGE_KEYS[endpoint];
    this._sse = format === 'sse';
    const requested = options?.maxBufferBytes;
    this._max =
      typeof requested === 'number' && Number.isFinite(requested) && requested > 0
        ? Math.max(MIN_BUFFER_BYTES, Math.min(Math.floor(requested), 1 << 30))
        : DEFAULT_TAP_MAX_BUFFER_BYTES;
    const counts = COUNT_KEY_NEEDLES[endpoint];
    this._needles =
      endpoint === 'anthropic.messages'
        ? [counts, NEEDLE_STOP]
        : endpoint === 'openai.chat' || endpoint === 'openai.embeddings'
          ? [counts, NEEDLE_DONE]
          : [counts]; // Responses: its terminal events carry the usage themselves; Gemini: no terminal event
    this._hitAt = this._needles.map(() => -1);
  }

  /** Set as soon as the stream's terminal event has been read with usage; undefined otherwise. */
  get finding(): TapFinding | undefined {
    return this._events.finding;
  }

  /** An internal error happened; the parser ignores all further input. */
  get failed(): boolean {
    return this._failed;
  }

  /**
   * Bytes currently held: the event / body buffer plus the picker's capture. At most
   * maxBufferBytes + {@link TAP_CAPTURE_MAX_BYTES}.
   */
  get bufferedBytes(): number {
    return this._len + (this._picker?.bufferedBytes ?? 0) + (this._array?.bufferedBytes ?? 0);
  }

  /**
   * Feeds the next body chunk. Never throws; keeps no reference to `chunk` (what it needs is copied into
   * its bounded buffer) and never writes to it.
   */
  push(chunk: Uint8Array): void {
    if (this._failed || this._done || chunk.length === 0) return;
    try {
      if (this._sse) this._pushSse(chunk);
      else this._pushJson(chunk);
    } catch {
      this._fail();
    }
  }

  /** The body ended normally. Returns the finding if complete usage was seen, else undefined. Never throws. */
  end(): TapFinding | undefined {
    if (this._events.finding !== undefined || this._failed) return this._events.finding;
    try {
      if (this._sse) {
        // An event not closed by a blank line is incomplete and, as in EventSource, dropped.
        if (!this._done) this._events.endOfEvents();
      } else if (this._array !== undefined) {
        // Only a closed array is a whole body; its last usage counts.
        if (this._array.finish(this._arraySink)) this._events.endOfEvents();
      } else if (!this._done) {
        this._endJson();
      }
    } catch {
      this._fail();
    }
    this._done = true;
    this._release();
    return this._events.finding;
  }

  private _fail(): void {
    this._failed = true;
    this._release();
  }

  private _release(): void {
    this._buf = undefined;
    this._array = undefined;
    this._len = 0;
    this._picker = undefined;
    this._picking = false;
  }

  private _finish(): void {
    this._done = true;
    this._release();
  }

  // ---------------------------------------------------------------------------------------------- JSON

  private _pushJson(chunk: Uint8Array): void {
    if (!this._jsonKindKnown && this._endpoint === 'gemini.generate_content') {
      if (!this._seeJsonKind(chunk)) return;
    }
    if (this._array !== undefined) {
      this._array.push(chunk, this._arraySink);
      if (this._array.failed) this._finish(); // not an array of objects: nothing to find
      return;
    }
    if (!this._picking) {
      if (this._len + chunk.length <= this._max) {
        this._append(chunk, 0, chunk.length);
        return;
      }
      const picker = this._startPicker();
      if (this._len > 0) picker.feed(this._buf!.subarray(0, this._len));
      this._len = 0;
      this._buf = undefined; // a body that large will not be buffered again
    }
    const picker = this._picker!;
    picker.feed(chunk);
    if (picker.failed) this._finish(); // malformed: nothing to find
  }

  /**
   * Looks for the JSON body's first byte: a Gemini body that starts with `[` is a stream of elements. False
   * while the body has been only whitespace (which JSON.parse skips, so it need not be buffered).
   */
  private _seeJsonKind(chunk: Uint8Array): boolean {
    let i = 0;
    while (i < chunk.length && isWs(chunk[i])) i++;
    if (i === chunk.length) return false;
    this._jsonKindKnown = true;
    if (chunk[i] === 0x5b /* [ */) {
      this._array = new JsonArrayReader(COUNT_KEY_NEEDLES[this._endpoint], this._max);
    }
    return true;
  }

  private _endJson(): void {
    let body: Record<string, unknown> | undefined;
    if (this._picking) {
      body = this._picker!.finish() as Record<string, unknown> | undefined;
    } else if (this._len > 0) {
      body = parseObject(this._buf!, this._len);
    }
    if (body !== undefined) this._events.onBody(body);
  }

  // ----------------------------------------------------------------------------------------------- SSE

  private _pushSse(chunk: Uint8Array): void {
    const hay = new Hay(chunk);
    const n = chunk.length;
    for (let k = 0; k < this._hitAt.length; k++) this._hitAt[k] = -1;
    // Past the LF of a CR LF the previous chunk cut; a BOM can only come first, so never after that.
    let pos = this._lineEnds.beginChunk(chunk);
    if (this._bomLeft > 0) pos = this._skipBom(chunk);
    while (pos < n && !this._done) {
      if (!this._needFirst && this._line === L_START && !this._eventHasData) {
        // At an event boundary (or between the non-data lines of an event): skip what cannot matter.
        // Only a chunk's last TAIL_WINDOW bytes are searched: see TAIL_WINDOW.
        const hit = this._nextHit(hay, n - pos > TAIL_WINDOW ? n - TAIL_WINDOW : pos);
        if (hit < 0) {
          const b = this._lineEnds.lastBlankLineEnd(chunk, pos, n);
          if (b > pos) pos = b;
          pos = this._lines(hay, pos, n);
        } else {
          const b = this._lineEnds.lastBlankLineEnd(chunk, pos, hit);
          if (b > pos) pos = b;
          pos = this._lines(hay, pos, hit);
        }
      } else {
        pos = this._lines(hay, pos, -1);
      }
    }
  }

  /** Consumes what is left of a leading BOM (EF BB BF), which may be cut across chunks. */
  private _skipBom(chunk: Uint8Array): number {
    let pos = 0;
    while (this._bomLeft > 0 && pos < chunk.length) {
      if (chunk[pos] !== BOM[3 - this._bomLeft]) {
        // Not a BOM after all. Bytes of a partial one start the first line, which cannot be "data" then.
        if (this._bomLeft < 3) this._line = L_OTHER;
        this._bomLeft = 0;
        return pos;
      }
      this._bomLeft--;
      pos++;
    }
    return pos;
  }

  /** The first needle hit at or after `from` in this chunk, or -1. */
  private _nextHit(hay: Hay, from: number): number {
    const n = hay.u8.length;
    let best = n;
    for (let k = 0; k < this._activeNeedles; k++) {
      let at = this._hitAt[k];
      if (at < from) {
        at = hay.indexOf(this._needles[k], from);
        if (at < 0) at = n;
        this._hitAt[k] = at;
      }
      if (at < best) best = at;
    }
    return best < n ? best : -1;
  }

  /**
   * Parses lines from `pos`. Returns after the first blank line that starts after `stopAfter` (the
   * position to resume skipping from), or at the end of the chunk.
   */
  private _lines(hay: Hay, pos: number, stopAfter: number): number {
    const u8 = hay.u8;
    const n = u8.length;
    const lineEnds = this._lineEnds;
    while (pos < n) {
      const e = lineEnds.lineEnd(hay, pos);
      if (e > pos) this._lineBytes(u8, pos, e);
      if (e >= n) return n;
      const blank = this._line === L_START;
      const at = pos;
      this._endLine();
      pos = lineEnds.afterLineEnd(u8, e);
      if (this._done) return n;
      if (blank && at > stopAfter) return pos;
    }
    return pos;
  }

  /** Bytes [s, e) of the current line (no line end among them). */
  private _lineBytes(u8: Uint8Array, s: number, e: number): void {
    let i = s;
    let state = this._line;
    if (state === L_OTHER) return;
    if (state < L_VALUE_START) {
      while (state < L_VALUE_START) {
        if (i === e) {
          this._line = state;
          return;
        }
        const c = u8[i];
        if (state === L_COLON ? c !== 0x3a /* : */ : c !== DATA_FIELD[state]) {
          this._line = L_OTHER; // a comment, another field, or a field that only starts with "data"
          return;
        }
        state++;
        i++;
      }
    }
    if (state === L_VALUE_START) {
      if (i === e) {
        this._line = state;
        return;
      }
      if (u8[i] === SPACE) i++;
      this._beginDataLine();
      state = L_VALUE;
    }
    this._line = state;
    if (i < e) this._appendData(u8, i, e);
  }

  private _endLine(): void {
    const state = this._line;
    this._line = L_START;
    if (state === L_START) this._dispatch();
    else if (state === L_COLON || state === L_VALUE_START) this._beginDataLine(); // "data" or "data:": empty value
  }

  private _beginDataLine(): void {
    if (this._eventHasData) this._appendData(LF_BYTE, 0, 1);
    this._eventHasData = true;
  }

  private _appendData(bytes: Uint8Array, s: number, e: number): void {
    if (this._picking) {
      this._picker!.feed(bytes.subarray(s, e));
      return;
    }
    if (this._len + (e - s) <= this._max) {
      this._append(bytes, s, e);
      return;
    }
    // Too large to buffer: scan the event as it streams by.
    const picker = this._startPicker();
    if (this._len > 0) picker.feed(this._buf!.subarray(0, this._len));
    this._len = 0;
    picker.feed(bytes.subarray(s, e));
  }

  private _dispatch(): void {
    if (!this._eventHasData) return;
    this._eventHasData = false;
    const first = this._needFirst;
    if (this._picking) {
      this._picking = false;
      const picked = this._picker!.finish();
      this._picker!.reset();
      this._needFirst = false;
      if (picked !== undefined) this._outcome(this._events.onEvent(picked as Record<string, unknown>, first));
      return;
    }
    const n = this._len;
    this._len = 0;
    if (n === 0) return; // empty data: no event, as in EventSource
    const buf = this._buf!;
    this._needFirst = false;
    if (this._endpoint !== 'anthropic.messages' && this._endpoint !== 'openai.responses' && isDone(buf, n)) {
      // [DONE] ends the stream once usage was seen; before that it is ignored like any event without
      // usage (the skipping scan does not look for it then).
      if (this._events.usageSeen) {
        this._events.endOfEvents();
        this._finish();
      }
      return;
    }
    if (
      first ||
      hasUsageObject(buf, n, this._usageKeyNeedle) ||
      (this._endpoint === 'anthropic.messages' && findSeq(buf, n, MESSAGE_STOP) >= 0)
    ) {
      const event = parseObject(buf, n);
      if (event !== undefined) this._outcome(this._events.onEvent(event, first));
    }
  }

  /** Usage seen: the terminal event's needle is searched for from now on. A finding: nothing more to read. */
  private _outcome(outcome: EventOutcome): void {
    if (outcome === EVENT_USAGE_SEEN) this._activeNeedles = this._needles.length;
    else if (outcome === EVENT_FINAL) this._finish();
  }

  // ------------------------------------------------------------------------------------------- buffers

  /** Appends bytes [s, e) to the buffer; the caller checked the bound. */
  private _append(bytes: Uint8Array, s: number, e: number): void {
    const need = this._len + (e - s);
    let buf = this._buf;
    if (buf === undefined || buf.length < need) {
      // Grown by doubling, never past the bound: most streams need only a few hundred bytes.
      const grown = new Uint8Array(Math.min(this._max, Math.max(need, (buf?.length ?? 0) * 2, 1024)));
      if (buf !== undefined && this._len > 0) grown.set(buf.subarray(0, this._len));
      buf = this._buf = grown;
    }
    buf.set(s === 0 && e === bytes.length ? bytes : bytes.subarray(s, e), this._len);
    this._len = need;
  }

  private _startPicker(): JsonPicker {
    const picker = (this._picker ??= new JsonPicker());
    picker.reset();
    this._picking = true;
    return picker;
  }
}

const LF_BYTE = new Uint8Array([LF]);

function parseObject(buf: Uint8Array, n: number): Record<string, unknown> | undefined {
  try {
    return asRecord(JSON.parse(decoder.decode(buf.subarray(0, n))));
  } catch {
    return undefined;
  }
}

function isWs(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** The data is `[DONE]`, give or take surrounding whitespace. */
function isDone(buf: Uint8Array, n: number): boolean {
  let s = 0;
  while (s < n && isWs(buf[s])) s++;
  let e = n;
  while (e > s && isWs(buf[e - 1])) e--;
  return e - s === DONE.length && startsWithAt(buf, s, DONE);
}

/** Whether the data holds `"<usage key>"`, optional whitespace, `:`, optional whitespace, `{`. */
function hasUsageObject(buf: Uint8Array, n: number, key: Uint8Array): boolean {
  let at = findSeq(buf, n, key, 1);
  while (at >= 0) {
    let i = at + key.length;
    if (buf[at - 1] !== 0x22) {
      at = findSeq(buf, n, key, at + 1);
      continue;
    }
    while (i < n && isWs(buf[i])) i++;
    if (i < n && buf[i] === 0x3a) {
      i++;
      while (i < n && isWs(buf[i])) i++;
      if (i < n && buf[i] === 0x7b) return true;
    }
    at = findSeq(buf, n, key, at + 1);
  }
  return false;
}
