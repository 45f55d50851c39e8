import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  MAX_FORMAT_PRECISION,
  MAX_FORMAT_WIDTH,
  MAX_JSON_DEPTH,
  MAX_OUTPUT_LENGTH,
  formatTemplate,
} from '../src/format-template.js';
import type { AttributeValue, Attributes } from '../src/types.js';

interface ConformanceCase {
  template: string;
  attributes: Record<string, unknown>;
  expected: string | null;
  python?: { template: string; values: string };
  error?: string;
}

// The expected strings come from CPython's str.format, run by scripts/gen-python-format-cases.py
// (`python3 scripts/gen-python-format-cases.py` regenerates the fixture); none is written by hand.
const fixture = JSON.parse(readFileSync(new URL('./fixtures/python-format-cases.json', import.meta.url), 'utf8')) as {
  python: string;
  cases: ConformanceCase[];
};

/** JSON has no NaN/Infinity, so the generator writes non-finite floats as {"$float": "nan" | "inf" | "-inf"}. */
function decodeNumber(v: unknown): unknown {
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && '$float' in v) {
    const tag = (v as { $float: string }).$float;
    return tag === 'nan' ? NaN : tag === 'inf' ? Infinity : -Infinity;
  }
  return v;
}

function decodeAttributes(raw: Record<string, unknown>): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(raw)) {
    out[key] = (Array.isArray(value) ? value.map(decodeNumber) : decodeNumber(value)) as AttributeValue;
  }
  return out;
}

describe(`formatTemplate conforms to CPython ${fixture.python} str.format`, () => {
  it('has a meaningful number of cases', () => {
    assert.ok(fixture.cases.length >= 80, `only ${fixture.cases.length} cases`);
  });

  fixture.cases.forEach((c, index) => {
    const label = `#${index} ${JSON.stringify(c.template).slice(0, 100)}`;
    it(label, () => {
      const actual = formatTemplate(c.template, decodeAttributes(c.attributes));
      const context =
        `template ${JSON.stringify(c.template)}\nattributes ${JSON.stringify(c.attributes).slice(0, 300)}\n` +
        (c.python ? `python ${c.python.template} with ${c.python.values.slice(0, 300)}\n` : '') +
        (c.error ? `CPython raised ${c.error}\n` : '');
      assert.equal(actual, c.expected ?? undefined, context);
    });
  });
});

