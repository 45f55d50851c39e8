// The calls the `@anthropic-ai/sdk` pipeline suites make against the loopback Anthropic mock, each under
// its own root span, and what to read back from the receiver after them.
import type { AnthropicMock, AnthropicMockCall } from '../helpers/anthropic-mock.js';
import type { DecodedSpan } from '../helpers/otlp-json.js';
import { requireCjs, type RealPipeline } from '../helpers/real-pipeline.js';
import { waitForEveryStartedSpan } from './calls.js';

export type AnthropicCallName = 'create' | 'create-stream' | 'messages-stream' | 'early-break';

export interface AnthropicCallOutcome {
  /** What the mock answered during this call. */
  wire: AnthropicMockCall[];
  /** The test's own root span, the parent of the call's outermost spans. */
  rootSpanId: string;
  /** The spans of this call's trace that reached the receiver, without the test's own root span. */
  spans: DecodedSpan[];
  /** The reply's text as the application read it. */
  text: string;
}

const REQUEST = {
  model: 'claude-sonnet-4-5',
  max_tokens: 64,
  messages: [{ role: 'user' as const, content: 'Say hello.' }],
};

type Anthropic = InstanceType<(typeof import('@anthropic-ai/sdk'))['Anthropic']>;

/** Makes one call the way an application would, and returns the text it read. */
async function makeCall(client: Anthropic, call: AnthropicCallName): Promise<string> {
  let text = '';
  switch (call) {
    case 'create': {
      const message = await client.messages.create(REQUEST);
      for (const block of message.content) if (block.type === 'text') text += block.text;
      break;
    }
    case 'create-stream': {
      const stream = await client.messages.create({ ...REQUEST, stream: true });
      for await (const event of stream)
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      break;
    }
    case 'messages-stream': {
      const message = await client.messages.stream(REQUEST).finalMessage();
      for (const block of message.content) if (block.type === 'text') text += block.text;
      break;
    }
    case 'early-break': {
      const stream = await client.messages.create({ ...REQUEST, stream: true });
      for await (const _event of stream) break;
      break;
    }
  }
  return text;
}

/**
 * Makes `calls` with the real client (required here, after the test registered its instrumentations), each
 * in a root span of its own, then waits until every span the SDK started has reached the receiver.
 */
export async function runAnthropicCalls(
  pipeline: RealPipeline,
  anthropic: AnthropicMock,
  calls: readonly AnthropicCallName[],
  options: { fetch?: typeof globalThis.fetch; timeoutMs: number },
): Promise<Map<AnthropicCallName, AnthropicCallOutcome>> {
  const { Anthropic } = requireCjs('@anthropic-ai/sdk') as typeof import('@anthropic-ai/sdk');
  const client = new Anthropic({
    apiKey: 'test-key',
    baseURL: anthropic.baseURL,
    maxRetries: 0,
    ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
  });
  const made: { call: AnthropicCallName; traceId: string; wire: AnthropicMockCall[]; text: string }[] = [];
  for (const call of calls) {
    const before = anthropic.calls.length;
    const { traceId, result: text } = await pipeline.inRootSpan(`test ${call}`, () => makeCall(client, call));
    made.push({ call, traceId, wire: anthropic.calls.slice(before), text });
  }
  await waitForEveryStartedSpan(pipeline, options.timeoutMs);
  const out = new Map<AnthropicCallName, AnthropicCallOutcome>();
  for (const { call, traceId, wire, text } of made) {
    const trace = pipeline.receiver.spans.filter((s) => s.traceId === traceId);
    const rootSpanId = trace.find((s) => s.parentSpanId === '')?.spanId ?? '';
    out.set(call, { wire, rootSpanId, spans: trace.filter((s) => s.spanId !== rootSpanId), text });
  }
  return out;
}
