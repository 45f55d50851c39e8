import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TAP_MAX_BUFFER_BYTES, TAP_CAPTURE_MAX_BYTES, UsageStreamParser } from '../../src/tap/usage-parser.js';
import type { TapBodyFormat, TapEndpoint, TapFinding } from '../../src/tap/usage-parser.js';
import {
  ANTHROPIC,
  CHAT,
  PLAIN,
  RESPONSES,
  allFixtures,
  anthropicJson,
  anthropicSse,
  chatChunk,
  chatJson,
  chatSse,
  embeddingsJson,
  jsonBody,
  responsesJson,
  responsesSse,
  writeSse,
} from './usage-fixtures.js';
import type { ChatSpec, Fixture, SseStyle } from './usage-fixtures.js';

const utf8 = new TextEncoder();

interface Fed {
  /** `finding` right after the last push, before end(). */
  early: TapFinding | undefined;
  /** What end() returned. */
  ended: TapFinding | undefined;
  parser: UsageStreamParser;
}

/** Feeds `body` cut at `cuts`, checking the buffer bound after every push. */
function feed(
  endpoint: TapEndpoint,
  format: TapBodyFormat,
  body: Uint8Array,
  cuts: readonly number[] = [],
  max?: number,
): Fed {
  const parser = new UsageStreamParser(endpoint, format, max === undefined ? undefined : { maxBufferBytes: max });
  const bound = (max ?? DEFAULT_TAP_MAX_BUFFER_BYTES) + TAP_CAPTURE_MAX_BYTES;
  let at = 0;
  for (const cut of [...cuts, body.length]) {
    if (cut < at) continue;
    parser.push(body.subarray(at, cut));
    assert.ok(parser.bufferedBytes <= bound, `bufferedBytes ${parser.bufferedBytes} > ${bound}`);
    at = cut;
  }
  const early = parser.finding;
  const ended = parser.end();
  assert.equal(parser.failed, false);
  return { early, ended, parser };
}

/**
 * Feeds `body` whole and cut in two at every offset, asserts all give the same, and returns that. A
 * whole body is mostly skipped by the needle scan; cuts make each event go through the line parser too.
 */
function feedSplits(endpoint: TapEndpoint, format: TapBodyFormat, body: Uint8Array): Fed {
  const whole = feed(endpoint, format, body);
  for (let cut = 0; cut <= body.length; cut++) {
    const fed = feed(endpoint, format, body, [cut]);
    assert.deepEqual(
      { early: fed.early, ended: fed.ended },
      { early: whole.early, ended: whole.ended },
      `cut at ${cut}`,
    );
  }
  return whole;
}

function feedFixture(f: Fixture, cuts: readonly number[] = [], max?: number): Fed {
  return feed(f.endpoint, f.format, f.body, cuts, max);
}

function sse(
  events: ReadonlyArray<{ event?: string; data: string | object }>,
  style: Partial<SseStyle> = {},
): Uint8Array {
  return writeSse(events, { ...PLAIN, eventLines: false, ...style }).body;
}

function text(s: string): Uint8Array {
  return utf8.encode(s);
}

