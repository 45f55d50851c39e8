#!/usr/bin/env python3
"""Generate the CPython conformance cases for formatTemplate (@genai-enrich/normalizer).

Every expected string is produced here by CPython's own ``str.format``; nothing is hand-written.
Run from the repository root (any Python 3.11+):

    python3 scripts/gen-python-format-cases.py

and commit the rewritten ``packages/normalizer/test/fixtures/python-format-cases.json``.

Each case records:

* ``template``   -- the Logfire message template, as formatTemplate receives it;
* ``attributes`` -- the OpenTelemetry attribute map formatTemplate receives: dicts and nested lists are
  JSON text (as Logfire stores them), flat lists of primitives are OTel arrays, and a non-finite float is
  written ``{"$float": "nan" | "inf" | "-inf"}`` because JSON has no literal for it;
* ``expected``   -- ``py_template.format(**values)``, or ``null`` when CPython raises;
* ``python``     -- what CPython was given when that differs from template/attributes (dotted attribute
  keys renamed, JSON decoded), and ``error`` with CPython's exception when it raised.

The Python values are the objects the attributes stand for (``request_data={'model': 'gpt-4o'}`` for the
attribute ``request_data='{"model": "gpt-4o"}'``), so ``expected`` is what Logfire itself printed.
"""

from __future__ import annotations

import _string
import json
import math
import string
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

OUTPUT = Path(__file__).resolve().parent.parent / 'packages/normalizer/test/fixtures/python-format-cases.json'

# formatTemplate reads an integral JS number within the int64 range (except -0) as a Python int.
INT64_BOUND = 2**63
# JS numbers hold integers exactly up to 2**53.
SAFE_INT = 2**53

CASES: list[dict[str, Any]] = []


def is_primitive(v: Any) -> bool:
    return v is None or isinstance(v, (str, bool, int, float))


def check_number(v: Any, where: str) -> None:
    """Reject top-level numbers that formatTemplate could not tell apart from another Python type."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return
    if isinstance(v, int):
        assert abs(v) <= SAFE_INT, f'{where}: int {v} is not exact as a JS number; put it in JSON'
    elif math.isfinite(v) and v.is_integer() and abs(v) <= INT64_BOUND and math.copysign(1, v) > 0:
        raise AssertionError(f'{where}: float {v!r} would read back as an int; put it in JSON')


def to_attribute(v: Any, where: str) -> Any:
    """The OTel attribute Logfire would store for a Python value."""
    if isinstance(v, (dict, SimpleNamespace)):
        return json.dumps(as_json(v))
    if isinstance(v, list):
        if all(is_primitive(x) for x in v):
            for x in v:
                check_number(x, where)
            return v
        return json.dumps(as_json(v))
    assert is_primitive(v) and v is not None, f'{where}: unsupported attribute value {v!r}'
    check_number(v, where)
    return v


def as_json(v: Any) -> Any:
    if isinstance(v, SimpleNamespace):
        return {k: as_json(x) for k, x in vars(v).items()}
    if isinstance(v, dict):
        return {k: as_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [as_json(x) for x in v]
    return v


def encode_float(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return {'$float': 'nan' if math.isnan(v) else ('inf' if v > 0 else '-inf')}
    return v


def encode_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in attributes.items():
        out[k] = [encode_float(x) for x in v] if isinstance(v, list) else encode_float(v)
    return out


def check_json_fields(template: str, values: dict[str, Any], attributes: dict[str, Any]) -> None:
    """A field may only use a JSON-encoded attribute by reaching into it (else it would print JSON text)."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return
    for _, field, spec, _ in parsed:
        if spec and '{' in spec:
            check_json_fields(spec, values, attributes)
        if not field:
            continue
        if field in attributes:  # formatTemplate's whole-key rule
            first, reaches_in = field, False
        else:
            try:
                first, rest = _string.formatter_field_name_split(field)
                reaches_in = any(True for _ in rest)
            except ValueError:
                continue
        python_value = values.get(first) if isinstance(first, str) else None
        if isinstance(attributes.get(first), str) and first in values and not isinstance(python_value, str) and not reaches_in:
            raise AssertionError(f'{template!r}: field {field!r} would print the JSON text')


def safe_repr(v: Any) -> str:
    try:
        return repr(v)
    except ValueError:  # an int past sys.int_info.default_max_str_digits
        return '<values holding an int too long for repr()>'


