/*
 * A loopback mock of the Gemini API and Vertex AI's `generateContent` / `streamGenerateContent`, for
 * integration tests. It answers on any path ending in `/models/{model}:{method}` (the Gemini API's
 * `/v1beta/models/…`, Vertex AI's `/v1/publishers/google/models/…` and `/v1/projects/p/locations/l/…`):
 *
 *   :generateContent ───────────────────► one GenerateContentResponse (JSON)
 *   :streamGenerateContent?alt=sse ─────► one `data:` event per chunk, CR LF line ends (what @google/genai asks for)
 *   :streamGenerateContent (no alt) ────► a JSON array, pretty-printed, one element written per chunk
 *
 * Usage (`usageMetadata`) goes on the last chunk of a stream only, and counts as Gemini counts: the prompt
 * with its cached part, the tool results fed back to the model apart (`toolUsePromptTokenCount`, when the
 * request holds a functionResponse), the thoughts apart from the candidates; zero counts are left out, as
 * protobuf JSON does. Payloads are checked against @google/genai's types with `satisfies`; the real client
 * reads them in gemini-mock.test.ts.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { FinishReason, MediaModality } from '@google/genai';
import type { GenerateContentResponse, GenerateContentResponseUsageMetadata } from '@google/genai';
import { Exchange, alnum, isRecord, listenLoopback, readBody, splitText } from './mock-server.js';

/** The fields of a GenerateContentResponse on the wire (the class adds getters). */
export type GeminiWireResponse = Pick<
  GenerateContentResponse,
  'candidates' | 'modelVersion' | 'responseId' | 'usageMetadata' | 'createTime'
>;

export type GeminiMockFormat = 'json' | 'sse' | 'array';

/** Gemini's own counts, as it bills them. */
export interface GeminiMockUsage {
  prompt: number;
  candidates: number;
  cached: number;
  thoughts: number;
  toolUse: number;
}

export interface GeminiMockCall {
  format: GeminiMockFormat;
  /** The path's API: `gemini` (`/v1beta/models/…`) or `vertex` (`…/publishers/google/models/…`). */
  api: 'gemini' | 'vertex';
  responseId: string;
  requestModel: string;
  /** `modelVersion`: the request's model as named, as the API echoes it. */
  responseModel: string;
  /** The usage written to the wire; undefined when the client left before the chunk that carries it. */
  usage: GeminiMockUsage | undefined;
  completed: boolean;
}

export interface GeminiMock {
  /** 'http://127.0.0.1:PORT', what `httpOptions.baseUrl` wants (the client adds the version and path). */
  baseURL: string;
  calls: GeminiMockCall[];
  close(): Promise<void>;
}

export interface GeminiMockOptions {
  /** Delay between streamed writes, default 2. */
  chunkDelayMs?: number;
  /** Chunks per stream, default 5. */
  chunks?: number;
}

export const GEMINI_MOCK_REPLY_TEXT = 'Hello from the Gemini loopback mock.';

/** The counts semconv wants of a call: input with the tool-use prompt, output with the thoughts. */
export function geminiMockBill(u: GeminiMockUsage): {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens: number;
  reasoningOutputTokens: number;
  totalTokens: number;
} {
  return {
    inputTokens: u.prompt + u.toolUse,
    outputTokens: u.candidates + u.thoughts,
    cacheReadInputTokens: u.cached,
    reasoningOutputTokens: u.thoughts,
    totalTokens: u.prompt + u.toolUse + u.candidates + u.thoughts,
  };
}

/**
 * Call k (1-based): prompt 30 + 10k, candidates 7 + k, thoughts 16 + k; odd calls read 512 cached tokens;
 * a request with a functionResponse part adds 24 tool-use prompt tokens.
 */
function usageForCall(k: number, toolUse: boolean): GeminiMockUsage {
  return {
    prompt: 30 + 10 * k + (k % 2 === 1 ? 512 : 0),
    candidates: 7 + k,
    cached: k % 2 === 1 ? 512 : 0,
    thoughts: 16 + k,
    toolUse: toolUse ? 24 : 0,
  };
}

