/*
 * Fuzzing the usage parser: arbitrary bytes, SSE-shaped noise, valid bodies cut into random pieces and
 * truncated valid bodies. `FC_TAP_RUNS=20000` runs more.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_TAP_MAX_BUFFER_BYTES, TAP_CAPTURE_MAX_BYTES, UsageStreamParser } from '../../src/tap/usage-parser.js';
import type { TapBodyFormat, TapEndpoint, TapFinding } from '../../src/tap/usage-parser.js';
import {
  anthropicJson,
  anthropicSse,
  chatJson,
  chatSse,
  embeddingsJson,
  responsesJson,
  responsesSse,
} from './usage-fixtures.js';
import type { Fixture, SseStyle } from './usage-fixtures.js';

const RUNS = Number(process.env['FC_TAP_RUNS'] ?? 500);
const utf8 = new TextEncoder();

const endpoints: readonly TapEndpoint[] = [
  'openai.chat',
  'openai.responses',
  'openai.embeddings',
  'anthropic.messages',
];
const endpointArb = fc.constantFrom(...endpoints);
const formatArb = fc.constantFrom<TapBodyFormat>('sse', 'json');
const maxArb = fc.constantFrom(256, 300, 1024, 4096, DEFAULT_TAP_MAX_BUFFER_BYTES);
const cutsArb = fc.array(fc.nat(), { maxLength: 12 });

interface Outcome {
  early: TapFinding | undefined;
  ended: TapFinding | undefined;
}

/** Feeds `body` in pieces; asserts the invariants that hold for any input. */
function feed(
  endpoint: TapEndpoint,
  format: TapBodyFormat,
  body: Uint8Array,
  rawCuts: readonly number[],
  max: number,
): Outcome {
  const parser = new UsageStreamParser(endpoint, format, { maxBufferBytes: max });
  const cuts = rawCuts.map((c) => c % (body.length + 1)).sort((a, b) => a - b);
  let at = 0;
  for (const cut of [...cuts, body.length]) {
    parser.push(body.subarray(at, cut));
    assert.ok(
      parser.bufferedBytes <= max + TAP_CAPTURE_MAX_BYTES,
      `bufferedBytes ${parser.bufferedBytes} over ${max} + capture`,
    );
    at = cut;
  }
  const early = parser.finding;
  const ended = parser.end();
  // push/end catch everything; `failed` would mean an internal exception, i.e. a bug.
  assert.equal(parser.failed, false, 'internal error');
  for (const f of [early, ended]) {
    if (f === undefined) continue;
    assert.ok(f.usage.inputTokens !== undefined || f.usage.outputTokens !== undefined, 'a finding has input or output');
    for (const v of Object.values(f.usage)) assert.ok(Number.isSafeInteger(v) && v >= 0, `count ${String(v)}`);
  }
  if (early !== undefined) assert.deepEqual(ended, early, 'end() returns the finding already made');
  return { early, ended };
}

// Pieces that make SSE / JSON parsers take their less usual paths when shuffled together.
const soupTokens = [
  'data: ',
  'data:',
  'data',
  'event: message_stop',
  ': comment',
  'id: 1',
  '\n',
  '\r',
  '\r\n',
  '\n\n',
  '{',
  '}',
  '[',
  ']',
  '"',
  '\\',
  ':',
  ',',
  ' ',
  '"usage"',
  '"usage":{',
  '"usage": {',
  '"usage":null',
  '"prompt_tokens":',
  '"completion_tokens":',
  '"input_tokens":',
  '"output_tokens":',
  '"cache_read_input_tokens":',
  '12',
  '-1',
  '1.5',
  '"7"',
  'null',
  'true',
  '[DONE]',
  '"type":"message_stop"',
  '"type":"message_start"',
  '"type":"message_delta"',
  '"type":"response.completed"',
  '"response":{',
  '"message":{',
  '"id":"x"',
  '"model":"m"',
  'kens"',
  '_stop"',
  'é',
  '🎉',
  '\u0000',
  'x'.repeat(300),
];
const soupArb = fc
  .array(fc.constantFrom(...soupTokens), { maxLength: 120 })
  .map((parts) => utf8.encode(parts.join('')));

const styleArb: fc.Arbitrary<SseStyle> = fc.record({
  eol: fc.constantFrom<SseStyle['eol']>('\n', '\r\n', '\r'),
  space: fc.boolean(),
  comments: fc.boolean(),
  eventLines: fc.boolean(),
  multiline: fc.boolean(),
});
const count = fc.nat({ max: 2_000_000_000 });
const name = (prefix: string) => fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/).map((s) => prefix + s);
const textsArb = fc.array(
  fc.string({
    unit: fc.constantFrom('a', ' ', 'é', '日', '🎉', '"', '\\', '\n', '\r', 'k', 'DONE]', '[DONE]', '{"usage":{'),
    maxLength: 30,
  }),
  { maxLength: 8 },
);

