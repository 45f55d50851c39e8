/**
 * A model of the Python values a Logfire message template can reach, and CPython's `format()`, `str()`,
 * `repr()` and `ascii()` over them (the parts of `str.format` that do not depend on the template).
 *
 * Value model: Python tells `int` from `float`, so ints are `bigint` (exact, like Python's arbitrary
 * precision ints) and floats are `number`. Strings are JS strings: a surrogate pair is one Python code
 * point and a lone surrogate is a lone surrogate code point, as in CPython. `None` is `null`, lists are
 * arrays and dicts are `Map`s (insertion ordered like Python dicts, and free of prototype keys).
 *
 * Every function here returns `undefined` where CPython raises, and never throws for well-typed input.
 */

/** A Python value: `str`, `bool`, `int` (bigint), `float` (number), `None` (null), `list` or `dict`. */
export type PyValue = string | boolean | bigint | number | null | PyList | PyDict;
/** A Python `list`. */
export type PyList = readonly PyValue[];
/** A Python `dict` with `str` keys, as produced by `json.loads`. */
export type PyDict = ReadonlyMap<string, PyValue>;

/** Largest field width accepted in a format spec; a wider field makes the spec invalid. */
export const MAX_FORMAT_WIDTH = 1000;
/** Largest precision accepted in a format spec; a larger precision makes the spec invalid. */
export const MAX_FORMAT_PRECISION = 1000;
/** Deepest nesting of arrays/objects accepted by {@link parseJson}; deeper text is not JSON to us. */
export const MAX_JSON_DEPTH = 512;
/**
 * Longest JSON integer literal (in digits) accepted by {@link parseJson}: CPython 3.11's default
 * `sys.int_info.default_max_str_digits`, past which `json.loads` raises.
 */
export const MAX_INT_DIGITS = 4300;

// OTel ints are int64; an integral double outside that range cannot have been a Python int.
const INT64_BOUND = 2 ** 63;

/**
 * Maps a JS number from an OTel attribute to a Python number. OTLP keeps int and double apart but a JS
 * number does not, so: an integral number within the int64 range is an `int`; anything else (fractions,
 * `-0`, `NaN`, infinities, integral values beyond int64) is a `float`. A Python float with an integral
 * value such as `2.0` therefore reads back as the int `2`.
 */
export function pyNumber(n: number): bigint | number {
  return Number.isInteger(n) && !Object.is(n, -0) && Math.abs(n) <= INT64_BOUND ? BigInt(n) : n;
}

/**
 * Converts an OTel attribute value (string, number, boolean or homogeneous array) to a Python value.
 * Array holes, `null` and `undefined` elements become `None`. Returns `undefined` for anything else.
 */
export function fromAttributeValue(value: unknown): PyValue | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return pyNumber(value);
    case 'object': {
      if (!Array.isArray(value)) return undefined;
      const out: PyValue[] = [];
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (item === null || item === undefined) out.push(null);
        else if (typeof item === 'string' || typeof item === 'boolean') out.push(item);
        else if (typeof item === 'number') out.push(pyNumber(item));
        else return undefined;
      }
      return out;
    }
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// json.loads

/**
 * Parses `text` the way Python's `json.loads` does (Logfire serialises dicts and lists with `json.dumps`):
 * integer literals become `int` (bigint) and literals with a fraction or exponent become `float`, so
 * `1.0` stays a float; `NaN`, `Infinity` and `-Infinity` are accepted; duplicate keys keep the first
 * position and the last value. Returns `undefined` for invalid JSON, nesting deeper than
 * {@link MAX_JSON_DEPTH} or an integer longer than {@link MAX_INT_DIGITS} digits. Linear in `text`.
 */