describe('UsageStreamParser: each endpoint and format', () => {
  it('OpenAI chat SSE with include_usage: id, model, usage with cache and reasoning, total', () => {
    const f = chatSse();
    const { early, ended } = feedFixture(f);
    const expected: TapFinding = {
      responseId: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
      model: 'gpt-4o-2024-08-06',
      usage: { inputTokens: 1117, outputTokens: 46, cacheReadInputTokens: 1024, reasoningOutputTokens: 16 },
      totalTokens: 1163,
    };
    assert.deepEqual(early, expected, 'known at [DONE], before end()');
    assert.deepEqual(ended, expected);
  });

  it('OpenAI chat JSON', () => {
    const { early, ended } = feedFixture(chatJson());
    assert.equal(early, undefined, 'a JSON body is complete only at its end');
    assert.deepEqual(ended, {
      responseId: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
      model: 'gpt-4o-2024-08-06',
      usage: { inputTokens: 1117, outputTokens: 46, cacheReadInputTokens: 1024, reasoningOutputTokens: 16 },
      totalTokens: 1163,
    });
  });

  it('OpenAI Responses SSE: finding at response.completed', () => {
    const { early, ended } = feedFixture(responsesSse());
    const expected: TapFinding = {
      responseId: 'resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41',
      model: 'gpt-4.1-2025-04-14',
      usage: { inputTokens: 2006, outputTokens: 312, cacheReadInputTokens: 1920, reasoningOutputTokens: 256 },
      totalTokens: 2318,
    };
    assert.deepEqual(early, expected);
    assert.deepEqual(ended, expected);
  });

  for (const terminal of ['response.incomplete', 'response.failed'] as const) {
    it(`OpenAI Responses SSE: ${terminal} with usage is terminal too`, () => {
      const { early } = feedFixture(responsesSse({ ...RESPONSES, terminal }));
      assert.equal(early?.usage.outputTokens, 312);
      assert.equal(early?.responseId, RESPONSES.id);
    });
  }

  it('OpenAI Responses JSON', () => {
    const { ended } = feedFixture(responsesJson());
    assert.deepEqual(ended, {
      responseId: 'resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41',
      model: 'gpt-4.1-2025-04-14',
      usage: { inputTokens: 2006, outputTokens: 312, cacheReadInputTokens: 1920, reasoningOutputTokens: 256 },
      totalTokens: 2318,
    });
  });

  it('OpenAI embeddings JSON: no id, input tokens only, float and base64 vectors', () => {
    for (const base64 of [false, true]) {
      const { ended } = feedFixture(embeddingsJson({ count: 4, dims: 16, base64, promptTokens: 37 }));
      assert.deepEqual(ended, {
        responseId: undefined,
        model: 'text-embedding-3-small',
        usage: { inputTokens: 37 },
        totalTokens: 37,
      });
    }
  });

  it('Anthropic SSE: message_start merged with message_delta, cache added back into input', () => {
    const { early, ended } = feedFixture(anthropicSse());
    const expected: TapFinding = {
      responseId: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      model: 'claude-sonnet-4-5-20250929',
      // 12 uncached + 4096 read from cache + 2048 written to cache
      usage: { inputTokens: 6156, outputTokens: 321, cacheReadInputTokens: 4096, cacheCreationInputTokens: 2048 },
      totalTokens: undefined,
      adjusted: ['input+cache_read', 'input+cache_creation'],
    };
    assert.deepEqual(early, expected, 'known at message_stop');
    assert.deepEqual(ended, expected);
  });

  it('Anthropic JSON', () => {
    const { ended } = feedFixture(anthropicJson());
    assert.deepEqual(ended, {
      responseId: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      model: 'claude-sonnet-4-5-20250929',
      usage: { inputTokens: 6156, outputTokens: 321, cacheReadInputTokens: 4096, cacheCreationInputTokens: 2048 },
      totalTokens: undefined,
      adjusted: ['input+cache_read', 'input+cache_creation'],
    });
  });

  it('Anthropic: non-null counts in message_delta override message_start, nulls do not', () => {
    const start = {
      type: 'message_start',
      message: {
        id: 'msg_1',
        model: 'claude-haiku-4-5',
        usage: { input_tokens: 10, cache_read_input_tokens: 0, cache_creation_input_tokens: 5, output_tokens: 1 },
      },
    };
    const delta = {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn' },
      usage: { output_tokens: 40, input_tokens: 11, cache_read_input_tokens: 200, cache_creation_input_tokens: null },
    };
    const { early } = feed(
      'anthropic.messages',
      'sse',
      sse([{ data: start }, { data: delta }, { data: { type: 'message_stop' } }]),
    );
    assert.deepEqual(early?.usage, {
      inputTokens: 11 + 200 + 5,
      outputTokens: 40,
      cacheReadInputTokens: 200,
      cacheCreationInputTokens: 5,
    });
  });

  it('Anthropic without cache fields: input is input_tokens alone', () => {
    const start = {
      type: 'message_start',
      message: { id: 'msg_2', model: 'claude-opus-4-1', usage: { input_tokens: 25, output_tokens: 1 } },
    };
    const delta = { type: 'message_delta', delta: {}, usage: { output_tokens: 7 } };
    const { early } = feed(
      'anthropic.messages',
      'sse',
      sse([{ data: start }, { data: delta }, { data: { type: 'message_stop' } }]),
    );
    assert.deepEqual(early?.usage, { inputTokens: 25, outputTokens: 7 });
  });

  it('Anthropic: message_delta repeating input and cache counts gives the same finding', () => {
    const { early } = feedFixture(anthropicSse({ ...ANTHROPIC, deltaRepeatsInput: true }));
    assert.deepEqual(early?.usage, {
      inputTokens: 6156,
      outputTokens: 321,
      cacheReadInputTokens: 4096,
      cacheCreationInputTokens: 2048,
    });
  });
});