def case(
    template: str,
    values: dict[str, Any] | None = None,
    *,
    attributes: dict[str, Any] | None = None,
    py_template: str | None = None,
) -> None:
    values = dict(values or {})
    py = template if py_template is None else py_template
    try:
        expected: str | None = py.format(**values)
        error = None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, OverflowError) as exc:
        expected = None
        error = f'{type(exc).__name__}: {exc}'
    derived = attributes is None
    if attributes is None:
        attributes = {k: to_attribute(v, template) for k, v in values.items()}
    else:
        for k, v in attributes.items():
            if isinstance(v, list):
                for x in v:
                    check_number(x, template)
            else:
                check_number(v, template)
    check_json_fields(template, values if py_template is None else {}, attributes)
    entry: dict[str, Any] = {
        'template': template,
        'attributes': encode_attributes(attributes),
        'expected': expected,
    }
    needs_python = not derived or py_template is not None or any(isinstance(a, str) and a != values.get(k) for k, a in attributes.items())
    if needs_python:
        entry['python'] = {'template': py, 'values': safe_repr(values)}
    if error is not None:
        entry['error'] = error
    CASES.append(entry)


def dotted(template: str, key: str, value: Any, **extra: Any) -> None:
    """A template naming a dotted OTel key: Python gets it under an identifier instead."""
    ident = key.replace('.', '_')
    case(
        template,
        {ident: value, **extra},
        attributes={key: to_attribute(value, template), **{k: to_attribute(v, template) for k, v in extra.items()}},
        py_template=template.replace('{' + key, '{' + ident),
    )


# --- Logfire's own templates -------------------------------------------------------------------------
REQ = {'model': 'gpt-4o', 'messages': [{'role': 'user', 'content': 'Hi'}], 'temperature': 0.2, 'stream': True}
case('Chat Completion with {request_data[model]!r}', {'request_data': REQ})
case('streaming response from {request_data[model]!r} took {duration:.2f}s', {'request_data': REQ, 'duration': 1.23456})
case('streaming response from {request_data[model]!r} took {duration:.2f}s', {'request_data': REQ, 'duration': 0.005})
case('streaming response from {request_data[model]!r} took {duration:.2f}s', {'request_data': REQ, 'duration': 12})
dotted('Responses API with {gen_ai.request.model!r}', 'gen_ai.request.model', 'gpt-4.1-mini')
case('Embedding Creation with {request_data[model]!r}', {'request_data': {'model': 'text-embedding-3-small', 'input': ['a', 'b']}})
case('Message with {request_data[model]!r}', {'request_data': {'model': 'claude-3-5-sonnet-20241022', 'max_tokens': 1024}})
case('OpenAI API call to {url!r}', {'url': '/chat/completions'})
case('Anthropic API call to {url!r}', {'url': "/v1/messages?beta='x'"})
case('Image Generation with {request_data[model]!r}', {'request_data': {'model': 'dall-e-3'}})
case('Completion with {request_data[model]!r}', {'request_data': {'model': 'gpt-3.5-turbo-instruct'}})
case('Chat Completion with {request_data[model]!r}', {'request_data': {'messages': []}})
case('Chat Completion with {request_data[model]!r}', {})
case('Running {agent_name} with {request_data[messages][0][content]!r}', {'agent_name': 'support', 'request_data': REQ})
case('{request_data[temperature]} / {request_data[stream]} / {request_data[messages]}', {'request_data': REQ})

# --- literal text and brace syntax ---------------------------------------------------------------------
case('', {})
case('no fields at all', {})
case('{{literal}} braces }} and {{', {})
case('}}{{', {})
case('{{{x}}}', {'x': 1})
case('{', {})
case('}', {})
case('a } b', {'x': 1})
case('{x', {'x': 1})
case('{x!r', {'x': 1})
case('{x:', {'x': 1})
case('{x:>{w}', {'x': 1, 'w': 3})
case('{x!}', {'x': 1})
case('{x!rr}', {'x': 1})
case('{x!z}', {'x': 1})
case('{x{y}}', {'x': 1, 'y': 2})
case('{}', {'x': 1})
case('{0}', {'x': 1})
case('{0[x]}', {'x': 1})
case('{.x}', {'x': 1})
case('{missing}', {'x': 1})
case('{ x }', {'x': 1})
case('{x[}', {'x': [1]})
case('{x[0]y}', {'x': [1]})
case('{x.}', {'x': {'a': 1}})
case('{x[]}', {'x': [1]})
case('{x[0}', {'x': [1]})

