// usageTapFetch over a real loopback HTTP server and Node's own fetch: what the application reads is the
// server's bytes exactly, the report carries the wire's usage and the active span, and an early cancel
// reports nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CreateEmbeddingResponse } from 'openai/resources/embeddings';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import { GenAiEnrichingProcessor, isUsageTap, usageTapFetch } from '../../src/index.js';
import type { TapReport } from '../../src/types.js';
import { withIncludeUsage } from '../../src/tap/fetch.js';
import { startProviderServer, splitAt } from './provider-server.js';
import type { Answer, ProviderServer } from './provider-server.js';
import { RecordingSink } from './recording-sink.js';

const encoder = new TextEncoder();

const Sink = RecordingSink;

function sse(events: readonly unknown[]): string {
  return events.map((e) => (typeof e === 'string' ? `data: ${e}\n\n` : `data: ${JSON.stringify(e)}\n\n`)).join('');
}

function chatChunk(choices: ChatCompletionChunk.Choice[], usage?: ChatCompletionChunk['usage']): ChatCompletionChunk {
  return {
    id: 'chatcmpl-Tap1',
    object: 'chat.completion.chunk',
    created: 1_763_800_000,
    model: 'gpt-4o-mini-2024-07-18',
    choices,
    ...(usage !== undefined ? { usage } : {}),
  };
}

const CHAT_USAGE = {
  prompt_tokens: 42,
  completion_tokens: 7,
  total_tokens: 49,
  prompt_tokens_details: { cached_tokens: 16 },
};

function chatStream(includeUsage: boolean): string {
  const deltas = ['Grüß ', 'dich ', '👋'].map((content) =>
    chatChunk([{ index: 0, delta: { content }, finish_reason: null }], includeUsage ? null : undefined),
  );
  const last = chatChunk([{ index: 0, delta: {}, finish_reason: 'stop' }], includeUsage ? null : undefined);
  return sse([...deltas, last, ...(includeUsage ? [chatChunk([], CHAT_USAGE)] : []), '[DONE]']);
}

const CHAT_JSON: ChatCompletion = {
  id: 'chatcmpl-Tap2',
  object: 'chat.completion',
  created: 1_763_800_000,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'Grüß dich 👋', refusal: null },
      finish_reason: 'stop',
      logprobs: null,
    },
  ],
  usage: CHAT_USAGE,
};

const EMBEDDINGS: CreateEmbeddingResponse = {
  object: 'list',
  data: [{ object: 'embedding', index: 0, embedding: [0.1, -0.2, 0.3] }],
  model: 'text-embedding-3-small',
  usage: { prompt_tokens: 5, total_tokens: 5 },
};

const RESPONSE_EVENTS = [
  {
    type: 'response.created',
    sequence_number: 0,
    response: {
      id: 'resp_Tap3',
      object: 'response',
      model: 'gpt-4o-mini-2024-07-18',
      status: 'in_progress',
      output: [],
      usage: null,
    },
  },
  {
    type: 'response.output_text.delta',
    sequence_number: 1,
    item_id: 'msg_1',
    output_index: 0,
    content_index: 0,
    delta: 'Grüß 👋',
    logprobs: [],
  },
  {
    type: 'response.completed',
    sequence_number: 2,
    response: {
      id: 'resp_Tap3',
      object: 'response',
      model: 'gpt-4o-mini-2024-07-18',
      status: 'completed',
      output: [],
      usage: {
        input_tokens: 30,
        input_tokens_details: { cached_tokens: 8 },
        output_tokens: 6,
        output_tokens_details: { reasoning_tokens: 2 },
        total_tokens: 36,
      },
    },
  },
] as unknown as ResponseStreamEvent[];

const ANTHROPIC_EVENTS: RawMessageStreamEvent[] = [
  {
    type: 'message_start',
    message: {
      id: 'msg_01Tap4',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5-20250929',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 1024, cache_creation_input_tokens: 200 },
    },
  } as unknown as RawMessageStreamEvent,
  {
    type: 'content_block_start',
    index: 0,
    content_block: { type: 'text', text: '', citations: null },
  } as unknown as RawMessageStreamEvent,
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Grüß 👋' } },
  { type: 'content_block_stop', index: 0 },
  {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: 9 },
  } as unknown as RawMessageStreamEvent,
  { type: 'message_stop' },
];