export function parseJson(text: string): PyValue | undefined {
  const n = text.length;
  let i = 0;

  const skipWhitespace = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      i++;
    }
  };

  const literal = (word: string): boolean => {
    if (!text.startsWith(word, i)) return false;
    i += word.length;
    return true;
  };

  const isDigit = (at: number): boolean => {
    const c = text.charCodeAt(at);
    return c >= 0x30 && c <= 0x39;
  };

  const parseNumber = (): PyValue | undefined => {
    const start = i;
    if (text.charCodeAt(i) === 0x2d) i++;
    if (text.charCodeAt(i) === 0x30) i++;
    else if (isDigit(i)) while (isDigit(i)) i++;
    else return undefined;
    const intDigits = i - start;
    let isFloat = false;
    // Like Python's NUMBER_RE, a '.' or exponent without digits is not part of the number (and the
    // leftover character then fails the enclosing parse).
    if (text.charCodeAt(i) === 0x2e && isDigit(i + 1)) {
      i += 2;
      while (isDigit(i)) i++;
      isFloat = true;
    }
    const e = text.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      let j = i + 1;
      const s = text.charCodeAt(j);
      if (s === 0x2b || s === 0x2d) j++;
      if (isDigit(j)) {
        i = j;
        while (isDigit(i)) i++;
        isFloat = true;
      }
    }
    const literalText = text.slice(start, i);
    if (isFloat) return Number(literalText);
    if (intDigits - (text.charCodeAt(start) === 0x2d ? 1 : 0) > MAX_INT_DIGITS) return undefined;
    return BigInt(literalText);
  };

  const parseString = (): string | undefined => {
    i++; // opening quote
    let out = '';
    let run = i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(run, i);
        i++;
        return out;
      }
      if (c < 0x20) return undefined; // json.loads is strict about control characters
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += text.slice(run, i);
      const esc = text.charCodeAt(i + 1);
      switch (esc) {
        case 0x22:
          out += '"';
          break;
        case 0x5c:
          out += '\\';
          break;
        case 0x2f:
          out += '/';
          break;
        case 0x62:
          out += '\b';
          break;
        case 0x66:
          out += '\f';
          break;
        case 0x6e:
          out += '\n';
          break;
        case 0x72:
          out += '\r';
          break;
        case 0x74:
          out += '\t';
          break;
        case 0x75: {
          let code = 0;
          for (let k = i + 2; k < i + 6; k++) {
            const h = hexValue(text.charCodeAt(k));
            if (h < 0) return undefined;
            code = code * 16 + h;
          }
          // Surrogate halves written as two escapes join up into one code point by themselves.
          out += String.fromCharCode(code);
          i += 4;
          break;
        }
        default:
          return undefined;
      }
      i += 2;
      run = i;
    }
    return undefined;
  };

  const parseValue = (depth: number): PyValue | undefined => {
    skipWhitespace();
    if (i >= n) return undefined;
    const c = text.charCodeAt(i);
    switch (c) {
      case 0x7b: // {
        return parseObject(depth + 1);
      case 0x5b: // [
        return parseArray(depth + 1);
      case 0x22:
        return parseString();
      case 0x74:
        return literal('true') ? true : undefined;
      case 0x66:
        return literal('false') ? false : undefined;
      case 0x6e:
        return literal('null') ? null : undefined;
      case 0x4e:
        return literal('NaN') ? NaN : undefined;
      case 0x49:
        return literal('Infinity') ? Infinity : undefined;
      case 0x2d:
        return literal('-Infinity') ? -Infinity : parseNumber();
      default:
        return parseNumber();
    }
  };

  const parseArray = (depth: number): PyValue | undefined => {
    if (depth > MAX_JSON_DEPTH) return undefined;
    i++;
    const out: PyValue[] = [];
    skipWhitespace();
    if (text.charCodeAt(i) === 0x5d) {
      i++;
      return out;
    }
    for (;;) {
      const item = parseValue(depth);
      if (item === undefined) return undefined;
      out.push(item);
      skipWhitespace();
      const c = text.charCodeAt(i++);
      if (c === 0x5d) return out;
      if (c !== 0x2c) return undefined;
    }
  };

  const parseObject = (depth: number): PyValue | undefined => {
    if (depth > MAX_JSON_DEPTH) return undefined;
    i++;
    const out = new Map<string, PyValue>();
    skipWhitespace();
    if (text.charCodeAt(i) === 0x7d) {
      i++;
      return out;
    }
    for (;;) {
      skipWhitespace();
      if (text.charCodeAt(i) !== 0x22) return undefined;
      const key = parseString();
      if (key === undefined) return undefined;
      skipWhitespace();
      if (text.charCodeAt(i++) !== 0x3a) return undefined;
      const item = parseValue(depth);
      if (item === undefined) return undefined;
      out.set(key, item);
      skipWhitespace();
      const c = text.charCodeAt(i++);
      if (c === 0x7d) return out;
      if (c !== 0x2c) return undefined;
    }
  };

  const value = parseValue(0);
  if (value === undefined) return undefined;
  skipWhitespace();
  return i === n ? value : undefined;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

// ---------------------------------------------------------------------------------------------------
// Unicode helpers

const DECIMAL_DIGIT = /^\p{Nd}$/u;

function isDecimalDigit(cp: number): boolean {
  return DECIMAL_DIGIT.test(String.fromCodePoint(cp));
}

/**
 * The value of a Unicode decimal digit (general category Nd, what CPython's `Py_UNICODE_TODECIMAL`
 * accepts in field indexes, widths and precisions), or -1. Unicode allocates Nd characters in runs of
 * complete 0..9 sets, so the value is the offset from the start of the run, modulo 10.
 */
