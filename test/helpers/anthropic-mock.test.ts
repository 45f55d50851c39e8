/*
 * Drives the loopback Anthropic mock with the real `@anthropic-ai/sdk` client: `messages.create` (JSON and
 * SSE) and the `messages.stream()` helper, which rebuilds the Message from the events and so checks that
 * every event the mock sends has the shape the SDK expects.
 */
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import Anthropic from '@anthropic-ai/sdk';
import type {
  MessageCreateParamsNonStreaming,
  RawMessageStreamEvent,
} from '@anthropic-ai/sdk/resources/messages/messages';
import {
  ANTHROPIC_MOCK_REPLY_TEXT,
  ANTHROPIC_MOCK_START_OUTPUT_TOKENS,
  mockAnthropicResponseModel,
  startAnthropicMock,
} from './anthropic-mock.js';
import type { AnthropicMock, AnthropicMockCall, AnthropicMockOptions } from './anthropic-mock.js';

async function mockFor(t: TestContext, options?: AnthropicMockOptions): Promise<AnthropicMock> {
  const mock = await startAnthropicMock(options);
  t.after(() => mock.close());
  return mock;
}

function clientFor(mock: AnthropicMock): Anthropic {
  return new Anthropic({ apiKey: 'test-key', baseURL: mock.baseURL, maxRetries: 0 });
}

/** Polls instead of a fixed sleep: the server sees the disconnect a little after the client breaks. */
async function waitFor(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail('condition not met in time');
    await sleep(5);
  }
}

const params = (model = 'claude-haiku-4-5'): MessageCreateParamsNonStreaming => ({
  model,
  max_tokens: 256,
  messages: [{ role: 'user', content: 'hi' }],
});

const MESSAGE_ID = /^msg_01[A-Za-z0-9]{22}$/;
const REQUEST_ID = /^req_011C[A-Za-z0-9]{20}$/;

// Usage of calls 1 and 2 of a mock: odd calls read the cache, even calls write it.
const FIRST_USAGE = { inputTokens: 40, outputTokens: 8, cacheReadInputTokens: 1024, cacheCreationInputTokens: 0 };
const SECOND_USAGE = { inputTokens: 50, outputTokens: 9, cacheReadInputTokens: 0, cacheCreationInputTokens: 20 };

/** The SDK's view of the wire usage for a recorded call; the fields the mock never varies are fixed. */
function sdkUsage(u: typeof FIRST_USAGE, outputTokens = u.outputTokens): Anthropic.Usage {
  return {
    input_tokens: u.inputTokens,
    output_tokens: outputTokens,
    cache_creation_input_tokens: u.cacheCreationInputTokens,
    cache_read_input_tokens: u.cacheReadInputTokens,
    cache_creation: { ephemeral_5m_input_tokens: u.cacheCreationInputTokens, ephemeral_1h_input_tokens: 0 },
    inference_geo: null,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: 'standard',
    speed: null,
  };
}

