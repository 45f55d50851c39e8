import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MAX_INT_DIGITS,
  MAX_JSON_DEPTH,
  decimalDigitValue,
  floatRepr,
  formatPyValue,
  fromAttributeValue,
  parseJson,
  pyAscii,
  pyNumber,
  pyRepr,
  pyStr,
} from '../src/python-format.js';
import type { PyValue } from '../src/python-format.js';

// Expected strings below are CPython 3.11 outputs; the bulk of the CPython conformance checking is the
// generated fixture in format-template.test.ts (scripts/gen-python-format-cases.py).

const NUM_RUNS = Number(process.env['FC_NUM_RUNS'] ?? 1000);

describe('pyRepr', () => {
  it('quotes strings like CPython', () => {
    assert.equal(pyRepr('plain'), "'plain'");
    assert.equal(pyRepr("it's"), `"it's"`);
    assert.equal(pyRepr('say "hi"'), `'say "hi"'`);
    assert.equal(pyRepr(`both ' and "`), `'both \\' and "'`);
    assert.equal(pyRepr(''), "''");
  });

  it('escapes backslashes, control and non-printable characters', () => {
    assert.equal(pyRepr('a\\b'), "'a\\\\b'");
    assert.equal(pyRepr('\n\r\t\x00\x1f\x7f'), "'\\n\\r\\t\\x00\\x1f\\x7f'");
    assert.equal(pyRepr('\x85\xa0\u00ad\u200b\u2028\u3000'), "'\\x85\\xa0\\xad\\u200b\\u2028\\u3000'");
    assert.equal(pyRepr('\u{e0001}\ue000\u0378'), "'\\U000e0001\\ue000\\u0378'");
    assert.equal(pyRepr('\ud800x\udfff'), "'\\ud800x\\udfff'");
    assert.equal(pyRepr('é😀中 '), "'é😀中 '");
  });

  it('prints the other Python types', () => {
    assert.equal(pyRepr(true), 'True');
    assert.equal(pyRepr(false), 'False');
    assert.equal(pyRepr(null), 'None');
    assert.equal(pyRepr(12345678901234567890n), '12345678901234567890');
    assert.equal(pyRepr(-3n), '-3');
    assert.equal(pyRepr(['a', 1n, 1.0, null, [], new Map()]), "['a', 1, 1.0, None, [], {}]");
    assert.equal(
      pyRepr(
        new Map<string, PyValue>([
          ['k', 'v'],
          ["it's", [true]],
        ]),
      ),
      `{'k': 'v', "it's": [True]}`,
    );
  });

  it('stops soon after the limit, keeping an exact prefix', () => {
    const long = 'x'.repeat(10_000);
    const cut = pyRepr(long, 20);
    assert.ok(cut.length > 20 && cut.length < 100);
    assert.ok(pyRepr(long).startsWith(cut));
    const list = Array.from({ length: 10_000 }, () => 'item');
    const cutList = pyRepr(list, 50);
    assert.ok(cutList.length > 50 && cutList.length < 100);
    assert.ok(pyRepr(list).startsWith(cutList));
  });
});