export function decimalDigitValue(cp: number): number {
  if (cp >= 0x30 && cp <= 0x39) return cp - 0x30;
  if (cp < 0x80 || !isDecimalDigit(cp)) return -1;
  let start = cp;
  // The longest run (mathematical digits, U+1D7CE..U+1D7FF) has 50 characters.
  for (let k = 0; k < 100 && start > 0 && isDecimalDigit(start - 1); k++) start--;
  return (cp - start) % 10;
}

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/**
 * Approximates CPython's `str.isprintable()` for one non-ASCII code point: categories Cc, Cf, Cs, Co, Cn,
 * Zl, Zp and Zs are not printable. Node's Unicode tables may be newer than the running CPython's, so
 * code points assigned in between differ.
 */
function isPrintableNonAscii(cp: number): boolean {
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  return !NON_PRINTABLE.test(String.fromCodePoint(cp));
}

function hex(value: number, width: number): string {
  return value.toString(16).padStart(width, '0');
}

/** The backslash escape CPython uses for a code point: `\xNN`, `\uNNNN` or `\UNNNNNNNN`. */
function escapeCodePoint(cp: number): string {
  if (cp <= 0xff) return '\\x' + hex(cp, 2);
  if (cp <= 0xffff) return '\\u' + hex(cp, 4);
  return '\\U' + hex(cp, 8);
}

/** Code point at `i` and how many UTF-16 units it takes (a lone surrogate is its own code point). */
function codePointWidth(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}

// ---------------------------------------------------------------------------------------------------
// repr / str / ascii

/** Per-call caches that keep repeated work on the same large value linear. */
export class PyMemo {
  /** The quote `repr` picks for long strings, so a template repeating `{long!r:.1}` does not rescan. */
  readonly quotes = new Map<string, string>();
  /** Exact decimal expansions (up to ~770 digits each) of the floats formatted with a precision. */
  readonly decimals = new Map<number, DecimalDigits>();
}

// Strings shorter than this are scanned for quotes directly; a cache lookup would cost as much.
const QUOTE_MEMO_MIN_LENGTH = 256;

/**
 * Accumulates a repr. Writing stops soon after `limit` UTF-16 units: callers then know the text is longer
 * than `limit` and hold an exact prefix of it, which is all a precision or the output cap needs.
 */
class ReprWriter {
  text = '';
  constructor(
    readonly limit: number,
    readonly memo: PyMemo | undefined,
  ) {}

  get full(): boolean {
    return this.text.length > this.limit;
  }
}

function chooseQuote(s: string, memo: PyMemo | undefined): string {
  if (memo !== undefined && s.length >= QUOTE_MEMO_MIN_LENGTH) {
    const cached = memo.quotes.get(s);
    if (cached !== undefined) return cached;
    const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
    memo.quotes.set(s, quote);
    return quote;
  }
  // CPython prefers single quotes and switches to double quotes only when that avoids escaping.
  return s.includes("'") && !s.includes('"') ? '"' : "'";
}

function writeStrRepr(w: ReprWriter, s: string): void {
  const quote = chooseQuote(s, w.memo);
  const quoteCode = quote.charCodeAt(0);
  w.text += quote;
  const n = s.length;
  let run = 0;
  let i = 0;
  while (i < n) {
    if (w.text.length + (i - run) > w.limit) {
      w.text += s.slice(run, i);
      return;
    }
    const c = s.charCodeAt(i);
    let width = 1;
    let escape: string | undefined;
    if (c >= 0x20 && c < 0x7f) {
      if (c === quoteCode || c === 0x5c) escape = '\\' + s[i];
    } else if (c < 0x80) {
      if (c === 0x09) escape = '\\t';
      else if (c === 0x0a) escape = '\\n';
      else if (c === 0x0d) escape = '\\r';
      else escape = '\\x' + hex(c, 2);
    } else {
      width = codePointWidth(s, i);
      const cp = width === 2 ? s.codePointAt(i)! : c;
      if (!isPrintableNonAscii(cp)) escape = escapeCodePoint(cp);
    }
    if (escape !== undefined) {
      w.text += s.slice(run, i) + escape;
      run = i + width;
    }
    i += width;
  }
  w.text += s.slice(run) + quote;
}

function writeRepr(w: ReprWriter, v: PyValue): void {
  if (w.full) return;
  switch (typeof v) {
    case 'string':
      writeStrRepr(w, v);
      return;
    case 'boolean':
      w.text += v ? 'True' : 'False';
      return;
    case 'bigint':
      w.text += v.toString();
      return;
    case 'number':
      w.text += floatRepr(v);
      return;
    default:
      break;
  }
  if (v === null) {
    w.text += 'None';
  } else if (v instanceof Map) {
    w.text += '{';
    let first = true;
    for (const [key, item] of v) {
      if (!first) w.text += ', ';
      first = false;
      writeStrRepr(w, key);
      if (w.full) return;
      w.text += ': ';
      writeRepr(w, item);
      if (w.full) return;
    }
    w.text += '}';
  } else {
    const list = v as PyList;
    w.text += '[';
    for (let i = 0; i < list.length; i++) {
      if (i > 0) w.text += ', ';
      writeRepr(w, list[i]);
      if (w.full) return;
    }
    w.text += ']';
  }
}

