/*
 * Gemini and Bedrock response bodies for the tap's tests, shaped by the providers' SDK types (`satisfies`),
 * with the finding each must give. Bedrock's event streams are encoded by the AWS SDK's own codec
 * (@smithy/eventstream-codec), so the reader is tested against the bytes the real service's clients parse.
 */
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { FinishReason, MediaModality } from '@google/genai';
import type { GenerateContentResponse, GenerateContentResponseUsageMetadata } from '@google/genai';
import type {
  ContentBlockDeltaEvent,
  ConverseResponse,
  ConverseStreamMetadataEvent,
  MessageStartEvent,
  MessageStopEvent,
  TokenUsage,
} from '@aws-sdk/client-bedrock-runtime';
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import type { TapEndpoint, TapFinding } from '../../src/tap/usage-parser.js';
import { adjustedBy, concat, jsonBody, writeSse } from './usage-fixtures.js';
import type { Fixture, SseStyle } from './usage-fixtures.js';

const utf8 = new TextEncoder();

// ------------------------------------------------------------------------------------------- Gemini

/** The fields of a GenerateContentResponse that go over the wire (the class adds getters). */
export type GeminiChunk = Pick<GenerateContentResponse, 'candidates' | 'modelVersion' | 'responseId' | 'usageMetadata'>;

export interface GeminiSpec {
  responseId: string;
  modelVersion: string;
  texts: readonly string[];
  usage: { prompt: number; candidates: number; cached: number; thoughts: number; toolUse: number };
  /** Vertex AI sends a growing usageMetadata on every chunk; the Gemini API only on the last. */
  usageOnEveryChunk: boolean;
}

export const GEMINI: GeminiSpec = {
  responseId: 'Wq4jaOyZNdq8nvgPzvWKiQ4',
  modelVersion: 'gemini-2.5-flash',
  texts: ['Hallo', ', Wélt', ' — 你好', ' 👋🏽', ' "ok" \\ {[', ']}'],
  usage: { prompt: 1290, candidates: 205, cached: 1024, thoughts: 892, toolUse: 96 },
  usageOnEveryChunk: false,
};

export function geminiUsage(
  spec: GeminiSpec,
  candidates = spec.usage.candidates,
): GenerateContentResponseUsageMetadata {
  const u = spec.usage;
  return {
    promptTokenCount: u.prompt,
    candidatesTokenCount: candidates,
    totalTokenCount: u.prompt + candidates + u.thoughts + u.toolUse,
    // Protobuf JSON leaves zero counts out.
    ...(u.cached > 0 ? { cachedContentTokenCount: u.cached } : {}),
    ...(u.thoughts > 0 ? { thoughtsTokenCount: u.thoughts } : {}),
    ...(u.toolUse > 0 ? { toolUsePromptTokenCount: u.toolUse } : {}),
    promptTokensDetails: [{ modality: MediaModality.TEXT, tokenCount: u.prompt }],
  };
}

export function geminiFinding(spec: GeminiSpec): TapFinding {
  const u = spec.usage;
  return {
    responseId: spec.responseId,
    model: spec.modelVersion,
    usage: {
      inputTokens: u.prompt + u.toolUse,
      outputTokens: u.candidates + u.thoughts,
      ...(u.cached > 0 ? { cacheReadInputTokens: u.cached } : {}),
      ...(u.thoughts > 0 ? { reasoningOutputTokens: u.thoughts } : {}),
    },
    totalTokens: u.prompt + u.candidates + u.thoughts + u.toolUse,
    ...adjustedBy([
      ['input+tool_use_prompt', u.toolUse],
      ['output+reasoning', u.thoughts],
    ]),
  };
}

export function geminiChunks(spec: GeminiSpec = GEMINI): GeminiChunk[] {
  return spec.texts.map((text, i) => {
    const last = i === spec.texts.length - 1;
    return {
      candidates: [
        {
          content: { parts: [{ text }], role: 'model' },
          index: 0,
          ...(last ? { finishReason: FinishReason.STOP } : {}),
        },
      ],
      ...(last || spec.usageOnEveryChunk ? { usageMetadata: geminiUsage(spec, last ? undefined : i + 1) } : {}),
      modelVersion: spec.modelVersion,
      responseId: spec.responseId,
    } satisfies GeminiChunk;
  });
}