# --- str ---------------------------------------------------------------------------------------------------
for spec in ['', 's', '10', '<10', '>10', '^10', '*^11', '-<7', '.3', '10.3', '>10.3s', '.0', '010', '0>6',
             '=10', '+', ' ', '#', 'z', ',', '_', 'd', 'r', '.', '10.', 'ss', '^']:
    case('[{s:' + spec + '}]', {'s': 'hello'})
case('[{s:^7}]', {'s': 'héllo'})
case('[{s:*^5}|{s:.1}]', {'s': '😀ab'})
case('[{s:😀^7}]', {'s': 'abc'})
case('[{s:{f}>{w}}]', {'s': 'x', 'f': '.', 'w': 4})

# --- conversions ---------------------------------------------------------------------------------------------
for s in ["plain", "it's", 'say "hi"', 'both \' and "', 'back\\slash', 'nl\ncr\rtab\t', 'nul\x00 bel\x07 del\x7f',
          'c1\x85 nbsp\xa0', 'zwsp\u200b ls\u2028 ps\u2029 ideo\u3000', 'émoji 😀 中文', 'tag\U000e0001 pua\ue000',
          'unassigned\u0378', '\ud800 lone', '']:
    case('{s!r}|{s!a}|{s!s}', {'s': s})
case('{s!r:>12}|{s!r:.4}|{s!a:^14}', {'s': 'héllo'})
case('{i!r} {i!s} {i!a} {f!r} {b!r} {b!s}', {'i': -42, 'f': 0.1, 'b': True})
case('{i!r:>6}', {'i': 7})
case('{b} {c}', {'b': True, 'c': False})

# --- ints ------------------------------------------------------------------------------------------------
for spec in ['', 'd', '+d', '-d', ' d', '10', '<10', '^10', '=10', '010', '+010', '*>+10', '0=+10', ',', '_', '010,',
             '08,', '09_', '1,', ',d', 'n', ',n', '_n', 'b', '#b', '#010b', '_b', '#_b', 'o', '#o', 'x', '#x', 'X', '#X',
             '#012_X', ',x', 'c', '5c', '<05c', '+c', '#c', ',c', 'e', '.2e', 'f', '.2f', 'g', '%', '.1%', 'E', 'G', 'F',
             '.2', '.2d', 'zd', 'z.1f', 's', '#d', '#n', '=', 'x<10', '^+10']:
    case('[{i:' + spec + '}]', {'i': 1234567})
for spec in ['', 'd', '08', '08,', '=+8', '<8', 'x', '#x', '#010x', 'b', ',', ' ', '.1f', '%', 'c']:
    case('[{i:' + spec + '}]', {'i': -255})
case('[{i:c}|{j:c}|{k:c}]', {'i': 65, 'j': 0x1F600, 'k': 0xE9})
case('[{i:c}]', {'i': -1})
case('[{i:c}]', {'i': 0x110000})
case('[{i:d}|{i:,}|{i:x}|{i:e}]', {'i': 0})
case('{b:d} {b:>5} {b:x} {b:.2f} {b:%} {b:c}|', {'b': True})
case('{b:s}', {'b': True})
case('{b!s:>6}|{b!r:^7}', {'b': False})
case('{d[n]} {d[n]:,} {d[n]:x} {d[n]:_o} {d[n]:.3e}', {'d': {'n': 2**100}})
case('{d[n]:f}', {'d': {'n': 2**1100}})
case('{d[n]:,}', {'d': {'n': -(10**30)}})
case('{d[n]}', {'d': {'n': 10**4300}}, attributes={'d': '{"n": 1' + '0' * 4300 + '}'})
case('{d[n]}', {'d': {'n': 10**4299}})

# --- floats --------------------------------------------------------------------------------------------------
FLOATS = [0.1, 1e-05, 1e-07, 0.0001, 0.00012345, 123456.789, 1.5e300, 1e20, 1e22, 1e23, -0.0, -2.5,
          float('inf'), float('-inf'), float('nan'), 5e-324, 1.7976931348623157e308, 2 / 3, 0.125, 2.675]
for x in FLOATS:
    case('{x}|{x!r}|{x:g}|{x:e}|{x:.3}|{x:f}', {'x': x})