/**
 * Python `repr(value)`. When the repr is longer than `limit` UTF-16 units, returns an exact prefix longer
 * than `limit` instead (callers test `result.length > limit`). The default limit is unbounded.
 */
export function pyRepr(value: PyValue, limit = Infinity, memo?: PyMemo): string {
  const w = new ReprWriter(limit, memo);
  writeRepr(w, value);
  return w.text;
}

/** Python `str(value)`; same `limit` contract as {@link pyRepr} (a `str` value is returned whole). */
export function pyStr(value: PyValue, limit = Infinity, memo?: PyMemo): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'boolean':
    case 'bigint':
    case 'number':
      return pyRepr(value);
    default:
      return pyRepr(value, limit, memo);
  }
}

/** Python `ascii(value)`: the repr with non-ASCII code points backslash-escaped. Same `limit` contract. */
export function pyAscii(value: PyValue, limit = Infinity, memo?: PyMemo): string {
  const repr = pyRepr(value, limit, memo);
  let out = '';
  let run = 0;
  let i = 0;
  while (i < repr.length) {
    const c = repr.charCodeAt(i);
    if (c < 0x80) {
      i++;
      continue;
    }
    const width = codePointWidth(repr, i);
    out += repr.slice(run, i) + escapeCodePoint(width === 2 ? repr.codePointAt(i)! : c);
    i += width;
    run = i;
  }
  return run === 0 ? repr : out + repr.slice(run);
}

// ---------------------------------------------------------------------------------------------------
// Floats: exact decimal expansion and CPython's PyOS_double_to_string

/** A float's decimal digits, as CPython's dtoa returns them. */
export interface DecimalDigits {
  /** Significant decimal digits without trailing zeros; '' for a value rounded to zero. */
  digits: string;
  /** Decimal point position: value = 0.digits × 10^decpt (dtoa's convention). */
  decpt: number;
}

const FLOAT_VIEW = new DataView(new ArrayBuffer(8));

/** The exact decimal expansion of a finite positive double (every double is a finite decimal). */
function exactDecimal(x: number): DecimalDigits {
  FLOAT_VIEW.setFloat64(0, x);
  const hi = FLOAT_VIEW.getUint32(0);
  const lo = FLOAT_VIEW.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  // 53-bit significand as a number: exact, and cheaper to strip of trailing zero bits than a bigint.
  let mantissa = (hi & 0xfffff) * 2 ** 32 + lo;
  let exp: number;
  if (biased === 0) {
    exp = -1074;
  } else {
    mantissa += 2 ** 52;
    exp = biased - 1075;
  }
  while (mantissa % 2 === 0) {
    mantissa /= 2;
    exp++;
  }
  let digits: string;
  let decpt: number;
  if (exp >= 0) {
    digits = (BigInt(mantissa) << BigInt(exp)).toString();
    decpt = digits.length;
  } else {
    // m / 2^k = m·5^k / 10^k
    digits = (BigInt(mantissa) * 5n ** BigInt(-exp)).toString();
    decpt = digits.length + exp;
  }
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) === 0x30) end--;
  return { digits: digits.slice(0, end), decpt };
}

/** Rounds exact digits to `keep` significant digits, ties to even (CPython's correctly rounded dtoa). */
function roundHalfEven(exact: DecimalDigits, keep: number): DecimalDigits {
  const { digits, decpt } = exact;
  if (keep >= digits.length) return exact;
  if (keep < 0) return { digits: '', decpt };
  const next = digits.charCodeAt(keep) - 0x30;
  let up = next > 5;
  if (next === 5) {
    // Trailing zeros are stripped, so anything after the 5 makes it more than half.
    up = digits.length > keep + 1 || (keep > 0 && (digits.charCodeAt(keep - 1) - 0x30) % 2 === 1);
  }
  let kept = digits.slice(0, keep);
  if (!up) {
    let end = kept.length;
    while (end > 0 && kept.charCodeAt(end - 1) === 0x30) end--;
    return { digits: kept.slice(0, end), decpt };
  }
  let k = kept.length - 1;
  while (k >= 0 && kept.charCodeAt(k) === 0x39) k--;
  if (k < 0) return { digits: '1', decpt: decpt + 1 };
  kept = kept.slice(0, k) + String.fromCharCode(kept.charCodeAt(k) + 1);
  return { digits: kept, decpt };
}

