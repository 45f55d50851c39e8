/*
 * Decoding a large protobuf request a turn of the event loop at a time. Decoding is synchronous (about 5 µs
 * a span here, a second for 200 000 spans), so one large body would otherwise stall /health and every other
 * request for as long. A body over SPLIT_MIN_BYTES is cut, at the wire level only, into requests of at most
 * `sliceSpans` spans, each decoded in a turn of its own:
 *
 *   ExportTraceServiceRequest ─► its ResourceSpans (field 1) ─► their ScopeSpans (field 2): framed first,
 *     reading tags and lengths only
 *   ─► pieces, made as they are decoded: a ScopeSpans' spans (field 2) are framed a slice at a time;
 *      ScopeSpans that fit whole go together (within one ResourceSpans), a larger one is cut into pieces
 *      of its own; every piece repeats its ResourceSpans' other fields (resource, schema_url) and the
 *      ScopeSpans' other fields seen so far (scope, schema_url), byte for byte, in their order
 *   ─► decodeTraceRequest(piece), a turn apart every sliceSpans spans ─► spans of one ResourceSpans get
 *      the resource object of its first piece; spans of a cut ScopeSpans the scope object of its last
 *      piece (the one that has seen all its fields): exported again, they are grouped as they came (the
 *      serializers group by object identity)
 *
 * Whatever does not frame cleanly at these three levels (a truncated length, a group, a ResourceSpans or
 * ScopeSpans or span that is not length-delimited) is not cut: the whole body is decoded at once, which
 * reports exactly where it broke. A piece that fails to decode does the same. JSON bodies are cut the same
 * way by split-json.ts, into pieces this file's driver decodes and joins.
 */
import { OtlpDecodeError, decodeTraceRequest, rejectionMessage } from './otlp/index.js';
import type { DecodeResult, OtlpFormat, Rejection, RelaySpan } from './otlp/index.js';
import { jsonPieces } from './split-json.js';

/**
 * Spans decoded between two turns of the event loop: about 10 ms of decoding at 5 µs a span, a little
 * more than a slice of spans handed to the processor takes.
 */
export const DECODE_SLICE_SPANS = 2048;
/** Bodies up to this size are decoded at once (a 512-span batch of GenAI spans is about 350 KB). */
export const SPLIT_MIN_BYTES = 1024 * 1024;

type Resource = RelaySpan['resource'];
type Scope = RelaySpan['instrumentationScope'];

/** A ScopeSpans cut into pieces: its spans so far, and the scope object they end up sharing. */
export interface Cut {
  spans: RelaySpan[];
  scope: Scope | undefined;
}

/** The resource object that the spans of one ResourceSpans share: the first piece's. */
export interface SharedResource {
  object: Resource | undefined;
}

/** A request to decode: within one ResourceSpans; part of a cut ScopeSpans, or whole ScopeSpans. */
export interface Piece {
  /** Decodes it; its bytes or text are made only now (so that copying them is spread over the turns too). */
  decode(): DecodeResult;
  spans: number;
  resource: SharedResource;
  cut: Cut | undefined;
  /** The last piece of its cut ScopeSpans. */
  last: boolean;
  /** Where its spans were in the whole request, so that a rejection names the right place. */
  origin: PieceOrigin;
}

/** A piece's ResourceSpans index in the request, and for each of its ScopeSpans the index and first span. */
export interface PieceOrigin {
  resource: number;
  scopes: ReadonlyArray<{ scope: number; firstSpan: number }>;
}

/** Framing failed: decode the whole body instead. */
class Unframed extends Error {}

/**
 * Decodes `body`, `sliceSpans` spans per turn of the event loop when it is over `minBytes`. Throws only
 * OtlpDecodeError, as decodeTraceRequest does.
 */
export async function decodeInSlices(
  body: Uint8Array,
  sliceSpans: number,
  minBytes = SPLIT_MIN_BYTES,
  format: OtlpFormat = 'protobuf',
): Promise<DecodeResult> {
  let framed: Iterable<Piece> | undefined;
  if (body.length > minBytes) {
    if (format === 'json') framed = jsonPieces(body, sliceSpans);
    else {
      const resources = frameResources(body);
      if (resources !== undefined) framed = pieces(body, resources, sliceSpans);
    }
  }
  if (framed === undefined) return decodeTraceRequest(body, format);
  const spans: RelaySpan[] = [];
  let rejected = 0;
  let firstRejection: Rejection | undefined;
  let sinceTurn = 0;
  try {
    for (const piece of framed) {
      if (sinceTurn >= sliceSpans) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sinceTurn = 0;
      }
      sinceTurn += piece.spans;
      const decoded = piece.decode();
      rejected += decoded.rejected;
      if (firstRejection === undefined && decoded.firstRejection !== undefined) {
        firstRejection = inRequest(decoded.firstRejection, piece.origin);
      }
      const { resource, cut } = piece;
      for (const span of decoded.spans) {
        (span as { resource: Resource }).resource = resource.object ??= span.resource;
        spans.push(span);
      }
      if (cut !== undefined) {
        cut.spans.push(...decoded.spans);
        if (decoded.spans.length > 0) cut.scope = decoded.spans[0].instrumentationScope;
        if (piece.last)
          for (const span of cut.spans) (span as { instrumentationScope: Scope }).instrumentationScope = cut.scope!;
      }
    }
  } catch (error) {
    // The exact error (or, for a body that frames only in part, the whole body decoded at once).
    if (error instanceof OtlpDecodeError || error instanceof Unframed) return decodeTraceRequest(body, format);
    throw error;
  }
  if (firstRejection === undefined) return { spans, rejected };
  return { spans, rejected, rejectionMessage: rejectionMessage(rejected, firstRejection), firstRejection };
}