/** streamGenerateContent?alt=sse: one `data:` event per chunk (the API ends lines with CR LF). */
export function geminiSse(spec: GeminiSpec = GEMINI, style: SseStyle = GEMINI_SSE): Fixture {
  const { body, dispatchedAt } = writeSse(
    geminiChunks(spec).map((data) => ({ data })),
    style,
  );
  return {
    name: `gemini sse${spec.usageOnEveryChunk ? ' (usage on every chunk)' : ''}`,
    endpoint: 'gemini.generate_content',
    format: 'sse',
    body,
    expected: geminiFinding(spec),
    determinedAt: dispatchedAt[dispatchedAt.length - 1],
    terminalAt: Infinity,
  };
}

export const GEMINI_SSE: SseStyle = { eol: '\r\n', space: true, comments: false, eventLines: false, multiline: false };

/** streamGenerateContent without alt=sse: a JSON array, pretty-printed, one element per chunk as it comes. */
export function geminiArray(spec: GeminiSpec = GEMINI): Fixture {
  const body = utf8.encode(
    '[' +
      geminiChunks(spec)
        .map((c) => JSON.stringify(c, null, 2))
        .join('\n,\r\n') +
      '\n]',
  );
  return {
    name: 'gemini json array',
    endpoint: 'gemini.generate_content',
    format: 'json',
    body,
    expected: geminiFinding(spec),
    determinedAt: body.length,
    terminalAt: Infinity,
  };
}

/** generateContent: one response. */
export function geminiJson(spec: GeminiSpec = GEMINI): Fixture {
  const response = {
    candidates: [
      { content: { parts: [{ text: spec.texts.join('') }], role: 'model' }, index: 0, finishReason: FinishReason.STOP },
    ],
    usageMetadata: geminiUsage(spec),
    modelVersion: spec.modelVersion,
    responseId: spec.responseId,
  } satisfies GeminiChunk;
  return jsonFixture('gemini json', 'gemini.generate_content', response, geminiFinding(spec));
}

/** A JSON body: known only once it has ended. */
function jsonFixture(name: string, endpoint: TapEndpoint, value: unknown, expected: TapFinding): Fixture {
  const body = jsonBody(value);
  return { name, endpoint, format: 'json', body, expected, determinedAt: body.length, terminalAt: Infinity };
}

// ------------------------------------------------------------------------------------------ Bedrock

export interface BedrockSpec {
  texts: readonly string[];
  /** Bedrock's own counts: input without the cache. */
  usage: { input: number; output: number; cacheRead: number; cacheWrite: number };
}

export const BEDROCK: BedrockSpec = {
  texts: ['Hallo', ', Wélt', ' — 你好', ' 👋🏽'],
  usage: { input: 11, output: 52, cacheRead: 1184, cacheWrite: 64 },
};

export function bedrockTokenUsage(spec: BedrockSpec = BEDROCK): TokenUsage {
  const u = spec.usage;
  return {
    inputTokens: u.input,
    outputTokens: u.output,
    totalTokens: u.input + u.output + u.cacheRead + u.cacheWrite,
    cacheReadInputTokens: u.cacheRead,
    cacheWriteInputTokens: u.cacheWrite,
  };
}

/** What the tap's body reader finds (no id or model: fetch.ts takes them from the headers and the URL). */
export function bedrockFinding(spec: BedrockSpec = BEDROCK, total = true): TapFinding {
  const u = spec.usage;
  return {
    responseId: undefined,
    model: undefined,
    usage: {
      inputTokens: u.input + u.cacheRead + u.cacheWrite,
      outputTokens: u.output,
      cacheReadInputTokens: u.cacheRead,
      cacheCreationInputTokens: u.cacheWrite,
    },
    totalTokens: total ? u.input + u.output + u.cacheRead + u.cacheWrite : undefined,
    ...adjustedBy([
      ['input+cache_read', u.cacheRead],
      ['input+cache_creation', u.cacheWrite],
    ]),
  };
}

/** Converse's JSON body. */
export function bedrockConverseJson(spec: BedrockSpec = BEDROCK): Fixture {
  const response = {
    output: { message: { role: 'assistant', content: [{ text: spec.texts.join('') }] } },
    stopReason: 'end_turn',
    usage: bedrockTokenUsage(spec),
    metrics: { latencyMs: 412 },
  } satisfies ConverseResponse;
  return jsonFixture('bedrock converse json', 'bedrock.converse', response, bedrockFinding(spec));
}

export const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** One event-stream frame, as the service sends it. */
export function frame(eventType: string, payload: unknown, messageType = 'event'): Uint8Array {
  const typeHeader = messageType === 'event' ? ':event-type' : ':exception-type';
  return codec.encode({
    headers: {
      [typeHeader]: { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: messageType },
    },
    body: utf8.encode(JSON.stringify(payload)),
  });
}