/** Shortest round-tripping digits (what `repr(float)` uses); V8's and CPython's choices agree. */
function shortestDigits(x: number): DecimalDigits {
  const s = x.toExponential();
  const e = s.indexOf('e');
  const mantissa = s.slice(0, e);
  const digits = mantissa.length > 1 ? mantissa[0] + mantissa.slice(2) : mantissa;
  return { digits, decpt: Number(s.slice(e + 1)) + 1 };
}

type FloatCode = 'e' | 'f' | 'g' | 'r';

interface FloatFlags {
  alternate: boolean;
  addDot0: boolean;
  noNegZero: boolean;
  upper: boolean;
}

/**
 * CPython's `PyOS_double_to_string` followed by `format_float_short`: `code` 'e'/'f'/'g' with a
 * precision, or 'r' for the shortest repr. Trailing '.' is dropped unless `alternate`; `addDot0` forces
 * one digit after the point in fixed notation (repr, and the no-type format).
 */
function doubleToString(x: number, code: FloatCode, precision: number, flags: FloatFlags, memo?: PyMemo): string {
  if (Number.isNaN(x)) return flags.upper ? 'NAN' : 'nan';
  let negative = x < 0 || Object.is(x, -0);
  if (!Number.isFinite(x)) return (negative ? '-' : '') + (flags.upper ? 'INF' : 'inf');
  if (code === 'e') precision++;
  if (code === 'g' && precision === 0) precision = 1;
  const ax = Math.abs(x);
  let d: DecimalDigits;
  if (ax === 0) d = { digits: '0', decpt: 1 };
  else if (code === 'r') d = shortestDigits(ax);
  else {
    let exact = memo?.decimals.get(ax);
    if (exact === undefined) {
      exact = exactDecimal(ax);
      memo?.decimals.set(ax, exact);
    }
    d = roundHalfEven(exact, code === 'f' ? exact.decpt + precision : precision);
    if (d.digits === '') d = { digits: '', decpt: -precision };
  }
  const { digits } = d;
  let decpt = d.decpt;
  if (flags.noNegZero && negative && (digits === '' || digits === '0')) negative = false;

  let vEnd = digits.length;
  let useExp = false;
  switch (code) {
    case 'e':
      useExp = true;
      vEnd = precision;
      break;
    case 'f':
      vEnd = decpt + precision;
      break;
    case 'g':
      if (decpt <= -4 || decpt > (flags.addDot0 ? precision - 1 : precision)) useExp = true;
      if (flags.alternate) vEnd = precision;
      break;
    case 'r':
      if (decpt <= -4 || decpt > 16) useExp = true;
      break;
  }
  let exp = 0;
  if (useExp) {
    exp = decpt - 1;
    decpt = 1;
  }
  const vStart = decpt <= 0 ? decpt - 1 : 0;
  vEnd = Math.max(vEnd, !useExp && flags.addDot0 ? decpt + 1 : decpt);

  let out = negative ? '-' : '';
  if (decpt <= 0) out += '0'.repeat(decpt - vStart) + '.' + '0'.repeat(-decpt);
  if (decpt > 0 && decpt <= digits.length) out += digits.slice(0, decpt) + '.' + digits.slice(decpt);
  else out += digits;
  if (digits.length < decpt) out += '0'.repeat(decpt - digits.length) + '.' + '0'.repeat(vEnd - decpt);
  else out += '0'.repeat(vEnd - digits.length);
  if (out.endsWith('.') && !flags.alternate) out = out.slice(0, -1);
  if (useExp) {
    const mag = Math.abs(exp);
    out += (flags.upper ? 'E' : 'e') + (exp < 0 ? '-' : '+') + (mag < 10 ? '0' : '') + mag;
  }
  return out;
}

const REPR_FLAGS: FloatFlags = { alternate: false, addDot0: true, noNegZero: false, upper: false };

/** Python `repr(float)`: shortest round-trip digits, e.g. `1.0`, `0.1`, `1e-05`, `1e+16`, `inf`, `-0.0`. */
export function floatRepr(x: number): string {
  return doubleToString(x, 'r', 0, REPR_FLAGS);
}

// ---------------------------------------------------------------------------------------------------
// Format spec mini-language

interface FormatSpec {
  fill: string;
  align: string;
  sign: string;
  noNegZero: boolean;
  alternate: boolean;
  width: number;
  /** '' (none), ',' or '_' (every 3 digits), or '_4' (every 4 digits, for b/o/x/X). */
  grouping: string;
  precision: number;
  type: string;
}

function isAlign(c: string | undefined): boolean {
  return c === '<' || c === '>' || c === '=' || c === '^';
}