/** A rejection in a piece, placed in the whole request. */
function inRequest(rejection: Rejection, origin: PieceOrigin): Rejection {
  const scope = origin.scopes[rejection.scope] ?? { scope: rejection.scope, firstSpan: 0 };
  return { ...rejection, resource: origin.resource, scope: scope.scope, span: scope.firstSpan + rejection.span };
}

/** A ResourceSpans: its other fields, and where its ScopeSpans' payloads lie. */
interface FramedResource {
  other: Uint8Array[];
  scopes: Array<{ from: number; to: number }>;
}

/** The two outer levels (see the header), or undefined when they do not frame. */
function frameResources(body: Uint8Array): FramedResource[] | undefined {
  const resources: FramedResource[] = [];
  const framed = scan(body, 0, body.length, (number, _start, end, payload) => {
    if (number !== 1) return true; // unknown fields of the request are skipped by the decoder too
    if (payload < 0) return false;
    const resource: FramedResource = { other: [], scopes: [] };
    resources.push(resource);
    return scan(body, payload, end, (rNumber, rStart, rEnd, rPayload) => {
      if (rNumber !== 2) resource.other.push(body.subarray(rStart, rEnd));
      else if (rPayload < 0) return false;
      else resource.scopes.push({ from: rPayload, to: rEnd });
      return true;
    });
  });
  return framed ? resources : undefined;
}

/** Part of a ScopeSpans: the other fields seen so far, and runs of span fields (byte ranges). */
interface ScopePart {
  other: Uint8Array[];
  runs: number[]; // [start, end, start, end, …]
  spans: number;
}

/** Frames a ScopeSpans' fields a part at a time. */
class ScopeScanner {
  private readonly _body: Uint8Array;
  private _at: number;
  private readonly _to: number;
  private readonly _other: Uint8Array[] = [];

  constructor(body: Uint8Array, from: number, to: number) {
    this._body = body;
    this._at = from;
    this._to = to;
  }

  get done(): boolean {
    return this._at >= this._to;
  }

  /**
   * The next part, of at most `limit` spans, and every other field up to the next span (so that `done`
   * is true once only other fields were left). Throws Unframed.
   */
  next(limit: number): ScopePart {
    const runs: number[] = [];
    let spans = 0;
    while (this._at < this._to) {
      const start = this._at;
      let number = 0;
      let payload = -1;
      let end = start;
      // One field at a time: the visitor stops the scan after it.
      scan(this._body, start, this._to, (n, _s, e, p) => {
        number = n;
        payload = p;
        end = e;
        return false;
      });
      if (end === start) throw new Unframed();
      if (number !== 2) {
        this._other.push(this._body.subarray(start, end));
        this._at = end;
        continue;
      }
      if (payload < 0) throw new Unframed();
      if (spans === limit) break; // this span starts the next part
      this._at = end;
      if (runs.length > 0 && runs[runs.length - 1] === start) runs[runs.length - 1] = end;
      else runs.push(start, end);
      spans++;
    }
    return { other: [...this._other], runs, spans };
  }
}