describe('UsageStreamParser: when the finding is known', () => {
  it('chat without [DONE]: finding at end(), not before', () => {
    const { early, ended } = feedFixture(chatSse(CHAT, PLAIN, { done: false }));
    assert.equal(early, undefined);
    assert.equal(ended?.usage.inputTokens, 1117);
  });

  it('chat without include_usage: no usage object, no finding', () => {
    const { early, ended } = feedFixture(chatSse(CHAT, PLAIN, { includeUsage: false }));
    assert.equal(early, undefined);
    assert.equal(ended, undefined);
  });

  it('chat: [DONE] before any usage ends nothing (a later usage chunk is still read)', () => {
    const late = {
      ...chatChunk(CHAT, {}),
      choices: [],
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    };
    const body = sse([{ data: chatChunk(CHAT, { content: 'x' }) }, { data: '[DONE]' }, { data: late }]);
    const { early, ended } = feedSplits('openai.chat', 'sse', body);
    assert.equal(early, undefined, 'no [DONE] after the usage');
    assert.deepEqual(ended?.usage, { inputTokens: 1, outputTokens: 2 });
    const bare = sse([{ data: chatChunk(CHAT, { content: 'x' }) }, { data: '[DONE]' }]);
    assert.equal(feedSplits('openai.chat', 'sse', bare).ended, undefined);
  });

  it('chat: usage on several chunks, the last one with counts wins (null never erases)', () => {
    const usage = (p: number, c: number) => ({
      ...chatChunk(CHAT, { content: 'a' }),
      usage: { prompt_tokens: p, completion_tokens: c, total_tokens: p + c },
    });
    const body = sse([
      { data: usage(10, 1) },
      { data: usage(10, 2) },
      { data: chatChunk(CHAT, { content: 'b' }) },
      { data: usage(10, 3) },
      { data: chatChunk(CHAT, {}) },
      { data: '[DONE]' },
    ]);
    const { early } = feedSplits('openai.chat', 'sse', body);
    assert.deepEqual(early?.usage, { inputTokens: 10, outputTokens: 3 });
    assert.equal(early?.totalTokens, 13);
  });

  it('chat: id and model are those of the chunk that carries the usage', () => {
    const body = sse([
      { data: { ...chatChunk(CHAT, { content: 'a' }), id: 'chatcmpl-first', model: 'first' } },
      {
        data: {
          id: 'chatcmpl-usage',
          model: 'usage-model',
          choices: [],
          usage: { prompt_tokens: 1, completion_tokens: 1 },
        },
      },
      { data: '[DONE]' },
    ]);
    const { early } = feedSplits('openai.chat', 'sse', body);
    assert.equal(early?.responseId, 'chatcmpl-usage');
    assert.equal(early?.model, 'usage-model');
    const noId = sse([
      { data: { ...chatChunk(CHAT, { content: 'a' }), id: 'chatcmpl-first', model: 'first' } },
      { data: { choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } } },
      { data: '[DONE]' },
    ]);
    assert.equal(feedSplits('openai.chat', 'sse', noId).early?.responseId, 'chatcmpl-first', "else the first chunk's");
  });

  it('Anthropic without message_stop: finding at end() once message_delta was seen', () => {
    const { early, ended } = feedFixture(anthropicSse(ANTHROPIC, PLAIN, { stop: false }));
    assert.equal(early, undefined);
    assert.equal(ended?.usage.outputTokens, 321);
  });

  it('Anthropic: message_stop without any message_delta gives no finding', () => {
    const start = {
      type: 'message_start',
      message: { id: 'msg_3', model: 'claude-haiku-4-5', usage: { input_tokens: 10, output_tokens: 1 } },
    };
    const { early, ended } = feedSplits(
      'anthropic.messages',
      'sse',
      sse([{ data: start }, { data: { type: 'message_stop' } }]),
    );
    assert.equal(early, undefined);
    assert.equal(ended, undefined);
  });

  it('Anthropic cut after message_start: no finding (its output count is a placeholder)', () => {
    const f = anthropicSse();
    const cut = new TextDecoder().decode(f.body).indexOf('event: content_block_start');
    const { ended } = feed(f.endpoint, f.format, f.body.subarray(0, cut));
    assert.equal(ended, undefined);
  });

  it('Responses: terminal event without usage gives nothing, and a later one with usage still counts', () => {
    const created = {
      type: 'response.created',
      sequence_number: 0,
      response: { id: 'resp_1', model: 'gpt-5', usage: null },
    };
    const failed = {
      type: 'response.failed',
      sequence_number: 1,
      response: { id: 'resp_1', model: 'gpt-5', usage: null },
    };
    assert.equal(feedSplits('openai.responses', 'sse', sse([{ data: created }, { data: failed }])).ended, undefined);
  });

  it('Responses: id and model come from the terminal response, else from the first event', () => {
    const created = {
      type: 'response.created',
      sequence_number: 0,
      response: { id: 'resp_first', model: 'gpt-5-first', usage: null },
    };
    const done = {
      type: 'response.completed',
      sequence_number: 1,
      response: { usage: { input_tokens: 3, output_tokens: 4, total_tokens: 7 } },
    };
    const { early } = feedSplits('openai.responses', 'sse', sse([{ data: created }, { data: done }]));
    assert.deepEqual(early, {
      responseId: 'resp_first',
      model: 'gpt-5-first',
      usage: { inputTokens: 3, outputTokens: 4 },
      totalTokens: 7,
    });
  });

  it('an event whose data is empty is no event (it does not count as the first one)', () => {
    const created = {
      type: 'response.created',
      sequence_number: 0,
      response: { id: 'resp_first', model: 'gpt-5-first', usage: null },
    };
    const done = {
      type: 'response.completed',
      sequence_number: 1,
      response: { usage: { input_tokens: 3, output_tokens: 4, total_tokens: 7 } },
    };
    const body = text(`data:\n\ndata: \n\ndata: ${JSON.stringify(created)}\n\ndata: ${JSON.stringify(done)}\n\n`);
    assert.equal(feedSplits('openai.responses', 'sse', body).early?.responseId, 'resp_first');
  });

  it('the finding is set by the push that completes the terminal event, and later input is ignored', () => {
    const f = chatSse();
    const parser = new UsageStreamParser(f.endpoint, f.format);
    // Read through a function: TypeScript would otherwise keep `finding` narrowed to undefined.
    const current = (): TapFinding | undefined => parser.finding;
    parser.push(f.body.subarray(0, f.terminalAt - 1));
    assert.equal(current(), undefined);
    parser.push(f.body.subarray(f.terminalAt - 1));
    assert.equal(current()?.usage.outputTokens, 46);
    parser.push(text('data: {"usage":{"prompt_tokens":999,"completion_tokens":999}}\n\n'));
    assert.equal(current()?.usage.outputTokens, 46);
    assert.equal(parser.bufferedBytes, 0, 'buffers are released once the finding is known');
    assert.equal(parser.end()?.usage.outputTokens, 46);
  });
});