/**
 * Parses `[[fill]align][sign][z][#][0][width][grouping][.precision][type]` like CPython's
 * `parse_internal_render_format_spec`, including its checks that do not depend on the value's type.
 */
function parseSpec(spec: string, defaultType: string, defaultAlign: string): FormatSpec | undefined {
  const cps = Array.from(spec);
  const end = cps.length;
  let pos = 0;
  const out: FormatSpec = {
    fill: ' ',
    align: defaultAlign,
    sign: '',
    noNegZero: false,
    alternate: false,
    width: -1,
    grouping: '',
    precision: -1,
    type: defaultType,
  };
  let fillSpecified = false;
  let alignSpecified = false;
  if (end - pos >= 2 && isAlign(cps[pos + 1])) {
    out.fill = cps[pos]!;
    out.align = cps[pos + 1]!;
    fillSpecified = alignSpecified = true;
    pos += 2;
  } else if (end - pos >= 1 && isAlign(cps[pos])) {
    out.align = cps[pos]!;
    alignSpecified = true;
    pos++;
  }
  const signChar = cps[pos];
  if (signChar === '+' || signChar === '-' || signChar === ' ') {
    out.sign = signChar;
    pos++;
  }
  if (cps[pos] === 'z') {
    out.noNegZero = true;
    pos++;
  }
  if (cps[pos] === '#') {
    out.alternate = true;
    pos++;
  }
  // Backwards-compatible zero padding: '0' before the width means fill '0' (and '=' alignment for
  // numbers), unless a fill was given explicitly.
  if (!fillSpecified && cps[pos] === '0') {
    out.fill = '0';
    if (!alignSpecified && defaultAlign === '>') out.align = '=';
    pos++;
  }

  const readInteger = (): number => {
    let value = 0;
    let consumed = 0;
    for (;;) {
      const c = cps[pos];
      const digit = c === undefined ? -1 : decimalDigitValue(c.codePointAt(0)!);
      if (digit < 0) break;
      // Saturate: anything past the caps is rejected, so the exact value does not matter.
      value = Math.min(value * 10 + digit, 1e9);
      consumed++;
      pos++;
    }
    return consumed === 0 ? -1 : value;
  };

  out.width = readInteger();
  if (out.width > MAX_FORMAT_WIDTH) return undefined;
  if (cps[pos] === ',') {
    out.grouping = ',';
    pos++;
  }
  if (cps[pos] === '_') {
    if (out.grouping !== '') return undefined; // "Cannot specify both ',' and '_'."
    out.grouping = '_';
    pos++;
  }
  if (cps[pos] === ',' && out.grouping === '_') return undefined;
  if (cps[pos] === '.') {
    pos++;
    out.precision = readInteger();
    if (out.precision < 0) return undefined; // "Format specifier missing precision"
    if (out.precision > MAX_FORMAT_PRECISION) return undefined;
  }
  if (end - pos > 1) return undefined; // "Invalid format specifier"
  if (end - pos === 1) out.type = cps[pos]!;

  if (out.grouping !== '') {
    switch (out.type) {
      case 'd':
      case 'e':
      case 'f':
      case 'g':
      case 'E':
      case 'G':
      case '%':
      case 'F':
      case '':
        break;
      case 'b':
      case 'o':
      case 'x':
      case 'X':
        if (out.grouping !== '_') return undefined;
        out.grouping = '_4';
        break;
      default:
        return undefined; // "Cannot specify ',' with 's'." and friends
    }
  }
  return out;
}

/**
 * CPython's `_PyUnicode_InsertThousandsGrouping`: groups `digits` from the right every `size` digits
 * (`size` 0: no grouping), padding with zeros, and separators between them, up to `minWidth` characters.
 */
function groupDigits(digits: string, minWidth: number, size: number, sep: string): string {
  let remaining = digits.length;
  let pos = digits.length;
  let width = Math.max(0, minWidth);
  const groups: string[] = [];
  let useSep = false;
  let done = false;
  if (size > 0) {
    for (;;) {
      const len = Math.min(size, Math.max(remaining, width, 1));
      const zeros = Math.max(0, len - remaining);
      const chars = Math.max(0, Math.min(remaining, len));
      groups.push('0'.repeat(zeros) + digits.slice(pos - chars, pos) + (useSep ? sep : ''));
      pos -= chars;
      useSep = true;
      remaining -= chars;
      width -= len;
      if (remaining <= 0 && width <= 0) {
        done = true;
        break;
      }
      width -= sep.length;
    }
  }
  if (!done) {
    const len = Math.max(remaining, width, 1);
    const zeros = Math.max(0, len - remaining);
    const chars = Math.max(0, Math.min(remaining, len));
    groups.push('0'.repeat(zeros) + digits.slice(pos - chars, pos) + (useSep ? sep : ''));
  }
  return groups.reverse().join('');
}

