// `@anthropic-ai/sdk` 1.12.0 against the loopback Anthropic mock, through GenAiEnrichingProcessor and the
// OTLP/HTTP exporter, traced two ways:
//   - by the SDK itself (scope com.anthropic.sdk.typescript; on once a global provider is registered), alone;
//   - by OpenInference's `@arizeai/openinference-instrumentation-anthropic` 0.2.8, alone: the client is made
//     with `openTelemetry: { traces: false }` (both together are anthropic-twins.test.ts).
// Both count Anthropic's input with the cache, as semconv does, so telemetry carries the bill.
import { ANTHROPIC_MOCK_REPLY_TEXT, startAnthropicMock } from '../../helpers/anthropic-mock.js';
import type { AnthropicMock } from '../../helpers/anthropic-mock.js';
import { requireCjs } from '../../helpers/real-pipeline.js';
import type { CallRun, ProviderExpectation, ProviderSuiteOptions } from '../provider-suite.js';
import { anthropicWire } from './vercel-providers.js';

const REQUEST = {
  model: 'claude-sonnet-4-5',
  max_tokens: 64,
  messages: [{ role: 'user' as const, content: 'Say hello.' }],
};

type ContentBlock = { type: string; text?: string };
type StreamEvent = { type: string; delta?: { type: string; text?: string } };

/** The Messages surface the calls use, the same in SDK 0.x and 1.x. */
export interface MessagesClient {
  messages: {
    create(request: typeof REQUEST): Promise<{ content: readonly ContentBlock[] }>;
    create(request: typeof REQUEST & { stream: true }): Promise<AsyncIterable<StreamEvent>>;
    stream(request: typeof REQUEST): { finalMessage(): Promise<{ content: readonly ContentBlock[] }> };
  };
}

const textOf = (content: readonly ContentBlock[]): string =>
  content.map((b) => (b.type === 'text' ? (b.text ?? '') : '')).join('');

/** messages.create (JSON and stream: true), messages.stream(), and a stream the reader leaves at once. */
export function anthropicCallRuns(client: MessagesClient): Record<string, CallRun> {
  return {
    create: {
      text: ANTHROPIC_MOCK_REPLY_TEXT,
      run: async () => textOf((await client.messages.create(REQUEST)).content),
    },
    'create-stream': {
      text: ANTHROPIC_MOCK_REPLY_TEXT,
      async run() {
        let text = '';
        for await (const event of await client.messages.create({ ...REQUEST, stream: true }))
          if (event.type === 'content_block_delta' && event.delta?.type === 'text_delta')
            text += event.delta.text ?? '';
        return text;
      },
    },
    'messages-stream': {
      text: ANTHROPIC_MOCK_REPLY_TEXT,
      run: async () => textOf((await client.messages.stream(REQUEST).finalMessage()).content),
    },
    'early-break': {
      async run() {
        for await (const _event of await client.messages.create({ ...REQUEST, stream: true })) break;
        return '';
      },
    },
  };
}

/** A 1.x client on the mock; `traces: false` turns the SDK's own spans off. */
function client(mock: AnthropicMock, fetch: typeof globalThis.fetch | undefined, traces: boolean): MessagesClient {
  const { Anthropic } = requireCjs('@anthropic-ai/sdk') as typeof import('@anthropic-ai/sdk');
  return new Anthropic({
    apiKey: 'test-key',
    baseURL: mock.baseURL,
    maxRetries: 0,
    openTelemetry: { traces },
    ...(fetch !== undefined ? { fetch } : {}),
  }) as unknown as MessagesClient;
}

/** The suite of the Anthropic calls with one emitter: telemetry carries the bill; the early break differs. */
export function anthropicSuite(o: {
  title: string;
  instrumentations?: ProviderSuiteOptions<AnthropicMock>['instrumentations'];
  earlyBreak: ProviderExpectation;
  calls: ProviderSuiteOptions<AnthropicMock>['calls'];
}): ProviderSuiteOptions<AnthropicMock> {
  return {
    title: o.title,
    provider: 'anthropic',
    instrumentations: o.instrumentations ?? (async () => []),
    startMock: () => startAnthropicMock({ chunkDelayMs: 15 }),
    wire: anthropicWire,
    expect: {
      create: { telemetry: 'bill' },
      'create-stream': { telemetry: 'bill' },
      'messages-stream': { telemetry: 'bill' },
      'early-break': o.earlyBreak,
    },
    calls: o.calls,
  };
}

export const sdkSetup = anthropicSuite({
  title: '@anthropic-ai/sdk 1.12.0 (its own tracing)',
  earlyBreak: {
    earlyBreak: true,
    forceEnded: false,
    started: true,
    why: "the SDK ends its span when the stream is closed, with message_start's input and cache counts",
  },
  calls: async (_pipeline, mock, fetch) => anthropicCallRuns(client(mock, fetch, true)),
});

export const openinferenceSetup = anthropicSuite({
  title: '@arizeai/openinference-instrumentation-anthropic 0.2.8 + @anthropic-ai/sdk 1.12.0 (its tracing off)',
  instrumentations: async () => {
    const { AnthropicInstrumentation } = await import('@arizeai/openinference-instrumentation-anthropic');
    return [new AnthropicInstrumentation()];
  },
  // OpenInference reads the stream to its end itself when the application stops early, so its span has
  // the whole bill (and the application's break saves nothing).
  earlyBreak: { telemetry: 'bill' },
  calls: async (_pipeline, mock, fetch) => anthropicCallRuns(client(mock, fetch, false)),
});
