/*
 * Drives the loopback OpenAI mock with the real clients (openai, Vercel AI SDK + @ai-sdk/openai). The AI SDK
 * validates every payload with zod, so these tests also prove the mock's wire shapes are accepted.
 */
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { embed, generateText, stepCountIs, streamText, tool } from 'ai';
import type { LanguageModelUsage } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { z } from 'zod';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { MOCK_EMBEDDING_DIMENSIONS, MOCK_REPLY_TEXT, mockEmbeddingVector, startOpenAiMock } from './openai-mock.js';
import type { MockCall, MockUsage, OpenAiMock, OpenAiMockOptions } from './openai-mock.js';

async function mockFor(t: TestContext, options?: OpenAiMockOptions): Promise<OpenAiMock> {
  const mock = await startOpenAiMock(options);
  t.after(() => mock.close());
  return mock;
}

function clientFor(mock: OpenAiMock): OpenAI {
  return new OpenAI({ apiKey: 'test', baseURL: mock.baseURL, maxRetries: 0 });
}

function onlyCall(mock: OpenAiMock): MockCall {
  assert.equal(mock.calls.length, 1);
  return mock.calls[0];
}

function recordedUsage(call: MockCall): MockUsage {
  assert.ok(call.usage, 'the mock recorded the usage it sent');
  return call.usage;
}

/** Polls instead of a fixed sleep: the server sees the disconnect a little after the client breaks. */
async function waitFor(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail('condition not met in time');
    await sleep(5);
  }
}

const CHAT_ID = /^chatcmpl-[A-Za-z0-9]{29}$/;
const RESPONSE_ID = /^resp_[0-9a-f]{48}$/;
const MESSAGE_ID = /^msg_[0-9a-f]+$/;