export interface EventStreamFixture {
  name: string;
  kind: 'converse' | 'invoke';
  body: Uint8Array;
  /** The offset each frame ends at. */
  frameEnds: number[];
  expected: TapFinding | undefined;
  /** Smallest prefix after which `finding` is set without end() (ConverseStream: the metadata event). */
  terminalAt: number;
}

function stream(name: string, kind: 'converse' | 'invoke', frames: Uint8Array[], expected: TapFinding | undefined) {
  const frameEnds: number[] = [];
  let at = 0;
  for (const f of frames) frameEnds.push((at += f.length));
  const body = concat(frames);
  return { name, kind, body, frameEnds, expected, terminalAt: kind === 'converse' ? body.length : Infinity };
}

/** ConverseStream: messageStart, text deltas, messageStop, then metadata with the usage. */
export function converseStream(spec: BedrockSpec = BEDROCK, options: { metadata?: boolean } = {}): EventStreamFixture {
  const frames = [
    frame('messageStart', { role: 'assistant' } satisfies MessageStartEvent),
    ...spec.texts.map((text) =>
      frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text } } satisfies ContentBlockDeltaEvent),
    ),
    frame('contentBlockStop', { contentBlockIndex: 0 }),
    frame('messageStop', { stopReason: 'end_turn' } satisfies MessageStopEvent),
  ];
  const withMetadata = options.metadata ?? true;
  if (withMetadata) {
    frames.push(
      frame('metadata', {
        usage: bedrockTokenUsage(spec),
        metrics: { latencyMs: 388 },
      } satisfies ConverseStreamMetadataEvent),
    );
  }
  return stream(
    `converse-stream${withMetadata ? '' : ' (no metadata)'}`,
    'converse',
    frames,
    withMetadata ? bedrockFinding(spec) : undefined,
  );
}

function base64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64');
}

/**
 * InvokeModelWithResponseStream for Claude: each `chunk` event holds one Anthropic stream event in base64;
 * the last one, message_stop, also `amazon-bedrock-invocationMetrics`.
 */
export function invokeStream(spec: BedrockSpec = BEDROCK, options: { metrics?: boolean } = {}): EventStreamFixture {
  const u = spec.usage;
  const events: RawMessageStreamEvent[] = [
    {
      type: 'message_start',
      message: {
        id: 'msg_bdrk_01BwzJX6DBVVjUDeRqo3Z6GL',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5-20250929',
        content: [],
        container: null,
        diagnostics: null,
        stop_reason: null,
        stop_sequence: null,
        stop_details: null,
        usage: {
          input_tokens: u.input,
          cache_creation_input_tokens: u.cacheWrite,
          cache_read_input_tokens: u.cacheRead,
          cache_creation: null,
          output_tokens: 1,
          output_tokens_details: null,
          server_tool_use: null,
          service_tier: null,
          inference_geo: null,
          speed: null,
        },
      },
    },
    ...spec.texts.map((text): RawMessageStreamEvent => ({
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text },
    })),
    {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null, stop_details: null, container: null },
      usage: {
        output_tokens: u.output,
        input_tokens: null,
        cache_creation_input_tokens: null,
        cache_read_input_tokens: null,
        output_tokens_details: null,
        server_tool_use: null,
      },
    },
  ];
  const frames = events.map((e) => frame('chunk', { bytes: base64(e), p: 'abcdefghij' }));
  const withMetrics = options.metrics ?? true;
  const stop = {
    type: 'message_stop',
    ...(withMetrics
      ? {
          'amazon-bedrock-invocationMetrics': {
            inputTokenCount: u.input,
            outputTokenCount: u.output,
            invocationLatency: 3037,
            firstByteLatency: 2635,
            cacheReadInputTokenCount: u.cacheRead,
            cacheWriteInputTokenCount: u.cacheWrite,
          },
        }
      : {}),
  };
  frames.push(frame('chunk', { bytes: base64(stop) }));
  return stream(
    `invoke-with-response-stream${withMetrics ? '' : ' (no metrics)'}`,
    'invoke',
    frames,
    withMetrics ? bedrockFinding(spec, false) : undefined,
  );
}

/** A throttling exception after some events: the stream failed, nothing may be reported. */
export function converseStreamException(spec: BedrockSpec = BEDROCK): EventStreamFixture {
  const ok = converseStream(spec);
  const frames = [
    ok.body.subarray(0, ok.frameEnds[2]),
    frame('throttlingException', { message: 'Too many requests, please wait before trying again.' }, 'exception'),
  ];
  return stream('converse-stream (exception)', 'converse', frames, undefined);
}