describe('floatRepr', () => {
  it('matches repr(float)', () => {
    const cases: Array<[number, string]> = [
      [1, '1.0'],
      [0.1, '0.1'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [1e16, '1e+16'],
      [1e15, '1000000000000000.0'],
      [123456789, '123456789.0'],
      [-0, '-0.0'],
      [0, '0.0'],
      [Infinity, 'inf'],
      [-Infinity, '-inf'],
      [NaN, 'nan'],
      [5e-324, '5e-324'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [2 / 3, '0.6666666666666666'],
      [1e22, '1e+22'],
      [-1.5e-7, '-1.5e-07'],
    ];
    for (const [x, expected] of cases) assert.equal(floatRepr(x), expected, String(x));
  });

  it('round-trips every double', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (x) => {
        assert.ok(Object.is(Number(floatRepr(x).replace('inf', 'Infinity')), x));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

/** Independent oracle: is |x|·10^p exactly halfway between two integers? (toString(2) is exact.) */
function isTie(x: number, p: number): boolean {
  const [intPart, fracPart = ''] = Math.abs(x).toString(2).split('.');
  const num = BigInt('0b' + (intPart + fracPart));
  const den = 1n << BigInt(fracPart.length);
  const scaled = 2n * num * 10n ** BigInt(p);
  return scaled % den === 0n && (scaled / den) % 2n === 1n;
}

describe('float formatting against V8', () => {
  it("'f' agrees with toFixed except on exact ties, which round half to even", () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e20, max: 1e20 }).filter((x) => !Object.is(x, -0)),
        fc.integer({ min: 0, max: 20 }),
        (x, p) => {
          const ours = formatPyValue(x, '', `.${p}f`, Infinity)!;
          if (!isTie(x, p)) assert.equal(ours, x.toFixed(p));
          else assert.equal(Number(ours.replace('.', '').slice(-1)) % 2, 0, ours);
        },
      ),
      { numRuns: NUM_RUNS },
    );
    // Dyadic values make ties common.
    fc.assert(
      fc.property(
        fc.integer({ min: -100_000, max: 100_000 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 6 }),
        (k, j, p) => {
          const x = k / 2 ** j;
          if (Object.is(x, -0)) return;
          const ours = formatPyValue(x, '', `.${p}f`, Infinity)!;
          if (!isTie(x, p)) assert.equal(ours, x.toFixed(p));
          else assert.equal(Number(ours.replace('.', '').slice(-1)) % 2, 0, ours);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it("'e' agrees with toExponential (away from ties) and always has a two-digit exponent", () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => x !== 0),
        fc.integer({ min: 0, max: 20 }),
        (x, p) => {
          const ours = formatPyValue(x, '', `.${p}e`, Infinity)!;
          assert.match(ours, /e[+-]\d\d\d?$/);
          const v8 = x.toExponential(p).replace(/e([+-])(\d)$/, 'e$10$2');
          const exp = Number(ours.slice(ours.indexOf('e') + 1));
          if (ours !== v8) assert.ok(isTie(x, p - exp) || isTie(x, p - exp + 1), `${ours} vs ${v8}`);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it("'.17g' round-trips", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        assert.ok(Object.is(Number(formatPyValue(x, '', '.17g', Infinity)), x));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('int formatting', () => {
  it('agrees with BigInt#toString for every base and grouping', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), (n) => {
        const sign = n < 0n ? '-' : '';
        const abs = n < 0n ? -n : n;
        assert.equal(formatPyValue(n, '', 'd', Infinity), n.toString());
        assert.equal(formatPyValue(n, '', '#x', Infinity), sign + '0x' + abs.toString(16));
        assert.equal(formatPyValue(n, '', '#X', Infinity), sign + '0X' + abs.toString(16).toUpperCase());
        assert.equal(formatPyValue(n, '', '#o', Infinity), sign + '0o' + abs.toString(8));
        assert.equal(formatPyValue(n, '', 'b', Infinity), n.toString(2));
        assert.equal(formatPyValue(n, '', ',', Infinity)!.replace(/,/g, ''), n.toString());
        assert.equal(formatPyValue(n, '', '_x', Infinity)!.replace(/_/g, ''), n.toString(16));
        assert.match(formatPyValue(n, '', ',', Infinity)!, /^-?\d{1,3}(,\d{3})*$/);
        assert.match(formatPyValue(n, '', '_b', Infinity)!, /^-?[01]{1,4}(_[01]{4})*$/);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('zero-pads inside the sign and grouping', () => {
    assert.equal(formatPyValue(1234n, '', '010,', Infinity), '00,001,234');
    assert.equal(formatPyValue(1234n, '', '08,', Infinity), '0,001,234');
    assert.equal(formatPyValue(-42n, '', '06', Infinity), '-00042');
    assert.equal(formatPyValue(255n, '', '#010x', Infinity), '0x000000ff');
  });

  it('formats bools as ints except with an empty spec', () => {
    assert.equal(formatPyValue(true, '', '', Infinity), 'True');
    assert.equal(formatPyValue(true, '', 'd', Infinity), '1');
    assert.equal(formatPyValue(false, '', '>3', Infinity), '  0');
    assert.equal(formatPyValue(true, '', 's', Infinity), undefined);
  });
});

describe('conversions and truncation', () => {
  const pyValue: fc.Arbitrary<PyValue> = fc.letrec<{ value: PyValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.boolean(),
      fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
      fc.double(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.array(fc.tuple(fc.string({ maxLength: 4 }), tie('value')), { maxLength: 4 }).map((e) => new Map(e)),
    ),
  })).value;

  const convert = { r: pyRepr, s: pyStr, a: pyAscii } as const;

  it('truncates to the precision exactly as formatting the whole conversion would', () => {
    fc.assert(
      fc.property(pyValue, fc.constantFrom('r', 's', 'a'), fc.integer({ min: 0, max: 30 }), (v, conv, p) => {
        const full = convert[conv as 'r'](v);
        const expected = Array.from(full).slice(0, p).join('');
        assert.equal(formatPyValue(v, conv, `.${p}`, 1000), expected);
        assert.equal(formatPyValue(v, conv, `>${p + 3}.${p}`, 1000)!.trimStart(), expected.trimStart());
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('returns the whole conversion within the budget and undefined past it', () => {
    fc.assert(
      fc.property(pyValue, fc.constantFrom('r', 's', 'a'), fc.integer({ min: 0, max: 60 }), (v, conv, budget) => {
        const full = convert[conv as 'r'](v);
        const got = formatPyValue(v, conv, '', budget);
        assert.equal(got, full.length <= budget ? full : undefined);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('ascii() output is ASCII', () => {
    fc.assert(
      fc.property(pyValue, (v) => {
        assert.match(pyAscii(v), /^[\x00-\x7f]*$/);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('rejects unknown conversions and specs on None, lists and dicts', () => {
    assert.equal(formatPyValue('x', 'x', '', 100), undefined);
    assert.equal(formatPyValue(null, '', '>5', 100), undefined);
    assert.equal(formatPyValue(['a'], '', 's', 100), undefined);
    assert.equal(formatPyValue(null, 's', '>5', 100), ' None');
    assert.equal(formatPyValue(new Map(), '', '', 100), '{}');
  });
});

describe('parseJson', () => {
  it('keeps ints and floats apart like json.loads', () => {
    assert.equal(parseJson('1'), 1n);
    assert.equal(parseJson('-0'), 0n);
    assert.ok(Object.is(parseJson('-0.0'), -0));
    assert.equal(parseJson('1.0'), 1);
    assert.equal(parseJson('1e2'), 100);
    assert.equal(parseJson('1E+2'), 100);
    assert.equal(parseJson('123456789012345678901234567890'), 123456789012345678901234567890n);
    assert.equal(parseJson('1e400'), Infinity);
    assert.ok(Number.isNaN(parseJson('NaN')));
    assert.equal(parseJson('[Infinity, -Infinity]') instanceof Array, true);
  });

  it('builds dicts as Maps with the last value of a duplicate key in its first position', () => {
    const d = parseJson('{"a": 1, "b": 2, "a": 3}') as Map<string, PyValue>;
    assert.deepEqual(
      [...d.entries()],
      [
        ['a', 3n],
        ['b', 2n],
      ],
    );
    const proto = parseJson('{"__proto__": {"polluted": true}}') as Map<string, PyValue>;
    assert.ok(proto instanceof Map && proto.has('__proto__'));
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it('decodes strings and escapes', () => {
    assert.equal(parseJson('"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t"'), 'a"b\\c/d\b\f\n\r\t');
    assert.equal(parseJson('"\\u00e9\\ud83d\\ude00\\udc00"'), 'é😀\udc00');
    assert.equal(parseJson(' \t\n\r"x" \n'), 'x');
  });

  it('rejects what json.loads rejects', () => {
    for (const text of [
      '',
      ' ',
      '01',
      '1.',
      '.5',
      '+1',
      '-',
      '1e',
      '[1,]',
      '{"a":1,}',
      '{a:1}',
      "'x'",
      '"\\x41"',
      '"\\u12"',
      '"a\nb"',
      'nul',
      'True',
      '[1] [2]',
      '{"a" 1}',
      '\ufeff[1]',
      'infinity',
      '-NaN',
    ]) {
      assert.equal(parseJson(text), undefined, JSON.stringify(text));
    }
  });

  it(`limits nesting to ${MAX_JSON_DEPTH} and integers to ${MAX_INT_DIGITS} digits`, () => {
    assert.notEqual(parseJson('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH)), undefined);
    assert.equal(parseJson('['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1)), undefined);
    assert.equal(parseJson('{"a":'.repeat(MAX_JSON_DEPTH + 1) + '1' + '}'.repeat(MAX_JSON_DEPTH + 1)), undefined);
    assert.equal(typeof parseJson('-' + '9'.repeat(MAX_INT_DIGITS)), 'bigint');
    assert.equal(parseJson('9'.repeat(MAX_INT_DIGITS + 1)), undefined);
    // eslint-disable-next-line no-loss-of-precision -- the point: a float literal this large is Infinity
    assert.equal(parseJson('9'.repeat(MAX_INT_DIGITS + 1) + '.0'), 1e4301 /* Infinity, a float */);
  });

  it('agrees with JSON.parse on valid JSON, up to the int/float and dict representation', () => {
    const toPlain = (v: PyValue): unknown => {
      if (typeof v === 'bigint') return Number(v);
      if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, toPlain(x)]));
      if (Array.isArray(v)) return v.map(toPlain);
      return v;
    };
    fc.assert(
      fc.property(fc.json(), (text) => {
        const ours = parseJson(text);
        assert.notEqual(ours, undefined);
        // JSON.parse would give '__proto__' keys prototype semantics; compare structure via re-serialisation.
        assert.equal(JSON.stringify(toPlain(ours!)), JSON.stringify(JSON.parse(text)));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('OTel values', () => {
  it('reads integral numbers within int64 as ints', () => {
    assert.equal(pyNumber(3), 3n);
    assert.equal(pyNumber(-(2 ** 63)), -(2n ** 63n));
    assert.equal(pyNumber(2 ** 64), 2 ** 64);
    assert.ok(Object.is(pyNumber(-0), -0));
    assert.equal(pyNumber(0.5), 0.5);
    assert.ok(Number.isNaN(pyNumber(NaN)));
  });

  it('converts attribute values', () => {
    assert.deepEqual(fromAttributeValue(['a', null, undefined]), ['a', null, null]);
    assert.deepEqual(fromAttributeValue([1, 1.5]), [1n, 1.5]);
    assert.equal(fromAttributeValue({}), undefined);
    assert.equal(fromAttributeValue([{}]), undefined);
    assert.equal(fromAttributeValue(undefined), undefined);
    assert.equal(fromAttributeValue(1n), undefined);
  });
});

describe('decimalDigitValue', () => {
  it('reads every Unicode decimal digit like Py_UNICODE_TODECIMAL', () => {
    assert.equal(decimalDigitValue('7'.codePointAt(0)!), 7);
    assert.equal(decimalDigitValue('٣'.codePointAt(0)!), 3);
    assert.equal(decimalDigitValue('۹'.codePointAt(0)!), 9);
    assert.equal(decimalDigitValue(0x1d7ce), 0); // MATHEMATICAL BOLD DIGIT ZERO
    assert.equal(decimalDigitValue(0x1d7e1), 9); // MATHEMATICAL DOUBLE-STRUCK DIGIT NINE
    assert.equal(decimalDigitValue(0x1d7ff), 9);
    assert.equal(decimalDigitValue('²'.codePointAt(0)!), -1); // No, not Nd
    assert.equal(decimalDigitValue('a'.codePointAt(0)!), -1);
  });
});
