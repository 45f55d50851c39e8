/*
 * Cutting a large OTLP/JSON request into pieces that decode a turn of the event loop apart, as
 * split-request.ts does for protobuf. JSON.parse has no incremental form and takes about 8 ms a MB here
 * (200 ms for a 20 MiB body, with the decoding after it as much again), so the text is framed by a scanner
 * that reads only structure, and each piece is parsed on its own:
 *
 *   body ─► text (TextDecoder: invalid UTF-8 becomes U+FFFD, a byte order mark is dropped, as when whole)
 *   ─► framed, in one pass: the request object ─► "resourceSpans" ─► each ResourceSpans object ─►
 *      "scopeSpans" ─► each ScopeSpans object ─► "spans": where each span's text lies (strings are skipped
 *      with indexOf, everything else a character at a time, counting brackets); every other member of a
 *      ResourceSpans or ScopeSpans ("resource", "scope", "schemaUrl", unknown keys) is kept as its text
 *   ─► pieces: `{"resourceSpans":[{<its other members>,"scopeSpans":[{<other members>,"spans":[…]}, …]}]}`
 *      of at most sliceSpans spans: whole ScopeSpans together (within one ResourceSpans), a larger one cut
 *      into pieces of its own; each piece is parsed and decoded when its turn comes (decodeJsonTraceText)
 *
 * Whatever the scanner does not expect (a framed member that is not an array or object, a framed key twice,
 * both spellings of one, text after the request, a bracket that does not close) leaves the body unframed:
 * it is decoded whole, which reports exactly what is wrong. Members of the request other than
 * resourceSpans are parsed on their own, so that a body invalid there is still refused whole. A piece that
 * fails to decode sends the driver back to the whole body too (split-request.ts).
 */
import { decodeJsonTraceText } from './otlp/json.js';
import type { Cut, Piece, PieceOrigin, SharedResource } from './split-request.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** Thrown inside the scanner when the text does not frame (see the header); never escapes this file. */
const UNFRAMED = new Error('unframed');

interface FramedScope {
  other: string[];
  /** Each span's text: [start, end, start, end, …]. */
  spans: number[];
}

interface FramedResource {
  other: string[];
  scopes: FramedScope[];
}

const textDecoder = new TextDecoder();

/** The pieces of a JSON body (see the header), or undefined when it does not frame. */
export function jsonPieces(body: Uint8Array, sliceSpans: number): Iterable<Piece> | undefined {
  const text = textDecoder.decode(body);
  let resources: FramedResource[];
  try {
    resources = frameRequest(new Scanner(text));
  } catch (error) {
    if (error === UNFRAMED || error instanceof SyntaxError) return undefined;
    throw error;
  }
  return pieces(text, resources, sliceSpans);
}

/** A cursor over the text, reading structure only. */
class Scanner {
  at = 0;
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  /** Past whitespace; the next character's code (NaN at the end). */
  peek(): number {
    const text = this.text;
    let c = text.charCodeAt(this.at);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++this.at);
    return c;
  }

  expect(code: number): void {
    if (this.peek() !== code) throw UNFRAMED;
    this.at++;
  }

  /** At a quote: past the string's closing quote. */
  skipString(): void {
    const text = this.text;
    let at = this.at + 1;
    for (;;) {
      const quote = text.indexOf('"', at);
      if (quote < 0) throw UNFRAMED;
      let escapes = 0;
      while (text.charCodeAt(quote - 1 - escapes) === BACKSLASH) escapes++;
      at = quote + 1;
      if (escapes % 2 === 0) break; // an even run of backslashes escapes itself, not the quote
    }
    this.at = at;
  }

  /** Past one value of any kind: strings and brackets are followed, scalars run to the next delimiter. */
  skipValue(): void {
    const text = this.text;
    const c = this.peek();
    if (c === QUOTE) return this.skipString();
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      let depth = 0;
      do {
        const d = text.charCodeAt(this.at);
        if (d === QUOTE) {
          this.skipString();
          continue;
        }
        if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
        else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) depth--;
        else if (d !== d) throw UNFRAMED; // NaN: the text ended inside the value
        this.at++;
      } while (depth > 0);
      return;
    }
    const start = this.at;
    for (let d = c; d === d; d = text.charCodeAt(++this.at)) {
      if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || d <= 0x20) break;
    }
    if (this.at === start) throw UNFRAMED;
  }

  /** An object's members: `visit(key, memberStart)` is called at each value and must pass it. */
  members(visit: (key: string, memberStart: number) => void): void {
    this.expect(OPEN_BRACE);
    if (this.peek() === CLOSE_BRACE) {
      this.at++;
      return;
    }
    for (;;) {
      if (this.peek() !== QUOTE) throw UNFRAMED;
      const start = this.at;
      this.skipString();
      const raw = this.text.slice(start + 1, this.at - 1);
      const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
      this.expect(COLON);
      this.peek();
      visit(key, start);
      const next = this.peek();
      this.at++;
      if (next === CLOSE_BRACE) return;
      if (next !== COMMA) throw UNFRAMED;
    }
  }

  /** An array's elements: `visit()` is called at each and must pass it. */
  elements(visit: () => void): void {
    this.expect(OPEN_BRACKET);
    if (this.peek() === CLOSE_BRACKET) {
      this.at++;
      return;
    }
    for (;;) {
      this.peek();
      visit();
      const next = this.peek();
      this.at++;
      if (next === CLOSE_BRACKET) return;
      if (next !== COMMA) throw UNFRAMED;
    }
  }
}

