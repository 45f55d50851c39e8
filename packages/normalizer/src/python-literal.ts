/*
 * Reads the Python literal `repr()` writes for plain data: what LiteLLM puts in `metadata.usage_object` (its
 * Usage, `model_dump()`ed and turned into a string by `str()`), which is the only place its span keeps the
 * cache and reasoning counts. Not JSON: single quotes, `None` / `True` / `False`, tuples.
 *
 *   value  := dict | list | tuple | string | number | None | True | False
 *   dict   := { [value : value (, value : value)* [,]] }        keys must be strings
 *   list   := [ [value (, value)* [,]] ]
 *   tuple  := ( ) | ( value , ) | ( value (, value)+ [,] ) | ( value )   the last is the value itself
 *   string := '…' | "…"   escapes \\ \' \" \a \b \f \n \r \t \v \ooo \xhh \uhhhh \Uhhhhhhhh, a backslash
 *                         before anything else kept as it is (as Python does)
 *   number := [-] digits [. digits] [e [+-] digits]
 *
 * Anything else (a set, bytes, `inf`, a call such as `Usage(…)`, text after the value, nesting deeper than
 * MAX_DEPTH) gives undefined: the reader never guesses and never throws. Dicts become null-prototype objects,
 * so a key such as `__proto__` is a key like any other; tuples become arrays. Checked against CPython's own
 * repr (test/python-literal.test.ts).
 */

/** Containers nested deeper than this are not read (a bound on the recursion). */
export const MAX_DEPTH = 64;

class NotALiteral extends Error {}

const fail = (): never => {
  throw new NotALiteral();
};

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\n': '', // a backslash-newline continues the string
};

const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX = /^[0-9a-fA-F]+$/;

/** The value `text` is the Python repr of, or undefined when it is not a literal this reader knows. */
export function parsePythonLiteral(text: string): unknown {
  if (typeof text !== 'string') return undefined;
  const reader = new LiteralReader(text);
  try {
    const value = reader.value(0);
    reader.skipSpace();
    return reader.atEnd() ? value : undefined;
  } catch (error) {
    if (error instanceof NotALiteral) return undefined;
    throw error;
  }
}

class LiteralReader {
  private _pos = 0;

  constructor(private readonly _text: string) {}

  atEnd(): boolean {
    return this._pos === this._text.length;
  }

  skipSpace(): void {
    const t = this._text;
    let p = this._pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    this._pos = p;
  }

  value(depth: number): unknown {
    this.skipSpace();
    const c = this._text[this._pos];
    switch (c) {
      case '{':
        return this._dict(depth + 1);
      case '[':
        return this._sequence(']', depth + 1);
      case '(':
        return this._tuple(depth + 1);
      case "'":
      case '"':
        return this._string(c);
      default:
        if (this._word('None')) return null;
        if (this._word('True')) return true;
        if (this._word('False')) return false;
        return this._number();
    }
  }

  private _dict(depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) fail();
    this._pos++; // {
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    this.skipSpace();
    if (this._eat('}')) return out;
    for (;;) {
      const key = this.value(depth);
      if (typeof key !== 'string') fail();
      this.skipSpace();
      if (!this._eat(':')) fail();
      out[key as string] = this.value(depth);
      this.skipSpace();
      if (this._eat('}')) return out;
      if (!this._eat(',')) fail();
      this.skipSpace();
      if (this._eat('}')) return out;
    }
  }

  /** Items up to `close`; the opening bracket is at the cursor. */
  private _sequence(close: string, depth: number): unknown[] {
    if (depth > MAX_DEPTH) fail();
    this._pos++;
    const out: unknown[] = [];
    this.skipSpace();
    if (this._eat(close)) return out;
    for (;;) {
      out.push(this.value(depth));
      this.skipSpace();
      if (this._eat(close)) return out;
      if (!this._eat(',')) fail();
      this.skipSpace();
      if (this._eat(close)) return out;
    }
  }

  /** `(x)` is x; `()`, `(x,)` and `(x, y)` are tuples (arrays here). */
  private _tuple(depth: number): unknown {
    if (depth > MAX_DEPTH) fail();
    const start = this._pos;
    this._pos++;
    this.skipSpace();
    if (this._eat(')')) return [];
    const first = this.value(depth);
    this.skipSpace();
    if (this._eat(')')) return first;
    this._pos = start;
    return this._sequence(')', depth);
  }

  private _string(quote: string): string {
    const t = this._text;
    let p = this._pos + 1;
    let out = '';
    let from = p;
    for (;;) {
      if (p >= t.length) fail();
      const c = t[p];
      if (c === quote) break;
      if (c === '\n' || c === '\r') fail(); // only triple-quoted strings span lines, and repr never writes them
      if (c !== '\\') {
        p++;
        continue;
      }
      out += t.slice(from, p);
      const e = t[p + 1];
      if (e === undefined) fail();
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        out += simple;
        p += 2;
      } else if (e === 'x' || e === 'u' || e === 'U') {
        const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = t.slice(p + 2, p + 2 + n);
        if (hex.length !== n || !HEX.test(hex)) fail();
        const code = parseInt(hex, 16);
        if (code > 0x10ffff) fail();
        out += String.fromCodePoint(code);
        p += 2 + n;
      } else if (e >= '0' && e <= '7') {
        let q = p + 1;
        while (q < p + 4 && t[q] >= '0' && t[q] <= '7') q++;
        out += String.fromCharCode(parseInt(t.slice(p + 1, q), 8));
        p = q;
      } else if (e === 'N') {
        fail(); // a named character: repr never writes one
      } else {
        out += '\\' + e; // an unknown escape keeps its backslash, as in Python
        p += 2;
      }
      from = p;
    }
    out += t.slice(from, p);
    this._pos = p + 1;
    return out;
  }

  private _number(): number {
    NUMBER.lastIndex = this._pos;
    const m = NUMBER.exec(this._text);
    if (m === null) fail();
    const end = this._pos + m![0].length;
    // `1e5x`, `12abc`, `1.` or `1j`: not a number this reader knows.
    if (/[\w.]/.test(this._text[end] ?? '')) fail();
    this._pos = end;
    return Number(m![0]);
  }

  private _word(word: string): boolean {
    if (!this._text.startsWith(word, this._pos)) return false;
    if (/\w/.test(this._text[this._pos + word.length] ?? '')) return false;
    this._pos += word.length;
    return true;
  }

  private _eat(c: string): boolean {
    if (this._text[this._pos] !== c) return false;
    this._pos++;
    return true;
  }
}
