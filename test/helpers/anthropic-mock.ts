/*
 * A loopback mock of the Anthropic Messages API (`POST /v1/messages`, JSON and SSE) for integration tests
 * and demos. It speaks the wire format closely enough for the real `@anthropic-ai/sdk` client (including its
 * `messages.stream()` helper, which rebuilds the Message from the events) to accept it, and records what it
 * put on the wire in `calls`.
 *
 * Payload builders are checked against the SDK's own types with `satisfies`, so an SDK upgrade that changes
 * a shape shows up as a type error instead of a silently wrong mock.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  Message,
  MessageDeltaUsage,
  RawMessageStreamEvent,
  TextBlock,
  Usage,
} from '@anthropic-ai/sdk/resources/messages/messages';
import type { ErrorObject, ErrorResponse } from '@anthropic-ai/sdk/resources/shared';
import { Exchange, alnum, isRecord, listenLoopback, readBody, splitText } from './mock-server.js';

export interface AnthropicMockCall {
  endpoint: 'messages';
  stream: boolean;
  /** 'msg_01…', the id the Message carries (JSON body, or `message_start` of a stream). */
  responseId: string;
  requestModel: string;
  /** The dated snapshot for a known alias ('claude-sonnet-4-5' → 'claude-sonnet-4-5-20250929'). */
  responseModel: string;
  /**
   * The final usage actually written to the wire: with the JSON body, or with the stream's `message_delta`.
   * Undefined when the client left before that (a `message_start` placeholder does not count).
   */
  usage: AnthropicMockUsage | undefined;
  /**
   * A stream's `message_start` usage as written: the input and cache counts, and a placeholder output count
   * (ANTHROPIC_MOCK_START_OUTPUT_TOKENS). What a client that stops reading early has seen.
   */
  startUsage?: AnthropicMockUsage;
  /** False when the client went away before the mock finished writing the body. */
  completed: boolean;
}

export interface AnthropicMockUsage {
  /** Raw `input_tokens` as sent: Anthropic excludes cache reads and cache writes from it. */
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens: number;
  cacheCreationInputTokens: number;
}

export interface AnthropicMock {
  /** 'http://127.0.0.1:PORT', what `new Anthropic({ baseURL })` wants (the client adds `/v1/messages`). */
  baseURL: string;
  calls: AnthropicMockCall[];
  close(): Promise<void>;
}

export interface AnthropicMockOptions {
  /** Delay between streamed writes, default 2. */
  chunkDelayMs?: number;
  /** Number of `content_block_delta` events per stream, default 6. */
  chunks?: number;
}

/** The text every Message answers with, split across the stream's deltas. */
export const ANTHROPIC_MOCK_REPLY_TEXT = 'Hello from the Anthropic loopback mock.';

/** `output_tokens` of a stream's `message_start`: a placeholder, as the real API sends it. */
export const ANTHROPIC_MOCK_START_OUTPUT_TOKENS = 1;

// `ping` keeps the connection alive; the SDK skips it, so its event union leaves it out.
interface PingEvent {
  type: 'ping';
}
type WireStreamEvent = RawMessageStreamEvent | PingEvent;

class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorObject['type'],
    message: string,
  ) {
    super(message);
  }
}

const MODEL_DATES: Record<string, string> = {
  'claude-sonnet-4-5': 'claude-sonnet-4-5-20250929',
  'claude-haiku-4-5': 'claude-haiku-4-5-20251001',
  'claude-opus-4-5': 'claude-opus-4-5-20251101',
  'claude-opus-4-1': 'claude-opus-4-1-20250805',
  'claude-sonnet-4-0': 'claude-sonnet-4-20250514',
  'claude-3-5-haiku-latest': 'claude-3-5-haiku-20241022',
};

/**
 * Anthropic answers a known alias with its dated snapshot. Any other name comes back as it was asked for,
 * as the API does for a dated snapshot or a model that has no dated name.
 */
