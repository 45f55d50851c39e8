/*
 * Bodies and events far larger than the buffer bound: the picker must find the same usage with
 * bounded memory, checked after every push.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UsageStreamParser } from '../../src/tap/usage-parser.js';
import type { TapFinding } from '../../src/tap/usage-parser.js';
import {
  ANTHROPIC,
  CHAT,
  RESPONSES,
  anthropicJson,
  chatJson,
  chatSse,
  embeddingsJson,
  responsesSse,
} from './usage-fixtures.js';
import type { Fixture } from './usage-fixtures.js';

const KiB = 1024;
const MAX = 64 * KiB;

interface Run {
  ended: TapFinding | undefined;
  early: TapFinding | undefined;
  /** Push index after which `finding` was first set, or -1. */
  foundAtPush: number;
  pushes: number;
  peak: number;
}

function run(f: Fixture, piece = 64 * KiB, max = MAX): Run {
  const parser = new UsageStreamParser(f.endpoint, f.format, { maxBufferBytes: max });
  let peak = 0;
  let foundAtPush = -1;
  let pushes = 0;
  for (let at = 0; at < f.body.length; at += piece) {
    parser.push(f.body.subarray(at, at + piece));
    pushes++;
    peak = Math.max(peak, parser.bufferedBytes);
    // Stricter than the documented max + TAP_CAPTURE_MAX_BYTES: a value moves to the picker only as
    // the buffer empties, so with a 64 KiB bound the two never add up.
    assert.ok(parser.bufferedBytes <= max, `bufferedBytes ${parser.bufferedBytes} > ${max} after push ${pushes}`);
    if (foundAtPush < 0 && parser.finding !== undefined) foundAtPush = pushes;
  }
  const early = parser.finding;
  const ended = parser.end();
  assert.equal(parser.failed, false);
  return { ended, early, foundAtPush, pushes, peak };
}

/** A text of about `bytes` UTF-8 bytes with everything JSON must escape, and multi-byte characters. */
function bigText(bytes: number): string {
  const unit = 'Lorem "ipsum" \\ dolor\n sit — ämet, 日本語 🎉 {"usage":{"prompt_tokens":1}} \t ';
  const unitBytes = Buffer.byteLength(unit);
  return unit.repeat(Math.ceil(bytes / unitBytes));
}

describe('UsageStreamParser: oversize bodies and events', () => {
  it('a 5 MB embeddings JSON body (float vectors) in 64 KiB pieces', () => {
    const f = embeddingsJson({ count: 170, dims: 1536, promptTokens: 4211 });
    assert.ok(f.body.length > 5_000_000, `body is ${f.body.length} bytes`);
    const r = run(f);
    assert.deepEqual(r.ended, {
      responseId: undefined,
      model: 'text-embedding-3-small',
      usage: { inputTokens: 4211 },
      totalTokens: 4211,
    });
    assert.equal(r.early, undefined);
  });

  it('a 5 MB embeddings JSON body (base64 vectors) in 64 KiB pieces', () => {
    const f = embeddingsJson({ count: 640, dims: 1536, base64: true, promptTokens: 9000 });
    assert.ok(f.body.length > 5_000_000, `body is ${f.body.length} bytes`);
    assert.deepEqual(run(f).ended?.usage, { inputTokens: 9000 });
  });

  it('a Responses stream whose done / completed events repeat a 3 MB output text', () => {
    const f = responsesSse({ ...RESPONSES, texts: [bigText(3_000_000)] });
    assert.ok(f.body.length > 4 * 3_000_000, `body is ${f.body.length} bytes`);
    const r = run(f);
    const expected: TapFinding = {
      responseId: RESPONSES.id,
      model: RESPONSES.model,
      usage: { inputTokens: 2006, outputTokens: 312, cacheReadInputTokens: 1920, reasoningOutputTokens: 256 },
      totalTokens: 2318,
    };
    assert.deepEqual(r.early, expected);
    assert.deepEqual(r.ended, expected);
    assert.equal(r.foundAtPush, r.pushes, 'found with the last piece, where response.completed ends');
  });

  it('the same stream with CR LF line ends, pretty-printed data, and odd piece sizes', () => {
    const f = responsesSse(
      { ...RESPONSES, texts: [bigText(600_000), 'tail'] },
      { eol: '\r\n', space: false, comments: true, eventLines: true, multiline: true },
    );
    for (const piece of [1000, 4093, 65_537])
      assert.equal(run(f, piece).early?.usage.outputTokens, 312, `piece ${piece}`);
  });

  it('large chat and Anthropic JSON bodies (beyond the bound) through the picker', () => {
    const chat = chatJson({ ...CHAT, texts: [bigText(400_000)] });
    assert.deepEqual(run(chat, 10_000).ended, chatJson().expected);
    const anthropic = anthropicJson({ ...ANTHROPIC, texts: [bigText(400_000)] });
    assert.deepEqual(run(anthropic, 10_000).ended, anthropicJson().expected);
  });

  it('picker and JSON.parse agree on a body just over and just under the bound', () => {
    const f = chatJson({ ...CHAT, texts: ['x'] });
    const pad = MAX - f.body.length;
    for (const delta of [-1, 0, 1]) {
      const g = chatJson({ ...CHAT, texts: ['x'.repeat(1 + pad + delta)] });
      assert.equal(g.body.length, MAX + delta);
      assert.deepEqual(run(g, 1000).ended, f.expected, `body ${g.body.length}`);
    }
  });

  it('a usage object over 16 KiB is abandoned: no finding rather than a wrong one', () => {
    const usage = { prompt_tokens: 1, completion_tokens: 2, padding: 'p'.repeat(20 * KiB) };
    const body = new TextEncoder().encode(
      JSON.stringify({ id: 'chatcmpl-big', model: 'm', junk: 'j'.repeat(100 * KiB), usage }),
    );
    assert.equal(
      run({
        name: 'big usage',
        endpoint: 'openai.chat',
        format: 'json',
        body,
        expected: undefined,
        determinedAt: 0,
        terminalAt: 0,
      }).ended,
      undefined,
    );
  });

  it('a 10 MB chat SSE stream keeps the buffer at about one event', () => {
    const texts = Array.from({ length: 40_000 }, (_, i) => `token ${i} `);
    const f = chatSse({ ...CHAT, texts });
    assert.ok(f.body.length > 10_000_000, `body is ${f.body.length} bytes`);
    const r = run(f);
    assert.deepEqual(r.early, f.expected);
    assert.ok(r.peak < 1024, `peak ${r.peak}`);
  });
});
