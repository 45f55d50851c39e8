/*
 * A loopback mock of the OpenAI HTTP API (chat completions, with tool calls on request, responses, embeddings)
 * for integration tests and demos. It speaks the wire format closely enough for the real `openai` client and the Vercel AI SDK
 * (which validates every payload with zod) to accept it, and records what it put on the wire in `calls`.
 *
 * Payload builders are checked against the openai package's own types with `satisfies`, so an SDK upgrade
 * that changes a shape shows up as a type error instead of a silently wrong mock.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type { CreateEmbeddingResponse, Embedding } from 'openai/resources/embeddings';
import type {
  Response as OpenAiResponse,
  ResponseOutputMessage,
  ResponseOutputText,
  ResponseStreamEvent,
  ResponseUsage,
} from 'openai/resources/responses/responses';
import { Exchange, alnum, isRecord, listenLoopback, readBody, splitText } from './mock-server.js';
import { chatToolCallChoice, chatToolCallChunks, requestedToolCall } from './openai-tool-calls.js';

export interface MockCall {
  endpoint: 'chat' | 'responses' | 'embeddings';
  stream: boolean;
  /** Chat stream: `stream_options.include_usage === true`; other endpoints always send usage, so true. */
  includeUsage: boolean;
  /** 'chatcmpl-…' / 'resp_…' / '' for embeddings (they carry no id). */
  responseId: string;
  requestModel: string;
  responseModel: string;
  /** The usage actually written to the wire; undefined when none was sent (or the client left first). */
  usage: MockUsage | undefined;
  /** False when the client went away before the mock finished writing the body. */
  completed: boolean;
  /** Chat only: the tool the answer called (`toolCallArguments`), undefined when it answered with text. */
  toolCall: string | undefined;
}

export interface MockUsage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  cacheReadInputTokens: number;
  reasoningOutputTokens: number;
}

export interface OpenAiMock {
  /** 'http://127.0.0.1:PORT/v1' */
  baseURL: string;
  calls: MockCall[];
  close(): Promise<void>;
}

export interface OpenAiMockOptions {
  /** Delay between streamed writes, default 2. */
  chunkDelayMs?: number;
  /** Number of content deltas per stream, default 6. */
  chunks?: number;
  /**
   * Chat completions only. When set, a request that offers function tools and carries no tool result yet is
   * answered with one call to its first tool, with these arguments (finish_reason `tool_calls`), so an agent
   * loop makes a tool call and then a second model call. Default: tools are ignored, every answer is text.
   */
  toolCallArguments?: Record<string, unknown>;
}

/** The text every completion answers with, split across the stream's deltas. */
export const MOCK_REPLY_TEXT = 'Hello from the loopback mock.';

/** Number of dimensions of every mock embedding. */
export const MOCK_EMBEDDING_DIMENSIONS = 8;

/**
 * The deterministic unit vector the mock returns for `input`. Values are float32-exact so the `float` and
 * `base64` encodings decode to the same numbers.
 */
export function mockEmbeddingVector(input: string): number[] {
  const digest = createHash('sha256').update(input).digest();
  const raw = Array.from({ length: MOCK_EMBEDDING_DIMENSIONS }, (_, i) => digest.readInt16LE(i * 2) / 32768);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((v) => Math.fround(v / norm));
}

// The wire never carries `output_text`: the openai client computes it after parsing.
type WireResponse = Omit<OpenAiResponse, 'output_text'>;
type WireStreamEvent = ResponseStreamEvent extends infer E
  ? E extends { response: OpenAiResponse }
    ? Omit<E, 'response'> & { response: WireResponse }
    : E
  : never;
// With encoding_format 'base64' the vector travels as a string.
type WireEmbedding = Omit<Embedding, 'embedding'> & { embedding: number[] | string };
type WireEmbeddingResponse = Omit<CreateEmbeddingResponse, 'data'> & { data: WireEmbedding[] };

interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

const MODEL_DATES: Record<string, string> = {
  'gpt-4o-mini': 'gpt-4o-mini-2024-07-18',
  'gpt-4o': 'gpt-4o-2024-08-06',
};