export function mockAnthropicResponseModel(requestModel: string): string {
  return MODEL_DATES[requestModel] ?? requestModel;
}

/**
 * Call k (1-based) of a mock: input 30 + 10k, output 7 + k; odd calls read 1024 cached tokens, even calls
 * write 20 to the cache (less than the uncached input, so only the emitter can say whether its input count
 * includes the cache), so consecutive calls differ in every field.
 */
function usageForCall(k: number): AnthropicMockUsage {
  const odd = k % 2 === 1;
  return {
    inputTokens: 30 + 10 * k,
    outputTokens: 7 + k,
    cacheReadInputTokens: odd ? 1024 : 0,
    cacheCreationInputTokens: odd ? 0 : 20,
  };
}

/** The Message's `usage`; `outputTokens` is overridden for the `message_start` placeholder. */
function wireUsage(u: AnthropicMockUsage, outputTokens = u.outputTokens): Usage {
  return {
    input_tokens: u.inputTokens,
    output_tokens: outputTokens,
    cache_creation_input_tokens: u.cacheCreationInputTokens,
    cache_read_input_tokens: u.cacheReadInputTokens,
    // All cache writes go to the default 5-minute cache.
    cache_creation: { ephemeral_5m_input_tokens: u.cacheCreationInputTokens, ephemeral_1h_input_tokens: 0 },
    inference_geo: null,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: 'standard',
    speed: null,
  };
}

/** `message_delta` usage: cumulative totals, input and cache counts repeated as the API does today. */
function wireDeltaUsage(u: AnthropicMockUsage): MessageDeltaUsage {
  return {
    input_tokens: u.inputTokens,
    output_tokens: u.outputTokens,
    cache_creation_input_tokens: u.cacheCreationInputTokens,
    cache_read_input_tokens: u.cacheReadInputTokens,
    output_tokens_details: null,
    server_tool_use: null,
  };
}

