// parsePythonLiteral against CPython: random plain data is written by `repr()` in a real python3 (as dicts and
// lists, and again with every list a tuple), and reading the repr back must give the same data. Plus what the
// reader must refuse, and that it never throws.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { MAX_DEPTH, parsePythonLiteral } from '../src/python-literal.js';

const RUNS = Number(process.env['FC_PY_LITERAL_RUNS'] ?? 400);

/** CPython's repr of each JSON value, as [plain, with tuples for lists]. */
function cpythonReprs(values: readonly unknown[]): [string, string][] {
  const script = [
    'import json, sys',
    'def tup(v):',
    '    if isinstance(v, list): return tuple(tup(x) for x in v)',
    '    if isinstance(v, dict): return {k: tup(x) for k, x in v.items()}',
    '    return v',
    'print(json.dumps([[repr(v), repr(tup(v))] for v in json.load(sys.stdin)]))',
  ].join('\n');
  const out = execFileSync('python3', ['-c', script], { input: JSON.stringify(values), timeout: 60_000 });
  return JSON.parse(out.toString('utf8')) as [string, string][];
}

/** Plain objects for deepEqual (the reader's dicts have no prototype). */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v))
      Object.defineProperty(out, k, { value: plain(x), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

describe('parsePythonLiteral', () => {
  it('reads back what CPython repr() writes: dicts, lists, tuples, strings, numbers, None, True, False', () => {
    const values = fc.sample(
      fc.jsonValue({ maxDepth: 4, stringUnit: fc.constantFrom('grapheme', 'binary', 'binary-ascii') as never }),
      RUNS,
    );
    // What LiteLLM writes, and the strings repr has to escape.
    values.push(
      {
        completion_tokens: 418,
        prompt_tokens: 5588,
        completion_tokens_details: null,
        prompt_tokens_details: { cached_tokens: 3840 },
      },
      ["it's", 'say "hi"', 'both \' and "', '\\', '\n\r\t\x07\x0b\x7f\u0085', '\u2028 é 你好 👋🏽', '\ud800'],
      { __proto__: 1, constructor: [true, false, null] },
      [1e21, 1.5e-7, -0.5, 123456789012345, 2 ** 53 + 2, -3],
    );
    const reprs = cpythonReprs(values.map((v) => JSON.parse(JSON.stringify(v)) as unknown));
    values.forEach((v, i) => {
      const expected = JSON.parse(JSON.stringify(v)) as unknown;
      const [plainRepr, tupleRepr] = reprs[i];
      assert.deepEqual(plain(parsePythonLiteral(plainRepr)), expected, plainRepr);
      assert.deepEqual(plain(parsePythonLiteral(tupleRepr)), expected, tupleRepr);
    });
  });

  it('refuses what is not a plain literal, and text after the value', () => {
    for (const text of [
      '',
      'Usage(prompt_tokens=1)',
      "{'a': Usage(x=1)}",
      '{1, 2}',
      '{1: 2}',
      "b'bytes'",
      'inf',
      'nan',
      '1j',
      "{'a': 1} x",
      "{'a': 1",
      "'unterminated",
      "'\\N{BULLET}'",
      "'\\x4'",
      '[1,, 2]',
      '(,)',
      '-',
      'none',
      "'''triple'''",
      "'a' 'b'",
    ]) {
      assert.equal(parsePythonLiteral(text), undefined, text);
    }
  });

  it(`stops at ${MAX_DEPTH} levels of nesting`, () => {
    assert.deepEqual(parsePythonLiteral('['.repeat(MAX_DEPTH) + ']'.repeat(MAX_DEPTH))?.constructor, Array);
    assert.equal(parsePythonLiteral('['.repeat(MAX_DEPTH + 1) + ']'.repeat(MAX_DEPTH + 1)), undefined);
    assert.equal(parsePythonLiteral('['.repeat(100_000)), undefined);
  });

  it('never throws, whatever the text (property)', () => {
    const pythonish = fc.string({
      unit: fc.constantFrom(...'{}[]()\'",: -0123456789.eExuU\\NoneTrueFalse'.split('')),
      maxLength: 60,
    });
    fc.assert(
      fc.property(fc.oneof(fc.string(), pythonish), (text) => {
        parsePythonLiteral(text);
      }),
      { numRuns: RUNS * 5 },
    );
  });
});
