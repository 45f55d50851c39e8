/*
 * A loopback mock of the Amazon Bedrock Runtime API for integration tests: Converse, ConverseStream,
 * InvokeModel and InvokeModelWithResponseStream, on `/model/{modelId}/{action}`, answering Claude in
 * Anthropic's shape where InvokeModel carries the model's own body:
 *
 *   converse ────────────────────► ConverseResponse JSON (usage in the body)
 *   converse-stream ─────────────► AWS event stream: messageStart, contentBlockDelta…, contentBlockStop,
 *                                   messageStop, metadata (usage)
 *   invoke ──────────────────────► Anthropic Message JSON, counts also in x-amzn-bedrock-*-token-count headers
 *   invoke-with-response-stream ─► AWS event stream of `chunk` events ({"bytes": base64 of an Anthropic stream
 *                                   event}); the last, message_stop, adds amazon-bedrock-invocationMetrics
 *
 * Event streams are encoded by the AWS SDK's own codec (@smithy/eventstream-codec); payloads are checked
 * against @aws-sdk/client-bedrock-runtime's and @anthropic-ai/sdk's types with `satisfies`, and the real
 * client parses them in bedrock-mock.test.ts. Requests are not verified, only their SigV4 `authorization`
 * header recorded: the tests check that what the client signed is what arrived.
 *
 * Bedrock counts input without the cache (as Anthropic does); `bedrockMockBill` gives the counts semconv wants.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import type {
  ContentBlockDeltaEvent,
  ContentBlockStopEvent,
  ConverseResponse,
  ConverseStreamMetadataEvent,
  MessageStartEvent,
  MessageStopEvent,
  TokenUsage,
} from '@aws-sdk/client-bedrock-runtime';
import type { Message, RawMessageStreamEvent, Usage as AnthropicUsage } from '@anthropic-ai/sdk/resources/messages';
import { wireJson } from './anthropic-mock.js';
import { Exchange, alnum, isRecord, listenLoopback, readBody, splitText } from './mock-server.js';

export type BedrockMockAction = 'converse' | 'converse-stream' | 'invoke' | 'invoke-with-response-stream';

/** Bedrock's own counts: input without the cache. */
export interface BedrockMockUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens: number;
  cacheWriteInputTokens: number;
}

export interface BedrockMockCall {
  action: BedrockMockAction;
  /** The model id of the path, decoded. */
  modelId: string;
  /** The x-amzn-requestid header of the answer (the AI SDK's response id). */
  requestId: string;
  /** The SigV4 `authorization` header the request came with. */
  authorization: string | undefined;
  /** The usage written to the wire; undefined when the client left before it. */
  usage: BedrockMockUsage | undefined;
  completed: boolean;
}

export interface BedrockMock {
  /** 'http://127.0.0.1:PORT': the client's `endpoint`. */
  endpoint: string;
  calls: BedrockMockCall[];
  close(): Promise<void>;
}

export interface BedrockMockOptions {
  /** Delay between streamed writes, default 2. */
  chunkDelayMs?: number;
  /** Text deltas per stream, default 5. */
  chunks?: number;
}

export const BEDROCK_MOCK_REPLY_TEXT = 'Hello from the Bedrock loopback mock.';

/** The counts semconv wants of a call: input with the cache. */
export function bedrockMockBill(u: BedrockMockUsage): {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens: number;
  cacheCreationInputTokens: number;
} {
  return {
    inputTokens: u.inputTokens + u.cacheReadInputTokens + u.cacheWriteInputTokens,
    outputTokens: u.outputTokens,
    cacheReadInputTokens: u.cacheReadInputTokens,
    cacheCreationInputTokens: u.cacheWriteInputTokens,
  };
}

/** Call k (1-based): input 30 + 10k, output 7 + k; odd calls read 1024 cached tokens, even calls write 200. */
function usageForCall(k: number): BedrockMockUsage {
  const odd = k % 2 === 1;
  return {
    inputTokens: 30 + 10 * k,
    outputTokens: 7 + k,
    cacheReadInputTokens: odd ? 1024 : 0,
    cacheWriteInputTokens: odd ? 0 : 200,
  };
}