describe('formatTemplate field lookup', () => {
  it('uses an attribute whose key is the whole dotted field name', () => {
    assert.equal(
      formatTemplate('Responses API with {gen_ai.request.model!r}', { 'gen_ai.request.model': 'gpt-4o' }),
      "Responses API with 'gpt-4o'",
    );
    assert.equal(formatTemplate('{a.b[0]}', { 'a.b[0]': 'whole' }), 'whole');
  });

  it('prefers the whole key over reaching into JSON', () => {
    assert.equal(formatTemplate('{a.b}', { 'a.b': 'whole', a: '{"b": "json"}' }), 'whole');
    assert.equal(formatTemplate('{a.b}', { a: '{"b": "json"}' }), 'json');
  });

  it('does not split a dotted key from a following access (Logfire cannot either)', () => {
    assert.equal(formatTemplate('{gen_ai.stop[0]}', { 'gen_ai.stop': ['x'] }), undefined);
  });

  it('reaches into JSON objects and arrays held in string attributes', () => {
    const attributes = {
      request_data: '{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "n": 2}',
      list: ' [10, "x", {"k": "v"}] ',
    };
    assert.equal(formatTemplate('{request_data[model]}', attributes), 'gpt-4o');
    assert.equal(formatTemplate('{request_data.model}', attributes), 'gpt-4o');
    assert.equal(formatTemplate('{request_data[messages][0][content]!r}', attributes), "'hi'");
    assert.equal(formatTemplate('{request_data.messages[0].role}', attributes), 'user');
    assert.equal(formatTemplate('{request_data[n]:03d}', attributes), '002');
    assert.equal(formatTemplate('{list[0]}|{list[2].k}|{list[2][k]}', attributes), '10|v|v');
  });

  it('reaches into a JSON string found inside JSON', () => {
    const inner = JSON.stringify({ model: 'nested' });
    assert.equal(formatTemplate('{d[payload][model]}', { d: JSON.stringify({ payload: inner }) }), 'nested');
  });

  it('reads digits as a list index and anything else as a dict key', () => {
    const attributes = { d: '{"0": "zero", "-1": "minus one"}', l: '["a", "b"]' };
    assert.equal(formatTemplate('{d[0]}', attributes), undefined); // int key: JSON keys are strings
    assert.equal(formatTemplate('{d[-1]}', attributes), 'minus one');
    assert.equal(formatTemplate('{l[1]}|{l[01]}', attributes), 'b|b');
    assert.equal(formatTemplate('{l[-1]}', attributes), undefined);
    assert.equal(formatTemplate('{l[2]}', attributes), undefined);
    assert.equal(formatTemplate('{l[x]}', attributes), undefined);
    assert.equal(formatTemplate('{l.x}', attributes), undefined);
    assert.equal(formatTemplate('{l[99999999999999999999999]}', attributes), undefined);
  });

  it('indexes plain strings by code point and refuses other access on them', () => {
    assert.equal(formatTemplate('{s[0]}{s[1]}', { s: '😀é' }), '😀é');
    assert.equal(formatTemplate('{s[2]}', { s: '😀é' }), undefined);
    assert.equal(formatTemplate('{s[1]}', { s: '[not json' }), 'n');
    assert.equal(formatTemplate('{s[k]}', { s: 'plain' }), undefined);
    // Python would print a bound method here; a span name has no use for that.
    assert.equal(formatTemplate('{s.upper}', { s: 'plain' }), undefined);
    const long = 'x'.repeat(5000) + '😀' + 'y';
    assert.equal(formatTemplate('{s[5000]}{s[5001]}', { s: long }), '😀y');
  });

  it('returns undefined for a missing field, key or attribute', () => {
    assert.equal(formatTemplate('{missing}', {}), undefined);
    assert.equal(formatTemplate('{a}', { a: undefined }), undefined);
    assert.equal(formatTemplate('{a[model]}', { a: '{"other": 1}' }), undefined);
    assert.equal(formatTemplate('{a.model}', { a: 3 }), undefined);
    assert.equal(formatTemplate('{a[0]}', { a: 3 }), undefined);
    assert.equal(formatTemplate('{a.b}', { a: '{"b": 1' }), undefined);
  });

  it('never resolves __proto__, constructor or prototype', () => {
    const json = '{"__proto__": "p", "constructor": "c", "prototype": "t", "ok": {"constructor": "c"}}';
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      assert.equal(formatTemplate(`{${name}}`, {}), undefined, name);
      assert.equal(formatTemplate(`{${name}}`, JSON.parse(`{"${name}": "own"}`) as Attributes), undefined, name);
      assert.equal(formatTemplate(`{d[${name}]}`, { d: json }), undefined, name);
      assert.equal(formatTemplate(`{d.${name}}`, { d: json }), undefined, name);
      assert.equal(formatTemplate(`{d[ok][${name}]}`, { d: json }), undefined, name);
      assert.equal(formatTemplate(`{d.${name}.name}`, { d: json }), undefined, name);
      assert.equal(formatTemplate(`{s.${name}}`, { s: 'text' }), undefined, name);
      assert.equal(formatTemplate(`{l[${name}]}`, { l: ['a'] }), undefined, name);
    }
    assert.equal(formatTemplate('{toString}|{hasOwnProperty}|{valueOf}', {}), undefined);
    assert.equal(formatTemplate('{d[ok][toString]}', { d: json }), undefined);
  });

  it('rejects unbalanced braces', () => {
    for (const template of ['{', '}', 'a{', 'a}', '{x', 'x}', '{x}}', '{{x}', '{x:{y}', '{x!r', '{x[0}', '{x{y}}']) {
      assert.equal(formatTemplate(template, { x: 'v', y: 'w' }), undefined, template);
    }
    assert.equal(formatTemplate('{{x}}', { x: 'v' }), '{x}');
  });

  it('rejects positional and auto-numbered fields', () => {
    for (const template of ['{}', '{0}', '{1}', '{0[a]}', '{0.a}', '{.a}', '{[a]}', '{!r}', '{:>3}', '{٣}']) {
      assert.equal(formatTemplate(template, { '0': 'zero', '1': 'one', '': 'empty', a: 'a' }), undefined, template);
    }
  });

  it('tells int from float for OTel numbers', () => {
    assert.equal(formatTemplate('{x}', { x: 2 }), '2');
    assert.equal(formatTemplate('{x}', { x: 2.5 }), '2.5');
    assert.equal(formatTemplate('{x}', { x: -0 }), '-0.0');
    assert.equal(formatTemplate('{x}', { x: 2 ** 63 }), '9223372036854775808');
    assert.equal(formatTemplate('{x}', { x: 2 ** 64 }), '1.8446744073709552e+19');
    assert.equal(formatTemplate('{x:.1f}|{x:n}', { x: 3 }), '3.0|3');
    // JSON keeps the difference.
    assert.equal(formatTemplate('{d[i]}|{d[f]}|{d[e]}', { d: '{"i": 2, "f": 2.0, "e": 2e0}' }), '2|2.0|2.0');
    assert.equal(
      formatTemplate('{d[i]:,}', { d: '{"i": 123456789012345678901234567890}' }),
      '123,456,789,012,345,678,901,234,567,890',
    );
  });

  it('prints OTel arrays as Python lists', () => {
    assert.equal(formatTemplate('{a}', { a: ['x', null, undefined] }), "['x', None, None]");
    assert.equal(formatTemplate('{a}', { a: [1, 1.5, -0] }), '[1, 1.5, -0.0]');
    assert.equal(formatTemplate('{a}', { a: [true, false] }), '[True, False]');
    assert.equal(formatTemplate('{a}', { a: [] }), '[]');
  });
});

