// UsageChunkStripper removes exactly the usage-only chunk of an OpenAI chat stream, wherever the bytes split.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { UsageChunkStripper } from '../../src/tap/strip.js';

const encoder = new TextEncoder();

function chunk(choices: ChatCompletionChunk.Choice[], usage: ChatCompletionChunk['usage']): ChatCompletionChunk {
  return {
    id: 'chatcmpl-S1',
    object: 'chat.completion.chunk',
    created: 1_763_800_000,
    model: 'gpt-4o-mini-2024-07-18',
    choices,
    usage,
  };
}

const CONTENT = ['Hel', 'lo ', 'wörld ', '👋'].map((text, index) =>
  chunk(
    [{ index: 0, delta: index === 0 ? { role: 'assistant', content: text } : { content: text }, finish_reason: null }],
    null,
  ),
);
const LAST = chunk([{ index: 0, delta: {}, finish_reason: 'stop' }], null);
const USAGE_ONLY = chunk([], { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 });

function sse(events: readonly unknown[], eol = '\n'): string {
  return events.map((e) => `data: ${typeof e === 'string' ? e : JSON.stringify(e)}${eol}${eol}`).join('');
}

const WITH_USAGE = sse([...CONTENT, LAST, USAGE_ONLY, '[DONE]']);
const WITHOUT_USAGE = sse([...CONTENT, LAST, '[DONE]']);

function run(
  body: Uint8Array,
  cuts: readonly number[],
  max = 64 * 1024,
): { out: string; stripper: UsageChunkStripper } {
  const stripper = new UsageChunkStripper(max);
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const cut of [...cuts, body.length]) {
    for (const p of stripper.push(body.subarray(at, cut))) parts.push(p);
    at = cut;
  }
  for (const p of stripper.flush()) parts.push(p);
  return { out: Buffer.concat(parts).toString('utf8'), stripper };
}

describe('UsageChunkStripper', () => {
  it('removes the usage-only chunk and passes every other byte, for LF, CRLF and CR line ends', () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      const body = encoder.encode(sse([...CONTENT, LAST, USAGE_ONLY, '[DONE]'], eol));
      const { out, stripper } = run(body, []);
      assert.equal(out, sse([...CONTENT, LAST, '[DONE]'], eol), JSON.stringify(eol));
      assert.equal(stripper.stripped, 1);
    }
  });

  it('gives the same bytes wherever the body is split, including inside UTF-8 characters and CRLF pairs', () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      const body = encoder.encode(sse([...CONTENT, LAST, USAGE_ONLY, '[DONE]'], eol));
      const expected = sse([...CONTENT, LAST, '[DONE]'], eol);
      for (let cut = 0; cut <= body.length; cut++)
        assert.equal(run(body, [cut]).out, expected, `cut at ${cut}, eol ${JSON.stringify(eol)}`);
      const ones = Array.from({ length: body.length }, (_, i) => i);
      assert.equal(run(body, ones).out, expected);
    }
  });

  it('leaves a stream without a usage-only chunk byte-for-byte unchanged, however it is split', () => {
    const body = encoder.encode(
      WITHOUT_USAGE + ': keep-alive comment\n\n' + 'event: x\ndata: {"choices":[],"usage":null}\n\n',
    );
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: body.length }), { maxLength: 12 }), (cuts) => {
        assert.equal(
          run(
            body,
            [...cuts].sort((a, b) => a - b),
          ).out,
          Buffer.from(body).toString('utf8'),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a usage chunk that still has choices (a server that sends usage on every chunk)', () => {
    const withChoices = chunk([{ index: 0, delta: { content: 'x' }, finish_reason: null }], {
      prompt_tokens: 1,
      completion_tokens: 1,
      total_tokens: 2,
    });
    const body = sse([withChoices, '[DONE]']);
    assert.equal(run(encoder.encode(body), []).out, body);
  });

  it('passes an event larger than its buffer through unchecked, holding no more than the bound', () => {
    const big = chunk([{ index: 0, delta: { content: 'z'.repeat(10_000) }, finish_reason: null }], null);
    const body = encoder.encode(sse([big, USAGE_ONLY, '[DONE]']));
    const stripper = new UsageChunkStripper(2048);
    const parts: Uint8Array[] = [];
    for (let at = 0; at < body.length; at += 500) {
      for (const p of stripper.push(body.subarray(at, Math.min(body.length, at + 500)))) parts.push(p);
      assert.ok(stripper.bufferedBytes <= 2048 + 500, `buffered ${stripper.bufferedBytes}`);
    }
    for (const p of stripper.flush()) parts.push(p);
    assert.equal(Buffer.concat(parts).toString('utf8'), sse([big, '[DONE]']));
  });

  it('does not keep or mutate the chunks it is given', () => {
    const body = encoder.encode(WITH_USAGE);
    const copy = body.slice();
    const stripper = new UsageChunkStripper(64 * 1024);
    const out = stripper.push(body.subarray(0, 100));
    body.fill(0, 0, 100); // the application may reuse its buffer
    assert.equal(
      Buffer.concat([...out, ...stripper.push(copy.subarray(100)), ...stripper.flush()]).toString('utf8').length > 0,
      true,
    );
    const again = run(copy, [100]).out;
    assert.equal(again, WITHOUT_USAGE);
  });
});
