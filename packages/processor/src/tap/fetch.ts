/*
 * The HTTP usage tap: a `fetch` that reads an LLM provider's response as the application reads it.
 *
 *   app ── fetch(url, init) ──► tap: a known endpoint? (POST …/chat/completions, /responses, /embeddings, /messages,
 *                               │      …:generateContent, …:streamGenerateContent, /model/{id}/converse[-stream],
 *                               │      /model/{id}/invoke[-with-response-stream]: see tapEndpoint)
 *                               │ no ─► base fetch, untouched
 *                               │ yes: note the active span (trace id + span id); with `includeUsage`, add
 *                               │      stream_options.include_usage to a chat stream request that lacks it
 *                               ▼
 *        base fetch ─► Response ─► body wrapped: each chunk the app pulls goes through UsageStreamParser
 *                                  (synchronously, before the app gets that same chunk) and on to the app
 *                                  │ terminal event / body end with usage ─► the processor's tap sink
 *                                  │                                  (response id + span key + usage)
 *                                  └ app cancels / body errors ─► parser dropped, nothing reported
 *
 * The tap never reads ahead of the application (the wrapped stream pulls only when the app reads), never
 * changes a byte (the app receives the very chunks the base fetch produced), and never throws into it:
 * any failure of its own leaves the original request or response in place.
 */
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import type { GenAiEnrichingProcessor } from '../GenAiEnrichingProcessor.js';
import { tapSinkOf } from './sink.js';
import type { TapReportSink } from './sink.js';
import { UsageChunkStripper } from './strip.js';
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- DEFAULT_TAP_MAX_BUFFER_BYTES: named by a {@link}
import { DEFAULT_TAP_MAX_BUFFER_BYTES, UsageStreamParser } from './usage-parser.js';
import type { TapBodyFormat, TapBodyReader, TapEndpoint, TapFinding } from './usage-parser.js';
import { BedrockEventStreamParser, KnownUsageReader, bedrockHeaderUsage } from './bedrock-usage.js';
import { resolveTapOptions } from './options.js';
import type { ResolvedTapOptions } from './options.js';

/**
 * A `fetch` function, typed structurally so that the published types need neither the DOM lib nor
 * `@types/node`: it accepts `globalThis.fetch`, and is accepted wherever a client takes a fetch option.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any is what lets every client's fetch type fit
export type FetchLike = (input: any, init?: any) => Promise<any>;

// What the implementation works with: the runtime's own fetch types.
type Fetch = typeof globalThis.fetch;
type FetchInput = Parameters<Fetch>[0];

/** Options of {@link usageTapFetch}; every field is optional. */
export interface UsageTapOptions {
  /** The fetch to wrap. The default is `globalThis.fetch`, looked up at each call. */
  fetch?: FetchLike;
  /**
   * Add `stream_options: { include_usage: true }` to OpenAI chat completion stream requests that lack it,
   * and strip the extra usage-only chunk this makes the provider send from what the application reads.
   * It changes the request, so it is off unless asked for. The default value is `false`.
   */
  includeUsage?: boolean;
  /**
   * The most bytes the tap holds per response (an incomplete SSE line, or a JSON body until it is known
   * to be small). Larger events and bodies are scanned with constant memory instead. An integer from 1024
   * to 1073741824 (1 GiB); the default value is {@link DEFAULT_TAP_MAX_BUFFER_BYTES}.
   */
  maxBufferBytes?: number;
}

const TAPPED: unique symbol = Symbol('genai-enrich usage tap');
type TappedFetch = FetchLike & { [TAPPED]?: { readonly base: () => FetchLike } };

interface Plan {
  readonly endpoint: TapEndpoint;
  /** The model the URL names (Bedrock, Gemini), for a response that does not name it. */
  readonly model: string | undefined;
  /** The URL asks for a stream (Gemini's streamGenerateContent, whose JSON-array answer is one). */
  readonly stream: boolean;
  readonly spanKey: string | undefined;
  readonly activeSpan: object | undefined;
  readonly init: RequestInit | undefined;
  /** The tap added include_usage to this request, so it strips the chunk that answers it. */
  readonly strip: boolean;
}