/**
 * CPython's `calc_number_widths` + `fill_number`: lays out
 * `<lpad><sign><prefix><spad><grouped digits><decimal point><remainder><rpad>`.
 * `remainderLength` is in code points (the `c` type's character may be astral).
 */
function layoutNumber(
  spec: FormatSpec,
  negative: boolean,
  prefix: string,
  digits: string,
  hasDecimal: boolean,
  remainder: string,
  remainderLength: number,
  grouping: string,
): string {
  let sign = '';
  if (spec.sign === '+') sign = negative ? '-' : '+';
  else if (spec.sign === ' ') sign = negative ? '-' : ' ';
  else if (negative) sign = '-';
  const nonDigits = sign.length + prefix.length + (hasDecimal ? 1 : 0) + remainderLength;
  const minWidth = spec.fill === '0' && spec.align === '=' ? spec.width - nonDigits : 0;
  let grouped = '';
  if (digits.length > 0) {
    if (grouping === '_4') grouped = groupDigits(digits, minWidth, 4, '_');
    else if (grouping === '') grouped = groupDigits(digits, minWidth, 0, '');
    else grouped = groupDigits(digits, minWidth, 3, grouping);
  }
  const padding = spec.width - (nonDigits + grouped.length);
  let left = 0;
  let inner = 0;
  let right = 0;
  if (padding > 0) {
    switch (spec.align) {
      case '<':
        right = padding;
        break;
      case '^':
        left = padding >> 1;
        right = padding - left;
        break;
      case '=':
        inner = padding;
        break;
      default:
        left = padding;
    }
  }
  return (
    spec.fill.repeat(left) +
    sign +
    prefix +
    spec.fill.repeat(inner) +
    grouped +
    (hasDecimal ? '.' : '') +
    remainder +
    spec.fill.repeat(right)
  );
}

/** `str.__format__` with a parsed spec: precision truncates, width pads (both in code points). */
function formatStrSpec(s: string, spec: FormatSpec): string | undefined {
  if (spec.type !== 's') return undefined;
  if (spec.sign !== '' || spec.noNegZero || spec.alternate || spec.align === '=') return undefined;
  // Only the first max(width, precision) + 1 code points matter, so long strings cost O(width).
  const limit = Math.max(spec.width, spec.precision) + 1;
  let count = 0;
  let i = 0;
  let cut = s.length;
  while (i < s.length && count < limit) {
    if (count === spec.precision) cut = i;
    i += codePointWidth(s, i);
    count++;
  }
  let text = s;
  let length = count;
  if (spec.precision >= 0 && count > spec.precision) {
    text = s.slice(0, cut);
    length = spec.precision;
  }
  const padding = spec.width - length;
  if (padding <= 0) return text;
  let left = 0;
  if (spec.align === '>') left = padding;
  else if (spec.align === '^') left = padding >> 1;
  return spec.fill.repeat(left) + text + spec.fill.repeat(padding - left);
}

/** `int.__format__` (also used by `bool` for non-empty specs). */
function formatIntSpec(value: bigint, specText: string, memo: PyMemo | undefined): string | undefined {
  const spec = parseSpec(specText, 'd', '>');
  if (spec === undefined) return undefined;
  switch (spec.type) {
    case 'b':
    case 'c':
    case 'd':
    case 'o':
    case 'x':
    case 'X':
    case 'n':
      break;
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
    case '%': {
      // int → float conversion rounds half-even, like PyLong_AsDouble; too large is an OverflowError.
      const x = Number(value);
      return Number.isFinite(x) ? formatFloatParsed(x, spec, memo) : undefined;
    }
    default:
      return undefined;
  }
  if (spec.precision !== -1 || spec.noNegZero) return undefined;
  if (spec.type === 'c') {
    if (spec.sign !== '' || spec.alternate) return undefined;
    if (value < 0n || value > 0x10ffffn) return undefined;
    return layoutNumber(spec, false, '', '', false, String.fromCodePoint(Number(value)), 1, '');
  }
  let base = 10;
  let prefix = '';
  switch (spec.type) {
    case 'b':
      base = 2;
      prefix = '0b';
      break;
    case 'o':
      base = 8;
      prefix = '0o';
      break;
    case 'x':
      base = 16;
      prefix = '0x';
      break;
    case 'X':
      base = 16;
      prefix = '0X';
      break;
  }
  const negative = value < 0n;
  let digits = (negative ? -value : value).toString(base);
  if (spec.type === 'X') digits = digits.toUpperCase();
  // 'n' groups by the current locale, which is the C locale (no grouping) unless Python set another.
  const grouping = spec.type === 'n' ? '' : spec.grouping;
  return layoutNumber(spec, negative, spec.alternate ? prefix : '', digits, false, '', 0, grouping);
}

