// Gemini's usage off the wire: generateContent's JSON, streamGenerateContent as SSE (alt=sse) and as a
// streamed JSON array, cut anywhere; the array splitter on its own; the skimming array reader against
// JSON.parse of the whole body.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JsonArraySplitter } from '../../src/tap/json-array.js';
import { DEFAULT_TAP_MAX_BUFFER_BYTES, TAP_CAPTURE_MAX_BYTES, UsageStreamParser } from '../../src/tap/usage-parser.js';
import type { TapFinding } from '../../src/tap/usage-parser.js';
import { GEMINI, geminiArray, geminiChunks, geminiFinding, geminiJson, geminiSse } from './gemini-bedrock-fixtures.js';
import type { GeminiSpec } from './gemini-bedrock-fixtures.js';
import type { Fixture } from './usage-fixtures.js';
import { PLAIN } from './usage-fixtures.js';

const RUNS = Number(process.env['FC_TAP_RUNS'] ?? 300);
const utf8 = new TextEncoder();

/** end()'s finding for `f.body` cut at `cuts`; the buffer bound is checked after every push. */
function feed(f: Fixture, cuts: readonly number[] = [], max?: number, length = f.body.length): TapFinding | undefined {
  const parser = new UsageStreamParser(f.endpoint, f.format, max === undefined ? undefined : { maxBufferBytes: max });
  const bound = (max ?? DEFAULT_TAP_MAX_BUFFER_BYTES) + TAP_CAPTURE_MAX_BYTES;
  let at = 0;
  for (const cut of [...cuts, length]) {
    if (cut < at || cut > length) continue;
    parser.push(f.body.subarray(at, cut));
    assert.ok(parser.bufferedBytes <= bound);
    at = cut;
  }
  // No terminal event: nothing is known before the body ends.
  assert.equal(parser.finding, undefined);
  return parser.end();
}

const FIXTURES = [
  geminiSse(),
  geminiSse(GEMINI, { ...PLAIN, eventLines: false }),
  geminiSse({ ...GEMINI, usageOnEveryChunk: true }),
  geminiArray(),
  geminiArray({ ...GEMINI, usageOnEveryChunk: true }),
  geminiJson(),
];

describe('UsageStreamParser: Gemini', () => {
  for (const f of FIXTURES) {
    it(`${f.name}: the last usageMetadata, cut at every offset, in 1-byte pieces, and through the picker`, () => {
      assert.deepEqual(feed(f), f.expected);
      for (let cut = 0; cut <= f.body.length; cut++) assert.deepEqual(feed(f, [cut]), f.expected, `cut at ${cut}`);
      assert.deepEqual(
        feed(
          f,
          Array.from({ length: f.body.length }, (_, i) => i),
        ),
        f.expected,
      );
      // A 256-byte bound sends every chunk (each over 256 bytes) through the constant-memory picker.
      assert.deepEqual(feed(f, [], 256), f.expected);
    });

    it(`${f.name}: a body cut short gives nothing before the last chunk is whole`, () => {
      for (let length = 0; length < f.determinedAt; length++) {
        const found = feed(f, [], undefined, length);
        // With usage on every chunk an earlier one's counts may come out; never anything else.
        if (found !== undefined) {
          assert.ok(f.name.includes('every chunk'), `length ${length}`);
          assert.equal(found.responseId, GEMINI.responseId);
        }
      }
    });
  }

  it('reads what the provider counts: tool-use prompt to the input, thoughts to the output; zeros left out', () => {
    const spec: GeminiSpec = { ...GEMINI, usage: { prompt: 10, candidates: 5, cached: 0, thoughts: 0, toolUse: 0 } };
    const f = geminiJson(spec);
    assert.deepEqual(feed(f), {
      responseId: GEMINI.responseId,
      model: GEMINI.modelVersion,
      usage: { inputTokens: 10, outputTokens: 5 },
      totalTokens: 15,
    });
    assert.deepEqual(geminiFinding(GEMINI).usage, {
      inputTokens: 1386,
      outputTokens: 1097,
      cacheReadInputTokens: 1024,
      reasoningOutputTokens: 892,
    });
  });

  it('an array that is not one of objects, or another JSON value, gives nothing and does not fail', () => {
    for (const body of ['[1, 2]', '"text"', '[{"usageMetadata": {"promptTokenCount": 3}} oops', '  \n']) {
      const parser = new UsageStreamParser('gemini.generate_content', 'json');
      parser.push(utf8.encode(body));
      assert.equal(parser.end(), undefined, body);
      assert.equal(parser.failed, false);
    }
  });
});