describe('openai mock with the openai client', () => {
  it('answers a non-streamed chat completion', async (t) => {
    const mock = await mockFor(t);
    const completion = await clientFor(mock).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    const call = onlyCall(mock);
    assert.deepEqual(call, {
      endpoint: 'chat',
      stream: false,
      includeUsage: true,
      responseId: completion.id,
      requestModel: 'gpt-4o-mini',
      responseModel: 'gpt-4o-mini-2024-07-18',
      usage: { inputTokens: 30, outputTokens: 6, totalTokens: 36, cacheReadInputTokens: 4, reasoningOutputTokens: 1 },
      completed: true,
      toolCall: undefined,
    });
    assert.match(completion.id, CHAT_ID);
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.model, 'gpt-4o-mini-2024-07-18');
    assert.ok(Math.abs(completion.created - Date.now() / 1000) < 60, 'created is in seconds');
    assert.match(completion.system_fingerprint ?? '', /^fp_[0-9a-f]+$/);
    assert.deepEqual(completion.choices, [
      {
        index: 0,
        message: { role: 'assistant', content: MOCK_REPLY_TEXT, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ]);
    assert.equal(completion.usage?.prompt_tokens, 30);
    assert.equal(completion.usage?.completion_tokens, 6);
    assert.equal(completion.usage?.total_tokens, 36);
    // As the API sends them: the cache inside the prompt count, reasoning inside the completion count.
    assert.equal(completion.usage?.prompt_tokens_details?.cached_tokens, 4);
    assert.equal(completion.usage?.completion_tokens_details?.reasoning_tokens, 1);
  });

  it('streams chat without usage unless include_usage is set', async (t) => {
    const mock = await mockFor(t);
    const chunks: ChatCompletionChunk[] = [];
    const stream = await clientFor(mock).chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    for await (const chunk of stream) chunks.push(chunk);

    assert.equal(chunks.length, 1 + 6 + 1, 'role chunk, six content deltas, finish chunk');
    assert.ok(
      chunks.every((c) => !('usage' in c)),
      'no usage field at all without include_usage',
    );
    assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '', refusal: null });
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), MOCK_REPLY_TEXT);
    assert.equal(chunks.at(-1)!.choices[0].finish_reason, 'stop');
    assert.deepEqual(chunks.at(-1)!.choices[0].delta, {});
    const ids = new Set(chunks.map((c) => `${c.id}|${c.created}|${c.model}|${c.object}`));
    assert.equal(ids.size, 1, 'same id, created, model on every chunk');

    const call = onlyCall(mock);
    assert.match(call.responseId, CHAT_ID);
    assert.equal(chunks[0].id, call.responseId);
    assert.equal(call.responseModel, 'gpt-4o-2024-08-06');
    assert.equal(call.stream, true);
    assert.equal(call.includeUsage, false);
    assert.equal(call.usage, undefined);
    assert.equal(call.completed, true);
  });

  it('streams chat with a final usage chunk when include_usage is set', async (t) => {
    const mock = await mockFor(t, { chunks: 3 });
    const client = clientFor(mock);
    // A first call so the second one's usage differs from the defaults.
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const chunks: ChatCompletionChunk[] = [];
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of stream) chunks.push(chunk);

    assert.equal(chunks.length, 1 + 3 + 1 + 1);
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.ok(
      chunks.slice(0, -1).every((c) => c.usage === null),
      'usage: null on every other chunk',
    );
    assert.equal(
      chunks
        .slice(0, -1)
        .map((c) => c.choices[0]?.delta.content ?? '')
        .join(''),
      MOCK_REPLY_TEXT,
    );

    assert.equal(mock.calls.length, 2);
    const call = mock.calls[1];
    assert.equal(call.includeUsage, true);
    assert.equal(call.completed, true);
    assert.deepEqual(call.usage, {
      inputTokens: 40,
      outputTokens: 7,
      totalTokens: 47,
      cacheReadInputTokens: 8,
      reasoningOutputTokens: 2,
    });
    assert.notDeepEqual(call.usage, mock.calls[0].usage, 'usage differs between calls');
    assert.equal(last.usage?.prompt_tokens, 40);
    assert.equal(last.usage?.completion_tokens, 7);
    assert.equal(last.usage?.total_tokens, 47);
  });

  it('answers a non-streamed response', async (t) => {
    const mock = await mockFor(t);
    const response = await clientFor(mock).responses.create({
      model: 'gpt-4o-mini',
      input: 'hi',
      instructions: 'Be brief.',
    });
    const call = onlyCall(mock);
    const usage = recordedUsage(call);

    assert.match(response.id, RESPONSE_ID);
    assert.equal(response.id, call.responseId);
    assert.equal(response.object, 'response');
    assert.equal(response.status, 'completed');
    assert.equal(response.model, 'gpt-4o-mini-2024-07-18');
    assert.equal(response.instructions, 'Be brief.');
    assert.equal(response.output_text, MOCK_REPLY_TEXT, 'the client computes output_text from output');
    const [item] = response.output;
    assert.equal(item?.type, 'message');
    assert.match(item.id, MESSAGE_ID);
    assert.deepEqual(item.content, [{ type: 'output_text', text: MOCK_REPLY_TEXT, annotations: [], logprobs: [] }]);
    assert.deepEqual(usage, {
      inputTokens: 30,
      outputTokens: 6,
      totalTokens: 36,
      cacheReadInputTokens: 8,
      reasoningOutputTokens: 1,
    });
    assert.equal(response.usage?.input_tokens, usage.inputTokens);
    assert.equal(response.usage?.input_tokens_details.cached_tokens, usage.cacheReadInputTokens);
    assert.equal(response.usage?.output_tokens, usage.outputTokens);
    assert.equal(response.usage?.output_tokens_details.reasoning_tokens, usage.reasoningOutputTokens);
    assert.equal(response.usage?.total_tokens, usage.totalTokens);
    assert.equal(call.includeUsage, true);
    assert.equal(call.completed, true);
  });

  it('streams a response as typed, numbered events ending in response.completed with usage', async (t) => {
    const mock = await mockFor(t, { chunks: 4 });
    const events: ResponseStreamEvent[] = [];
    const stream = await clientFor(mock).responses.create({ model: 'gpt-4o-mini', input: 'hi', stream: true });
    for await (const event of stream) events.push(event);

    assert.deepEqual(
      events.map((e) => e.type),
      [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        ...Array<string>(4).fill('response.output_text.delta'),
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ],
    );
    assert.deepEqual(
      events.map((e) => e.sequence_number),
      events.map((_, i) => i),
    );
    const created = events[0];
    assert.ok(created.type === 'response.created');
    assert.equal(created.response.status, 'in_progress');
    assert.equal(created.response.usage, undefined);

    const deltas = events.filter((e) => e.type === 'response.output_text.delta');
    assert.equal(deltas.map((e) => e.delta).join(''), MOCK_REPLY_TEXT);
    const itemIds = new Set(deltas.map((e) => e.item_id));
    assert.equal(itemIds.size, 1);
    assert.match([...itemIds][0], MESSAGE_ID);

    const completed = events.at(-1)!;
    assert.ok(completed.type === 'response.completed');
    const call = onlyCall(mock);
    const usage = recordedUsage(call);
    assert.equal(completed.response.id, call.responseId);
    assert.equal(completed.response.status, 'completed');
    assert.ok(usage.cacheReadInputTokens > 0 && usage.reasoningOutputTokens > 0);
    assert.deepEqual(completed.response.usage, {
      input_tokens: usage.inputTokens,
      input_tokens_details: { cached_tokens: usage.cacheReadInputTokens, cache_write_tokens: 0 },
      output_tokens: usage.outputTokens,
      output_tokens_details: { reasoning_tokens: usage.reasoningOutputTokens },
      total_tokens: usage.totalTokens,
    });
    assert.equal(call.stream, true);
    assert.equal(call.completed, true);
  });

  it('returns embeddings the client decodes, from base64 (its default) and from float', async (t) => {
    const mock = await mockFor(t);
    const client = clientFor(mock);
    const input = ['first text', 'second text'];
    const expected = input.map(mockEmbeddingVector);
    assert.equal(expected[0].length, MOCK_EMBEDDING_DIMENSIONS);

    const viaBase64 = await client.embeddings.create({ model: 'text-embedding-3-small', input });
    assert.deepEqual(
      viaBase64.data.map((d) => d.embedding),
      expected,
    );
    assert.deepEqual(
      viaBase64.data.map((d) => d.index),
      [0, 1],
    );
    const viaFloat = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'first text',
      encoding_format: 'float',
    });
    assert.deepEqual(
      viaFloat.data.map((d) => d.embedding),
      [expected[0]],
    );

    // Without encoding_format the client asks for base64 and decodes it itself.
    const raw = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'first text' }).asResponse();
    const wire = (await raw.json()) as { data: { embedding: unknown }[] };
    assert.equal(typeof wire.data[0].embedding, 'string');

    assert.equal(mock.calls.length, 3);
    const call = mock.calls[0];
    assert.equal(call.endpoint, 'embeddings');
    assert.equal(call.responseId, '');
    assert.equal(call.responseModel, 'text-embedding-3-small');
    assert.equal(viaBase64.model, 'text-embedding-3-small');
    assert.deepEqual(viaBase64.usage, { prompt_tokens: 30, total_tokens: 30 });
    assert.deepEqual(call.usage, {
      inputTokens: 30,
      outputTokens: 0,
      totalTokens: 30,
      cacheReadInputTokens: 0,
      reasoningOutputTokens: 0,
    });
  });

  it('dates response models like OpenAI does', async (t) => {
    const mock = await mockFor(t);
    const client = clientFor(mock);
    const ask = async (model: string) =>
      (await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] })).model;
    assert.equal(await ask('gpt-4o'), 'gpt-4o-2024-08-06');
    assert.equal(await ask('my-model'), 'my-model-2024-07-18');
    assert.equal(await ask('gpt-4o-2024-05-13'), 'gpt-4o-2024-05-13');
  });

  it('records a stream the client abandons as not completed and keeps serving', async (t) => {
    // Slow enough that the client is gone long before the last chunk.
    const mock = await mockFor(t, { chunkDelayMs: 25 });
    const client = clientFor(mock);
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of stream) {
      assert.equal(chunk.choices[0]?.delta.role, 'assistant');
      break;
    }
    await waitFor(() => mock.calls[0]?.completed === false);
    const abandoned = onlyCall(mock);
    assert.equal(abandoned.usage, undefined, 'the usage chunk never went out');
    await sleep(100); // The stream loop must have noticed and stopped without crashing anything.
    assert.equal(abandoned.completed, false);

    const next = await client.responses.create({ model: 'gpt-4o-mini', input: 'still there?' });
    assert.equal(next.output_text, MOCK_REPLY_TEXT);
    assert.equal(mock.calls.length, 2);
    assert.equal(mock.calls[1].completed, true);
  });

  it('with toolCallArguments, calls the first tool until a tool result comes back, streamed or not', async (t) => {
    const mock = await mockFor(t, { toolCallArguments: { city: 'Paris' } });
    const client = clientFor(mock);
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'weather', parameters: { type: 'object' } } },
      { type: 'function', function: { name: 'other', parameters: { type: 'object' } } },
    ];
    const ask = [{ role: 'user' as const, content: 'weather in Paris?' }];
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: ask, tools });
    const [choice] = completion.choices;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    const [toolCall] = choice.message.tool_calls ?? [];
    assert.ok(toolCall?.type === 'function');
    assert.match(toolCall.id, /^call_[A-Za-z0-9]{24}$/);
    assert.deepEqual(toolCall.function, { name: 'weather', arguments: '{"city":"Paris"}' });

    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: ask,
      tools,
      stream: true,
      stream_options: { include_usage: true },
    });
    let args = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(args, '{"city":"Paris"}');
    assert.equal(finish, 'tool_calls');

    const answered = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        ...ask,
        { role: 'assistant', content: null, tool_calls: [toolCall] },
        { role: 'tool', tool_call_id: toolCall.id, content: 'sunny' },
      ],
      tools,
    });
    assert.equal(answered.choices[0].message.content, MOCK_REPLY_TEXT);
    const plain = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: ask });
    assert.equal(plain.choices[0].message.content, MOCK_REPLY_TEXT, 'no tools offered: text');
    assert.deepEqual(
      mock.calls.map((c) => [c.toolCall, c.completed, c.usage !== undefined]),
      [
        ['weather', true, true],
        ['weather', true, true],
        [undefined, true, true],
        [undefined, true, true],
      ],
    );
  });

  it('maps unknown routes to NotFoundError in the client', async (t) => {
    const mock = await mockFor(t);
    await assert.rejects(clientFor(mock).models.list(), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.equal(err.status, 404);
      assert.equal(err.type, 'invalid_request_error');
      return true;
    });
    assert.equal(mock.calls.length, 0);
  });
});