function anthropicSse(): string {
  return ANTHROPIC_EVENTS.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');
}

interface Case {
  name: string;
  path: string;
  contentType: string;
  body: string;
  expected: Partial<TapReport> | undefined;
}

const CASES: Case[] = [
  {
    name: 'chat SSE with the usage chunk',
    path: '/v1/chat/completions',
    contentType: 'text/event-stream',
    body: chatStream(true),
    expected: {
      responseId: 'chatcmpl-Tap1',
      model: 'gpt-4o-mini-2024-07-18',
      usage: { inputTokens: 42, outputTokens: 7, cacheReadInputTokens: 16 },
      totalTokens: 49,
    },
  },
  {
    name: 'chat SSE without include_usage',
    path: '/v1/chat/completions',
    contentType: 'text/event-stream',
    body: chatStream(false),
    expected: undefined,
  },
  {
    name: 'chat JSON',
    path: '/v1/chat/completions',
    contentType: 'application/json',
    body: JSON.stringify(CHAT_JSON),
    expected: {
      responseId: 'chatcmpl-Tap2',
      model: 'gpt-4o-mini-2024-07-18',
      usage: { inputTokens: 42, outputTokens: 7, cacheReadInputTokens: 16 },
      totalTokens: 49,
    },
  },
  {
    name: 'Responses SSE',
    path: '/v1/responses',
    contentType: 'text/event-stream; charset=utf-8',
    body: RESPONSE_EVENTS.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join(''),
    expected: {
      responseId: 'resp_Tap3',
      usage: { inputTokens: 30, outputTokens: 6, cacheReadInputTokens: 8, reasoningOutputTokens: 2 },
      totalTokens: 36,
    },
  },
  {
    name: 'embeddings JSON',
    path: '/v1/embeddings',
    contentType: 'application/json',
    body: JSON.stringify(EMBEDDINGS),
    expected: { responseId: undefined, model: 'text-embedding-3-small', usage: { inputTokens: 5 }, totalTokens: 5 },
  },
  {
    name: 'Anthropic messages SSE',
    path: '/v1/messages',
    contentType: 'text/event-stream',
    body: anthropicSse(),
    expected: {
      responseId: 'msg_01Tap4',
      model: 'claude-sonnet-4-5-20250929',
      usage: {
        inputTokens: 10 + 1024 + 200,
        outputTokens: 9,
        cacheReadInputTokens: 1024,
        cacheCreationInputTokens: 200,
      },
    },
  },
];

/** Cut points that split every multi-byte character and every event boundary of `body`. */
function nastyCuts(body: Uint8Array): number[] {
  const cuts: number[] = [];
  for (let i = 1; i < body.length; i++) {
    const b = body[i];
    if ((b & 0xc0) === 0x80) cuts.push(i); // inside a UTF-8 character
    if (body[i - 1] === 0x0a) cuts.push(i - 1, i); // around every line end
  }
  return [...new Set(cuts)];
}