describe('UsageStreamParser: SSE syntax', () => {
  const usageEvent = {
    ...chatChunk(CHAT, {}),
    choices: [],
    usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 },
  };
  const expectedUsage = { inputTokens: 5, outputTokens: 6 };

  it('reads LF, CR LF and CR line ends, with or without a space after data:', () => {
    for (const eol of ['\n', '\r\n', '\r'] as const) {
      for (const space of [true, false]) {
        const { early } = feedSplits(
          'openai.chat',
          'sse',
          sse([{ data: chatChunk(CHAT, { content: 'hi' }) }, { data: usageEvent }, { data: '[DONE]' }], { eol, space }),
        );
        assert.deepEqual(early?.usage, expectedUsage, JSON.stringify({ eol, space }));
      }
    }
  });

  it('joins several data lines of one event with LF (pretty-printed JSON)', () => {
    const { early } = feedSplits(
      'openai.chat',
      'sse',
      sse([{ data: usageEvent }, { data: '[DONE]' }], { multiline: true }),
    );
    assert.deepEqual(early?.usage, expectedUsage);
    assert.equal(early?.responseId, CHAT.id);
  });

  it('the LF joining data lines is part of the data (1 LF 2 is not the number 12)', () => {
    const head = 'data: {"id":"chatcmpl-1","model":"m","choices":[],"usage":{"completion_tokens":5,"prompt_tokens":1';
    const split = text(`${head}\ndata: 2}}\n\ndata: [DONE]\n\n`);
    assert.equal(feedSplits('openai.chat', 'sse', split).ended, undefined, 'invalid JSON once joined with LF');
    const joined = text(`${head}\ndata: ,"total_tokens":7}}\n\ndata: [DONE]\n\n`);
    assert.deepEqual(feedSplits('openai.chat', 'sse', joined).ended?.usage, { inputTokens: 1, outputTokens: 5 });
  });

  it('ignores comments, event:, id: and retry: lines, and fields that only start with "data"', () => {
    const body = text(
      ': hello\n' +
        'retry: 3000\n' +
        'id: 7\n' +
        'event: chunk\n' +
        `data: ${JSON.stringify(usageEvent)}\n` +
        `dataX: ${JSON.stringify({ usage: { prompt_tokens: 99, completion_tokens: 99 } })}\n` +
        ':comment "usage":{"prompt_tokens":1} kens"\n' +
        '\n' +
        'data: [DONE]\n\n',
    );
    const { early } = feedSplits('openai.chat', 'sse', body);
    assert.deepEqual(early?.usage, expectedUsage);
  });

  it('[DONE] may be written with surrounding whitespace; a bare "data" line is an empty value', () => {
    const body = text(`data: ${JSON.stringify(usageEvent)}\n\ndata\n\ndata:  [DONE] \n\n`);
    const { early } = feedSplits('openai.chat', 'sse', body);
    assert.deepEqual(early?.usage, expectedUsage);
  });

  it('a UTF-8 byte order mark at the start of the stream or body is dropped', () => {
    const bom = [0xef, 0xbb, 0xbf];
    const withBom = (body: Uint8Array): Uint8Array => new Uint8Array([...bom, ...body]);
    const chat = chatSse();
    assert.deepEqual(feedSplits('openai.chat', 'sse', withBom(chat.body)).early, chat.expected);
    // Here only the first event names the response: it must not be lost to the BOM.
    const created = {
      type: 'response.created',
      sequence_number: 0,
      response: { id: 'resp_bom', model: 'gpt-5', usage: null },
    };
    const done = {
      type: 'response.completed',
      sequence_number: 1,
      response: { usage: { input_tokens: 3, output_tokens: 4 } },
    };
    const responses = withBom(text(`data: ${JSON.stringify(created)}\n\ndata: ${JSON.stringify(done)}\n\n`));
    assert.equal(feedSplits('openai.responses', 'sse', responses).early?.responseId, 'resp_bom');
    const json = chatJson();
    assert.deepEqual(feedSplits('openai.chat', 'json', withBom(json.body)).ended, json.expected);
    // Over the bound (picker) too.
    assert.deepEqual(feed('openai.chat', 'json', withBom(json.body), [1, 2, 300], 256).ended, json.expected);
    // A partial BOM is not one: the first line is then not a data line.
    const partial = new Uint8Array([
      0xef,
      0xbb,
      ...text(
        `data: ${JSON.stringify({ ...chatChunk(CHAT, {}), choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } })}\n\n`,
      ),
    ]);
    assert.equal(feedSplits('openai.chat', 'sse', partial).ended, undefined);
  });

  it('an event not closed by a blank line is dropped at end()', () => {
    const body = text(`data: ${JSON.stringify(usageEvent)}\n`);
    assert.equal(feedSplits('openai.chat', 'sse', body).ended, undefined);
    assert.deepEqual(
      feedSplits('openai.chat', 'sse', text(`data: ${JSON.stringify(usageEvent)}\n\n`)).ended?.usage,
      expectedUsage,
    );
  });

  it('"usage": null chunks are not taken for usage; "usage" inside a string is not either', () => {
    const trap = chatChunk(CHAT, { content: 'the "usage": {"prompt_tokens": 1, "completion_tokens": 1} kens"' });
    const body = sse([{ data: trap }, { data: chatChunk(CHAT, {}) }, { data: '[DONE]' }]);
    assert.equal(feedSplits('openai.chat', 'sse', body).ended, undefined);
  });

  it('usage written with spaces around the colon is found', () => {
    const raw = `{"id":"chatcmpl-x","model":"m","choices":[],"usage" :\t{ "prompt_tokens" : 8 , "completion_tokens" : 9 }}`;
    const body = text(
      `data: {"id":"chatcmpl-x","model":"m","choices":[{"delta":{"content":"a"}}],"usage":null}\n\ndata: ${raw}\n\ndata: [DONE]\n\n`,
    );
    assert.deepEqual(feedSplits('openai.chat', 'sse', body).early?.usage, { inputTokens: 8, outputTokens: 9 });
  });
});