describe('JsonArraySplitter', () => {
  function split(body: Uint8Array, cuts: readonly number[]): string[] | 'failed' {
    const splitter = new JsonArraySplitter();
    const elements: string[] = [];
    let current: Uint8Array[] = [];
    const sink = {
      elementBytes: (u8: Uint8Array, s: number, e: number) => current.push(u8.slice(s, e)),
      elementEnd: () => {
        elements.push(Buffer.concat(current).toString('utf8'));
        current = [];
      },
    };
    let at = 0;
    for (const cut of [...cuts, body.length]) {
      if (cut < at) continue;
      splitter.push(body.subarray(at, cut), sink);
      at = cut;
    }
    return splitter.failed ? 'failed' : elements;
  }

  it('finds every element whatever its strings hold, cut anywhere (property)', () => {
    const element = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 });
    fc.assert(
      fc.property(
        fc.array(element, { maxLength: 5 }),
        fc.constantFrom('', ' ', '\n', '\r\n  '),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 8 }),
        (objects, space, pretty, rawCuts) => {
          const texts = objects.map((o) => JSON.stringify(o, null, pretty ? 2 : undefined));
          const body = utf8.encode(space + '[' + space + texts.join(space + ',' + space) + space + ']' + space);
          const cuts = rawCuts.map((c) => c % (body.length + 1)).sort((a, b) => a - b);
          const found = split(body, cuts);
          assert.notEqual(found, 'failed');
          assert.deepEqual(
            (found as string[]).map((t) => JSON.parse(t) as unknown),
            objects.map((o) => JSON.parse(JSON.stringify(o)) as unknown),
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('carries a run of backslashes across chunks: an escaped quote does not end the string', () => {
    const body = utf8.encode('[{"a":"x\\\\\\"}{","b":1},{"c":"\\\\"}]');
    for (let cut = 0; cut <= body.length; cut++) {
      assert.deepEqual(split(body, [cut]), ['{"a":"x\\\\\\"}{","b":1}', '{"c":"\\\\"}'], `cut at ${cut}`);
    }
  });

  it('fails on what is not an array of objects', () => {
    for (const body of ['{}', '[1]', '["a"]', 'x']) assert.equal(split(utf8.encode(body), []), 'failed', body);
  });
});

describe('UsageStreamParser: a Gemini JSON array read skimming', () => {
  /** The body's last element with usage, read as a whole generateContent body: the oracle. */
  function expectedOf(body: Uint8Array): TapFinding | undefined {
    const elements = JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>[];
    const last = elements.filter((e) => e['usageMetadata'] !== undefined).at(-1);
    if (last === undefined) return undefined;
    const whole = new UsageStreamParser('gemini.generate_content', 'json');
    whole.push(utf8.encode(JSON.stringify(last)));
    return whole.end();
  }

  it('finds what JSON.parse of the whole body finds, whatever the texts, gaps, cuts and bound (property)', () => {
    // Texts long enough that chunks pass the 8 KiB window, holding what could look like structure.
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom('}\n,\r\n{', '"},{"usageMetadata":{"promptTokenCount":7}}', '\\', 'Count"', '] }'),
      fc.string({ minLength: 2000, maxLength: 6000 }),
    );
    fc.assert(
      fc.property(
        fc.array(text, { minLength: 1, maxLength: 30 }),
        fc.boolean(),
        fc.constantFrom('\n,\r\n', ',\r\n', ',\n', ',', ' , '),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.constantFrom(undefined, 256, 4096),
        (texts, everyChunk, gap, pretty, rawCuts, max) => {
          const spec = { ...GEMINI, texts, usageOnEveryChunk: everyChunk };
          const elements = geminiChunks(spec).map((c) => JSON.stringify(c, null, pretty ? 2 : undefined));
          const body = utf8.encode('[' + elements.join(gap) + (pretty ? '\n]' : ']'));
          const cuts = rawCuts.map((c) => c % (body.length + 1)).sort((a, b) => a - b);
          assert.deepEqual(feed({ ...geminiArray(spec), body }, cuts, max), expectedOf(body));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a nested array written with the top-level gap gives the right usage or none, never the nested one', () => {
    const fake = { usageMetadata: { promptTokenCount: 999_999, candidatesTokenCount: 999_999 } };
    const nested = `[{"x":1}\n,\r\n${JSON.stringify(fake)}]`;
    const [first, second, third] = geminiChunks({ ...GEMINI, texts: ['a', 'b', 'c'] }).map((c) => JSON.stringify(c));
    const real = geminiFinding({ ...GEMINI, texts: ['a', 'b', 'c'] });
    const bodies = [
      // The nested array before the usage, and after it.
      `[${first}\n,\r\n${second}\n,\r\n{"args":${nested},${third.slice(1)}\n]`,
      `[${first}\n,\r\n${second}\n,\r\n${third.slice(0, -1)},"args":${nested}}\n]`,
    ];
    for (const text of bodies) {
      const body = utf8.encode(text);
      assert.deepEqual(JSON.parse(text).length, 3); // valid JSON
      for (let cut = 0; cut <= body.length; cut++) {
        const found = feed({ ...geminiArray(), body }, [cut]);
        if (found !== undefined) assert.deepEqual(found, real, `cut at ${cut}`);
      }
    }
  });
});