/** Converse's `usage` for a billed call: Bedrock's total counts the cache too. */
export function bedrockMockTokenUsage(u: BedrockMockUsage): TokenUsage {
  return {
    inputTokens: u.inputTokens,
    outputTokens: u.outputTokens,
    totalTokens: u.inputTokens + u.outputTokens + u.cacheReadInputTokens + u.cacheWriteInputTokens,
    cacheReadInputTokens: u.cacheReadInputTokens,
    cacheWriteInputTokens: u.cacheWriteInputTokens,
  };
}

function anthropicUsage(u: BedrockMockUsage, outputTokens = u.outputTokens): AnthropicUsage {
  return {
    input_tokens: u.inputTokens,
    output_tokens: outputTokens,
    cache_read_input_tokens: u.cacheReadInputTokens,
    cache_creation_input_tokens: u.cacheWriteInputTokens,
    cache_creation: null,
    inference_geo: null,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: null,
    speed: null,
  };
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** One event-stream frame as the service writes it. */
export function bedrockFrame(eventType: string, payload: unknown, messageType = 'event'): Uint8Array {
  return codec.encode({
    headers: {
      [messageType === 'event' ? ':event-type' : ':exception-type']: { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: messageType },
    },
    body: fromUtf8(JSON.stringify(payload)),
  });
}

class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const ROUTE = /^\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream)$/;