describe('formatTemplate limits', () => {
  it(`accepts widths and precisions up to ${MAX_FORMAT_WIDTH} / ${MAX_FORMAT_PRECISION} and no further`, () => {
    assert.equal(formatTemplate(`{x:${MAX_FORMAT_WIDTH}}`, { x: 'a' })?.length, MAX_FORMAT_WIDTH);
    assert.equal(formatTemplate(`{x:${MAX_FORMAT_WIDTH + 1}}`, { x: 'a' }), undefined);
    assert.equal(formatTemplate(`{x:0${MAX_FORMAT_WIDTH + 1}d}`, { x: 1 }), undefined);
    assert.equal(formatTemplate(`{x:99999999999999999999999999}`, { x: 1 }), undefined);
    assert.equal(formatTemplate(`{x:.${MAX_FORMAT_PRECISION}f}`, { x: 1 })?.length, MAX_FORMAT_PRECISION + 2);
    assert.equal(formatTemplate(`{x:.${MAX_FORMAT_PRECISION + 1}f}`, { x: 1 }), undefined);
    assert.equal(formatTemplate(`{x:.${MAX_FORMAT_PRECISION + 1}}`, { x: 'abc' }), undefined);
    assert.equal(formatTemplate('{x:{w}}', { x: 'a', w: MAX_FORMAT_WIDTH + 1 }), undefined);
  });

  it(`caps the output at ${MAX_OUTPUT_LENGTH} code units`, () => {
    const exact = 'a'.repeat(MAX_OUTPUT_LENGTH);
    assert.equal(formatTemplate('{x}', { x: exact }), exact);
    assert.equal(formatTemplate('{x}', { x: exact + 'a' }), undefined);
    assert.equal(formatTemplate('{x}{x}', { x: 'a'.repeat(MAX_OUTPUT_LENGTH / 2 + 1) }), undefined);
    assert.equal(formatTemplate('{x!r}', { x: 'a'.repeat(MAX_OUTPUT_LENGTH) }), undefined);
    assert.equal(formatTemplate('{x:500}'.repeat(200), { x: 1 }), undefined);
    assert.equal(formatTemplate('{{'.repeat(MAX_OUTPUT_LENGTH + 1), {}), undefined);
    assert.equal(formatTemplate('a'.repeat(MAX_OUTPUT_LENGTH + 1), {}), undefined);
    // A precision keeps a huge value usable.
    assert.equal(formatTemplate('{x!r:.5}|{x:.3}', { x: 'b'.repeat(10 * MAX_OUTPUT_LENGTH) }), "'bbbb|bbb");
  });

  it(`treats JSON nested deeper than ${MAX_JSON_DEPTH} levels as a plain string`, () => {
    const deep = (levels: number): string => '['.repeat(levels) + '"x"' + ']'.repeat(levels);
    const pathTo = (levels: number): string => '[0]'.repeat(levels);
    assert.equal(formatTemplate(`{d${pathTo(MAX_JSON_DEPTH)}}`, { d: deep(MAX_JSON_DEPTH) }), 'x');
    assert.equal(formatTemplate(`{d[0]}`, { d: deep(MAX_JSON_DEPTH + 1) }), '[');
    assert.equal(formatTemplate(`{d[0]}`, { d: deep(100_000) }), '[');
  });

  it('allows one level of nested fields in a format spec, like CPython', () => {
    assert.equal(formatTemplate('{x:{w}}', { x: 'a', w: 3 }), 'a  ');
    assert.equal(formatTemplate('{x:{w:{y}}}', { x: 'a', w: 3, y: 'd' }), undefined);
    assert.equal(formatTemplate('{x:{w:>{y}}}', { x: 'a', w: '3', y: 2 }), undefined);
  });

  it('processes long templates in a single linear pass (checked by output, not by timing)', () => {
    assert.equal(formatTemplate('{{'.repeat(50_000), {}), '{'.repeat(50_000));
    assert.equal(formatTemplate('}}'.repeat(50_000), {}), '}'.repeat(50_000));
    assert.equal(formatTemplate('{x}'.repeat(30_000), { x: 'ab' }), 'ab'.repeat(30_000));
    assert.equal(formatTemplate('{x:{w}}'.repeat(20_000), { x: 'a', w: 2 }), 'a '.repeat(20_000));
    const big = JSON.stringify({ model: 'm', filler: 'z'.repeat(1_000_000) });
    assert.equal(formatTemplate('{d[model]}'.repeat(20_000), { d: big }), 'm'.repeat(20_000));
    assert.equal(formatTemplate('{d!r:.1}'.repeat(20_000), { d: big }), "'".repeat(20_000));
    assert.equal(formatTemplate('{x:.1}'.repeat(20_000), { x: 'q'.repeat(1_000_000) }), 'q'.repeat(20_000));
    // Brackets and unclosed fields are scanned once, not once per '{'.
    assert.equal(formatTemplate('{a['.repeat(30_000), { a: 'x' }), undefined);
    assert.equal(formatTemplate('{x:' + '{'.repeat(60_000), { x: 'x' }), undefined);
    assert.equal(formatTemplate('{' + 'a'.repeat(100_000), {}), undefined);
  });
});