describe('UsageStreamParser: junk values', () => {
  const chatWith = (usage: unknown): Uint8Array =>
    sse([{ data: { id: 'chatcmpl-j', model: 'm', choices: [], usage } }, { data: '[DONE]' }]);

  it('keeps only non-negative safe integers (numeric strings too, as toTokenCount reads them)', () => {
    const { early } = feed(
      'openai.chat',
      'sse',
      chatWith({
        prompt_tokens: 12,
        completion_tokens: -3,
        total_tokens: 1.5,
        prompt_tokens_details: { cached_tokens: '4' },
        completion_tokens_details: { reasoning_tokens: 'many' },
      }),
    );
    assert.deepEqual(early, {
      responseId: 'chatcmpl-j',
      model: 'm',
      usage: { inputTokens: 12, cacheReadInputTokens: 4 },
      totalTokens: undefined,
    });
  });

  it('no finding when neither input nor output is a valid count', () => {
    for (const usage of [
      {},
      { prompt_tokens: null, completion_tokens: 'x' },
      { prompt_tokens: NaN },
      [],
      'usage',
      { total_tokens: 10, prompt_tokens_details: { cached_tokens: 2 } },
    ]) {
      assert.equal(feedSplits('openai.chat', 'sse', chatWith(usage)).ended, undefined, JSON.stringify(usage));
    }
  });

  it('ids and models that are not short strings are dropped, the usage kept', () => {
    const { early } = feedSplits(
      'openai.chat',
      'sse',
      sse([
        { data: { id: 42, model: 'x'.repeat(300), choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } } },
        { data: '[DONE]' },
      ]),
    );
    assert.deepEqual(early, {
      responseId: undefined,
      model: undefined,
      usage: { inputTokens: 1, outputTokens: 2 },
      totalTokens: undefined,
    });
  });

  it('malformed JSON bodies and events give no finding and do not fail the parser', () => {
    for (const format of ['json', 'sse'] as const) {
      for (const body of [
        '{"usage":{"prompt_tokens":1,"completion_tokens":2}',
        '[]',
        'null',
        '{"usage":{"prompt_tokens":1}} trailing',
        '\u0000\u00ff',
        '',
      ]) {
        const data = format === 'sse' ? `data: ${body}\n\n` : body;
        const { ended } = feedSplits('openai.chat', format, text(data));
        assert.equal(ended, undefined, `${format}: ${body}`);
      }
    }
  });

  it('embeddings: an id in the body is not reported (embeddings have none)', () => {
    const body = jsonBody({
      id: 'emb-1',
      object: 'list',
      data: [],
      model: 'e5',
      usage: { prompt_tokens: 3, total_tokens: 3 },
    });
    assert.equal(feedSplits('openai.embeddings', 'json', body).ended?.responseId, undefined);
  });
});