/**
 * A `fetch` that reads token usage off provider responses for `processor`, for clients that take a fetch
 * option: `new OpenAI({ fetch })`, `createOpenAI({ fetch })` from `@ai-sdk/openai`, `new Anthropic({ fetch })`.
 *
 * It recognizes OpenAI chat completions, Responses and embeddings, and Anthropic messages, by path, on
 * any host (so OpenAI-compatible servers work too), JSON and SSE alike. Usage the instrumentation already
 * set on the span wins; the tap fills only what is missing (`genai_enrich.usage_source` says which).
 *
 * Bad options are reported once through `diag.warn`, naming each option and its value, and replaced by
 * their defaults, as the processor does with its own.
 */
export function usageTapFetch(processor: GenAiEnrichingProcessor, options: UsageTapOptions = {}): FetchLike {
  return createUsageTap(tapSinkOf(processor, 'usageTapFetch'), resolveTapOptions('usageTapFetch', options));
}

/**
 * @internal {@link usageTapFetch} with the sink found and options already checked (installUsageTap checks its own
 * once).
 */
export function createUsageTap(sink: TapReportSink, options: ResolvedTapOptions): FetchLike {
  const { fetch: explicit, includeUsage, maxBufferBytes } = options;
  // A tap over a tap would count the same response twice: always wrap the untapped fetch underneath.
  const base = (): Fetch => untapped(explicit ?? globalThis.fetch) as Fetch;

  const tapped: TappedFetch = async function usageTap(input: FetchInput, init?: RequestInit): Promise<Response> {
    let plan: Plan | undefined;
    try {
      plan = planRequest(input, init, includeUsage);
    } catch {
      plan = undefined;
    }
    const response = await base()(input, plan?.init ?? init);
    if (plan === undefined) return response;
    try {
      return tapResponse(response, plan, sink, maxBufferBytes);
    } catch {
      return response;
    }
  };
  return markAsTap(tapped, base);
}

/** @internal Marks `fetch` as a tap over `base`, so that no tap is ever built over it. */
export function markAsTap(fetch: FetchLike, base: () => FetchLike): FetchLike {
  (fetch as TappedFetch)[TAPPED] = { base };
  return fetch;
}

/** The fetch under any number of taps. */
export function untapped(fetch: FetchLike): FetchLike {
  let f = fetch as TappedFetch;
  for (let i = 0; i < 8 && f[TAPPED] !== undefined; i++) f = f[TAPPED].base() as TappedFetch;
  return f;
}

/** Whether `fetch` is a usage tap. */
export function isUsageTap(fetch: unknown): boolean {
  return typeof fetch === 'function' && (fetch as TappedFetch)[TAPPED] !== undefined;
}

/** The endpoint a request goes to, if the tap reads its responses. */
export function tapEndpoint(url: { readonly pathname: string }, method: string): TapEndpoint | undefined {
  return tapTarget(url, method)?.endpoint;
}

/** Where a request goes, for the tap: the endpoint, and what the URL says about the model and streaming. */
interface TapTarget {
  readonly endpoint: TapEndpoint;
  readonly model: string | undefined;
  readonly stream: boolean;
}

/**
 * The endpoint by the URL's path, on any host (OpenAI-compatible servers, gateways and proxies keep the
 * paths):
 *   …/chat/completions, …/responses, …/embeddings ─────────────── OpenAI
 *   …/messages, …/publishers/anthropic/models/{m}:[stream]rawPredict ── Anthropic (Vertex AI serves Claude so)
 *   …/models/{m}:generateContent, …:streamGenerateContent ────────── Gemini API and Vertex AI
 *   …/model/{id}/converse[-stream], …/invoke[-with-response-stream] ─ Bedrock
 */
