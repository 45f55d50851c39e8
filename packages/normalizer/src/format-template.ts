/**
 * CPython `str.format` over OpenTelemetry attributes, as Pydantic Logfire uses it to turn a span's
 * message template (`Chat Completion with {request_data[model]!r}`) into its message.
 *
 * The template is read in one left-to-right pass by a character scanner (no regular expressions run over
 * it); nested format-spec fields are read once more, so the work is linear in the template's length, plus
 * one parse of each JSON attribute a field reaches into. Output is capped at {@link MAX_OUTPUT_LENGTH}.
 */
import type { Attributes } from './types.js';
import { PyMemo, decimalDigitValue, formatPyValue, fromAttributeValue, parseJson } from './python-format.js';
import type { PyDict, PyList, PyValue } from './python-format.js';

export { MAX_FORMAT_PRECISION, MAX_FORMAT_WIDTH, MAX_JSON_DEPTH } from './python-format.js';

/**
 * Longest message {@link formatTemplate} produces, in UTF-16 code units; a template whose message would
 * be longer formats to `undefined` (a truncated message would not be what Python printed).
 */
export const MAX_OUTPUT_LENGTH = 65_536;

// CPython's str.format recursion budget: the template itself, plus one level of replacement fields
// inside format specs ("Max string recursion exceeded" beyond that).
const TEMPLATE_DEPTH = 2;

// Names that would reach JS prototypes if ever used as property keys: refused wherever they appear.
const FORBIDDEN_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

// Plain strings longer than this cache their code points when indexed (`{s[12345]}` repeated).
const CODE_POINT_MEMO_MIN_LENGTH = 1024;

const BRACE_OPEN = 0x7b;
const BRACE_CLOSE = 0x7d;

/**
 * Formats a Logfire message template with CPython `str.format` semantics, taking field values from
 * `attributes`. Returns `undefined` wherever Python would raise (bad syntax, unknown field, bad format
 * spec) and when a limit below is exceeded; never throws.
 *
 * Field lookup, for a field name (the text before `!` or `:`):
 * 1. Names Python treats as positional (`{}`, `{0}`, `{0.x}`, `{.x}`) fail: there are no positional args.
 * 2. An attribute whose key is the whole name is used as is, so `{gen_ai.request.model}` finds the key
 *    `gen_ai.request.model`.
 * 3. Otherwise the name is parsed like Python: a first name, then `.attr` and `[key]` accesses (`[0]`,
 *    all decimal digits, is an integer index; anything else a string key). Logfire stores dicts and lists
 *    as JSON text, so an access on a string holding a JSON object or array reaches into the parsed JSON
 *    (`{request_data[model]}`, `{a.b}`, `{a[0]}`): `.attr` and `[key]` read an object's own keys, `[n]`
 *    a list's element (an integer key on a dict fails, as JSON keys are strings). `[n]` on any other
 *    string is its n-th code point, as in Python. Any other access (e.g. `{x.real}`) fails.
 * 4. A field named `__proto__`, `constructor` or `prototype`, or reaching through an attribute or key of
 *    one of those names, fails (only own keys of the attribute map and of parsed JSON are ever read).
 *
 * Values: strings, booleans and lists as in Python; a number is an `int` when integral within the
 * int64 range (not -0), else a `float` (so a Python float `2.0` prints as `2`); JSON keeps `1` and
 * `1.0` apart. Conversions `!r`, `!s`, `!a` and the full format-spec mini-language follow CPython,
 * with `n` in the C locale.
 *
 * Limits: a width over {@link MAX_FORMAT_WIDTH}, a precision over {@link MAX_FORMAT_PRECISION} or a
 * message over {@link MAX_OUTPUT_LENGTH} code units gives `undefined`; a string holding JSON nested deeper
 * than {@link MAX_JSON_DEPTH} levels is not reached into (it stays a plain string).
 *
 * @example formatTemplate('streaming response from {request_data[model]!r} took {duration:.2f}s',
 *   { request_data: '{"model": "gpt-4o"}', duration: 1.2345 })
 *   // → "streaming response from 'gpt-4o' took 1.23s"
 */
export function formatTemplate(template: string, attributes: Attributes): string | undefined {
  if (typeof template !== 'string') return undefined;
  try {
    return render(template, TEMPLATE_DEPTH, new Lookup(attributes), MAX_OUTPUT_LENGTH);
  } catch {
    // Errors are returned, not thrown; this only catches hostile attribute objects (throwing getters, proxies).
    return undefined;
  }
}