/** The `usageMetadata` of a billed call, as the API writes it (zero counts left out). */
export function geminiMockUsageMetadata(u: GeminiMockUsage): GenerateContentResponseUsageMetadata {
  return {
    promptTokenCount: u.prompt,
    candidatesTokenCount: u.candidates,
    totalTokenCount: u.prompt + u.candidates + u.thoughts + u.toolUse,
    ...(u.cached > 0 ? { cachedContentTokenCount: u.cached } : {}),
    ...(u.thoughts > 0 ? { thoughtsTokenCount: u.thoughts } : {}),
    ...(u.toolUse > 0 ? { toolUsePromptTokenCount: u.toolUse } : {}),
    promptTokensDetails: [{ modality: MediaModality.TEXT, tokenCount: u.prompt }],
    ...(u.cached > 0 ? { cacheTokensDetails: [{ modality: MediaModality.TEXT, tokenCount: u.cached }] } : {}),
  };
}

class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const ROUTE = /^\/.*?(\/publishers\/google)?\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

export async function startGeminiMock(options: GeminiMockOptions = {}): Promise<GeminiMock> {
  const chunkDelayMs = options.chunkDelayMs ?? 2;
  const chunks = options.chunks ?? 5;
  if (!Number.isInteger(chunks) || chunks < 1) throw new RangeError(`chunks must be a positive integer, got ${chunks}`);
  const calls: GeminiMockCall[] = [];
  let counter = 0;
  const pause = (): Promise<void> =>
    chunkDelayMs > 0 ? sleep(chunkDelayMs, undefined, { ref: false }) : Promise.resolve();

  async function generate(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const route = ROUTE.exec(url.pathname);
    if (route === null) {
      req.resume();
      throw new RequestError(404, 'NOT_FOUND', `Path ${url.pathname} not found`);
    }
    if (req.method !== 'POST') {
      req.resume();
      throw new RequestError(405, 'METHOD_NOT_ALLOWED', 'Only POST');
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      throw new RequestError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
    }
    if (!isRecord(body) || !Array.isArray(body.contents)) {
      throw new RequestError(400, 'INVALID_ARGUMENT', '* GenerateContentRequest.contents: contents is not specified');
    }
    const model = decodeURIComponent(route[2]);
    const stream = route[3] === 'streamGenerateContent';
    const format: GeminiMockFormat = !stream ? 'json' : url.searchParams.get('alt') === 'sse' ? 'sse' : 'array';
    const k = ++counter;
    const usage = usageForCall(k, JSON.stringify(body.contents).includes('"functionResponse"'));
    const call: GeminiMockCall = {
      format,
      api: route[1] !== undefined ? 'vertex' : 'gemini',
      responseId: alnum(23),
      requestModel: model,
      responseModel: model,
      usage: undefined,
      completed: false,
    };
    calls.push(call);
    const ex = new Exchange(res, call);
    const createTime = call.api === 'vertex' ? new Date().toISOString() : undefined;
    const chunk = (text: string, last: boolean): GeminiWireResponse =>
      ({
        candidates: [
          {
            content: { parts: [{ text }], role: 'model' },
            index: 0,
            ...(last ? { finishReason: FinishReason.STOP } : {}),
          },
        ],
        ...(last ? { usageMetadata: geminiMockUsageMetadata(usage) } : {}),
        modelVersion: call.responseModel,
        ...(createTime !== undefined ? { createTime } : {}),
        responseId: call.responseId,
      }) satisfies GeminiWireResponse;

    if (format === 'json') {
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
      if (ex.end(JSON.stringify(chunk(GEMINI_MOCK_REPLY_TEXT, true), null, 2))) call.usage = usage;
      return;
    }
    res.writeHead(200, {
      'content-type': format === 'sse' ? 'text/event-stream' : 'application/json; charset=UTF-8',
    });
    res.flushHeaders();
    const parts = splitText(GEMINI_MOCK_REPLY_TEXT, chunks);
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      const json = chunk(parts[i], last);
      const text =
        format === 'sse'
          ? `data: ${JSON.stringify(json)}\r\n\r\n`
          : (i === 0 ? '[' : '\n,\r\n') + JSON.stringify(json, null, 2) + (last ? '\n]' : '');
      if (i > 0) await pause();
      if (!ex.write(text)) return;
      if (last) call.usage = usage;
    }
    ex.end();
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    generate(req, res, url).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      const e = err instanceof RequestError ? err : new RequestError(500, 'INTERNAL', 'Internal error');
      res.writeHead(e.status, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify({ error: { code: e.status, message: e.message, status: e.reason } }));
    });
  });
  const { port, close } = await listenLoopback(server);
  return { baseURL: `http://127.0.0.1:${port}`, calls, close };
}
