// The Vercel AI SDK (`ai` 6.0.326, `experimental_telemetry`) with the providers beyond OpenAI, each against its
// loopback mock, through GenAiEnrichingProcessor and the OTLP/HTTP exporter:
//   @ai-sdk/anthropic 3.0.140       → the Anthropic mock   (Messages, JSON and SSE)
//   @ai-sdk/amazon-bedrock 4.0.186  → the Bedrock mock     (Converse and ConverseStream, SigV4-signed with aws4fetch)
//   @ai-sdk/google 3.0.141          → the Gemini mock      (generateContent, streamGenerateContent?alt=sse)
// The AI SDK's usage holds the cache (it adds Anthropic's and Bedrock's back) and Gemini's thoughts, so
// telemetry carries the bill; the outer ai.generateText / ai.streamText span repeats it, and is set aside.
import type { Tracer } from '@opentelemetry/api';
import { ANTHROPIC_MOCK_REPLY_TEXT, startAnthropicMock } from '../../helpers/anthropic-mock.js';
import type { AnthropicMock, AnthropicMockUsage } from '../../helpers/anthropic-mock.js';
import { BEDROCK_MOCK_REPLY_TEXT, startBedrockMock } from '../../helpers/bedrock-mock.js';
import type { BedrockMock } from '../../helpers/bedrock-mock.js';
import { GEMINI_MOCK_REPLY_TEXT, geminiMockBill, startGeminiMock } from '../../helpers/gemini-mock.js';
import type { GeminiMock, GeminiMockUsage } from '../../helpers/gemini-mock.js';
import { BEDROCK_MODEL_ID, bedrockWire } from '../bedrock-calls.js';
import type { Bill, CallRun, ProviderExpectation, ProviderSuiteOptions, WireCall } from '../provider-suite.js';

type LanguageModel = Parameters<(typeof import('ai'))['generateText']>[0]['model'];

const NEVER_ENDED = 'the AI SDK never ends the spans of a stream its reader left; the watchdog does';

/**
 * The three calls; the early break differs by provider. The AI SDK reads the response to its end although
 * the application stopped (the stream is teed), so the provider sent the usage every time; whether it reaches
 * the never-ended span depends on the provider package.
 */
function expectations(earlyBreak: ProviderExpectation): Readonly<Record<string, ProviderExpectation>> {
  return { generate: { telemetry: 'bill' }, stream: { telemetry: 'bill' }, 'early-break': earlyBreak };
}

/** generateText, streamText and a stream the reader leaves after its first part, with telemetry on. */
async function vercelCalls(model: LanguageModel, tracer: Tracer, reply: string): Promise<Record<string, CallRun>> {
  const { generateText, streamText } = await import('ai');
  const common = { model, prompt: 'Say hello.', experimental_telemetry: { isEnabled: true, tracer }, maxRetries: 0 };
  return {
    generate: { text: reply, run: async () => (await generateText(common)).text },
    stream: {
      text: reply,
      async run() {
        const result = streamText(common);
        let text = '';
        for await (const part of result.textStream) text += part;
        await result.usage;
        return text;
      },
    },
    'early-break': {
      async run() {
        const result = streamText(common);
        for await (const _part of result.textStream) break;
        return '';
      },
    },
  };
}

function anthropicBill(u: AnthropicMockUsage): Bill {
  return {
    input: u.inputTokens + u.cacheReadInputTokens + u.cacheCreationInputTokens,
    output: u.outputTokens,
    cacheRead: u.cacheReadInputTokens,
    cacheCreation: u.cacheCreationInputTokens,
    reasoning: 0,
    rawInput: u.inputTokens,
    adjusted: [
      ...(u.cacheReadInputTokens > 0 ? ['input+cache_read'] : []),
      ...(u.cacheCreationInputTokens > 0 ? ['input+cache_creation'] : []),
    ],
  };
}

