/*
 * The HTTP usage tap: a `fetch` that reads an LLM provider's response as the application reads it.
 *
 *   app ── fetch(url, init) ──► tap: a known endpoint? (POST …/chat/completions, /responses, /embeddings, /messages)
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
import type { TapBodyFormat, TapEndpoint, TapFinding } from './usage-parser.js';
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
  if (method.toUpperCase() !== 'POST') return undefined;
  let path = url.pathname;
  if (path.endsWith('/')) path = path.slice(0, -1);
  if (path.endsWith('/chat/completions')) return 'openai.chat';
  if (path.endsWith('/responses')) return 'openai.responses';
  if (path.endsWith('/embeddings')) return 'openai.embeddings';
  if (path.endsWith('/messages')) return 'anthropic.messages';
  return undefined;
}

function planRequest(input: FetchInput, init: RequestInit | undefined, includeUsage: boolean): Plan | undefined {
  const isRequest = typeof Request !== 'undefined' && input instanceof Request;
  const url = isRequest ? new URL(input.url) : new URL(String(input));
  const method = init?.method ?? (isRequest ? input.method : 'GET');
  const endpoint = tapEndpoint(url, method);
  if (endpoint === undefined) return undefined;
  const activeSpan = trace.getSpan(context.active());
  const active = activeSpan?.spanContext();
  const spanKey = active !== undefined && isSpanContextValid(active) ? active.traceId + active.spanId : undefined;
  if (includeUsage && endpoint === 'openai.chat' && init !== undefined && typeof init.body === 'string') {
    const body = withIncludeUsage(init.body);
    if (body !== undefined) {
      const headers = new Headers(init.headers);
      headers.delete('content-length');
      return { endpoint, spanKey, activeSpan, init: { ...init, body, headers }, strip: true };
    }
  }
  return { endpoint, spanKey, activeSpan, init, strip: false };
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

function bodyFormat(response: Response): TapBodyFormat | undefined {
  const type = response.headers.get('content-type')?.toLowerCase() ?? '';
  if (type.includes('text/event-stream')) return 'sse';
  if (type.includes('json')) return 'json';
  return undefined;
}

function tapResponse(response: Response, plan: Plan, sink: TapReportSink, maxBufferBytes: number): Response {
  const source = response.body;
  if (source === null || !response.ok) return response;
  const format = bodyFormat(response);
  if (format === undefined) return response;
  const reader = source.getReader();
  let parser: UsageStreamParser | undefined = new UsageStreamParser(plan.endpoint, format, { maxBufferBytes });
  const stripper = plan.strip && format === 'sse' ? new UsageChunkStripper(maxBufferBytes) : undefined;
  const report = (finding: TapFinding): void => {
    parser = undefined; // one report per response
    try {
      sink({
        responseId: finding.responseId,
        spanKey: plan.spanKey,
        model: finding.model,
        usage: finding.usage,
        totalTokens: finding.totalTokens,
        streamed: format === 'sse',
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