describe('openai mock with the Vercel AI SDK', () => {
  const providerFor = (mock: OpenAiMock) => createOpenAI({ apiKey: 'test', baseURL: mock.baseURL });

  function assertUsage(actual: LanguageModelUsage, expected: MockUsage): void {
    assert.equal(actual.inputTokens, expected.inputTokens);
    assert.equal(actual.outputTokens, expected.outputTokens);
    assert.equal(actual.totalTokens, expected.totalTokens);
    assert.equal(actual.inputTokenDetails.cacheReadTokens, expected.cacheReadInputTokens);
    assert.equal(actual.inputTokenDetails.noCacheTokens, expected.inputTokens - expected.cacheReadInputTokens);
    assert.equal(actual.outputTokenDetails.reasoningTokens, expected.reasoningOutputTokens);
    assert.equal(actual.outputTokenDetails.textTokens, expected.outputTokens - expected.reasoningOutputTokens);
  }

  it('generateText over chat completions', async (t) => {
    const mock = await mockFor(t);
    const result = await generateText({ model: providerFor(mock).chat('gpt-4o-mini'), prompt: 'hi' });
    const call = onlyCall(mock);
    assert.equal(call.endpoint, 'chat');
    assert.equal(call.stream, false);
    assert.equal(result.text, MOCK_REPLY_TEXT);
    assert.equal(result.finishReason, 'stop');
    assert.equal(result.response.id, call.responseId);
    assert.equal(result.response.modelId, call.responseModel);
    assertUsage(result.usage, recordedUsage(call));
  });

  it('streamText over chat completions asks for usage and reports it', async (t) => {
    const mock = await mockFor(t);
    const result = streamText({ model: providerFor(mock).chat('gpt-4o-mini'), prompt: 'hi' });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    const usage = await result.usage;
    const call = onlyCall(mock);
    assert.equal(text, MOCK_REPLY_TEXT);
    assert.equal(call.stream, true);
    assert.equal(call.includeUsage, true, 'the AI SDK sends stream_options.include_usage');
    assert.equal(call.completed, true);
    assertUsage(usage, recordedUsage(call));
    assert.equal((await result.response).id, call.responseId);
  });

  it('generateText over the Responses API, with cached and reasoning tokens', async (t) => {
    const mock = await mockFor(t);
    const result = await generateText({ model: providerFor(mock).responses('gpt-4o-mini'), prompt: 'hi' });
    const call = onlyCall(mock);
    assert.equal(call.endpoint, 'responses');
    assert.equal(result.text, MOCK_REPLY_TEXT);
    assert.equal(result.finishReason, 'stop');
    assert.equal(result.response.id, call.responseId);
    assert.equal(result.response.modelId, call.responseModel);
    const usage = recordedUsage(call);
    assert.ok(usage.cacheReadInputTokens > 0 && usage.reasoningOutputTokens > 0);
    assertUsage(result.usage, usage);
  });

  it('streamText over the Responses API', async (t) => {
    const mock = await mockFor(t);
    const result = streamText({ model: providerFor(mock).responses('gpt-4o-mini'), prompt: 'hi' });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    const usage = await result.usage;
    const call = onlyCall(mock);
    assert.equal(text, MOCK_REPLY_TEXT);
    assert.equal(await result.finishReason, 'stop');
    assert.equal(call.endpoint, 'responses');
    assert.equal(call.stream, true);
    assert.equal(call.completed, true);
    assertUsage(usage, recordedUsage(call));
    assert.equal((await result.response).id, call.responseId);
  });

  it('the default provider model uses the Responses API', async (t) => {
    const mock = await mockFor(t);
    const provider = providerFor(mock);
    const generated = await generateText({ model: provider('gpt-4o-mini'), prompt: 'hi' });
    const streamed = streamText({ model: provider('gpt-4o-mini'), prompt: 'hi' });
    let text = '';
    for await (const delta of streamed.textStream) text += delta;
    assert.equal(generated.text, MOCK_REPLY_TEXT);
    assert.equal(text, MOCK_REPLY_TEXT);
    assert.deepEqual(
      mock.calls.map((c) => [c.endpoint, c.stream]),
      [
        ['responses', false],
        ['responses', true],
      ],
    );
    assertUsage(generated.usage, recordedUsage(mock.calls[0]));
    assertUsage(await streamed.usage, recordedUsage(mock.calls[1]));
  });

  it('an agent loop, generateText and streamText: a tool call, then text, usage summed over the calls', async (t) => {
    const mock = await mockFor(t, { toolCallArguments: { city: 'Paris' } });
    const cities: string[] = [];
    const weather = tool({
      description: 'The weather in a city',
      inputSchema: z.object({ city: z.string() }),
      execute: ({ city }) => {
        cities.push(city);
        return Promise.resolve({ city, sky: 'sunny' });
      },
    });
    const options = {
      model: providerFor(mock).chat('gpt-4o-mini'),
      prompt: 'weather in Paris?',
      tools: { weather },
      stopWhen: stepCountIs(5),
    };
    const generated = await generateText(options);
    const streamed = streamText(options);
    let text = '';
    for await (const delta of streamed.textStream) text += delta;
    assert.deepEqual(cities, ['Paris', 'Paris']);
    assert.equal(generated.text, MOCK_REPLY_TEXT);
    assert.equal(text, MOCK_REPLY_TEXT);
    assert.deepEqual(
      generated.steps.map((s) => s.finishReason),
      ['tool-calls', 'stop'],
    );
    assert.deepEqual(
      mock.calls.map((c) => [c.stream, c.toolCall]),
      [
        [false, 'weather'],
        [false, undefined],
        [true, 'weather'],
        [true, undefined],
      ],
    );
    const sum = (calls: MockCall[]) => calls.reduce((n, c) => n + recordedUsage(c).inputTokens, 0);
    assert.equal(generated.totalUsage.inputTokens, sum(mock.calls.slice(0, 2)));
    assert.equal((await streamed.totalUsage).inputTokens, sum(mock.calls.slice(2)));
  });

  it('embed', async (t) => {
    const mock = await mockFor(t);
    const result = await embed({ model: providerFor(mock).embedding('text-embedding-3-small'), value: 'sunny day' });
    const call = onlyCall(mock);
    assert.equal(call.endpoint, 'embeddings');
    assert.deepEqual(result.embedding, mockEmbeddingVector('sunny day'));
    assert.equal(result.usage.tokens, recordedUsage(call).inputTokens);
  });
});