describe('formatTemplate robustness', () => {
  it('never throws on hostile input', () => {
    const throwing = Object.defineProperty({}, 'x', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    }) as Attributes;
    assert.equal(formatTemplate('{x}', throwing), undefined);
    const proxy = new Proxy(
      {},
      {
        getOwnPropertyDescriptor() {
          throw new Error('trap');
        },
      },
    );
    assert.equal(formatTemplate('{x}', proxy), undefined);
    const loose = formatTemplate as unknown as (t: unknown, a: unknown) => string | undefined;
    assert.equal(loose(undefined, {}), undefined);
    assert.equal(loose(42, {}), undefined);
    assert.equal(loose('{x}', null), undefined);
    assert.equal(loose('plain', undefined), 'plain');
    assert.equal(loose('{x}', { x: { nested: true } }), undefined);
    assert.equal(loose('{x}', { x: 10n }), undefined);
    assert.equal(loose('{x}', { x: [{}] }), undefined);
  });
});

const NUM_RUNS = Number(process.env['FC_NUM_RUNS'] ?? 1000);

const templateChar = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '{',
      '}',
      '[',
      ']',
      '.',
      '!',
      ':',
      'r',
      's',
      'a',
      'x',
      'd',
      'f',
      '0',
      '1',
      '9',
      '<',
      '>',
      '^',
      '=',
      '+',
      '-',
      ' ',
      ',',
      '_',
      '#',
      'z',
      '%',
      'e',
      'g',
      'n',
      'c',
      'X',
      'b',
      'o',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const template = fc.oneof(
  fc.string({ unit: templateChar, maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

const attributeKey = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'x',
      'd',
      'a',
      'w',
      'gen_ai.request.model',
      'request_data',
      '0',
      '__proto__',
      'constructor',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);
const attributeValue: fc.Arbitrary<AttributeValue | undefined> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.json({ maxDepth: 3 }),
  fc.constantFrom('{"model": "gpt-4o"}', '[1, 2.0, "x", null, true, NaN]', '{"a": {"b": [1]}}', '[', '{"x": 1e400}'),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.constant(null)), { maxLength: 4 }),
  fc.array(fc.oneof(fc.double(), fc.constant(undefined)), { maxLength: 4 }),
  fc.array(fc.boolean(), { maxLength: 4 }),
  fc.constant(undefined),
);
const attributes: fc.Arbitrary<Attributes> = fc
  .array(fc.tuple(attributeKey, attributeValue), { maxLength: 8 })
  .map((entries) => {
    const out: Attributes = {};
    for (const [k, v] of entries)
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    return out;
  });