/** OpenAI answers with a dated snapshot name; embedding models keep their name. */
export function mockResponseModel(requestModel: string): string {
  if (MODEL_DATES[requestModel]) return MODEL_DATES[requestModel];
  if (requestModel.startsWith('text-embedding-')) return requestModel;
  if (/-\d{4}-\d{2}-\d{2}$/.test(requestModel)) return requestModel;
  return `${requestModel}-2024-07-18`;
}

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** Call k (1-based) of a mock; cache read ≤ input and reasoning ≤ output for every k. */
function usageForCall(k: number, endpoint: MockCall['endpoint']): MockUsage {
  const inputTokens = 20 + k * 10;
  const outputTokens = endpoint === 'embeddings' ? 0 : 5 + k;
  return {
    inputTokens,
    outputTokens,
    totalTokens: inputTokens + outputTokens,
    // Chat completions carry cache and reasoning counts as the Responses API does (in
    // prompt_tokens_details / completion_tokens_details); embeddings have none.
    cacheReadInputTokens: endpoint === 'responses' ? 8 * k : endpoint === 'chat' ? 4 * k : 0,
    // k, not 2k: 2k would overtake the output (5 + k) from the sixth call on.
    reasoningOutputTokens: endpoint === 'embeddings' ? 0 : k,
  };
}