describe('anthropic mock with @anthropic-ai/sdk', () => {
  it('answers messages.create with a JSON Message', async (t) => {
    const mock = await mockFor(t);
    const message = await clientFor(mock).messages.create(params());

    assert.equal(mock.calls.length, 1);
    const call = mock.calls[0];
    assert.deepEqual(call, {
      endpoint: 'messages',
      stream: false,
      responseId: message.id,
      requestModel: 'claude-haiku-4-5',
      responseModel: 'claude-haiku-4-5-20251001',
      usage: FIRST_USAGE,
      completed: true,
    } satisfies AnthropicMockCall);
    assert.match(message.id, MESSAGE_ID);
    assert.match(message._request_id ?? '', REQUEST_ID);
    assert.deepEqual(
      { ...message },
      {
        id: call.responseId,
        type: 'message',
        role: 'assistant',
        model: 'claude-haiku-4-5-20251001',
        content: [{ type: 'text', text: ANTHROPIC_MOCK_REPLY_TEXT }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        stop_details: null,
        container: null,
        diagnostics: null,
        usage: sdkUsage(FIRST_USAGE),
      },
    );
  });

  it('streams messages.create as typed events, with the final usage in message_delta', async (t) => {
    const mock = await mockFor(t);
    const client = clientFor(mock);
    // A first call so the streamed one's usage differs from the defaults.
    await client.messages.create(params());
    const stream = await client.messages.create({ ...params('claude-opus-4-5'), stream: true });
    const events: RawMessageStreamEvent[] = [];
    for await (const event of stream) events.push(event);

    assert.deepEqual(
      events.map((e) => e.type),
      [
        'message_start',
        'content_block_start',
        ...Array<string>(6).fill('content_block_delta'),
        'content_block_stop',
        'message_delta',
        'message_stop',
      ],
      'ping is on the wire but the SDK skips it',
    );
    assert.equal(mock.calls.length, 2);
    const call = mock.calls[1];
    assert.deepEqual(call, {
      endpoint: 'messages',
      stream: true,
      responseId: call.responseId,
      requestModel: 'claude-opus-4-5',
      responseModel: 'claude-opus-4-5-20251101',
      usage: SECOND_USAGE,
      // What message_start carried: the input and cache counts, a placeholder output.
      startUsage: { ...SECOND_USAGE, outputTokens: ANTHROPIC_MOCK_START_OUTPUT_TOKENS },
      completed: true,
    } satisfies AnthropicMockCall);
    assert.match(call.responseId, MESSAGE_ID);
    assert.notEqual(call.responseId, mock.calls[0].responseId);

    const start = events[0];
    assert.ok(start.type === 'message_start');
    assert.deepEqual(start.message, {
      id: call.responseId,
      type: 'message',
      role: 'assistant',
      model: 'claude-opus-4-5-20251101',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      stop_details: null,
      container: null,
      diagnostics: null,
      usage: sdkUsage(SECOND_USAGE, 1),
    });
    assert.deepEqual(events[1], {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    });
    const text = events
      .map((e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : ''))
      .join('');
    assert.equal(text, ANTHROPIC_MOCK_REPLY_TEXT);
    assert.deepEqual(events.at(-3), { type: 'content_block_stop', index: 0 });
    assert.deepEqual(events.at(-2), {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null, stop_details: null, container: null },
      usage: {
        input_tokens: 50,
        output_tokens: 9,
        cache_creation_input_tokens: 20,
        cache_read_input_tokens: 0,
        output_tokens_details: null,
        server_tool_use: null,
      },
    });
    assert.deepEqual(events.at(-1), { type: 'message_stop' });
  });

  it('gives messages.stream().finalMessage() the final usage', async (t) => {
    const mock = await mockFor(t, { chunks: 3 });
    const stream = clientFor(mock).messages.stream(params());
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    const message = await stream.finalMessage();

    assert.equal(deltas.length, 3);
    assert.equal(deltas.join(''), ANTHROPIC_MOCK_REPLY_TEXT);
    assert.equal(mock.calls.length, 1);
    const call = mock.calls[0];
    assert.equal(call.stream, true);
    assert.equal(call.completed, true);
    assert.deepEqual(call.usage, FIRST_USAGE);
    assert.equal(message.id, call.responseId);
    assert.equal(message.model, 'claude-haiku-4-5-20251001');
    assert.equal(message.stop_reason, 'end_turn');
    assert.deepEqual(message.content, [{ type: 'text', text: ANTHROPIC_MOCK_REPLY_TEXT }]);
    // The helper merges message_delta's cumulative counts into message_start's usage.
    assert.deepEqual(message.usage, sdkUsage(FIRST_USAGE));
    assert.equal(await stream.finalText(), ANTHROPIC_MOCK_REPLY_TEXT);
  });

  it('records a stream the client breaks out of as not completed, without usage, and keeps serving', async (t) => {
    // Slow enough that the client is gone long before message_delta.
    const mock = await mockFor(t, { chunkDelayMs: 25 });
    const client = clientFor(mock);
    const stream = await client.messages.create({ ...params(), stream: true });
    const seen: string[] = [];
    for await (const event of stream) {
      seen.push(event.type);
      if (event.type === 'content_block_delta') break;
    }
    assert.deepEqual(seen, ['message_start', 'content_block_start', 'content_block_delta']);
    await waitFor(() => mock.calls[0]?.completed === false);
    const abandoned = mock.calls[0];
    assert.equal(abandoned.usage, undefined, 'message_delta never went out');
    await sleep(100); // The stream loop must have noticed and stopped without crashing anything.
    assert.equal(abandoned.completed, false);
    assert.equal(abandoned.usage, undefined);

    const next = await client.messages.create(params());
    assert.equal(next.usage.input_tokens, 50);
    assert.equal(mock.calls.length, 2);
    assert.equal(mock.calls[1].completed, true);
    assert.deepEqual(mock.calls[1].usage, SECOND_USAGE);
  });

  it('varies usage deterministically by call and dates known aliases', async (t) => {
    const mock = await mockFor(t);
    const client = clientFor(mock);
    const models = ['claude-haiku-4-5', 'claude-haiku-4-5-20251001', 'claude-opus-4-5', 'my-model'];
    for (const model of models) await client.messages.create(params(model));
    assert.deepEqual(
      mock.calls.map((c) => [c.responseModel, c.usage]),
      [
        ['claude-haiku-4-5-20251001', FIRST_USAGE],
        ['claude-haiku-4-5-20251001', SECOND_USAGE],
        [
          'claude-opus-4-5-20251101',
          { inputTokens: 60, outputTokens: 10, cacheReadInputTokens: 1024, cacheCreationInputTokens: 0 },
        ],
        ['my-model', { inputTokens: 70, outputTokens: 11, cacheReadInputTokens: 0, cacheCreationInputTokens: 20 }],
      ],
    );
    // Not through the client: it warns on every call to this (deprecated) alias.
    assert.equal(mockAnthropicResponseModel('claude-sonnet-4-5'), 'claude-sonnet-4-5-20250929');
    const res = await fetch(`${mock.baseURL}/v1/messages`, {
      method: 'POST',
      body: JSON.stringify(params('claude-sonnet-4-5')),
    });
    assert.equal(((await res.json()) as { model: string }).model, 'claude-sonnet-4-5-20250929');
  });

  it('maps unknown routes to NotFoundError in the client', async (t) => {
    const mock = await mockFor(t);
    await assert.rejects(clientFor(mock).models.list(), (err: unknown) => {
      assert.ok(err instanceof Anthropic.NotFoundError);
      assert.equal(err.status, 404);
      assert.equal(err.type, 'not_found_error');
      assert.match(err.requestID ?? '', REQUEST_ID);
      return true;
    });
    assert.equal(mock.calls.length, 0);
  });
});