/** `float.__format__`. */
function formatFloatSpec(x: number, specText: string, memo: PyMemo | undefined): string | undefined {
  const spec = parseSpec(specText, '', '>');
  return spec === undefined ? undefined : formatFloatParsed(x, spec, memo);
}

function formatFloatParsed(x: number, spec: FormatSpec, memo: PyMemo | undefined): string | undefined {
  let code: FloatCode;
  let defaultPrecision = 6;
  let addDot0 = false;
  let upper = false;
  switch (spec.type) {
    case '':
      // No type: like repr without a precision, else like 'g' with at least one digit after the point.
      code = 'r';
      addDot0 = true;
      defaultPrecision = 0;
      break;
    case 'E':
      upper = true;
      code = 'e';
      break;
    case 'e':
      code = 'e';
      break;
    case 'F':
      upper = true;
      code = 'f';
      break;
    case 'f':
    case '%':
      code = 'f';
      break;
    case 'G':
      upper = true;
      code = 'g';
      break;
    case 'g':
    case 'n':
      code = 'g';
      break;
    default:
      return undefined;
  }
  const value = spec.type === '%' ? x * 100 : x;
  let precision = spec.precision;
  if (precision < 0) precision = defaultPrecision;
  else if (code === 'r') code = 'g';
  let text = doubleToString(
    value,
    code,
    precision,
    {
      alternate: spec.alternate,
      addDot0,
      noNegZero: spec.noNegZero,
      upper,
    },
    memo,
  );
  if (spec.type === '%') text += '%';
  const negative = text.charCodeAt(0) === 0x2d;
  if (negative) text = text.slice(1);
  // CPython's parse_number: leading digits are grouped, then an optional '.', then the remainder.
  let digitsEnd = 0;
  while (digitsEnd < text.length) {
    const c = text.charCodeAt(digitsEnd);
    if (c < 0x30 || c > 0x39) break;
    digitsEnd++;
  }
  const hasDecimal = text.charCodeAt(digitsEnd) === 0x2e;
  const remainder = text.slice(hasDecimal ? digitsEnd + 1 : digitsEnd);
  const grouping = spec.type === 'n' ? '' : spec.grouping;
  return layoutNumber(spec, negative, '', text.slice(0, digitsEnd), hasDecimal, remainder, remainder.length, grouping);
}

/**
 * Python `format(value, spec)` after an optional `!r`/`!s`/`!a` conversion, i.e. what `str.format`
 * does for one replacement field once its value and (expanded) spec are known.
 *
 * `budget` bounds the work on large values: when the result would be longer than `budget` UTF-16 units
 * for lack of a precision, `undefined` is returned; results of bounded size (numbers, padded text) may
 * still exceed it and are for the caller to check. Returns `undefined` wherever CPython raises.
 */
export function formatPyValue(
  value: PyValue,
  conversion: string,
  spec: string,
  budget: number,
  memo?: PyMemo,
): string | undefined {
  let convert: typeof pyStr;
  switch (conversion) {
    case '':
      return formatUnconverted(value, spec, budget, memo);
    case 's':
      convert = pyStr;
      break;
    case 'r':
      convert = pyRepr;
      break;
    case 'a':
      convert = pyAscii;
      break;
    default:
      return undefined; // "Unknown conversion specifier"
  }
  if (spec === '') {
    const text = convert(value, budget, memo);
    return text.length > budget ? undefined : text;
  }
  const parsed = parseSpec(spec, 's', '<');
  if (parsed === undefined) return undefined;
  // With a precision only the first `precision` code points (at most two units each) are needed.
  const limit = parsed.precision >= 0 ? 2 * parsed.precision + 2 : budget;
  const text = convert(value, limit, memo);
  if (parsed.precision < 0 && text.length > budget) return undefined;
  return formatStrSpec(text, parsed);
}

function formatUnconverted(value: PyValue, spec: string, budget: number, memo: PyMemo | undefined): string | undefined {
  if (spec === '') {
    const text = pyStr(value, budget, memo);
    return text.length > budget ? undefined : text;
  }
  switch (typeof value) {
    case 'string': {
      const parsed = parseSpec(spec, 's', '<');
      return parsed === undefined ? undefined : formatStrSpec(value, parsed);
    }
    case 'bigint':
      return formatIntSpec(value, spec, memo);
    case 'boolean':
      return formatIntSpec(value ? 1n : 0n, spec, memo);
    case 'number':
      return formatFloatSpec(value, spec, memo);
    default:
      // object.__format__ (None, list, dict) rejects any non-empty spec.
      return undefined;
  }
}