function tapTarget(url: { readonly pathname: string }, method: string): TapTarget | undefined {
  if (method.toUpperCase() !== 'POST') return undefined;
  let path = url.pathname;
  if (path.endsWith('/')) path = path.slice(0, -1);
  if (path.endsWith('/chat/completions')) return plain('openai.chat');
  if (path.endsWith('/responses')) return plain('openai.responses');
  if (path.endsWith('/embeddings')) return plain('openai.embeddings');
  if (path.endsWith('/messages')) return plain('anthropic.messages');
  const colon = path.lastIndexOf(':');
  if (colon > 0) {
    const rpc = path.slice(colon + 1);
    const slash = path.lastIndexOf('/', colon);
    const model = slash >= 0 ? decodeName(path.slice(slash + 1, colon)) : undefined;
    if (rpc === 'generateContent' || rpc === 'streamGenerateContent') {
      return { endpoint: 'gemini.generate_content', model, stream: rpc === 'streamGenerateContent' };
    }
    if ((rpc === 'rawPredict' || rpc === 'streamRawPredict') && path.includes('/publishers/anthropic/models/')) {
      return { endpoint: 'anthropic.messages', model, stream: rpc === 'streamRawPredict' };
    }
    return undefined;
  }
  // Bedrock: /model/{modelId}/{action}, the model id percent-encoded (`:` and ARN slashes).
  const segments = path.split('/');
  const bedrock = BEDROCK_ACTIONS.get(segments[segments.length - 1]);
  if (bedrock === undefined || segments.length < 4 || segments[segments.length - 3] !== 'model') return undefined;
  return { endpoint: bedrock.endpoint, model: decodeName(segments[segments.length - 2]), stream: bedrock.stream };
}

const BEDROCK_ACTIONS: ReadonlyMap<string, { readonly endpoint: TapEndpoint; readonly stream: boolean }> = new Map([
  ['converse', { endpoint: 'bedrock.converse', stream: false }],
  ['converse-stream', { endpoint: 'bedrock.converse', stream: true }],
  ['invoke', { endpoint: 'bedrock.invoke', stream: false }],
  ['invoke-with-response-stream', { endpoint: 'bedrock.invoke', stream: true }],
]);

function plain(endpoint: TapEndpoint): TapTarget {
  return { endpoint, model: undefined, stream: false };
}

/** A path segment as a name (`anthropic.claude-3%3A0` → `anthropic.claude-3:0`); undefined when it is none. */
function decodeName(segment: string): string | undefined {
  if (segment.length === 0 || segment.length > 256) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function planRequest(input: FetchInput, init: RequestInit | undefined, includeUsage: boolean): Plan | undefined {
  const isRequest = typeof Request !== 'undefined' && input instanceof Request;
  const url = isRequest ? new URL(input.url) : new URL(String(input));
  const method = init?.method ?? (isRequest ? input.method : 'GET');
  const target = tapTarget(url, method);
  if (target === undefined) return undefined;
  const { endpoint, model, stream } = target;
  const activeSpan = trace.getSpan(context.active());
  const active = activeSpan?.spanContext();
  const spanKey = active !== undefined && isSpanContextValid(active) ? active.traceId + active.spanId : undefined;
  if (includeUsage && endpoint === 'openai.chat' && init !== undefined && typeof init.body === 'string') {
    const body = withIncludeUsage(init.body);
    if (body !== undefined) {
      const headers = new Headers(init.headers);
      headers.delete('content-length');
      return { endpoint, model, stream, spanKey, activeSpan, init: { ...init, body, headers }, strip: true };
    }
  }
  return { endpoint, model, stream, spanKey, activeSpan, init, strip: false };
}

/** The request body with `stream_options.include_usage` set, or undefined when it needs no change. */
export function withIncludeUsage(body: string): string | undefined {
  let request: unknown;
  try {
    request = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) return undefined;
  const r = request as { stream?: unknown; stream_options?: unknown };
  if (r.stream !== true) return undefined;
  const options = r.stream_options;
  if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options)))
    return undefined;
  if (
    options !== undefined &&
    options !== null &&
    (options as { include_usage?: unknown }).include_usage !== undefined
  ) {
    // The application chose (true or an explicit false): respect it.
    return undefined;
  }
  r.stream_options = { ...options, include_usage: true };
  return JSON.stringify(r);
}

/** How the body is encoded: SSE, JSON, or AWS's binary event stream (Bedrock's streams). */
type WireFormat = TapBodyFormat | 'eventstream';