describe('anthropic mock wire format, errors and lifecycle', () => {
  it('frames every SSE event as `event: <type>` plus its JSON, ping included', async (t) => {
    const mock = await mockFor(t, { chunks: 2, chunkDelayMs: 0 });
    const res = await fetch(`${mock.baseURL}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...params(), stream: true }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.match(res.headers.get('request-id') ?? '', REQUEST_ID);
    const raw = await res.text();
    assert.ok(raw.endsWith('\n\n'));
    const blocks = raw.slice(0, -2).split('\n\n');
    const types = blocks.map((block) => {
      const match = /^event: ([a-z_]+)\ndata: (.+)$/.exec(block);
      assert.ok(match, `well-formed event: ${block}`);
      const data = JSON.parse(match[2]) as { type: string };
      assert.equal(data.type, match[1]);
      return data.type;
    });
    assert.deepEqual(types, [
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    assert.ok(raw.includes('event: ping\ndata: {"type":"ping"}\n\n'));
    assert.equal(mock.calls[0].completed, true);
  });

  it('answers other paths with 404 and other methods with 405, as Anthropic errors', async (t) => {
    const mock = await mockFor(t);
    const expectError = async (res: Response, status: number, type: string, message: string): Promise<void> => {
      assert.equal(res.status, status);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const body = (await res.json()) as { request_id: unknown };
      assert.match(String(body.request_id), REQUEST_ID);
      assert.equal(body.request_id, res.headers.get('request-id'));
      assert.deepEqual(body, { type: 'error', error: { type, message }, request_id: body.request_id });
    };
    await expectError(
      await fetch(`${mock.baseURL}/v1/complete`, { method: 'POST', body: '{}' }),
      404,
      'not_found_error',
      'Not found',
    );
    await expectError(await fetch(`${mock.baseURL}/v1/models`), 404, 'not_found_error', 'Not found');
    const get = await fetch(`${mock.baseURL}/v1/messages`);
    assert.equal(get.headers.get('allow'), 'POST');
    await expectError(get, 405, 'invalid_request_error', 'Method GET not allowed on /v1/messages');
    await expectError(
      await fetch(`${mock.baseURL}/v1/messages`, { method: 'POST', body: '{"model": "claude-haiku-4-5",' }),
      400,
      'invalid_request_error',
      'There was an issue with your request body: invalid JSON',
    );
    await expectError(
      await fetch(`${mock.baseURL}/v1/messages`, {
        method: 'POST',
        body: JSON.stringify({ model: 'claude-haiku-4-5', messages: [] }),
      }),
      400,
      'invalid_request_error',
      'max_tokens: Field required',
    );
    assert.equal(mock.calls.length, 0);
  });

  it('close() ends in-flight streams and is idempotent', async (t) => {
    const mock = await mockFor(t, { chunkDelayMs: 50 });
    const res = await fetch(`${mock.baseURL}/v1/messages`, {
      method: 'POST',
      body: JSON.stringify({ ...params(), stream: true }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    const started = Date.now();
    await Promise.all([mock.close(), mock.close()]);
    assert.ok(Date.now() - started < 1000, 'close does not wait for the stream to finish');
    await assert.rejects(async () => {
      for (;;) if ((await reader.read()).done) break;
    });
    await waitFor(() => mock.calls[0]?.completed === false);
    assert.equal(mock.calls[0].usage, undefined);
  });
});