function checkResult(result: unknown): void {
  assert.ok(result === undefined || typeof result === 'string', `unexpected result ${String(result)}`);
  if (typeof result === 'string') assert.ok(result.length <= MAX_OUTPUT_LENGTH);
}

const specPiece = fc
  .record({
    fill: fc.constantFrom('', ' ', '*', '0', '{', '😀', 'é'),
    align: fc.constantFrom('', '<', '>', '^', '='),
    sign: fc.constantFrom('', '+', '-', ' '),
    z: fc.constantFrom('', 'z'),
    alt: fc.constantFrom('', '#'),
    zero: fc.constantFrom('', '0'),
    width: fc.oneof(fc.constant(''), fc.integer({ min: 0, max: 1200 }).map(String), fc.constant('{w}')),
    grouping: fc.constantFrom('', ',', '_', ',_', '_,'),
    precision: fc.oneof(
      fc.constant(''),
      fc.integer({ min: 0, max: 1100 }).map((p) => `.${p}`),
      fc.constant('.'),
      fc.constant('.{p}'),
    ),
    type: fc.constantFrom('', 's', 'd', 'f', 'F', 'e', 'E', 'g', 'G', '%', 'x', 'X', 'o', 'b', 'n', 'c', 'r', 'ss'),
  })
  .map((p) => p.fill + p.align + p.sign + p.z + p.alt + p.zero + p.width + p.grouping + p.precision + p.type);
const fieldName = fc.constantFrom('x', 'd[k]', 'd.k', 'l[0]', 'l[9]', 'missing', 'gen_ai.request.model', '0', '');
const conversion = fc.constantFrom('', '!r', '!s', '!a', '!x', '!');
const specValue = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.double(),
  fc.boolean(),
  fc.constantFrom(0.1, 1e-5, 1e16, -0, Infinity, NaN, 65, 0x1f600, 2 ** 53, -(2 ** 63)),
);

describe('formatTemplate properties', () => {
  it('never throws on arbitrary templates and attributes, and respects the output cap', () => {
    fc.assert(
      fc.property(template, attributes, (t, attrs) => {
        checkResult(formatTemplate(t, attrs));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('never throws on templates built from format-spec pieces', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ maxLength: 3 }), fieldName, conversion, fc.option(specPiece)), { maxLength: 4 }),
        specValue,
        (fields, x) => {
          const t = fields
            .map(
              ([text, name, conv, spec]) =>
                text.replace(/[{}]/g, '') + '{' + name + conv + (spec === null ? '' : ':' + spec) + '}',
            )
            .join('');
          const attrs: Attributes = {
            x,
            d: '{"k": [1, 2.5, "s", null]}',
            l: ['a', 'b'],
            w: 7,
            p: 2,
            'gen_ai.request.model': 'gpt-4o',
          };
          checkResult(formatTemplate(t, attrs));
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('leaves templates without fields as their unescaped text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        const escaped = text.replace(/\{/g, '{{').replace(/\}/g, '}}');
        assert.equal(formatTemplate(escaped, {}), text);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('substitutes a plain field with the attribute text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (value) => {
        assert.equal(formatTemplate('<{v}>', { v: value }), `<${value}>`);
        assert.equal(formatTemplate('<{v!s:.3}>', { v: value }), `<${Array.from(value).slice(0, 3).join('')}>`);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