/** The pieces (see the header), framed as they are asked for; throws Unframed. */
function* pieces(body: Uint8Array, resources: FramedResource[], sliceSpans: number): Generator<Piece> {
  for (const [resourceIndex, resource] of resources.entries()) {
    const shared: SharedResource = { object: undefined };
    let batch: ScopePart[] = [];
    let batchScopes: Array<{ scope: number; firstSpan: number }> = [];
    let batchSpans = 0;
    const whole = (parts: ScopePart[], scopes: PieceOrigin['scopes'], spans: number): Piece => ({
      decode: () => decodeTraceRequest(request(body, resource.other, parts), 'protobuf'),
      spans,
      resource: shared,
      cut: undefined,
      last: false,
      origin: { resource: resourceIndex, scopes },
    });
    for (const [scopeIndex, scope] of resource.scopes.entries()) {
      // Does the whole ScopeSpans fit beside what the piece has? Frame one span more than the room to know.
      let scanner = new ScopeScanner(body, scope.from, scope.to);
      const first = scanner.next(sliceSpans - batchSpans + 1);
      if (scanner.done && batchSpans + first.spans <= sliceSpans) {
        if (first.spans > 0) {
          batch.push(first);
          batchScopes.push({ scope: scopeIndex, firstSpan: 0 });
          batchSpans += first.spans;
        }
        continue;
      }
      // It does not: the piece so far goes, and this ScopeSpans is cut into pieces of its own.
      if (batchSpans > 0) {
        yield whole(batch, batchScopes, batchSpans);
        batch = [];
        batchScopes = [];
        batchSpans = 0;
      }
      scanner = new ScopeScanner(body, scope.from, scope.to);
      const cut: Cut = { spans: [], scope: undefined };
      let firstSpan = 0;
      do {
        const part = scanner.next(sliceSpans);
        yield {
          decode: () => decodeTraceRequest(request(body, resource.other, [part]), 'protobuf'),
          spans: part.spans,
          resource: shared,
          cut,
          last: scanner.done,
          origin: { resource: resourceIndex, scopes: [{ scope: scopeIndex, firstSpan }] },
        };
        firstSpan += part.spans;
      } while (!scanner.done);
    }
    if (batchSpans > 0) yield whole(batch, batchScopes, batchSpans);
  }
}

/**
 * `ExportTraceServiceRequest{resource_spans: ResourceSpans{…resourceOther, scope_spans: ScopeSpans{…other,
 * spans}…}}`, written into one buffer: the parts are copied once.
 */
function request(body: Uint8Array, resourceOther: readonly Uint8Array[], parts: readonly ScopePart[]): Uint8Array {
  const scopeLengths = parts.map((p) => sum(p.other) + runLength(p.runs));
  let resourceLength = sum(resourceOther);
  for (const length of scopeLengths) resourceLength += 1 + varintSize(length) + length;
  const out = Buffer.allocUnsafe(1 + varintSize(resourceLength) + resourceLength);
  let at = 0;
  const writeVarint = (value: number): void => {
    while (value > 0x7f) {
      out[at++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    out[at++] = value;
  };
  const copy = (bytes: Uint8Array): void => {
    out.set(bytes, at);
    at += bytes.length;
  };
  out[at++] = 0x0a; // field 1, length-delimited
  writeVarint(resourceLength);
  for (const other of resourceOther) copy(other);
  for (const [i, part] of parts.entries()) {
    out[at++] = 0x12; // field 2, length-delimited
    writeVarint(scopeLengths[i]);
    for (const other of part.other) copy(other);
    for (let r = 0; r < part.runs.length; r += 2) copy(body.subarray(part.runs[r], part.runs[r + 1]));
  }
  return out;
}

function runLength(runs: readonly number[]): number {
  let total = 0;
  for (let r = 0; r < runs.length; r += 2) total += runs[r + 1] - runs[r];
  return total;
}

function sum(parts: readonly Uint8Array[]): number {
  let total = 0;
  for (const part of parts) total += part.length;
  return total;
}

function varintSize(value: number): number {
  let size = 1;
  while (value > 0x7f) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/**
 * Visits the fields of one message between `from` and `to`: `visit(number, start, end, payloadStart)` for
 * each, `start`..`end` the whole field (tag included), `payloadStart` where a length-delimited payload
 * begins (-1 for other wire types). False when the message does not frame (see the header) or `visit`
 * returns false. Nothing is allocated per field.
 */
function scan(
  message: Uint8Array,
  from: number,
  to: number,
  visit: (number: number, start: number, end: number, payloadStart: number) => boolean,
): boolean {
  let at = from;
  while (at < to) {
    const start = at;
    if (!readVarint(message, at, to)) return false;
    at = varintEnd;
    const number = Math.floor(varintValue / 8);
    const wireType = varintValue % 8;
    let payloadStart = -1;
    if (number === 0) return false;
    if (wireType === 0) {
      if (!readVarint(message, at, to)) return false;
      at = varintEnd;
    } else if (wireType === 1 || wireType === 5) {
      at += wireType === 1 ? 8 : 4;
    } else if (wireType === 2) {
      if (!readVarint(message, at, to) || varintEnd + varintValue > to) return false;
      payloadStart = varintEnd;
      at = varintEnd + varintValue;
    } else {
      return false; // groups, and wire types that do not exist
    }
    if (at > to || !visit(number, start, at, payloadStart)) return false;
  }
  return true;
}

// The last varint read: its value and the offset after it (scratch, so that reading allocates nothing).
let varintValue = 0;
let varintEnd = 0;

function readVarint(bytes: Uint8Array, at: number, to: number): boolean {
  let value = 0;
  for (let shift = 0; shift < 64 && at < to; shift += 7) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) {
      varintValue = value;
      varintEnd = at;
      return value <= Number.MAX_SAFE_INTEGER;
    }
  }
  return false;
}