export async function startBedrockMock(options: BedrockMockOptions = {}): Promise<BedrockMock> {
  const chunkDelayMs = options.chunkDelayMs ?? 2;
  const chunks = options.chunks ?? 5;
  if (!Number.isInteger(chunks) || chunks < 1) throw new RangeError(`chunks must be a positive integer, got ${chunks}`);
  const calls: BedrockMockCall[] = [];
  let counter = 0;
  const pause = (): Promise<void> =>
    chunkDelayMs > 0 ? sleep(chunkDelayMs, undefined, { ref: false }) : Promise.resolve();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = ROUTE.exec((req.url ?? '/').split('?')[0]);
    if (route === null || req.method !== 'POST') {
      req.resume();
      throw new RequestError(404, 'UnknownOperationException', 'Unknown operation');
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      throw new RequestError(
        400,
        'ValidationException',
        'Malformed input request, please reformat your input and try again.',
      );
    }
    if (!isRecord(body) || !Array.isArray(body.messages)) {
      throw new RequestError(400, 'ValidationException', 'Malformed input request: required key [messages] not found');
    }
    const action = route[2] as BedrockMockAction;
    const usage = usageForCall(++counter);
    const authorization = req.headers['authorization'];
    const call: BedrockMockCall = {
      action,
      modelId: decodeURIComponent(route[1]),
      requestId: randomUUID(),
      authorization: typeof authorization === 'string' ? authorization : undefined,
      usage: undefined,
      completed: false,
    };
    calls.push(call);
    const ex = new Exchange(res, call);
    const headers = { 'x-amzn-requestid': call.requestId, date: new Date().toUTCString() };

    if (action === 'converse') {
      const response = {
        output: { message: { role: 'assistant', content: [{ text: BEDROCK_MOCK_REPLY_TEXT }] } },
        stopReason: 'end_turn',
        usage: bedrockMockTokenUsage(usage),
        metrics: { latencyMs: 412 },
      } satisfies ConverseResponse;
      res.writeHead(200, { ...headers, 'content-type': 'application/json' });
      if (ex.end(JSON.stringify(response))) call.usage = usage;
      return;
    }

    const message = (final: boolean): Message => ({
      id: `msg_bdrk_01${alnum(22)}`,
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5-20250929',
      content: final ? [{ type: 'text', text: BEDROCK_MOCK_REPLY_TEXT, citations: null }] : [],
      container: null,
      diagnostics: null,
      stop_reason: final ? 'end_turn' : null,
      stop_sequence: null,
      stop_details: null,
      usage: anthropicUsage(usage, final ? usage.outputTokens : 1),
    });

    if (action === 'invoke') {
      res.writeHead(200, {
        ...headers,
        'content-type': 'application/json',
        'x-amzn-bedrock-input-token-count': String(usage.inputTokens),
        'x-amzn-bedrock-output-token-count': String(usage.outputTokens),
        'x-amzn-bedrock-cache-read-input-token-count': String(usage.cacheReadInputTokens),
        'x-amzn-bedrock-cache-write-input-token-count': String(usage.cacheWriteInputTokens),
        'x-amzn-bedrock-invocation-latency': '412',
      });
      if (ex.end(wireJson(message(true)))) call.usage = usage;
      return;
    }

    res.writeHead(200, {
      ...headers,
      'content-type': 'application/vnd.amazon.eventstream',
      ...(action === 'invoke-with-response-stream' ? { 'x-amzn-bedrock-content-type': 'application/json' } : {}),
    });
    res.flushHeaders();
    const write = (frame: Uint8Array): boolean => ex.write(frame);
    const texts = splitText(BEDROCK_MOCK_REPLY_TEXT, chunks);

    if (action === 'converse-stream') {
      if (!write(bedrockFrame('messageStart', { role: 'assistant' } satisfies MessageStartEvent))) return;
      for (const text of texts) {
        await pause();
        const delta = { contentBlockIndex: 0, delta: { text } } satisfies ContentBlockDeltaEvent;
        if (!write(bedrockFrame('contentBlockDelta', delta))) return;
      }
      if (!write(bedrockFrame('contentBlockStop', { contentBlockIndex: 0 } satisfies ContentBlockStopEvent))) return;
      if (!write(bedrockFrame('messageStop', { stopReason: 'end_turn' } satisfies MessageStopEvent))) return;
      await pause();
      const metadata = {
        usage: bedrockMockTokenUsage(usage),
        metrics: { latencyMs: 388 },
      } satisfies ConverseStreamMetadataEvent;
      if (!write(bedrockFrame('metadata', metadata))) return;
      call.usage = usage;
      ex.end();
      return;
    }

    const chunk = (event: RawMessageStreamEvent | Record<string, unknown>): boolean =>
      write(bedrockFrame('chunk', { bytes: Buffer.from(wireJson(event)).toString('base64'), p: alnum(8) }));
    if (!chunk({ type: 'message_start', message: message(false) } satisfies RawMessageStreamEvent)) return;
    for (const text of texts) {
      await pause();
      const delta = {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text },
      } satisfies RawMessageStreamEvent;
      if (!chunk(delta)) return;
    }
    const messageDelta = {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null, stop_details: null, container: null },
      usage: {
        output_tokens: usage.outputTokens,
        input_tokens: null,
        cache_creation_input_tokens: null,
        cache_read_input_tokens: null,
        output_tokens_details: null,
        server_tool_use: null,
      },
    } satisfies RawMessageStreamEvent;
    if (!chunk(messageDelta)) return;
    await pause();
    const stop = {
      type: 'message_stop',
      'amazon-bedrock-invocationMetrics': {
        inputTokenCount: usage.inputTokens,
        outputTokenCount: usage.outputTokens,
        invocationLatency: 412,
        firstByteLatency: 120,
        cacheReadInputTokenCount: usage.cacheReadInputTokens,
        cacheWriteInputTokenCount: usage.cacheWriteInputTokens,
      },
    };
    if (!chunk(stop)) return;
    call.usage = usage;
    ex.end();
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      const e = err instanceof RequestError ? err : new RequestError(500, 'InternalServerException', 'Internal error');
      res.writeHead(e.status, {
        'content-type': 'application/json',
        'x-amzn-errortype': `${e.type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
        'x-amzn-requestid': randomUUID(),
      });
      res.end(JSON.stringify({ message: e.message }));
    });
  });
  const { port, close } = await listenLoopback(server);
  return { endpoint: `http://127.0.0.1:${port}`, calls, close };
}