describe('UsageStreamParser: every split point', () => {
  const styles: Array<[string, SseStyle]> = [
    ['LF', PLAIN],
    [
      'CR LF, no space, comments, multi-line data',
      { eol: '\r\n', space: false, comments: true, eventLines: true, multiline: true },
    ],
    ['CR', { eol: '\r', space: true, comments: false, eventLines: true, multiline: false }],
  ];
  for (const [styleName, style] of styles) {
    for (const f of allFixtures(style)) {
      if (f.format === 'json' && style !== PLAIN) continue;
      it(`${f.name} [${styleName}]: two pieces cut at every offset, and 1-byte pieces`, () => {
        if (f.endpoint !== 'openai.embeddings')
          assert.ok(/[^\x00-\x7f]/u.test(new TextDecoder().decode(f.body)), 'the fixture holds multi-byte UTF-8');
        const whole = feedFixture(f);
        assert.deepEqual(whole.ended, f.expected);
        for (let cut = 0; cut <= f.body.length; cut++) {
          const fed = feedFixture(f, [cut]);
          assert.deepEqual(fed.ended, f.expected, `cut at ${cut}`);
          assert.deepEqual(fed.early, whole.early, `cut at ${cut}: early finding`);
        }
        const bytewise = feedFixture(
          f,
          Array.from({ length: f.body.length }, (_, i) => i),
        );
        assert.deepEqual(bytewise.ended, f.expected);
        assert.deepEqual(bytewise.early, whole.early);
      });
    }
  }

  it('the same with the picker forced on (256-byte bound) for every event and body', () => {
    for (const f of allFixtures({ eol: '\r\n', space: true, comments: false, eventLines: true, multiline: false })) {
      for (let cut = 0; cut <= f.body.length; cut += 7) {
        assert.deepEqual(feedFixture(f, [cut, cut + 300], 256).ended, f.expected, `${f.name} cut at ${cut}`);
      }
    }
  });
});