async function readAll(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

describe('usageTapFetch', () => {
  let server: ProviderServer;
  let answer: (path: string, body: string) => Answer;
  const contextManager = new AsyncLocalStorageContextManager();

  before(async () => {
    context.setGlobalContextManager(contextManager.enable());
    server = await startProviderServer((path, body) => answer(path, body));
  });
  after(async () => {
    context.disable();
    await server.close();
  });

  for (const c of CASES) {
    it(`${c.name}: the application reads the server's bytes exactly, the report has the wire's usage`, async () => {
      const bytes = encoder.encode(c.body);
      for (const pieces of [[bytes], splitAt(bytes, nastyCuts(bytes))]) {
        answer = () => ({ contentType: c.contentType, pieces, delayMs: 0 });
        const sink = new Sink();
        const response = await usageTapFetch(sink.processor)(server.url + c.path, { method: 'POST', body: '{}' });
        assert.deepEqual(await readAll(response), bytes);
        if (c.expected === undefined) {
          assert.deepEqual(sink.reports, [], 'no usage on the wire, none reported');
        } else {
          assert.equal(sink.reports.length, 1);
          const r = sink.reports[0];
          for (const [k, v] of Object.entries(c.expected))
            assert.deepEqual(r[k as keyof TapReport], v, `${c.name} ${k}`);
        }
      }
    });
  }

  it('keeps the status, headers and url of the response', async () => {
    answer = () => ({ contentType: 'application/json', pieces: [encoder.encode(JSON.stringify(CHAT_JSON))] });
    const response = await usageTapFetch(new Sink().processor)(server.url + '/v1/chat/completions', {
      method: 'POST',
      body: '{}',
    });
    assert.equal(response.status, 200);
    assert.equal(response.ok, true);
    assert.equal(response.headers.get('content-type'), 'application/json');
    assert.equal(response.url, server.url + '/v1/chat/completions');
    assert.deepEqual(await response.json(), CHAT_JSON);
  });

  it('reports the span that was active when the request was made', async () => {
    const provider = new BasicTracerProvider();
    const span = provider.getTracer('t').startSpan('chat');
    answer = () => ({ contentType: 'application/json', pieces: [encoder.encode(JSON.stringify(CHAT_JSON))] });
    const sink = new Sink();
    const tap = usageTapFetch(sink.processor);
    const response = await context.with(trace.setSpan(context.active(), span), () =>
      tap(server.url + '/v1/chat/completions', { method: 'POST', body: '{}' }),
    );
    // Read outside the span's context: the key is the one from the request.
    await readAll(response);
    assert.equal(sink.reports[0]?.spanKey, span.spanContext().traceId + span.spanContext().spanId);
    assert.equal(sink.reports[0]?.activeSpan, span);
    span.end();
  });

  it('an early cancel reports nothing, and the server sees the client go away', async () => {
    const bytes = encoder.encode(chatStream(true));
    answer = () => ({ contentType: 'text/event-stream', pieces: splitAt(bytes, [40, 80, 200, 400]), delayMs: 20 });
    const sink = new Sink();
    const response = await usageTapFetch(sink.processor)(server.url + '/v1/chat/completions', {
      method: 'POST',
      body: '{}',
    });
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.equal(first.done, false);
    await reader.cancel();
    const exchange = server.received.at(-1)!;
    await exchange.done;
    assert.equal(exchange.completed, false, 'the server did not get to finish');
    assert.deepEqual(sink.reports, []);
  });

  it('a body cut off by the server reports nothing', async () => {
    const bytes = encoder.encode(chatStream(true));
    const cut = bytes.length - 30; // inside the usage chunk
    answer = () => ({ contentType: 'text/event-stream', pieces: [bytes.subarray(0, cut)] });
    const sink = new Sink();
    const response = await usageTapFetch(sink.processor)(server.url + '/v1/chat/completions', {
      method: 'POST',
      body: '{}',
    });
    assert.deepEqual(await readAll(response), bytes.subarray(0, cut));
    assert.deepEqual(sink.reports, []);
  });

  it('leaves other requests, and error responses, untouched', async () => {
    const sink = new Sink();
    const tap = usageTapFetch(sink.processor);
    answer = () => ({ contentType: 'application/json', pieces: [encoder.encode(JSON.stringify(CHAT_JSON))] });
    for (const [path, method] of [
      ['/v1/models', 'GET'],
      ['/v1/chat/completions', 'GET'],
      ['/v1/files', 'POST'],
    ] as const) {
      const r = await tap(server.url + path, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
      await readAll(r);
    }
    answer = () => ({
      status: 429,
      contentType: 'application/json',
      pieces: [encoder.encode(JSON.stringify(CHAT_JSON))],
    });
    const limited = await tap(server.url + '/v1/chat/completions', { method: 'POST', body: '{}' });
    assert.equal(limited.status, 429);
    await readAll(limited);
    assert.deepEqual(sink.reports, []);
  });

  it('passes the base fetch errors through unchanged', async () => {
    const failing = (() => Promise.reject(new TypeError('fetch failed'))) as typeof fetch;
    await assert.rejects(
      usageTapFetch(new Sink().processor, { fetch: failing })('http://127.0.0.1:9/v1/chat/completions', {
        method: 'POST',
      }),
      {
        name: 'TypeError',
        message: 'fetch failed',
      },
    );
  });

  it('never taps twice: a tap over a tap reads each response once', async () => {
    const sink = new Sink();
    const inner = usageTapFetch(sink.processor);
    const outer = usageTapFetch(sink.processor, { fetch: inner });
    assert.ok(isUsageTap(outer));
    answer = () => ({ contentType: 'application/json', pieces: [encoder.encode(JSON.stringify(CHAT_JSON))] });
    await readAll(await outer(server.url + '/v1/chat/completions', { method: 'POST', body: '{}' }));
    assert.equal(sink.reports.length, 1);
  });

  describe('includeUsage', () => {
    it('adds include_usage to a chat stream request that lacks it, and strips the usage-only chunk the application did not ask for', async () => {
      const sink = new Sink();
      answer = () => ({
        contentType: 'text/event-stream',
        pieces: splitAt(encoder.encode(chatStream(true)), [100, 333, 500]),
      });
      const request = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true };
      const response = await usageTapFetch(sink.processor, { includeUsage: true })(
        server.url + '/v1/chat/completions',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': String(JSON.stringify(request).length) },
          body: JSON.stringify(request),
        },
      );
      const text = new TextDecoder().decode(await readAll(response));
      const sent = JSON.parse(server.received.at(-1)!.body) as Record<string, unknown>;
      assert.deepEqual(sent['stream_options'], { include_usage: true });
      assert.equal(text, chatStream(true).replace(`data: ${JSON.stringify(chatChunk([], CHAT_USAGE))}\n\n`, ''));
      assert.equal(sink.reports[0]?.usage.inputTokens, 42);
    });

    it('leaves a request that already decides include_usage, and non-stream requests, as they are', () => {
      assert.equal(
        withIncludeUsage(JSON.stringify({ stream: true, stream_options: { include_usage: false } })),
        undefined,
      );
      assert.equal(
        withIncludeUsage(JSON.stringify({ stream: true, stream_options: { include_usage: true } })),
        undefined,
      );
      assert.equal(withIncludeUsage(JSON.stringify({ stream: false })), undefined);
      assert.equal(withIncludeUsage('not json'), undefined);
      assert.deepEqual(JSON.parse(withIncludeUsage(JSON.stringify({ stream: true, stream_options: {} }))!), {
        stream: true,
        stream_options: { include_usage: true },
      });
    });

    it('when the application asked for usage itself, nothing is stripped', async () => {
      answer = () => ({ contentType: 'text/event-stream', pieces: [encoder.encode(chatStream(true))] });
      const body = JSON.stringify({ stream: true, stream_options: { include_usage: true } });
      const response = await usageTapFetch(new Sink().processor, { includeUsage: true })(
        server.url + '/v1/chat/completions',
        { method: 'POST', body },
      );
      assert.equal(new TextDecoder().decode(await readAll(response)), chatStream(true));
    });
  });

  it('processor.fetch joins the tapped usage into the span the instrumentation made', async () => {
    const exported: { attributes: Record<string, unknown> }[] = [];
    const processor = new GenAiEnrichingProcessor({
      onStart() {},
      onEnd(span) {
        exported.push(span);
      },
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    });
    const provider = new BasicTracerProvider({ spanProcessors: [processor] });
    const span = provider.getTracer('t').startSpan('chat gpt-4o-mini', {
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o-mini',
      },
    });
    answer = () => ({ contentType: 'text/event-stream', pieces: [encoder.encode(chatStream(true))] });
    const response = await context.with(trace.setSpan(context.active(), span), () =>
      processor.fetch(server.url + '/v1/chat/completions', { method: 'POST', body: '{}' }),
    );
    await readAll(response);
    span.end();
    assert.equal(exported.length, 1);
    assert.equal(exported[0].attributes['gen_ai.usage.input_tokens'], 42);
    assert.equal(exported[0].attributes['gen_ai.response.id'], 'chatcmpl-Tap1');
    assert.equal(exported[0].attributes['genai_enrich.usage_source'], 'http_tap');
    assert.equal(processor.fetch, processor.fetch, 'one fetch per processor');
    await processor.shutdown();
  });
});
