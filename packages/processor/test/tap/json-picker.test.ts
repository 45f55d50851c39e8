import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ABANDONED, JsonPicker, PICKER_MAX_SCALAR_BYTES, PICKER_MAX_USAGE_BYTES } from '../../src/tap/json-picker.js';
import type { Picked, PickedFields } from '../../src/tap/json-picker.js';

const RUNS = Number(process.env['FC_TAP_RUNS'] ?? 1000);
const utf8 = new TextEncoder();

function pick(
  json: string | Uint8Array,
  cuts: readonly number[] = [],
): { picked: Picked | undefined; picker: JsonPicker } {
  const bytes = typeof json === 'string' ? utf8.encode(json) : json;
  const picker = new JsonPicker();
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut < at) continue;
    picker.feed(bytes.subarray(at, cut));
    at = cut;
  }
  return { picked: picker.finish(), picker };
}

/** What the picker must return, computed with JSON.parse. */
function reference(parsed: Record<string, unknown>, compact: boolean): Picked {
  const bounded = (key: string, value: unknown): unknown => {
    if (!compact) return value;
    const limit = key === 'usage' ? PICKER_MAX_USAGE_BYTES : PICKER_MAX_SCALAR_BYTES;
    return utf8.encode(JSON.stringify(value)).length > limit ? ABANDONED : value;
  };
  const fields = (o: Record<string, unknown>, keys: readonly string[]): PickedFields => {
    const out: Record<string, unknown> = {};
    for (const k of keys) if (Object.hasOwn(o, k)) out[k] = bounded(k, o[k]);
    return out;
  };
  const out = fields(parsed, ['type', 'id', 'model', 'usage']) as Picked;
  for (const k of ['response', 'message'] as const) {
    if (!Object.hasOwn(parsed, k)) continue;
    const v = parsed[k];
    out[k] =
      v !== null && typeof v === 'object' && !Array.isArray(v)
        ? fields(v as Record<string, unknown>, ['id', 'model', 'usage'])
        : null;
  }
  return out;
}