/** A valid body of any endpoint and format, with the finding it must give. */
const fixtureArb: fc.Arbitrary<Fixture> = fc.oneof(
  fc
    .tuple(name('chatcmpl-'), name('gpt-'), textsArb, fc.tuple(count, count, count, count), styleArb, fc.boolean())
    .map(([id, model, texts, [prompt, completion, cached, reasoning], style, json]) => {
      const spec = { id, model, texts, usage: { prompt, completion, cached, reasoning } };
      return json ? chatJson(spec) : chatSse(spec, style);
    }),
  fc
    .tuple(
      name('resp_'),
      name('gpt-'),
      textsArb,
      fc.tuple(count, count, count, count),
      styleArb,
      fc.boolean(),
      fc.constantFrom('response.completed' as const, 'response.incomplete' as const, 'response.failed' as const),
    )
    .map(([id, model, texts, [input, output, cached, reasoning], style, json, terminal]) => {
      const spec = { id, model, texts, usage: { input, output, cached, reasoning }, terminal };
      return json ? responsesJson(spec) : responsesSse(spec, style);
    }),
  fc
    .tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 40 }), fc.boolean(), count)
    .map(([n, dims, base64, promptTokens]) => embeddingsJson({ count: n, dims, base64, promptTokens })),
  fc
    .tuple(
      name('msg_'),
      name('claude-'),
      textsArb,
      fc.tuple(count, count, count, count),
      styleArb,
      fc.boolean(),
      fc.boolean(),
    )
    .map(([id, model, texts, [input, output, cacheRead, cacheCreation], style, json, deltaRepeatsInput]) => {
      const spec = { id, model, texts, usage: { input, output, cacheRead, cacheCreation }, deltaRepeatsInput };
      return json ? anthropicJson(spec) : anthropicSse(spec, style);
    }),
);

describe('UsageStreamParser (property)', () => {
  it('arbitrary bytes: never fails, stays within its bound', () => {
    fc.assert(
      fc.property(
        endpointArb,
        formatArb,
        fc.uint8Array({ maxLength: 3000 }),
        cutsArb,
        maxArb,
        (endpoint, format, body, cuts, max) => {
          feed(endpoint, format, body, cuts, max);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('SSE- and JSON-shaped noise: never fails, stays within its bound', () => {
    fc.assert(
      fc.property(endpointArb, formatArb, soupArb, cutsArb, maxArb, (endpoint, format, body, cuts, max) => {
        feed(endpoint, format, body, cuts, max);
      }),
      { numRuns: RUNS },
    );
  });

  it('valid bodies in random pieces and under any bound: the finding of a single-chunk feed, and the expected one', () => {
    fc.assert(
      fc.property(fixtureArb, cutsArb, maxArb, (f, cuts, max) => {
        const single = feed(f.endpoint, f.format, f.body, [], DEFAULT_TAP_MAX_BUFFER_BYTES);
        assert.deepEqual(single.ended, f.expected);
        assert.deepEqual(single.early, f.terminalAt <= f.body.length ? f.expected : undefined);
        const pieces = feed(f.endpoint, f.format, f.body, cuts, max);
        assert.deepEqual(pieces, single);
      }),
      { numRuns: RUNS },
    );
  });

  it('truncated valid bodies: nothing before the deciding event, never a wrong finding', () => {
    fc.assert(
      fc.property(fixtureArb, fc.nat(), cutsArb, maxArb, (f, rawCut, cuts, max) => {
        const cut = rawCut % (f.body.length + 1);
        const { early, ended } = feed(f.endpoint, f.format, f.body.subarray(0, cut), cuts, max);
        assert.deepEqual(early, cut >= f.terminalAt ? f.expected : undefined, `finding, cut at ${cut}`);
        assert.deepEqual(ended, cut >= f.determinedAt ? f.expected : undefined, `end(), cut at ${cut}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('a valid body followed by noise changes nothing once the finding is made', () => {
    fc.assert(
      fc.property(fixtureArb, soupArb, (f, noise) => {
        fc.pre(f.terminalAt <= f.body.length);
        const body = new Uint8Array(f.body.length + noise.length);
        body.set(f.body);
        body.set(noise, f.body.length);
        const { early } = feed(f.endpoint, f.format, body, [f.body.length], DEFAULT_TAP_MAX_BUFFER_BYTES);
        assert.deepEqual(early, f.expected);
      }),
      { numRuns: RUNS },
    );
  });
});