function chatUsage(u: MockUsage): CompletionUsage {
  return {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.totalTokens,
    prompt_tokens_details: { cached_tokens: u.cacheReadInputTokens, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: u.reasoningOutputTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function responsesUsage(u: MockUsage): ResponseUsage {
  return {
    input_tokens: u.inputTokens,
    input_tokens_details: { cached_tokens: u.cacheReadInputTokens, cache_write_tokens: 0 },
    output_tokens: u.outputTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningOutputTokens },
    total_tokens: u.totalTokens,
  };
}

export async function startOpenAiMock(options: OpenAiMockOptions = {}): Promise<OpenAiMock> {
  const chunkDelayMs = options.chunkDelayMs ?? 2;
  const chunks = options.chunks ?? 6;
  if (!Number.isInteger(chunks) || chunks < 1) throw new RangeError(`chunks must be a positive integer, got ${chunks}`);
  if (!(chunkDelayMs >= 0)) throw new RangeError(`chunkDelayMs must be >= 0, got ${chunkDelayMs}`);

  const calls: MockCall[] = [];
  const systemFingerprint = `fp_${hex(5)}`;
  let counter = 0;

  // Unref'd so a pending inter-chunk delay never holds the process open on its own.
  const pause = (): Promise<void> =>
    chunkDelayMs > 0 ? sleep(chunkDelayMs, undefined, { ref: false }) : Promise.resolve();

  const commonHeaders = (): Record<string, string> => ({
    'x-request-id': `req_${hex(16)}`,
    'openai-version': '2020-10-01',
    'openai-processing-ms': String(50 + counter),
  });

  function startSse(res: ServerResponse): void {
    res.writeHead(200, {
      ...commonHeaders(),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
    });
    res.flushHeaders();
  }

  /** Returns whether the body went out (false when the client had already left). */
  function sendJson(res: ServerResponse, status: number, body: unknown, ex?: Exchange): boolean {
    if (res.destroyed || ex?.closed) return false;
    res.writeHead(status, { ...commonHeaders(), 'content-type': 'application/json' });
    if (ex) return ex.end(JSON.stringify(body));
    res.end(JSON.stringify(body));
    return true;
  }

  function sendError(res: ServerResponse, err: RequestError): void {
    const type = err.status >= 500 ? 'server_error' : 'invalid_request_error';
    const body: OpenAiErrorBody = { error: { message: err.message, type, param: err.param, code: err.code } };
    if (!res.headersSent && !res.destroyed) sendJson(res, err.status, body);
  }

  function record(
    endpoint: MockCall['endpoint'],
    stream: boolean,
    includeUsage: boolean,
    responseId: string,
    requestModel: string,
  ): MockCall {
    const call: MockCall = {
      endpoint,
      stream,
      includeUsage,
      responseId,
      requestModel,
      responseModel: mockResponseModel(requestModel),
      usage: undefined,
      completed: false,
      toolCall: undefined,
    };
    calls.push(call);
    return call;
  }

  async function chat(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const model = requireModel(body);
    const stream = body.stream === true;
    const streamOptions = body.stream_options as { include_usage?: unknown } | null | undefined;
    const includeUsage = stream ? streamOptions?.include_usage === true : true;
    const k = ++counter;
    const usage = usageForCall(k, 'chat');
    const call = record('chat', stream, includeUsage, `chatcmpl-${alnum(29)}`, model);
    const ex = new Exchange(res, call);
    const created = Math.floor(Date.now() / 1000);
    const toolCall = options.toolCallArguments && requestedToolCall(body, options.toolCallArguments);
    call.toolCall = toolCall?.function.name;

    if (!stream) {
      const completion = {
        id: call.responseId,
        object: 'chat.completion',
        created,
        model: call.responseModel,
        choices: [
          toolCall
            ? chatToolCallChoice(toolCall)
            : {
                index: 0,
                message: { role: 'assistant', content: MOCK_REPLY_TEXT, refusal: null, annotations: [] },
                logprobs: null,
                finish_reason: 'stop',
              },
        ],
        usage: chatUsage(usage),
        service_tier: 'default',
        system_fingerprint: systemFingerprint,
      } satisfies ChatCompletion;
      if (sendJson(res, 200, completion, ex)) call.usage = usage;
      return;
    }

    const chunk = (choices: ChatCompletionChunk.Choice[], chunkUsage?: CompletionUsage): ChatCompletionChunk =>
      ({
        id: call.responseId,
        object: 'chat.completion.chunk',
        created,
        model: call.responseModel,
        service_tier: 'default',
        system_fingerprint: systemFingerprint,
        choices,
        // OpenAI sends `usage: null` on every chunk once include_usage is on, and omits it otherwise.
        ...(includeUsage ? { usage: chunkUsage ?? null } : {}),
      }) satisfies ChatCompletionChunk;
    const choice = (
      delta: ChatCompletionChunk.Choice.Delta,
      finish: 'stop' | null = null,
    ): ChatCompletionChunk.Choice =>
      ({ index: 0, delta, logprobs: null, finish_reason: finish }) satisfies ChatCompletionChunk.Choice;
    const send = (payload: ChatCompletionChunk): boolean => ex.write(`data: ${JSON.stringify(payload)}\n\n`);

    startSse(res);
    const choiceChunks = toolCall
      ? chatToolCallChunks(toolCall, chunks)
      : [
          choice({ role: 'assistant', content: '', refusal: null }),
          ...splitText(MOCK_REPLY_TEXT, chunks).map((content) => choice({ content })),
          choice({}, 'stop'),
        ];
    for (const [i, c] of choiceChunks.entries()) {
      if (i > 0) await pause();
      if (!send(chunk([c]))) return;
    }
    if (includeUsage) {
      await pause();
      if (!send(chunk([], chatUsage(usage)))) return;
      call.usage = usage;
    }
    ex.end('data: [DONE]\n\n');
  }

  async function responses(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const model = requireModel(body);
    const stream = body.stream === true;
    const k = ++counter;
    const usage = usageForCall(k, 'responses');
    const call = record('responses', stream, true, `resp_${hex(24)}`, model);
    const ex = new Exchange(res, call);
    const createdAt = Math.floor(Date.now() / 1000);
    const messageId = `msg_${hex(24)}`;

    const response = (
      status: 'in_progress' | 'completed',
      output: ResponseOutputMessage[],
      withUsage: boolean,
    ): WireResponse =>
      ({
        id: call.responseId,
        object: 'response',
        created_at: createdAt,
        status,
        background: false,
        completed_at: status === 'completed' ? Math.floor(Date.now() / 1000) : null,
        error: null,
        incomplete_details: null,
        // Echo the request's settings the way the real API does.
        instructions: typeof body.instructions === 'string' ? body.instructions : null,
        max_output_tokens: typeof body.max_output_tokens === 'number' ? body.max_output_tokens : null,
        model: call.responseModel,
        output,
        parallel_tool_calls: body.parallel_tool_calls !== false,
        previous_response_id: typeof body.previous_response_id === 'string' ? body.previous_response_id : null,
        prompt_cache_key: null,
        reasoning: { effort: null, summary: null },
        safety_identifier: null,
        service_tier: 'default',
        temperature: typeof body.temperature === 'number' ? body.temperature : 1,
        text: { format: { type: 'text' }, verbosity: 'medium' },
        tool_choice: 'auto',
        tools: [],
        top_logprobs: 0,
        top_p: typeof body.top_p === 'number' ? body.top_p : 1,
        truncation: 'disabled',
        metadata: isRecord(body.metadata) ? (body.metadata as Record<string, string>) : {},
        // The real API sends `usage: null` until completion; the SDK type has no null, so leave it out.
        ...(withUsage ? { usage: responsesUsage(usage) } : {}),
      }) satisfies WireResponse;
    const message = (status: 'in_progress' | 'completed', text: string | undefined): ResponseOutputMessage =>
      ({
        id: messageId,
        type: 'message',
        status,
        role: 'assistant',
        content: text === undefined ? [] : [{ type: 'output_text', text, annotations: [], logprobs: [] }],
      }) satisfies ResponseOutputMessage;

    if (!stream) {
      if (sendJson(res, 200, response('completed', [message('completed', MOCK_REPLY_TEXT)], true), ex))
        call.usage = usage;
      return;
    }

    let sequence = 0;
    const send = (event: WireStreamEvent): boolean =>
      ex.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    const part = (text: string): ResponseOutputText => ({ type: 'output_text', text, annotations: [], logprobs: [] });
    const ids = { item_id: messageId, output_index: 0, content_index: 0 };

    startSse(res);
    if (!send({ type: 'response.created', sequence_number: sequence++, response: response('in_progress', [], false) }))
      return;
    if (
      !send({ type: 'response.in_progress', sequence_number: sequence++, response: response('in_progress', [], false) })
    )
      return;
    await pause();
    if (
      !send({
        type: 'response.output_item.added',
        sequence_number: sequence++,
        output_index: 0,
        item: message('in_progress', undefined),
      })
    )
      return;
    if (!send({ type: 'response.content_part.added', sequence_number: sequence++, ...ids, part: part('') })) return;
    for (const delta of splitText(MOCK_REPLY_TEXT, chunks)) {
      await pause();
      if (!send({ type: 'response.output_text.delta', sequence_number: sequence++, ...ids, delta, logprobs: [] }))
        return;
    }
    await pause();
    if (
      !send({
        type: 'response.output_text.done',
        sequence_number: sequence++,
        ...ids,
        text: MOCK_REPLY_TEXT,
        logprobs: [],
      })
    )
      return;
    if (!send({ type: 'response.content_part.done', sequence_number: sequence++, ...ids, part: part(MOCK_REPLY_TEXT) }))
      return;
    const done = message('completed', MOCK_REPLY_TEXT);
    if (!send({ type: 'response.output_item.done', sequence_number: sequence++, output_index: 0, item: done })) return;
    if (
      !send({ type: 'response.completed', sequence_number: sequence++, response: response('completed', [done], true) })
    )
      return;
    call.usage = usage;
    ex.end();
  }

  function embeddings(body: Record<string, unknown>, res: ServerResponse): void {
    const model = requireModel(body);
    const inputs = embeddingInputs(body.input);
    const format = body.encoding_format ?? 'float';
    if (format !== 'float' && format !== 'base64') {
      throw new RequestError(
        400,
        `'${String(format)}' is not one of ['float', 'base64'] - 'encoding_format'`,
        'encoding_format',
      );
    }
    const k = ++counter;
    const usage = usageForCall(k, 'embeddings');
    const call = record('embeddings', false, true, '', model);
    const ex = new Exchange(res, call);
    const payload = {
      object: 'list',
      data: inputs.map((input, index): WireEmbedding => {
        const vector = mockEmbeddingVector(input);
        return {
          object: 'embedding',
          index,
          embedding: format === 'base64' ? float32Base64(vector) : vector,
        };
      }),
      model: call.responseModel,
      usage: { prompt_tokens: usage.inputTokens, total_tokens: usage.totalTokens },
    } satisfies WireEmbeddingResponse;
    if (sendJson(res, 200, payload, ex)) call.usage = usage;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const route =
      req.method === 'POST'
        ? path === '/v1/chat/completions'
          ? chat
          : path === '/v1/responses'
            ? responses
            : path === '/v1/embeddings'
              ? embeddings
              : undefined
        : undefined;
    if (!route) {
      req.resume();
      throw new RequestError(404, `Invalid URL (${req.method ?? 'GET'} ${path})`);
    }
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      throw new RequestError(
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP " +
          'library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)',
      );
    }
    if (!isRecord(body)) throw new RequestError(400, 'The request body must be a JSON object.');
    route(body, res);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof RequestError) sendError(res, err);
      else if (!res.headersSent)
        sendError(res, new RequestError(500, 'The mock failed to answer.', null, 'server_error'));
      else res.destroy();
    });
  });
  const { port, close } = await listenLoopback(server);
  return { baseURL: `http://127.0.0.1:${port}/v1`, calls, close };
}

function requireModel(body: Record<string, unknown>): string {
  if (typeof body.model !== 'string' || body.model === '') {
    throw new RequestError(400, 'you must provide a model parameter', 'model');
  }
  return body.model;
}

/** `input` is a string, an array of strings, or token arrays; tokens are stringified to seed the vector. */
function embeddingInputs(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0) {
    if (input.every((v) => typeof v === 'string')) return input;
    if (input.every((v) => typeof v === 'number')) return [JSON.stringify(input)];
    if (input.every((v) => Array.isArray(v) && v.every((t) => typeof t === 'number')))
      return input.map((v) => JSON.stringify(v));
  }
  throw new RequestError(400, "'input' must be a string, an array of strings, or an array of token arrays", 'input');
}

/** Little-endian float32 bytes, base64: what OpenAI sends and the openai client's toFloat32Array reads. */
function float32Base64(vector: number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return bytes.toString('base64');
}