for spec in ['.0f', '.1f', '.2f', '.3f', '10.2f', '<10.2f', '^10.2f', '=+10.2f', '010.2f', '+.2f', ' .2f', '#.0f', '.0e',
             '#.0e', '.2E', 'E', '.0g', '.1g', '.2g', '#g', '#.3g', 'G', '.3G', '%', '.0%', '.1%', '#.0%', 'n', '.3n',
             ',', ',.2f', '_.3f', ',e', ',g', '012,.2f', '015_.1f', '.3', '.10', '#', '>12', '0>12', '*^12', 'z.1f',
             'z', 'z.0e', 'd', 'x', 'c', 's', 'b', ',n', ',.2%', '.20f', '.30g', '.50e', '.17g', '+', '=12', 'F', '.2F']:
    case('[{a:' + spec + '}|{b:' + spec + '}|{c:' + spec + '}]', {'a': 1234.5678, 'b': -0.046875, 'c': 0.5})
for spec in ['f', 'F', 'e', 'E', 'g', 'G', '%', '010', '<8', '+', ' ', ',', 'z', '#', '.2', '=+8', '08.2f']:
    case('[{p:' + spec + '}|{n:' + spec + '}|{q:' + spec + '}]', {'p': float('inf'), 'n': float('-inf'), 'q': float('nan')})
for x, spec in [(0.125, '.2f'), (0.375, '.2f'), (2.5, '.0f'), (0.5, '.0f'), (1.5, '.0f'), (1.005, '.2f'), (9.995, '.2f'),
                (0.95, '.1f'), (9.9999, '.2f'), (999999.5, 'g'), (9.5e-05, '.0e'), (0.0625, '.3f'), (1e-09, '.3f'),
                (-0.001, '.2f'), (-0.001, 'z.2f'), (-0.001, 'z.4f'), (99.5, '.3g'), (0.00099995, '.4g'), (5e-324, '.3e'),
                (5e-324, '.1000f'), (1.7976931348623157e308, ',.0f'), (1.7976931348623157e308, '.3e'),
                (2 / 3, '.100f'), (0.1, '.60f'), (123.456, '.1000g')]:
    case('{x:' + spec + '}', {'x': x})
# Integral floats cannot be top-level attributes (they read back as ints); Logfire's JSON keeps them floats.
for x in [1.0, 0.0, 2.0, 1e16, 1e15, 123456789.0, 100000.0, 1000000.0, 123.0, 4503599627370496.0, -5.0]:
    case('{d[x]}|{d[x]!r}|{d[x]:g}|{d[x]:.3}|{d[x]:,}|{d[x]:n}|{d[x]:#}', {'d': {'x': x}})
case('{d[x]:d}', {'d': {'x': 1.0}})

# --- None, lists and dicts (through JSON) ----------------------------------------------------------------
case('{d[n]}|{d[n]!r}|{d[n]!s:>6}|{d[n]!a}', {'d': {'n': None}})
case('{d[n]:>6}', {'d': {'n': None}})
case('{d[n]:s}', {'d': {'n': None}})
case('{arr}|{arr!r}|{arr[1]}|{arr[0]!r}', {'arr': ['a', "it's", 'q"uote']})
case('{arr:>20}', {'arr': ['a', 'b']})
case('{arr!s:>20}|{arr!r:.6}', {'arr': ['a', 'b']})
case('{arr[5]}', {'arr': ['a', 'b']})
case('{arr[-1]}', {'arr': ['a', 'b']})
case('{arr[00]}|{arr[1]}', {'arr': ['a', 'b']})
case('{nums} {nums[2]:+.1f}', {'nums': [1, 2, 3]})
case('{fl} {fl[0]:.1%}', {'fl': [0.5, 1e-05, 2.25]})
case('{flags}', {'flags': [True, False]})
case('{opt}', {'opt': [None, 'a', None]})
case('{d[mixed]}', {'d': {'mixed': [1, 'a', None, True, 1.5, 2.0, {'k': [1, {}]}, [], {'é': 'ü\n'}]}})
case('{d[mixed]!a}', {'d': {'mixed': ['é', {'ключ': '😀'}]}})
case('{d[inner]}|{d[inner]!r}|{d[inner][k]}', {'d': {'inner': {'k': "v'", 'n': [1, 2]}}})
case('{d[a][b][0][c]}', {'d': {'a': {'b': [{'c': 'deep'}]}}})
case('{d[list][1]}|{d[list][0][x]}', {'d': {'list': [{'x': 'first'}, 'second']}})
case('{d[0]}', {'d': {'0': 'zero'}})
case('{d[missing]}', {'d': {'k': 'v'}})
case('{d[k][0]}', {'d': {'k': 'value'}})
case('{d[k][9]}', {'d': {'k': 'value'}})
case('{d[k][x]}', {'d': {'k': 'value'}})
case('{d[k with spaces]}|{d[a.b]}|{d[:]}|{d[!]}', {'d': {'k with spaces': 1, 'a.b': 2, ':': 3, '!': 4}})
case('{d[}]}', {'d': {'}': 'brace'}})
case('{l[0]}|{l[2][k]}', {'l': [10, 'x', {'k': 'v'}]})
# Attribute access: Logfire's JSON dicts answer `.key`; Python gets an object with that attribute.
case('{d.model}|{d.usage.input_tokens:,}', {'d': SimpleNamespace(model='gpt-4o', usage=SimpleNamespace(input_tokens=12345))})
case('{d.missing}', {'d': SimpleNamespace(model='gpt-4o')})
# A JSON string inside JSON is reached into as well (Logfire nests serialised payloads).
case('{d[payload][model]}', {'d': {'payload': {'model': 'nested'}}},
     attributes={'d': json.dumps({'payload': json.dumps({'model': 'nested'})})})