/** A replacement field's parts: `text[nameStart, nameEnd)`, conversion, `text[specStart, specEnd)`. */
interface Field {
  nameStart: number;
  nameEnd: number;
  conversion: string;
  specStart: number;
  specEnd: number;
  /** The spec contains `{`: it is itself a template to expand first. */
  specIsTemplate: boolean;
  /** Index just past the field's closing `}`. */
  end: number;
}

/**
 * CPython's MarkupIterator: literal text with `{{`/`}}` escapes, and replacement fields. Returns
 * `undefined` on any error or when the output would exceed `limit`.
 */
function render(text: string, depth: number, lookup: Lookup, limit: number): string | undefined {
  if (depth <= 0) return undefined;
  const n = text.length;
  let out = '';
  let i = 0;
  while (i < n) {
    let j = i;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c === BRACE_OPEN || c === BRACE_CLOSE) break;
      j++;
    }
    out += text.slice(i, j);
    if (j >= n) break;
    const next = j + 1 < n ? text.charCodeAt(j + 1) : -1;
    if (text.charCodeAt(j) === BRACE_CLOSE) {
      if (next !== BRACE_CLOSE) return undefined; // "Single '}' encountered"
      out += '}';
      i = j + 2;
    } else if (next === BRACE_OPEN) {
      out += '{';
      i = j + 2;
    } else {
      if (next === -1) return undefined; // "Single '{' encountered"
      const field = scanField(text, j + 1);
      if (field === undefined) return undefined;
      const piece = renderField(text, field, depth, lookup, limit - out.length);
      if (piece === undefined) return undefined;
      out += piece;
      i = field.end;
    }
    if (out.length > limit) return undefined;
  }
  return out.length > limit ? undefined : out;
}

/** CPython's parse_field, starting just after the opening `{`. */
function scanField(text: string, start: number): Field | undefined {
  const n = text.length;
  let k = start;
  let terminator = -1;
  while (k < n) {
    const c = text.charCodeAt(k++);
    if (c === BRACE_OPEN) return undefined; // "unexpected '{' in field name"
    if (c === 0x5b /* [ */) {
      // Inside brackets ':', '!' and '}' are part of the key.
      while (k < n && text.charCodeAt(k) !== 0x5d /* ] */) k++;
      continue;
    }
    if (c === BRACE_CLOSE || c === 0x3a /* : */ || c === 0x21 /* ! */) {
      terminator = c;
      break;
    }
  }
  if (terminator === -1) return undefined; // "expected '}' before end of string"
  const field: Field = {
    nameStart: start,
    nameEnd: k - 1,
    conversion: '',
    specStart: k,
    specEnd: k,
    specIsTemplate: false,
    end: k,
  };
  if (terminator === BRACE_CLOSE) return field;
  if (terminator === 0x21) {
    if (k >= n) return undefined; // "end of string while looking for conversion specifier"
    field.conversion = text[k++]!;
    if (k < n) {
      const c = text.charCodeAt(k++);
      if (c === BRACE_CLOSE) {
        field.specStart = field.specEnd = field.end = k;
        return field;
      }
      if (c !== 0x3a) return undefined; // "expected ':' after conversion specifier"
    }
  }
  field.specStart = k;
  let open = 1;
  while (k < n) {
    const c = text.charCodeAt(k++);
    if (c === BRACE_OPEN) {
      field.specIsTemplate = true;
      open++;
    } else if (c === BRACE_CLOSE && --open === 0) {
      field.specEnd = k - 1;
      field.end = k;
      return field;
    }
  }
  return undefined; // "unmatched '{' in format spec"
}

function renderField(text: string, field: Field, depth: number, lookup: Lookup, budget: number): string | undefined {
  const value = lookup.resolve(text.slice(field.nameStart, field.nameEnd));
  if (value === undefined) return undefined;
  let spec = text.slice(field.specStart, field.specEnd);
  if (field.specIsTemplate) {
    const expanded = render(spec, depth - 1, lookup, MAX_OUTPUT_LENGTH);
    if (expanded === undefined) return undefined;
    spec = expanded;
  }
  return formatPyValue(value, field.conversion, spec, budget, lookup.memo);
}

/** CPython's get_integer: the value of a non-empty run of Unicode decimal digits, else -1. */
function integerValue(s: string): number {
  if (s.length === 0) return -1;
  let value = 0;
  for (const ch of s) {
    const digit = decimalDigitValue(ch.codePointAt(0)!);
    if (digit < 0) return -1;
    // Saturate: no list or string here is anywhere near this long.
    value = Math.min(value * 10 + digit, Number.MAX_SAFE_INTEGER);
  }
  return value;
}