export function geminiBill(u: GeminiMockUsage): Bill {
  const b = geminiMockBill(u);
  return {
    input: b.inputTokens,
    output: b.outputTokens,
    cacheRead: b.cacheReadInputTokens,
    cacheCreation: 0,
    reasoning: b.reasoningOutputTokens,
    rawInput: u.prompt,
    rawOutput: u.candidates,
    adjusted: [...(u.toolUse > 0 ? ['input+tool_use_prompt'] : []), ...(u.thoughts > 0 ? ['output+reasoning'] : [])],
  };
}

export function anthropicWire(mock: AnthropicMock): WireCall[] {
  return mock.calls.map((c) => ({
    bill: c.usage !== undefined ? anthropicBill(c.usage) : undefined,
    // message_start's output count is a placeholder, no count of anything: left out.
    ...(c.startUsage !== undefined ? { started: { ...anthropicBill(c.startUsage), output: 0 } } : {}),
    completed: c.completed,
    responseId: c.responseId,
  }));
}

export function geminiWire(mock: GeminiMock): WireCall[] {
  return mock.calls.map((c) => ({
    bill: c.usage !== undefined ? geminiBill(c.usage) : undefined,
    completed: c.completed,
    responseId: c.responseId,
  }));
}

export const anthropicSetup: ProviderSuiteOptions<AnthropicMock> = {
  title: 'ai 6.0.326 + @ai-sdk/anthropic 3.0.140 (experimental_telemetry)',
  provider: 'anthropic',
  instrumentations: async () => [],
  startMock: () => startAnthropicMock({ chunkDelayMs: 15 }),
  wire: anthropicWire,
  expect: expectations({
    telemetry: 'missing',
    forceEnded: true,
    why: `${NEVER_ENDED}; @ai-sdk/anthropic sets no usage on it`,
  }),
  aggregates: 1,
  calls: async (pipeline, mock, fetch) => {
    const { createAnthropic } = await import('@ai-sdk/anthropic');
    const anthropic = createAnthropic({
      apiKey: 'test-key',
      baseURL: `${mock.baseURL}/v1`,
      ...(fetch !== undefined ? { fetch } : {}),
    });
    return vercelCalls(anthropic('claude-sonnet-4-5'), pipeline.tracer, ANTHROPIC_MOCK_REPLY_TEXT);
  },
};

export const bedrockSetup: ProviderSuiteOptions<BedrockMock> = {
  title: 'ai 6.0.326 + @ai-sdk/amazon-bedrock 4.0.186 (experimental_telemetry)',
  provider: 'aws.bedrock',
  instrumentations: async () => [],
  startMock: () => startBedrockMock({ chunkDelayMs: 15 }),
  wire: bedrockWire,
  expect: expectations({ telemetry: 'bill', forceEnded: true }),
  aggregates: 1,
  calls: async (pipeline, mock, fetch) => {
    const { createAmazonBedrock } = await import('@ai-sdk/amazon-bedrock');
    const bedrock = createAmazonBedrock({
      region: 'us-east-1',
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      baseURL: mock.endpoint,
      ...(fetch !== undefined ? { fetch } : {}),
    });
    return vercelCalls(bedrock(BEDROCK_MODEL_ID), pipeline.tracer, BEDROCK_MOCK_REPLY_TEXT);
  },
};

export const googleSetup: ProviderSuiteOptions<GeminiMock> = {
  title: 'ai 6.0.326 + @ai-sdk/google 3.0.141 (experimental_telemetry)',
  provider: 'gcp.gemini',
  instrumentations: async () => [],
  startMock: () => startGeminiMock({ chunkDelayMs: 15 }),
  wire: geminiWire,
  expect: expectations({ telemetry: 'bill', forceEnded: true }),
  aggregates: 1,
  calls: async (pipeline, mock, fetch) => {
    const { createGoogleGenerativeAI } = await import('@ai-sdk/google');
    const google = createGoogleGenerativeAI({
      apiKey: 'test-key',
      baseURL: `${mock.baseURL}/v1beta`,
      ...(fetch !== undefined ? { fetch } : {}),
    });
    return vercelCalls(google('gemini-2.5-flash'), pipeline.tracer, GEMINI_MOCK_REPLY_TEXT);
  },
};