function frameRequest(scanner: Scanner): FramedResource[] {
  const resources: FramedResource[] = [];
  const seen = new Set<string>();
  scanner.members((key) => {
    if (key === 'resourceSpans' || key === 'resource_spans') {
      once(seen, 'resourceSpans');
      scanner.elements(() => resources.push(frameResource(scanner)));
    } else {
      // Ignored by the decoder, but it must be valid JSON for the body to be.
      const start = scanner.at;
      scanner.skipValue();
      JSON.parse(scanner.text.slice(start, scanner.at));
    }
  });
  if (!Number.isNaN(scanner.peek())) throw UNFRAMED; // text after the request
  return resources;
}

function frameResource(scanner: Scanner): FramedResource {
  const resource: FramedResource = { other: [], scopes: [] };
  const seen = new Set<string>();
  scanner.members((key, memberStart) => {
    if (key === 'scopeSpans' || key === 'scope_spans') {
      once(seen, 'scopeSpans');
      scanner.elements(() => resource.scopes.push(frameScope(scanner)));
    } else {
      scanner.skipValue();
      resource.other.push(scanner.text.slice(memberStart, scanner.at));
    }
  });
  return resource;
}

function frameScope(scanner: Scanner): FramedScope {
  const scope: FramedScope = { other: [], spans: [] };
  const seen = new Set<string>();
  scanner.members((key, memberStart) => {
    if (key === 'spans') {
      once(seen, 'spans');
      scanner.elements(() => {
        const start = scanner.at;
        scanner.skipValue();
        scope.spans.push(start, scanner.at);
      });
    } else {
      scanner.skipValue();
      scope.other.push(scanner.text.slice(memberStart, scanner.at));
    }
  });
  return scope;
}

/** A framed member seen twice, under either spelling: JSON.parse would keep the last; decode whole. */
function once(seen: Set<string>, member: string): void {
  if (seen.has(member)) throw UNFRAMED;
  seen.add(member);
}

/** Spans [from, to) of a framed ScopeSpans (the request's `index`-th of its ResourceSpans). */
interface ScopeSlice {
  scope: FramedScope;
  index: number;
  from: number;
  to: number;
}

function* pieces(text: string, resources: FramedResource[], sliceSpans: number): Generator<Piece> {
  for (const [resourceIndex, resource] of resources.entries()) {
    const shared: SharedResource = { object: undefined };
    const piece = (slices: ScopeSlice[], spans: number, cut: Cut | undefined, last: boolean): Piece => ({
      decode: () => decodeJsonTraceText(pieceText(text, resource.other, slices)),
      spans,
      resource: shared,
      cut,
      last,
      origin: origin(resourceIndex, slices),
    });
    let batch: ScopeSlice[] = [];
    let batchSpans = 0;
    for (const [index, scope] of resource.scopes.entries()) {
      const count = scope.spans.length / 2;
      if (count === 0) continue; // no spans: nothing of it reaches the output either way
      if (batchSpans + count > sliceSpans && batchSpans > 0) {
        yield piece(batch, batchSpans, undefined, false);
        batch = [];
        batchSpans = 0;
      }
      if (count <= sliceSpans) {
        batch.push({ scope, index, from: 0, to: count });
        batchSpans += count;
        continue;
      }
      const cut: Cut = { spans: [], scope: undefined };
      for (let from = 0; from < count; from += sliceSpans) {
        const to = Math.min(count, from + sliceSpans);
        yield piece([{ scope, index, from, to }], to - from, cut, to === count);
      }
    }
    if (batchSpans > 0) yield piece(batch, batchSpans, undefined, false);
  }
}

function origin(resource: number, slices: readonly ScopeSlice[]): PieceOrigin {
  return { resource, scopes: slices.map((slice) => ({ scope: slice.index, firstSpan: slice.from })) };
}

/** A request of one ResourceSpans holding the given slices (see the header). */
function pieceText(text: string, resourceOther: readonly string[], slices: readonly ScopeSlice[]): string {
  const parts: string[] = ['{"resourceSpans":[{'];
  for (const member of resourceOther) parts.push(member, ',');
  parts.push('"scopeSpans":[');
  for (const [i, { scope, from, to }] of slices.entries()) {
    parts.push(i === 0 ? '{' : ',{');
    for (const member of scope.other) parts.push(member, ',');
    parts.push('"spans":[');
    for (let k = from; k < to; k++) {
      if (k > from) parts.push(',');
      parts.push(text.slice(scope.spans[2 * k], scope.spans[2 * k + 1]));
    }
    parts.push(']}');
  }
  parts.push(']}]}');
  return parts.join('');
}