describe('openai mock errors and lifecycle', () => {
  it('answers unknown routes with a 404 OpenAI error', async (t) => {
    const mock = await mockFor(t);
    for (const [method, path] of [
      ['POST', '/completions-nope'],
      ['GET', '/chat/completions'],
      ['GET', '/models'],
    ] as const) {
      const res = await fetch(`${mock.baseURL}${path}`, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
      assert.equal(res.status, 404);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(await res.json(), {
        error: {
          message: `Invalid URL (${method} /v1${path})`,
          type: 'invalid_request_error',
          param: null,
          code: null,
        },
      });
    }
    assert.equal(mock.calls.length, 0);
  });

  it('answers a malformed JSON body with a 400 OpenAI error', async (t) => {
    const mock = await mockFor(t);
    const res = await fetch(`${mock.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model": "gpt-4o-mini",',
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: Record<string, unknown> };
    assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(String(body.error.message), /could not parse the JSON body/);
    assert.equal(mock.calls.length, 0);

    const healthy = await fetch(`${mock.baseURL}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }),
    });
    assert.equal(healthy.status, 200);
  });

  it('close() ends in-flight streams and is idempotent', async (t) => {
    const mock = await mockFor(t, { chunkDelayMs: 50 });
    const res = await fetch(`${mock.baseURL}/responses`, {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt-4o-mini', input: 'hi', stream: true }),
    });
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = res.body!.getReader();
    await reader.read();
    const started = Date.now();
    await Promise.all([mock.close(), mock.close()]);
    assert.ok(Date.now() - started < 1000, 'close does not wait for the stream to finish');
    await assert.rejects(async () => {
      for (;;) if ((await reader.read()).done) break;
    });
    await waitFor(() => mock.calls[0]?.completed === false);
  });
});
