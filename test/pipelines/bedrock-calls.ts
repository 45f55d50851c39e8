// The calls the Bedrock pipeline suites make with the real `@aws-sdk/client-bedrock-runtime` client against
// the loopback Bedrock mock, and the mock's records as bills. The client signs every request (SigV4); with
// the usage tap it sends through `FetchHttpHandler({ customFetch: processor.fetch })`, without it through
// node:http (NodeHttpHandler).
import type { BedrockMock, BedrockMockUsage } from '../helpers/bedrock-mock.js';
import { BEDROCK_MOCK_REPLY_TEXT, bedrockMockBill } from '../helpers/bedrock-mock.js';
import { requireCjs } from '../helpers/real-pipeline.js';
import type { Bill, CallRun, WireCall } from './provider-suite.js';

export const BEDROCK_MODEL_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';

export function bedrockBill(u: BedrockMockUsage): Bill {
  const b = bedrockMockBill(u);
  return {
    input: b.inputTokens,
    output: b.outputTokens,
    cacheRead: b.cacheReadInputTokens,
    cacheCreation: b.cacheCreationInputTokens,
    reasoning: 0,
    rawInput: u.inputTokens,
    adjusted: [
      ...(u.cacheReadInputTokens > 0 ? ['input+cache_read'] : []),
      ...(u.cacheWriteInputTokens > 0 ? ['input+cache_creation'] : []),
    ],
  };
}

export function bedrockWire(mock: BedrockMock): WireCall[] {
  return mock.calls.map((c) => ({
    bill: c.usage !== undefined ? bedrockBill(c.usage) : undefined,
    completed: c.completed,
    responseId: c.requestId,
  }));
}

type BedrockSdk = typeof import('@aws-sdk/client-bedrock-runtime');

/** The AWS SDK client's calls, loaded through `require` after the instrumentations were registered. */
export function bedrockSdkCalls(
  mock: BedrockMock,
  fetch: typeof globalThis.fetch | undefined,
): Record<string, CallRun> {
  const sdk = requireCjs('@aws-sdk/client-bedrock-runtime') as BedrockSdk;
  const { FetchHttpHandler } = requireCjs('@smithy/fetch-http-handler') as typeof import('@smithy/fetch-http-handler');
  const { NodeHttpHandler } = requireCjs('@smithy/node-http-handler') as typeof import('@smithy/node-http-handler');
  const client = new sdk.BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: mock.endpoint,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    maxAttempts: 1,
    requestHandler: fetch !== undefined ? new FetchHttpHandler({ customFetch: fetch }) : new NodeHttpHandler(),
  });
  const modelId = BEDROCK_MODEL_ID;
  const messages = [{ role: 'user' as const, content: [{ text: 'Say hello.' }] }];
  const body = JSON.stringify({
    anthropic_version: 'bedrock-2023-05-31',
    max_tokens: 64,
    messages: [{ role: 'user', content: 'Say hello.' }],
  });
  const decode = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);
  return {
    converse: {
      text: BEDROCK_MOCK_REPLY_TEXT,
      async run() {
        const out = await client.send(new sdk.ConverseCommand({ modelId, messages }));
        return out.output?.message?.content?.[0].text ?? '';
      },
    },
    'converse-stream': {
      text: BEDROCK_MOCK_REPLY_TEXT,
      async run() {
        const out = await client.send(new sdk.ConverseStreamCommand({ modelId, messages }));
        let text = '';
        for await (const event of out.stream ?? []) text += event.contentBlockDelta?.delta?.text ?? '';
        return text;
      },
    },
    invoke: {
      text: BEDROCK_MOCK_REPLY_TEXT,
      async run() {
        const out = await client.send(new sdk.InvokeModelCommand({ modelId, body, contentType: 'application/json' }));
        const message = JSON.parse(decode(out.body)) as { content: Array<{ text?: string }> };
        return message.content.map((b) => b.text ?? '').join('');
      },
    },
    'invoke-stream': {
      async run() {
        const out = await client.send(new sdk.InvokeModelWithResponseStreamCommand({ modelId, body }));
        let text = '';
        for await (const part of out.body ?? []) {
          const event = JSON.parse(decode(part.chunk?.bytes)) as { delta?: { text?: string } };
          text += event.delta?.text ?? '';
        }
        return text;
      },
    },
    'early-break': {
      async run() {
        const out = await client.send(new sdk.ConverseStreamCommand({ modelId, messages }));
        for await (const _event of out.stream ?? []) break;
        return '';
      },
    },
  };
}