function isContainer(v: PyValue | undefined): v is PyList | PyDict {
  return v instanceof Map || Array.isArray(v);
}

/** Field resolution against one attribute map, with per-call caches. */
class Lookup {
  readonly memo = new PyMemo();
  private readonly _converted = new Map<string, PyValue | undefined>();
  private readonly _json = new Map<string, PyList | PyDict | null>();
  private readonly _codePoints = new Map<string, readonly string[]>();
  private readonly _attributes: Attributes;

  constructor(attributes: Attributes) {
    this._attributes = typeof attributes === 'object' && attributes !== null ? attributes : {};
  }

  /** The value a field name refers to, or `undefined` when Python would raise. */
  resolve(name: string): PyValue | undefined {
    const n = name.length;
    let k = 0;
    while (k < n) {
      const c = name.charCodeAt(k);
      if (c === 0x2e /* . */ || c === 0x5b /* [ */) break;
      k++;
    }
    const first = name.slice(0, k);
    if (first === '' || integerValue(first) >= 0) return undefined; // positional: no args
    if (FORBIDDEN_NAMES.has(name) || FORBIDDEN_NAMES.has(first)) return undefined;
    const whole = this._attribute(name);
    if (whole !== undefined || k === n) return whole;
    let value = this._attribute(first);
    while (value !== undefined && k < n) {
      const c = name.charCodeAt(k++);
      const start = k;
      let part: string;
      if (c === 0x2e) {
        while (k < n) {
          const d = name.charCodeAt(k);
          if (d === 0x2e || d === 0x5b) break;
          k++;
        }
        part = name.slice(start, k);
        if (part === '' || FORBIDDEN_NAMES.has(part)) return undefined; // "Empty attribute in format string"
        value = this._getAttribute(value, part);
      } else if (c === 0x5b) {
        while (k < n && name.charCodeAt(k) !== 0x5d) k++;
        if (k >= n) return undefined; // "Missing ']' in format string"
        part = name.slice(start, k++);
        if (part === '' || FORBIDDEN_NAMES.has(part)) return undefined;
        value = this._getItem(value, part);
      } else {
        return undefined; // "Only '.' or '[' may follow ']' in format field specifier"
      }
    }
    return value;
  }

  private _attribute(key: string): PyValue | undefined {
    if (this._converted.has(key)) return this._converted.get(key);
    const value = Object.hasOwn(this._attributes, key) ? fromAttributeValue(this._attributes[key]) : undefined;
    this._converted.set(key, value);
    return value;
  }

  /** `getattr(value, name)`, defined only for dicts (and JSON objects held in strings). */
  private _getAttribute(value: PyValue, name: string): PyValue | undefined {
    const target = typeof value === 'string' ? this._parsedJson(value) : value;
    return target instanceof Map ? target.get(name) : undefined;
  }

  /** `value[key]`: list index, dict key, or code point of a plain string. */
  private _getItem(value: PyValue, key: string): PyValue | undefined {
    const index = integerValue(key);
    let target: PyValue = value;
    if (typeof value === 'string') {
      const parsed = this._parsedJson(value);
      if (parsed === null) return index >= 0 ? this._codePointAt(value, index) : undefined;
      target = parsed;
    }
    if (target instanceof Map) return index >= 0 ? undefined : target.get(key);
    if (Array.isArray(target)) return index >= 0 && index < target.length ? target[index] : undefined;
    return undefined;
  }

  /** The JSON array or object a string holds, else `null`; each distinct string is parsed once. */
  private _parsedJson(s: string): PyList | PyDict | null {
    const cached = this._json.get(s);
    if (cached !== undefined) return cached;
    let result: PyList | PyDict | null = null;
    let i = 0;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      i++;
    }
    const c = s.charCodeAt(i);
    if (c === BRACE_OPEN || c === 0x5b) {
      const parsed = parseJson(s);
      if (isContainer(parsed)) result = parsed;
    }
    this._json.set(s, result);
    return result;
  }

  private _codePointAt(s: string, index: number): string | undefined {
    if (index >= s.length) return undefined;
    if (s.length >= CODE_POINT_MEMO_MIN_LENGTH) {
      let cps = this._codePoints.get(s);
      if (cps === undefined) {
        cps = Array.from(s);
        this._codePoints.set(s, cps);
      }
      return cps[index];
    }
    let count = 0;
    for (const ch of s) {
      if (count++ === index) return ch;
    }
    return undefined;
  }
}