describe('UsageStreamParser: partial bodies', () => {
  for (const f of allFixtures()) {
    it(`${f.name}: truncated anywhere, never a wrong finding; none before the deciding event`, () => {
      for (let cut = 0; cut < f.body.length; cut++) {
        const { early, ended } = feed(f.endpoint, f.format, f.body.subarray(0, cut), [cut >> 1]);
        assert.deepEqual(early, cut >= f.terminalAt ? f.expected : undefined, `finding, cut at ${cut}`);
        assert.deepEqual(ended, cut >= f.determinedAt ? f.expected : undefined, `end(), cut at ${cut}`);
      }
    });
  }

  it('SSE bodies cut before their terminal event give nothing at end() (Responses)', () => {
    const f = responsesSse();
    for (let cut = 0; cut < f.terminalAt; cut += 13)
      assert.equal(feed(f.endpoint, f.format, f.body.subarray(0, cut)).ended, undefined);
  });
});

describe("UsageStreamParser: the caller's chunks", () => {
  it('keeps no reference to a chunk and never writes to it', () => {
    for (const f of allFixtures({ eol: '\n', space: true, comments: true, eventLines: true, multiline: true })) {
      for (let cut = 1; cut < f.body.length; cut += 5) {
        const parser = new UsageStreamParser(f.endpoint, f.format, { maxBufferBytes: 256 });
        const first = f.body.slice(0, cut);
        const snapshot = first.slice();
        parser.push(first);
        assert.deepEqual(first, snapshot, 'unchanged');
        first.fill(0x7b); // the caller reuses its buffer: the parser must have copied what it needed
        parser.push(f.body.slice(cut));
        assert.deepEqual(parser.end(), f.expected, `${f.name} cut at ${cut}`);
      }
    }
  });

  it('accepts chunks that are views into a larger buffer', () => {
    const f = chatSse();
    const big = new Uint8Array(f.body.length + 20);
    big.set(f.body, 10);
    const view = big.subarray(10, 10 + f.body.length);
    assert.deepEqual(feed(f.endpoint, f.format, view, [100, 101, 900]).ended, f.expected);
  });

  it('ignores empty chunks', () => {
    const f = anthropicSse();
    const parser = new UsageStreamParser(f.endpoint, f.format);
    parser.push(new Uint8Array(0));
    parser.push(f.body);
    parser.push(new Uint8Array(0));
    assert.deepEqual(parser.finding, f.expected);
  });
});

