// The calls every real-pipeline suite makes, and what to read back from the receiver after them.
// Each call runs under its own root span, so the spans it produced are the ones with its trace id.
import type { Tracer } from '@opentelemetry/api';
import type { MockCall } from '../helpers/openai-mock.js';
import type { DecodedSpan } from '../helpers/otlp-json.js';
import { requireCjs, type RealPipeline } from '../helpers/real-pipeline.js';

export const CALLS = [
  'chat',
  'chat-stream-usage',
  'chat-stream-no-usage',
  'responses',
  'responses-stream',
  'embeddings',
  'early-break',
] as const;
export type CallName = (typeof CALLS)[number];

export interface Client {
  /** Calls this client cannot make, with the reason (e.g. the AI SDK always asks for stream usage). */
  readonly unsupported: Partial<Record<CallName, string>>;
  run(call: CallName): Promise<void>;
}

export interface CallOutcome {
  call: CallName;
  traceId: string;
  /** What the mock answered during this call. */
  wire: MockCall[];
  /** The spans of this call's trace that reached the receiver, without the test's own root span. */
  spans: DecodedSpan[];
}

const MESSAGES = [{ role: 'user' as const, content: 'Say hello.' }];

/** The `openai` client, loaded through `require` after the instrumentations were registered. */
export function openAiClient(baseURL: string, fetch?: typeof globalThis.fetch): Client {
  const { OpenAI } = requireCjs('openai') as typeof import('openai');
  const client = new OpenAI({ apiKey: 'test-key', baseURL, maxRetries: 0, ...(fetch !== undefined ? { fetch } : {}) });
  return {
    unsupported: {},
    async run(call) {
      switch (call) {
        case 'chat':
          await client.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES });
          return;
        case 'chat-stream-usage':
        case 'chat-stream-no-usage': {
          const stream = await client.chat.completions.create({
            model: 'gpt-4o-mini',
            messages: MESSAGES,
            stream: true,
            ...(call === 'chat-stream-usage' ? { stream_options: { include_usage: true } } : {}),
          });
          for await (const _chunk of stream);
          return;
        }
        case 'responses':
          await client.responses.create({ model: 'gpt-4o-mini', input: 'Say hello.' });
          return;
        case 'responses-stream': {
          const stream = await client.responses.create({ model: 'gpt-4o-mini', input: 'Say hello.', stream: true });
          for await (const _event of stream);
          return;
        }
        case 'embeddings':
          await client.embeddings.create({ model: 'text-embedding-3-small', input: 'Say hello.' });
          return;
        case 'early-break': {
          const stream = await client.chat.completions.create({
            model: 'gpt-4o-mini',
            messages: MESSAGES,
            stream: true,
            stream_options: { include_usage: true },
          });
          for await (const _chunk of stream) break;
          return;
        }
      }
    },
  };
}

/** The Vercel AI SDK with `@ai-sdk/openai`, telemetry on, through the pipeline's tracer provider. */
export async function vercelAiClient(
  baseURL: string,
  tracer: Tracer,
  fetch?: typeof globalThis.fetch,
): Promise<Client> {
  const { generateText, streamText, embed } = await import('ai');
  const { createOpenAI } = await import('@ai-sdk/openai');
  const openai = createOpenAI({ apiKey: 'test-key', baseURL, ...(fetch !== undefined ? { fetch } : {}) });
  const telemetry = { isEnabled: true, tracer };
  return {
    unsupported: {
      'chat-stream-no-usage': '@ai-sdk/openai always sends stream_options.include_usage on chat streams',
    },
    async run(call) {
      switch (call) {
        case 'chat':
          await generateText({
            model: openai.chat('gpt-4o-mini'),
            prompt: 'Say hello.',
            experimental_telemetry: telemetry,
            maxRetries: 0,
          });
          return;
        case 'chat-stream-usage': {
          const result = streamText({
            model: openai.chat('gpt-4o-mini'),
            prompt: 'Say hello.',
            experimental_telemetry: telemetry,
            maxRetries: 0,
          });
          for await (const _text of result.textStream);
          await result.usage;
          return;
        }
        case 'responses':
          await generateText({
            model: openai.responses('gpt-4o-mini'),
            prompt: 'Say hello.',
            experimental_telemetry: telemetry,
            maxRetries: 0,
          });
          return;
        case 'responses-stream': {
          const result = streamText({
            model: openai.responses('gpt-4o-mini'),
            prompt: 'Say hello.',
            experimental_telemetry: telemetry,
            maxRetries: 0,
          });
          for await (const _text of result.textStream);
          await result.usage;
          return;
        }
        case 'embeddings':
          await embed({
            model: openai.embedding('text-embedding-3-small'),
            value: 'Say hello.',
            experimental_telemetry: telemetry,
            maxRetries: 0,
          });
          return;
        case 'early-break': {
          const result = streamText({
            model: openai.chat('gpt-4o-mini'),
            prompt: 'Say hello.',
            experimental_telemetry: telemetry,
            maxRetries: 0,
          });
          for await (const _text of result.textStream) break;
          return;
        }
        case 'chat-stream-no-usage':
          throw new Error('unsupported');
      }
    },
  };
}

/**
 * Makes every supported call, then waits until every span the SDK started has reached the receiver
 * (force-ended and held spans included), and groups what arrived by call.
 */
export async function runCalls(
  pipeline: RealPipeline,
  client: Client,
  timeoutMs: number,
): Promise<Map<CallName, CallOutcome>> {
  const made: { call: CallName; traceId: string; wire: MockCall[] }[] = [];
  for (const call of CALLS) {
    if (client.unsupported[call] !== undefined) continue;
    const before = pipeline.mock.calls.length;
    const { traceId } = await pipeline.inRootSpan(`test ${call}`, () => client.run(call));
    made.push({ call, traceId, wire: pipeline.mock.calls.slice(before) });
  }
  await waitForEveryStartedSpan(pipeline, timeoutMs);
  const out = new Map<CallName, CallOutcome>();
  for (const m of made) {
    const spans = pipeline.receiver.spans.filter((s) => s.traceId === m.traceId && s.parentSpanId !== '');
    out.set(m.call, { ...m, spans });
  }
  return out;
}

/** Waits until every span the SDK started so far has reached the receiver (force-ended and held ones included). */
export async function waitForEveryStartedSpan(pipeline: RealPipeline, timeoutMs: number): Promise<void> {
  await pipeline.receiver.waitFor((spans) => {
    const seen = new Set(spans.map((s) => s.spanId));
    for (const id of pipeline.started.ids.keys()) if (!seen.has(id)) return false;
    return true;
  }, timeoutMs);
}