export async function startAnthropicMock(options: AnthropicMockOptions = {}): Promise<AnthropicMock> {
  const chunkDelayMs = options.chunkDelayMs ?? 2;
  const chunks = options.chunks ?? 6;
  if (!Number.isInteger(chunks) || chunks < 1) throw new RangeError(`chunks must be a positive integer, got ${chunks}`);
  if (!(chunkDelayMs >= 0)) throw new RangeError(`chunkDelayMs must be >= 0, got ${chunkDelayMs}`);

  const calls: AnthropicMockCall[] = [];
  const organizationId = `${alnum(8)}-mock-org`;
  let counter = 0;

  // Unref'd so a pending inter-chunk delay never holds the process open on its own.
  const pause = (): Promise<void> =>
    chunkDelayMs > 0 ? sleep(chunkDelayMs, undefined, { ref: false }) : Promise.resolve();

  const requestId = (): string => `req_011C${alnum(20)}`;
  const commonHeaders = (id: string): Record<string, string> => ({
    'request-id': id,
    'anthropic-organization-id': organizationId,
  });

  function sendJson(res: ServerResponse, status: number, body: unknown, ex?: Exchange): boolean {
    if (res.destroyed || ex?.closed) return false;
    res.writeHead(status, { ...commonHeaders(requestId()), 'content-type': 'application/json' });
    if (ex) return ex.end(wireJson(body));
    res.end(wireJson(body));
    return true;
  }

  function sendError(res: ServerResponse, err: RequestError, allow?: string): void {
    if (res.headersSent || res.destroyed) return;
    const id = requestId();
    const body = {
      type: 'error',
      error: { type: err.type, message: err.message },
      request_id: id,
    } satisfies ErrorResponse;
    res.writeHead(err.status, {
      ...commonHeaders(id),
      'content-type': 'application/json',
      ...(allow !== undefined ? { allow } : {}),
    });
    res.end(JSON.stringify(body));
  }

  async function messages(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const model = requireModel(body);
    if (typeof body.max_tokens !== 'number')
      throw new RequestError(400, 'invalid_request_error', 'max_tokens: Field required');
    if (!Array.isArray(body.messages)) throw new RequestError(400, 'invalid_request_error', 'messages: Field required');
    const stream = body.stream === true;
    const k = ++counter;
    const usage = usageForCall(k);
    const call: AnthropicMockCall = {
      endpoint: 'messages',
      stream,
      responseId: `msg_01${alnum(22)}`,
      requestModel: model,
      responseModel: mockAnthropicResponseModel(model),
      usage: undefined,
      completed: false,
    };
    calls.push(call);
    const ex = new Exchange(res, call);

    const message = (content: TextBlock[], final: boolean): Message =>
      ({
        id: call.responseId,
        type: 'message',
        role: 'assistant',
        model: call.responseModel,
        content,
        stop_reason: final ? 'end_turn' : null,
        stop_sequence: null,
        stop_details: null,
        container: null,
        diagnostics: null,
        usage: final ? wireUsage(usage) : wireUsage(usage, ANTHROPIC_MOCK_START_OUTPUT_TOKENS),
      }) satisfies Message;
    const textBlock = (text: string): TextBlock => ({ type: 'text', text, citations: null }) satisfies TextBlock;

    if (!stream) {
      if (sendJson(res, 200, message([textBlock(ANTHROPIC_MOCK_REPLY_TEXT)], true), ex)) call.usage = usage;
      return;
    }

    const send = (event: WireStreamEvent): boolean => ex.write(`event: ${event.type}\ndata: ${wireJson(event)}\n\n`);

    res.writeHead(200, {
      ...commonHeaders(requestId()),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
    });
    res.flushHeaders();
    if (!send({ type: 'message_start', message: message([], false) })) return;
    call.startUsage = { ...usage, outputTokens: ANTHROPIC_MOCK_START_OUTPUT_TOKENS };
    if (!send({ type: 'content_block_start', index: 0, content_block: textBlock('') })) return;
    if (!send({ type: 'ping' })) return;
    for (const text of splitText(ANTHROPIC_MOCK_REPLY_TEXT, chunks)) {
      await pause();
      if (!send({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })) return;
    }
    await pause();
    if (!send({ type: 'content_block_stop', index: 0 })) return;
    const delta = { stop_reason: 'end_turn', stop_sequence: null, stop_details: null, container: null } as const;
    if (!send({ type: 'message_delta', delta, usage: wireDeltaUsage(usage) })) return;
    call.usage = usage;
    await pause();
    if (!send({ type: 'message_stop' })) return;
    ex.end();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/v1/messages') {
      req.resume();
      throw new RequestError(404, 'not_found_error', 'Not found');
    }
    if (req.method !== 'POST') {
      req.resume();
      sendError(
        res,
        new RequestError(405, 'invalid_request_error', `Method ${req.method ?? 'GET'} not allowed on /v1/messages`),
        'POST',
      );
      return;
    }
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      throw new RequestError(400, 'invalid_request_error', 'There was an issue with your request body: invalid JSON');
    }
    if (!isRecord(body))
      throw new RequestError(400, 'invalid_request_error', 'The request body must be a JSON object.');
    await messages(body, res);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof RequestError) sendError(res, err);
      else if (!res.headersSent) sendError(res, new RequestError(500, 'api_error', 'Internal server error'));
      else res.destroy();
    });
  });
  const { port, close } = await listenLoopback(server);
  return { baseURL: `http://127.0.0.1:${port}`, calls, close };
}

/**
 * JSON as the API writes it: a text block without citations has no `citations` key (the SDK's type says
 * `null`, which it never fills in; the AI SDK's schema refuses a null there, as it may: the API never sends one).
 */
export function wireJson(value: unknown): string {
  return JSON.stringify(value, (key, v: unknown) => (key === 'citations' && v === null ? undefined : v));
}

function requireModel(body: Record<string, unknown>): string {
  if (typeof body.model !== 'string' || body.model === '') {
    throw new RequestError(400, 'invalid_request_error', 'model: Field required');
  }
  return body.model;
}
