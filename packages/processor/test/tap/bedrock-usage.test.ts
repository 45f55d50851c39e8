// Bedrock's usage off the wire: the token-count headers, Converse's JSON, and the event streams of
// ConverseStream (the metadata event) and InvokeModelWithResponseStream (the last chunk's invocation metrics),
// cut anywhere; exceptions and cut streams report nothing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BedrockEventStreamParser, KnownUsageReader, bedrockHeaderUsage } from '../../src/tap/bedrock-usage.js';
import { UsageStreamParser } from '../../src/tap/usage-parser.js';
import type { TapFinding } from '../../src/tap/usage-parser.js';
import {
  BEDROCK,
  bedrockConverseJson,
  bedrockFinding,
  converseStream,
  converseStreamException,
  invokeStream,
} from './gemini-bedrock-fixtures.js';
import type { EventStreamFixture } from './gemini-bedrock-fixtures.js';

const RUNS = Number(process.env['FC_TAP_RUNS'] ?? 300);
const MAX = 64 * 1024;

interface Fed {
  early: TapFinding | undefined;
  ended: TapFinding | undefined;
  failed: boolean;
}

function feed(f: EventStreamFixture, cuts: readonly number[] = [], length = f.body.length, max = MAX): Fed {
  const parser = new BedrockEventStreamParser(f.kind, max);
  let at = 0;
  let early: TapFinding | undefined;
  for (const cut of [...cuts, length]) {
    if (cut < at || cut > length) continue;
    parser.push(f.body.subarray(at, cut));
    // The headers of a frame and at most one payload (metadata, or the latest chunk) are held.
    assert.ok(parser.bufferedBytes <= 2 * 1024, `held ${parser.bufferedBytes}`);
    early ??= parser.finding;
    at = cut;
  }
  return { early, ended: parser.end(), failed: parser.failed };
}

describe('BedrockEventStreamParser', () => {
  for (const f of [converseStream(), invokeStream()]) {
    it(`${f.name}: the usage, cut at every offset and in 1-byte pieces`, () => {
      const whole = feed(f);
      assert.deepEqual(whole.ended, f.expected);
      assert.equal(whole.failed, false);
      // ConverseStream's metadata event is its last: known as soon as it is read, before the body ends.
      assert.deepEqual(whole.early, f.kind === 'converse' ? f.expected : undefined);
      for (let cut = 0; cut <= f.body.length; cut++) assert.deepEqual(feed(f, [cut]), whole, `cut at ${cut}`);
      const bytes = Array.from({ length: f.body.length }, (_, i) => i);
      assert.deepEqual(feed(f, bytes), whole);
    });

    it(`${f.name}: cut short, nothing (a frame cut in two is not read)`, () => {
      for (let length = 0; length < f.body.length; length++) {
        const { early, ended } = feed(f, [], length);
        assert.equal(early, undefined, `length ${length}`);
        assert.equal(ended, undefined, `length ${length}`);
      }
    });
  }

  it('the Anthropic counts of Claude on Bedrock come from the invocation metrics, cache added back', () => {
    assert.deepEqual(feed(invokeStream()).ended, {
      responseId: undefined,
      model: undefined,
      usage: { inputTokens: 1259, outputTokens: 52, cacheReadInputTokens: 1184, cacheCreationInputTokens: 64 },
      totalTokens: undefined,
      adjusted: ['input+cache_read', 'input+cache_creation'],
    });
  });

  it('no metadata event, no invocation metrics, or an exception: nothing', () => {
    assert.equal(feed(converseStream(BEDROCK, { metadata: false })).ended, undefined);
    assert.equal(feed(invokeStream(BEDROCK, { metrics: false })).ended, undefined);
    const exception = feed(converseStreamException());
    assert.equal(exception.ended, undefined);
    assert.equal(exception.failed, true);
  });

  it('bytes that are no event stream fail, quietly', () => {
    const parser = new BedrockEventStreamParser('converse', MAX);
    parser.push(new TextEncoder().encode('{"message":"not an event stream"}'));
    assert.equal(parser.failed, true);
    assert.equal(parser.end(), undefined);
  });

  it('any cuts of either stream give the whole stream’s finding (property)', () => {
    const fixtures = [converseStream(), invokeStream()];
    fc.assert(
      fc.property(fc.constantFrom(...fixtures), fc.array(fc.nat(), { maxLength: 12 }), (f, raw) => {
        const cuts = raw.map((c) => c % (f.body.length + 1)).sort((a, b) => a - b);
        assert.deepEqual(feed(f, cuts).ended, f.expected);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('Bedrock JSON and headers', () => {
  it("Converse's JSON body, through the usage parser", () => {
    const f = bedrockConverseJson();
    const parser = new UsageStreamParser(f.endpoint, f.format);
    for (let i = 0; i < f.body.length; i += 7) parser.push(f.body.subarray(i, i + 7));
    assert.deepEqual(parser.end(), bedrockFinding());
  });

  it('the x-amzn-bedrock-*-token-count headers, reported when the body has ended', () => {
    const headers = new Headers({
      'x-amzn-bedrock-input-token-count': '11',
      'x-amzn-bedrock-output-token-count': '52',
      'x-amzn-bedrock-cache-read-input-token-count': '1184',
      'x-amzn-bedrock-cache-write-input-token-count': '64',
    });
    const usage = bedrockHeaderUsage(headers);
    assert.ok(usage !== undefined);
    const reader = new KnownUsageReader(usage);
    reader.push();
    assert.equal(reader.finding, undefined);
    assert.deepEqual(reader.end(), bedrockFinding(BEDROCK, false));
    assert.equal(bedrockHeaderUsage(new Headers({ 'x-amzn-requestid': 'r' })), undefined);
    assert.equal(bedrockHeaderUsage(new Headers({ 'x-amzn-bedrock-input-token-count': 'lots' })), undefined);
  });
});
