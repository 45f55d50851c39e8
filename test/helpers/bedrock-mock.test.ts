/*
 * Drives the loopback Bedrock mock with the real `@aws-sdk/client-bedrock-runtime` client, which signs every
 * request (SigV4) and parses the event streams with its own decoder: Converse, ConverseStream, InvokeModel and
 * InvokeModelWithResponseStream, each read back with the usage the mock recorded as billed; over node:http
 * (NodeHttpHandler, HTTP/1.1: the client's default handler is HTTP/2, which the mock does not speak) and over
 * fetch (FetchHttpHandler, the way the usage tap reaches the AWS SDK).
 */
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import type { TokenUsage } from '@aws-sdk/client-bedrock-runtime';
import { FetchHttpHandler } from '@smithy/fetch-http-handler';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Message, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import { BEDROCK_MOCK_REPLY_TEXT, bedrockMockBill, bedrockMockTokenUsage, startBedrockMock } from './bedrock-mock.js';
import type { BedrockMock } from './bedrock-mock.js';
import { pollUntil } from './condition-waiters.js';

const MODEL_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const messages = [{ role: 'user' as const, content: [{ text: 'hi' }] }];

async function mockFor(t: TestContext): Promise<BedrockMock> {
  const mock = await startBedrockMock({ chunkDelayMs: 1 });
  t.after(() => mock.close());
  return mock;
}

function clientFor(mock: BedrockMock, overFetch: boolean): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: mock.endpoint,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    maxAttempts: 1,
    // The client's default handler speaks HTTP/2 (for bidirectional streams); the mock speaks HTTP/1.1.
    requestHandler: overFetch ? new FetchHttpHandler() : new NodeHttpHandler(),
  });
}

const claude = {
  anthropic_version: 'bedrock-2023-05-31',
  max_tokens: 256,
  messages: [{ role: 'user', content: 'hi' }],
};

describe('bedrock mock with @aws-sdk/client-bedrock-runtime', () => {
  for (const overFetch of [false, true]) {
    const via = overFetch ? 'over fetch' : 'over node:http';
    it(`${via}: Converse, signed, with the billed usage`, async (t) => {
      const mock = await mockFor(t);
      const out = await clientFor(mock, overFetch).send(new ConverseCommand({ modelId: MODEL_ID, messages }));
      const call = mock.calls[0];
      assert.equal(call.action, 'converse');
      assert.equal(call.modelId, MODEL_ID);
      assert.match(
        call.authorization ?? '',
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/bedrock\/aws4_request/,
      );
      assert.equal(out.$metadata.requestId, call.requestId);
      assert.equal(out.output?.message?.content?.[0].text, BEDROCK_MOCK_REPLY_TEXT);
      assert.deepEqual(out.usage, bedrockMockTokenUsage(call.usage!));
    });

    it(`${via}: ConverseStream, decoded by the SDK's event-stream parser`, async (t) => {
      const mock = await mockFor(t);
      const out = await clientFor(mock, overFetch).send(new ConverseStreamCommand({ modelId: MODEL_ID, messages }));
      let text = '';
      let usage: TokenUsage | undefined;
      const kinds: string[] = [];
      for await (const event of out.stream!) {
        kinds.push(Object.keys(event)[0]);
        text += event.contentBlockDelta?.delta?.text ?? '';
        usage ??= event.metadata?.usage;
      }
      assert.equal(text, BEDROCK_MOCK_REPLY_TEXT);
      assert.deepEqual(kinds, [
        'messageStart',
        ...Array<string>(5).fill('contentBlockDelta'),
        'contentBlockStop',
        'messageStop',
        'metadata',
      ]);
      const call = mock.calls[0];
      await pollUntil(() => call.completed);
      assert.deepEqual(usage, bedrockMockTokenUsage(call.usage!));
      assert.equal(out.$metadata.requestId, call.requestId);
    });

    it(`${via}: InvokeModel with Claude's body, and InvokeModelWithResponseStream's chunks`, async (t) => {
      const mock = await mockFor(t);
      const client = clientFor(mock, overFetch);
      const body = JSON.stringify(claude);
      const out = await client.send(
        new InvokeModelCommand({ modelId: MODEL_ID, body, contentType: 'application/json' }),
      );
      const message = JSON.parse(new TextDecoder().decode(out.body)) as Message;
      const first = mock.calls[0];
      assert.equal(message.usage.input_tokens, first.usage!.inputTokens);
      assert.equal(message.usage.cache_read_input_tokens, first.usage!.cacheReadInputTokens);

      const stream = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: MODEL_ID, body }));
      const events: Array<RawMessageStreamEvent & Record<string, unknown>> = [];
      for await (const part of stream.body!) {
        events.push(
          JSON.parse(new TextDecoder().decode(part.chunk!.bytes)) as RawMessageStreamEvent & Record<string, unknown>,
        );
      }
      const second = mock.calls[1];
      assert.deepEqual(
        events.map((e) => e.type),
        ['message_start', ...Array<string>(5).fill('content_block_delta'), 'message_delta', 'message_stop'],
      );
      assert.deepEqual(events.at(-1)?.['amazon-bedrock-invocationMetrics'], {
        inputTokenCount: second.usage!.inputTokens,
        outputTokenCount: second.usage!.outputTokens,
        invocationLatency: 412,
        firstByteLatency: 120,
        cacheReadInputTokenCount: second.usage!.cacheReadInputTokens,
        cacheWriteInputTokenCount: second.usage!.cacheWriteInputTokens,
      });
    });
  }

  it('bills the cache with the input, as semconv counts it', () => {
    assert.deepEqual(
      bedrockMockBill({ inputTokens: 40, outputTokens: 8, cacheReadInputTokens: 1024, cacheWriteInputTokens: 0 }),
      { inputTokens: 1064, outputTokens: 8, cacheReadInputTokens: 1024, cacheCreationInputTokens: 0 },
    );
  });

  it('a bad request is a ValidationException, and no call', async (t) => {
    const mock = await mockFor(t);
    await assert.rejects(
      clientFor(mock, false).send(new InvokeModelCommand({ modelId: MODEL_ID, body: '{"prompt":"hi"}' })),
      (err: Error) => err.name === 'ValidationException',
    );
    assert.deepEqual(mock.calls, []);
  });

  it('a client that stops reading a stream leaves the call incomplete, without usage', async (t) => {
    const mock = await mockFor(t);
    const out = await clientFor(mock, false).send(new ConverseStreamCommand({ modelId: MODEL_ID, messages }));
    for await (const _ of out.stream!) break;
    const call = mock.calls[0];
    await pollUntil(() => !call.completed && call.usage === undefined);
  });
});