describe('JsonPicker', () => {
  it('picks top-level type, id, model, usage and the same under response / message', () => {
    const json = JSON.stringify({
      type: 'response.completed',
      sequence_number: 9,
      response: {
        id: 'resp_1',
        object: 'response',
        model: 'gpt-5',
        output: [{ id: 'x', usage: { no: 1 } }],
        usage: { input_tokens: 1 },
      },
      message: { id: 'msg_1', type: 'message', model: 'claude', usage: { input_tokens: 2 }, content: [] },
      id: 'top',
      model: 'top-model',
      usage: { prompt_tokens: 3 },
    });
    assert.deepEqual(pick(json).picked, {
      type: 'response.completed',
      id: 'top',
      model: 'top-model',
      usage: { prompt_tokens: 3 },
      response: { id: 'resp_1', model: 'gpt-5', usage: { input_tokens: 1 } },
      message: { id: 'msg_1', model: 'claude', usage: { input_tokens: 2 } },
    });
  });

  it('ignores the wanted keys deeper down, and keys that merely start like them', () => {
    const json =
      '{"data":[{"id":"no","usage":{"a":1}}],"ids":"no","models":1,"usage_x":{},"x":{"response":{"id":"no"}},"response":{"inner":{"id":"no"},"id":"yes"}}';
    assert.deepEqual(pick(json).picked, { response: { id: 'yes' } });
  });

  it('last duplicate wins, as in JSON.parse', () => {
    assert.deepEqual(pick('{"usage":{"a":1},"usage":{"a":2},"response":{"id":"r1"},"response":null}').picked, {
      usage: { a: 2 },
      response: null,
    });
    assert.deepEqual(pick('{"response":{"id":"r1","model":"m"},"response":{"id":"r2"}}').picked, {
      response: { id: 'r2' },
    });
  });

  it('handles escaped quotes and backslash runs split at every offset', () => {
    const json = '{"x":"a\\"b\\\\","id":"q\\\\\\"q\\\\","k\\"ey":{"usage":1},"model":"\\u00e9\\n"}';
    const expected = { id: 'q\\"q\\', model: 'é\n' };
    assert.deepEqual(pick(json).picked, expected);
    for (let a = 0; a <= json.length; a++) {
      for (let b = a; b <= json.length; b += 3) assert.deepEqual(pick(json, [a, b]).picked, expected, `cuts ${a} ${b}`);
    }
  });

  it('carries backslash parity across any number of pieces (1-byte pieces)', () => {
    for (let run = 0; run <= 6; run++) {
      // A run of `run` backslashes before a quote: an odd run escapes it, an even one ends the string.
      const raw = `{"x":"a${'\\'.repeat(run)}"${run % 2 === 1 ? 'b"' : ''},"id":"after"}`;
      assert.equal((JSON.parse(raw) as { id: string }).id, 'after');
      const bytes = utf8.encode(raw);
      assert.deepEqual(
        pick(
          bytes,
          Array.from({ length: bytes.length }, (_, i) => i),
        ).picked,
        { id: 'after' },
        raw,
      );
    }
    const json = JSON.stringify({
      id: 'a\\\\"\\',
      model: '\\\\\\"',
      x: ['\\"', { usage: '\\' }],
      usage: { k: '"\\\\' },
    });
    const bytes = utf8.encode(json);
    assert.deepEqual(
      pick(
        bytes,
        Array.from({ length: bytes.length }, (_, i) => i),
      ).picked,
      reference(JSON.parse(json), true),
    );
  });

  it('tolerates whitespace anywhere between tokens', () => {
    const json = ' \n{ "id" :\t"a" ,\r\n "usage" : { "p" : [ 1 , 2 ] } , "model":null , "n" : -1.5e3 , "t" : true }\n ';
    assert.deepEqual(pick(json).picked, { id: 'a', usage: { p: [1, 2] }, model: null });
  });

  it('abandons values over their bound, keeps those at it', () => {
    const idAt = 'i'.repeat(PICKER_MAX_SCALAR_BYTES - 2);
    assert.deepEqual(pick(JSON.stringify({ id: idAt })).picked, { id: idAt });
    assert.deepEqual(pick(JSON.stringify({ id: idAt + 'i' })).picked, { id: ABANDONED });
    const usage = { pad: 'u'.repeat(PICKER_MAX_USAGE_BYTES - 10) };
    assert.equal(JSON.stringify(usage).length, PICKER_MAX_USAGE_BYTES);
    assert.deepEqual(pick(JSON.stringify({ usage })).picked, { usage });
    assert.deepEqual(pick(JSON.stringify({ usage: { pad: usage.pad + 'u' } })).picked, { usage: ABANDONED });
  });

  it('a captured scalar that is not valid JSON is abandoned', () => {
    assert.deepEqual(pick('{"id":tru,"model":01}').picked, { id: ABANDONED, model: ABANDONED });
  });

  it('tracks deep nesting and mismatched brackets', () => {
    const deep = '['.repeat(200) + ']'.repeat(200);
    assert.deepEqual(pick(`{"a":${deep},"id":"after"}`).picked, { id: 'after' });
    for (const bad of ['{"a":[}', '{"a":{]}', '{"a":[[]]]}', '{"a":1]', '{"a" 1}', '{"a":1,,}', '{"a":}', '{1:2}']) {
      const { picked, picker } = pick(bad);
      assert.equal(picked, undefined, bad);
      assert.equal(picker.failed, true, bad);
    }
  });

  it('gives nothing for incomplete documents, top-level non-objects, or trailing content', () => {
    for (const json of ['', '{', '{"id":"a"', '{"id":"a",', '[]', '"s"', '1', 'null', '{"id":"a"} x', '{"id":"a"}{}']) {
      assert.equal(pick(json).picked, undefined, JSON.stringify(json));
    }
    assert.deepEqual(pick('{"id":"a"}  \n').picked, { id: 'a' });
  });

  it('holds no more than the capture bound, and nothing once a capture ends', () => {
    const picker = new JsonPicker();
    picker.feed(utf8.encode('{"usage":{"prompt_tokens":12,'));
    assert.equal(picker.bufferedBytes, 29 - 9);
    picker.feed(utf8.encode('"completion_tokens":3}, "x": "'));
    assert.equal(picker.bufferedBytes, 0);
    picker.feed(utf8.encode('y'.repeat(100_000)));
    assert.equal(picker.bufferedBytes, 0);
  });

  it('agrees with JSON.parse on random documents, fed in random pieces (property)', () => {
    const wantedKey = fc.constantFrom('type', 'id', 'model', 'usage', 'response', 'message');
    // Strings heavy in quotes and backslashes, so escapes land on piece boundaries.
    const tricky = fc.string({ unit: fc.constantFrom('\\', '"', 'a', 'é', '{', ']', '\n'), maxLength: 12 });
    const key = fc.oneof(
      { weight: 2, arbitrary: wantedKey },
      { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
      { weight: 1, arbitrary: tricky },
    );
    const value = fc.oneof(fc.jsonValue({ maxDepth: 4 }), tricky, fc.array(tricky, { maxLength: 4 }));
    const inner = fc.dictionary(fc.oneof(wantedKey, tricky), value, { maxKeys: 6 });
    const doc = fc
      .uniqueArray(fc.tuple(key, fc.oneof(value, inner)), { selector: ([k]) => k, maxLength: 10 })
      .map((entries) => Object.fromEntries(entries));
    const cutsArb = fc.oneof(fc.array(fc.nat(), { maxLength: 8 }), fc.constant('bytewise' as const));
    fc.assert(
      fc.property(doc, fc.constantFrom(0, 1, 2, '\t'), cutsArb, (value, indent, rawCuts) => {
        const json = indent === 0 ? JSON.stringify(value) : JSON.stringify(value, null, indent);
        const bytes = utf8.encode(json);
        const parsed = JSON.parse(json) as Record<string, unknown>;
        if (indent !== 0) {
          // Pretty-printing grows captured values past what `reference` measures: keep them small.
          const all = [parsed, parsed['response'], parsed['message']];
          for (const o of all) {
            if (o === null || typeof o !== 'object') continue;
            for (const k of ['type', 'id', 'model'])
              fc.pre(JSON.stringify((o as Record<string, unknown>)[k] ?? null).length <= 60);
          }
        }
        const cuts =
          rawCuts === 'bytewise'
            ? Array.from({ length: bytes.length }, (_, i) => i)
            : rawCuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b);
        assert.deepEqual(pick(bytes, cuts).picked, reference(parsed, indent === 0));
      }),
      { numRuns: RUNS },
    );
  });
});