# Plain strings index by code point.
case('{s[0]}|{s[1]}|{s[4]!r}', {'s': '😀héllo'})
case('{s[10]}', {'s': 'short'})
case('{s[٣]}|{l[١]}', {'s': 'abcdef', 'l': ['x', 'y']})

# --- dotted attribute keys -------------------------------------------------------------------------------
dotted('{gen_ai.request.model}', 'gen_ai.request.model', 'gpt-4o')
dotted('[{gen_ai.request.model:>10}]', 'gen_ai.request.model', 'gpt-4o')
dotted('{gen_ai.usage.input_tokens:,} tokens', 'gen_ai.usage.input_tokens', 1234567)
dotted('{gen_ai.request.temperature:.1f}', 'gen_ai.request.temperature', 0.25)
dotted('{gen_ai.request.stop_sequences!r}', 'gen_ai.request.stop_sequences', ['\n', 'END'])
case('{a.b}', {'ab': 'whole key wins'}, attributes={'a.b': 'whole key wins', 'a': '{"b": "json"}'},
     py_template='{ab}')

# --- nested replacement fields in the spec ---------------------------------------------------------------
case('[{x:{w}}]', {'x': 'ab', 'w': 6})
case('[{x:{f}^{w}}]', {'x': 'ab', 'f': '*', 'w': 7})
case('[{x:>{w}.{p}f}]', {'x': 3.14159, 'w': 10, 'p': 3})
case('[{x:{spec}}]', {'x': 0.256, 'spec': '.1%'})
case('[{x!r:{w}}]', {'x': 'ab', 'w': 6})
case('[{x:{d[w]}}]', {'x': 42, 'd': {'w': 5}})
case('[{x:{w:{y}}}]', {'x': 1, 'w': 2, 'y': 3})
case('[{x:{w!r}}]', {'x': 1, 'w': 5})
case('[{x:{missing}}]', {'x': 1})
case('[{x:{}}]', {'x': 1})
case('[{x:{{}}}]', {'x': 'ab'})
case('[{x:{w}{w}}]', {'x': 'ab', 'w': 1})
case('[{x:{{^{w}}}]', {'x': 'ab', 'w': 6})

# --- Unicode digits in widths and indexes ----------------------------------------------------------------
case('[{i:٥}]', {'i': 1})
case('[{x:.٢f}]', {'x': 3.14159})

# --- limits CPython has too ------------------------------------------------------------------------------
case('{d[x]:.1f}', {'d': {'x': 10**300}})
case('{d[x]:.1f}', {'d': {'x': 10**400}})
case('{d[x]:e}', {'d': {'x': 2**1024 - 2**970}})
case('{d[x]:e}', {'d': {'x': 2**1024 - 2**970 - 1}})


def main() -> None:
    if sys.version_info < (3, 11):
        raise SystemExit('Python 3.11+ is needed (the z option and the 4300-digit int limit)')
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        'generator': 'scripts/gen-python-format-cases.py',
        'python': sys.version.split()[0],
        'note': 'expected = CPython str.format(**values); null where CPython raises. Do not edit by hand.',
        'cases': CASES,
    }
    text = json.dumps(doc, indent=1, ensure_ascii=True, allow_nan=False) + '\n'
    OUTPUT.write_text(text, encoding='utf-8')
    print(f'wrote {len(CASES)} cases to {OUTPUT}')


if __name__ == '__main__':
    main()