function bodyFormat(response: Response): WireFormat | undefined {
  const type = response.headers.get('content-type')?.toLowerCase() ?? '';
  if (type.includes('text/event-stream')) return 'sse';
  if (type.includes('json')) return 'json';
  if (type.includes('application/vnd.amazon.eventstream')) return 'eventstream';
  return undefined;
}

/** The reader of a response's usage, or undefined when the tap has none for it. */
function bodyReader(
  plan: Plan,
  format: WireFormat,
  headers: Headers,
  maxBufferBytes: number,
): TapBodyReader | undefined {
  const { endpoint } = plan;
  if (endpoint === 'bedrock.converse' || endpoint === 'bedrock.invoke') {
    if (format === 'eventstream') {
      return new BedrockEventStreamParser(endpoint === 'bedrock.converse' ? 'converse' : 'invoke', maxBufferBytes);
    }
    const known = bedrockHeaderUsage(headers);
    if (known !== undefined) return new KnownUsageReader(known);
  }
  if (format === 'eventstream') return undefined;
  return new UsageStreamParser(endpoint, format, { maxBufferBytes });
}

function tapResponse(response: Response, plan: Plan, sink: TapReportSink, maxBufferBytes: number): Response {
  const source = response.body;
  if (source === null || !response.ok) return response;
  const format = bodyFormat(response);
  if (format === undefined) return response;
  let parser: TapBodyReader | undefined = bodyReader(plan, format, response.headers, maxBufferBytes);
  if (parser === undefined) return response;
  const reader = source.getReader();
  const stripper = plan.strip && format === 'sse' ? new UsageChunkStripper(maxBufferBytes) : undefined;
  // Bedrock names the call by its request id (the AI SDK's response id); its body names no model.
  const bedrock = plan.endpoint === 'bedrock.converse' || plan.endpoint === 'bedrock.invoke';
  const requestId = bedrock ? (response.headers.get('x-amzn-requestid') ?? undefined) : undefined;
  const report = (finding: TapFinding): void => {
    parser = undefined; // one report per response
    try {
      sink({
        responseId: finding.responseId ?? requestId,
        spanKey: plan.spanKey,
        model: finding.model ?? plan.model,
        usage: finding.usage,
        totalTokens: finding.totalTokens,
        streamed: format !== 'json' || plan.stream,
        ...(finding.adjusted !== undefined ? { adjusted: finding.adjusted } : {}),
        ...(plan.activeSpan !== undefined ? { activeSpan: plan.activeSpan } : {}),
      });
    } catch {
      // The processor never throws; a foreign sink must not break the application's read either.
    }
  };

  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        // A pull must enqueue something (or close): the stream does not ask again after an empty one.
        for (;;) {
          let result: Awaited<ReturnType<typeof reader.read>>;
          try {
            result = await reader.read();
          } catch (error) {
            parser = undefined;
            controller.error(error);
            return;
          }
          if (result.done) {
            const p = parser;
            if (p !== undefined) {
              const finding = p.end();
              if (finding !== undefined) report(finding);
              parser = undefined;
            }
            if (stripper !== undefined) for (const part of stripper.flush()) controller.enqueue(part);
            controller.close();
            return;
          }
          const chunk = result.value;
          const p = parser;
          if (p !== undefined) {
            p.push(chunk);
            const finding = p.finding;
            if (finding !== undefined) report(finding);
            else if (p.failed) parser = undefined;
          }
          if (stripper === undefined) {
            controller.enqueue(chunk);
            return;
          }
          const parts = stripper.push(chunk);
          for (const part of parts) controller.enqueue(part);
          if (parts.length > 0) return;
        }
      },
      cancel(reason) {
        // A partial stream: report nothing, keep nothing.
        parser = undefined;
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  const tapped = new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  // A constructed Response has an empty url and redirected=false; keep the real ones for clients that read them.
  Object.defineProperties(tapped, {
    url: { value: response.url, enumerable: true },
    redirected: { value: response.redirected, enumerable: true },
  });
  return tapped;
}