describe('UsageStreamParser: options', () => {
  it('a junk maxBufferBytes falls back to the default; a tiny one is raised to 256', () => {
    for (const maxBufferBytes of [NaN, -1, 0, Infinity]) {
      const parser = new UsageStreamParser('openai.chat', 'json', { maxBufferBytes });
      parser.push(new Uint8Array(DEFAULT_TAP_MAX_BUFFER_BYTES).fill(0x20));
      assert.equal(parser.bufferedBytes, DEFAULT_TAP_MAX_BUFFER_BYTES, String(maxBufferBytes));
    }
    const tiny = new UsageStreamParser('openai.chat', 'sse', { maxBufferBytes: 1 });
    tiny.push(text('data: [DONE'));
    assert.equal(tiny.bufferedBytes, 5);
    tiny.push(text(']\n\n'));
    assert.equal(tiny.failed, false);
  });

  it('DEFAULT_TAP_MAX_BUFFER_BYTES is 64 KiB', () => {
    assert.equal(DEFAULT_TAP_MAX_BUFFER_BYTES, 65536);
  });
});

describe('UsageStreamParser: the needle search covers the last TAIL_WINDOW bytes of a chunk', () => {
  // A long stream delivered in a few large chunks, as a fast connection does: most events are skipped, and
  // the usage event, which every provider sends last or next to last, is still found.
  const long: ChatSpec = { ...CHAT, texts: Array.from({ length: 20_000 }, (_, i) => ` word${i}`) };
  const fixture = chatSse(long);

  it('finds the usage of a 2 MB chat stream fed as one chunk, or in 256 KiB chunks', () => {
    assert.ok(fixture.body.length > 2_000_000);
    assert.deepEqual(feedFixture(fixture).early, fixture.expected);
    const cuts = Array.from({ length: Math.floor(fixture.body.length / 262_144) }, (_, i) => (i + 1) * 262_144);
    assert.deepEqual(feedFixture(fixture, cuts).early, fixture.expected);
  });

  it('takes the last of several usage events (servers that repeat usage on every chunk)', () => {
    const events = [
      {
        data: {
          ...chatChunk(CHAT, { content: 'a' }),
          usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
        },
      },
      {
        data: {
          ...chatChunk(CHAT, { content: 'b' }),
          usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
        },
      },
      { data: '[DONE]' },
    ];
    const fed = feed('openai.chat', 'sse', sse(events));
    assert.equal(fed.early?.usage.outputTokens, 2);
  });
});
