/*
 * Response bodies for the usage parser tests, shaped by the providers' own SDK types (`satisfies`), with
 * the finding each one must give and the byte offsets where that finding becomes known.
 */
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type {
  Response,
  ResponseCompletedEvent,
  ResponseFailedEvent,
  ResponseIncompleteEvent,
  ResponseContentPartAddedEvent,
  ResponseContentPartDoneEvent,
  ResponseCreatedEvent,
  ResponseInProgressEvent,
  ResponseOutputItemAddedEvent,
  ResponseOutputItemDoneEvent,
  ResponseOutputMessage,
  ResponseTextDeltaEvent,
  ResponseTextDoneEvent,
  ResponseUsage,
} from 'openai/resources/responses/responses';
import type { CreateEmbeddingResponse } from 'openai/resources/embeddings';
import type {
  Message,
  RawContentBlockDeltaEvent,
  RawContentBlockStartEvent,
  RawContentBlockStopEvent,
  RawMessageDeltaEvent,
  RawMessageStartEvent,
  RawMessageStopEvent,
} from '@anthropic-ai/sdk/resources/messages';
import type { UsageAdjustment } from '@genai-enrich/normalizer';
import type { TapBodyFormat, TapEndpoint, TapFinding } from '../../src/tap/usage-parser.js';

export type Eol = '\n' | '\r\n' | '\r';

/** How an SSE body is written: the parser must read every variant the same way. */
export interface SseStyle {
  eol: Eol;
  /** One space after `data:` (the usual) or none. */
  space: boolean;
  /** `: keep-alive` comment lines between events. */
  comments: boolean;
  /** `event: <type>` lines (Anthropic and the Responses API send them). */
  eventLines: boolean;
  /** Pretty-printed JSON over several `data:` lines of one event. */
  multiline: boolean;
}

export const PLAIN: SseStyle = { eol: '\n', space: true, comments: false, eventLines: true, multiline: false };

export interface Fixture {
  name: string;
  endpoint: TapEndpoint;
  format: TapBodyFormat;
  body: Uint8Array;
  /** What end() returns for the whole body. */
  expected: TapFinding | undefined;
  /** Smallest prefix length for which end() returns `expected` (an earlier cut gives undefined). */
  determinedAt: number;
  /** Smallest prefix length after which `finding` is set without end(); Infinity for JSON bodies. */
  terminalAt: number;
}

const utf8 = new TextEncoder();

interface SseEvent {
  event?: string;
  data: string | object;
}

/** Writes SSE; returns the body and, per event, the offset just past the byte that dispatches it. */
export function writeSse(events: readonly SseEvent[], style: SseStyle): { body: Uint8Array; dispatchedAt: number[] } {
  const parts: Uint8Array[] = [];
  const dispatchedAt: number[] = [];
  let size = 0;
  const add = (text: string): void => {
    const bytes = utf8.encode(text);
    parts.push(bytes);
    size += bytes.length;
  };
  const prefix = style.space ? 'data: ' : 'data:';
  for (const e of events) {
    if (style.comments) add(': keep-alive' + style.eol);
    if (style.eventLines && e.event !== undefined) add(`event: ${e.event}${style.eol}`);
    const text =
      typeof e.data === 'string' ? e.data : style.multiline ? JSON.stringify(e.data, null, 2) : JSON.stringify(e.data);
    for (const line of text.split('\n')) add(prefix + line + style.eol);
    add(style.eol);
    // The blank line's first line-end byte dispatches (its LF of CR LF may arrive later).
    dispatchedAt.push(size - (style.eol === '\r\n' ? 1 : 0));
  }
  return { body: concat(parts, size), dispatchedAt };
}

export function concat(parts: readonly Uint8Array[], size = parts.reduce((n, p) => n + p.length, 0)): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function jsonBody(value: unknown): Uint8Array {
  return utf8.encode(JSON.stringify(value));
}

// ------------------------------------------------------------------------------------ OpenAI chat

export interface ChatSpec {
  id: string;
  model: string;
  texts: readonly string[];
  usage: { prompt: number; completion: number; cached: number; reasoning: number };
}

export const CHAT: ChatSpec = {
  id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
  model: 'gpt-4o-2024-08-06',
  texts: ['Grüße', ' aus', ' 日本', '語 — ', 'done 🎉', ' "quoted" \\ and\nnewline'],
  usage: { prompt: 1117, completion: 46, cached: 1024, reasoning: 16 },
};

function chatUsage(spec: ChatSpec) {
  return {
    prompt_tokens: spec.usage.prompt,
    completion_tokens: spec.usage.completion,
    total_tokens: spec.usage.prompt + spec.usage.completion,
    prompt_tokens_details: { cached_tokens: spec.usage.cached, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: spec.usage.reasoning,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  } satisfies NonNullable<ChatCompletion['usage']>;
}

export function chatFinding(spec: ChatSpec): TapFinding {
  return {
    responseId: spec.id,
    model: spec.model,
    usage: {
      inputTokens: spec.usage.prompt,
      outputTokens: spec.usage.completion,
      cacheReadInputTokens: spec.usage.cached,
      reasoningOutputTokens: spec.usage.reasoning,
    },
    totalTokens: spec.usage.prompt + spec.usage.completion,
  };
}

export function chatChunk(
  spec: ChatSpec,
  delta: ChatCompletionChunk.Choice.Delta,
  finish: ChatCompletionChunk.Choice['finish_reason'] = null,
) {
  return {
    id: spec.id,
    object: 'chat.completion.chunk',
    created: 1741569952,
    model: spec.model,
    service_tier: 'default',
    system_fingerprint: 'fp_eb9dce56a8',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    usage: null,
  } satisfies ChatCompletionChunk;
}

export function chatSse(
  spec: ChatSpec = CHAT,
  style: SseStyle = PLAIN,
  options: { includeUsage?: boolean; done?: boolean } = {},
): Fixture {
  const includeUsage = options.includeUsage ?? true;
  const done = options.done ?? true;
  const events: SseEvent[] = [{ data: chatChunk(spec, { role: 'assistant', content: '', refusal: null }) }];
  for (const text of spec.texts) events.push({ data: chatChunk(spec, { content: text }) });
  events.push({ data: chatChunk(spec, {}, 'stop') });
  const usageEvent = events.length;
  if (includeUsage) {
    events.push({
      data: { ...chatChunk(spec, {}), choices: [], usage: chatUsage(spec) } satisfies ChatCompletionChunk,
    });
  }
  if (done) events.push({ data: '[DONE]' });
  const { body, dispatchedAt } = writeSse(events, { ...style, eventLines: false });
  const expected = includeUsage ? chatFinding(spec) : undefined;
  return {
    name: `chat sse${includeUsage ? '' : ' (no include_usage)'}${done ? '' : ' (no [DONE])'}`,
    endpoint: 'openai.chat',
    format: 'sse',
    body,
    expected,
    determinedAt: includeUsage ? dispatchedAt[usageEvent] : Infinity,
    terminalAt: includeUsage && done ? dispatchedAt[dispatchedAt.length - 1] : Infinity,
  };
}

export function chatJson(spec: ChatSpec = CHAT): Fixture {
  const completion = {
    id: spec.id,
    object: 'chat.completion',
    created: 1741569952,
    model: spec.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: spec.texts.join(''), refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: chatUsage(spec),
    service_tier: 'default',
    system_fingerprint: 'fp_eb9dce56a8',
  } satisfies ChatCompletion;
  const body = jsonBody(completion);
  return {
    name: 'chat json',
    endpoint: 'openai.chat',
    format: 'json',
    body,
    expected: chatFinding(spec),
    determinedAt: body.length,
    terminalAt: Infinity,
  };
}

// ------------------------------------------------------------------------------ OpenAI Responses

export interface ResponsesSpec {
  id: string;
  model: string;
  texts: readonly string[];
  usage: { input: number; output: number; cached: number; reasoning: number };
  terminal: 'response.completed' | 'response.incomplete' | 'response.failed';
}

export const RESPONSES: ResponsesSpec = {
  id: 'resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41',
  model: 'gpt-4.1-2025-04-14',
  texts: ['Über', ' den', ' Wolken ', '☁️', ' — "fine"', ' \\o/'],
  usage: { input: 2006, output: 312, cached: 1920, reasoning: 256 },
  terminal: 'response.completed',
};

/** The wire form of a Response: no SDK-computed `output_text`, and `usage: null` until the end. */
type WireResponse = Omit<Response, 'output_text' | 'usage'> & { usage: ResponseUsage | null };
/** An event that carries a whole Response, in wire form. */
type WireEvent<E extends { response: Response }> = Omit<E, 'response'> & { response: WireResponse };

function wireResponse(
  spec: ResponsesSpec,
  status: 'in_progress' | 'completed' | 'incomplete' | 'failed',
  output: ResponseOutputMessage[],
  usage: ResponseUsage | null,
): WireResponse {
  return {
    id: spec.id,
    object: 'response',
    created_at: 1741476777,
    status,
    background: false,
    error: status === 'failed' ? { code: 'server_error', message: 'The model failed.' } : null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: null,
    max_output_tokens: null,
    model: spec.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    temperature: 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage,
    metadata: {},
  } satisfies WireResponse;
}

function responsesUsage(spec: ResponsesSpec): ResponseUsage {
  return {
    input_tokens: spec.usage.input,
    input_tokens_details: { cached_tokens: spec.usage.cached, cache_write_tokens: 0 },
    output_tokens: spec.usage.output,
    output_tokens_details: { reasoning_tokens: spec.usage.reasoning },
    total_tokens: spec.usage.input + spec.usage.output,
  } satisfies ResponseUsage;
}

export function responsesFinding(spec: ResponsesSpec): TapFinding {
  return {
    responseId: spec.id,
    model: spec.model,
    usage: {
      inputTokens: spec.usage.input,
      outputTokens: spec.usage.output,
      cacheReadInputTokens: spec.usage.cached,
      reasoningOutputTokens: spec.usage.reasoning,
    },
    totalTokens: spec.usage.input + spec.usage.output,
  };
}

function outputMessage(text: string, status: 'in_progress' | 'completed'): ResponseOutputMessage {
  return {
    id: 'msg_67ccd3acc8d48190a77525dc6de64b4104becb25c45c1d41',
    type: 'message',
    status,
    role: 'assistant',
    content: text === '' && status === 'in_progress' ? [] : [{ type: 'output_text', text, annotations: [] }],
  } satisfies ResponseOutputMessage;
}

export function responsesSse(spec: ResponsesSpec = RESPONSES, style: SseStyle = PLAIN): Fixture {
  const text = spec.texts.join('');
  let seq = 0;
  const events: SseEvent[] = [];
  const ev = <T extends { type: string }>(data: T): void => {
    events.push({ event: data.type, data });
  };
  ev({
    type: 'response.created',
    sequence_number: seq++,
    response: wireResponse(spec, 'in_progress', [], null),
  } satisfies WireEvent<ResponseCreatedEvent>);
  ev({
    type: 'response.in_progress',
    sequence_number: seq++,
    response: wireResponse(spec, 'in_progress', [], null),
  } satisfies WireEvent<ResponseInProgressEvent>);
  const itemId = outputMessage('', 'in_progress').id;
  ev({
    type: 'response.output_item.added',
    sequence_number: seq++,
    output_index: 0,
    item: outputMessage('', 'in_progress'),
  } satisfies ResponseOutputItemAddedEvent);
  ev({
    type: 'response.content_part.added',
    sequence_number: seq++,
    item_id: itemId,
    output_index: 0,
    content_index: 0,
    part: { type: 'output_text', text: '', annotations: [] },
  } satisfies ResponseContentPartAddedEvent);
  for (const delta of spec.texts) {
    ev({
      type: 'response.output_text.delta',
      sequence_number: seq++,
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      delta,
      logprobs: [],
    } satisfies ResponseTextDeltaEvent);
  }
  ev({
    type: 'response.output_text.done',
    sequence_number: seq++,
    item_id: itemId,
    output_index: 0,
    content_index: 0,
    text,
    logprobs: [],
  } satisfies ResponseTextDoneEvent);
  ev({
    type: 'response.content_part.done',
    sequence_number: seq++,
    item_id: itemId,
    output_index: 0,
    content_index: 0,
    part: { type: 'output_text', text, annotations: [] },
  } satisfies ResponseContentPartDoneEvent);
  ev({
    type: 'response.output_item.done',
    sequence_number: seq++,
    output_index: 0,
    item: outputMessage(text, 'completed'),
  } satisfies ResponseOutputItemDoneEvent);
  const status =
    spec.terminal === 'response.completed'
      ? 'completed'
      : spec.terminal === 'response.incomplete'
        ? 'incomplete'
        : 'failed';
  const final = wireResponse(spec, status, [outputMessage(text, 'completed')], responsesUsage(spec));
  ev({ type: spec.terminal, sequence_number: seq++, response: final } satisfies WireEvent<
    ResponseCompletedEvent | ResponseIncompleteEvent | ResponseFailedEvent
  >);
  const { body, dispatchedAt } = writeSse(events, style);
  const at = dispatchedAt[dispatchedAt.length - 1];
  return {
    name: `responses sse (${spec.terminal})`,
    endpoint: 'openai.responses',
    format: 'sse',
    body,
    expected: responsesFinding(spec),
    determinedAt: at,
    terminalAt: at,
  };
}

export function responsesJson(spec: ResponsesSpec = RESPONSES): Fixture {
  const text = spec.texts.join('');
  const body = jsonBody(wireResponse(spec, 'completed', [outputMessage(text, 'completed')], responsesUsage(spec)));
  return {
    name: 'responses json',
    endpoint: 'openai.responses',
    format: 'json',
    body,
    expected: responsesFinding(spec),
    determinedAt: body.length,
    terminalAt: Infinity,
  };
}

// ------------------------------------------------------------------------------ OpenAI embeddings

/** Deterministic pseudo-random floats that print like real embeddings (-0.0123456789…). */
export function embeddingVector(seed: number, dims: number): number[] {
  let x = (seed * 2654435761) >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < dims; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.push((x / 0xffffffff - 0.5) * 0.2);
  }
  return out;
}

export function embeddingsJson(
  options: { count?: number; dims?: number; base64?: boolean; promptTokens?: number } = {},
): Fixture {
  const count = options.count ?? 3;
  const dims = options.dims ?? 8;
  const promptTokens = options.promptTokens ?? 8 * count;
  const data = [];
  for (let i = 0; i < count; i++) {
    const vector = embeddingVector(i + 1, dims);
    const embedding = options.base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
    data.push({ object: 'embedding' as const, index: i, embedding: embedding as number[] });
  }
  const response = {
    object: 'list',
    data,
    model: 'text-embedding-3-small',
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  } satisfies CreateEmbeddingResponse;
  const body = jsonBody(response);
  return {
    name: `embeddings json (${count}×${dims}${options.base64 ? ' base64' : ''})`,
    endpoint: 'openai.embeddings',
    format: 'json',
    body,
    expected: {
      responseId: undefined,
      model: 'text-embedding-3-small',
      usage: { inputTokens: promptTokens },
      totalTokens: promptTokens,
    },
    determinedAt: body.length,
    terminalAt: Infinity,
  };
}

// ------------------------------------------------------------------------------ Anthropic messages

export interface AnthropicSpec {
  id: string;
  model: string;
  texts: readonly string[];
  usage: { input: number; output: number; cacheRead: number; cacheCreation: number };
  /** Newer API versions repeat input and cache counts in message_delta (here: different ones). */
  deltaRepeatsInput: boolean;
}

export const ANTHROPIC: AnthropicSpec = {
  id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
  model: 'claude-sonnet-4-5-20250929',
  texts: ['Hallo', ', Wélt', ' — 你好', ' 👋🏽', ' "ok" \\'],
  usage: { input: 12, output: 321, cacheRead: 4096, cacheCreation: 2048 },
  deltaRepeatsInput: false,
};

export function anthropicFinding(spec: AnthropicSpec): TapFinding {
  const u = spec.usage;
  return {
    responseId: spec.id,
    model: spec.model,
    usage: {
      inputTokens: u.input + u.cacheRead + u.cacheCreation,
      outputTokens: u.output,
      cacheReadInputTokens: u.cacheRead,
      cacheCreationInputTokens: u.cacheCreation,
    },
    totalTokens: undefined,
    ...adjustedBy([
      ['input+cache_read', u.cacheRead],
      ['input+cache_creation', u.cacheCreation],
    ]),
  };
}

/** `adjusted` as a finding has it: the entries whose added count is above zero, absent when none is. */
export function adjustedBy(entries: ReadonlyArray<readonly [UsageAdjustment, number]>): {
  adjusted?: UsageAdjustment[];
} {
  const adjusted = entries.filter(([, n]) => n > 0).map(([entry]) => entry);
  return adjusted.length > 0 ? { adjusted } : {};
}

function anthropicUsage(u: AnthropicSpec['usage'], output: number): Message['usage'] {
  return {
    input_tokens: u.input,
    cache_creation_input_tokens: u.cacheCreation,
    cache_read_input_tokens: u.cacheRead,
    cache_creation: { ephemeral_5m_input_tokens: u.cacheCreation, ephemeral_1h_input_tokens: 0 },
    output_tokens: output,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: 'standard',
    inference_geo: null,
    speed: null,
  } satisfies Message['usage'];
}

function anthropicMessage(
  spec: AnthropicSpec,
  content: Message['content'],
  output: number,
  stop: Message['stop_reason'],
): Message {
  return {
    id: spec.id,
    type: 'message',
    role: 'assistant',
    model: spec.model,
    content,
    container: null,
    diagnostics: null,
    stop_reason: stop,
    stop_sequence: null,
    stop_details: null,
    usage: anthropicUsage(spec.usage, output),
  } satisfies Message;
}

export function anthropicSse(
  spec: AnthropicSpec = ANTHROPIC,
  style: SseStyle = PLAIN,
  options: { stop?: boolean } = {},
): Fixture {
  const events: SseEvent[] = [];
  const ev = <T extends { type: string }>(data: T): void => {
    events.push({ event: data.type, data });
  };
  // message_start carries a placeholder output count; message_delta has the real, cumulative one.
  const start = anthropicMessage(spec, [], 1, null);
  ev({ type: 'message_start', message: start } satisfies RawMessageStartEvent);
  ev({
    type: 'content_block_start',
    index: 0,
    content_block: { type: 'text', text: '', citations: null },
  } satisfies RawContentBlockStartEvent);
  ev({ type: 'ping' });
  for (const text of spec.texts)
    ev({
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text },
    } satisfies RawContentBlockDeltaEvent);
  ev({ type: 'content_block_stop', index: 0 } satisfies RawContentBlockStopEvent);
  const u = spec.usage;
  ev({
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null, stop_details: null, container: null },
    usage: {
      output_tokens: u.output,
      input_tokens: spec.deltaRepeatsInput ? u.input : null,
      cache_creation_input_tokens: spec.deltaRepeatsInput ? u.cacheCreation : null,
      cache_read_input_tokens: spec.deltaRepeatsInput ? u.cacheRead : null,
      output_tokens_details: null,
      server_tool_use: null,
    },
  } satisfies RawMessageDeltaEvent);
  const deltaEvent = events.length - 1;
  if (options.stop ?? true) ev({ type: 'message_stop' } satisfies RawMessageStopEvent);
  const { body, dispatchedAt } = writeSse(events, style);
  return {
    name: `anthropic sse${options.stop === false ? ' (no message_stop)' : ''}`,
    endpoint: 'anthropic.messages',
    format: 'sse',
    body,
    expected: anthropicFinding(spec),
    determinedAt: dispatchedAt[deltaEvent],
    terminalAt: options.stop === false ? Infinity : dispatchedAt[dispatchedAt.length - 1],
  };
}

export function anthropicJson(spec: AnthropicSpec = ANTHROPIC): Fixture {
  const message = anthropicMessage(
    spec,
    [{ type: 'text', text: spec.texts.join(''), citations: null }],
    spec.usage.output,
    'end_turn',
  );
  const body = jsonBody(message);
  return {
    name: 'anthropic json',
    endpoint: 'anthropic.messages',
    format: 'json',
    body,
    expected: anthropicFinding(spec),
    determinedAt: body.length,
    terminalAt: Infinity,
  };
}

/** One fixture per endpoint × format. */
export function allFixtures(style: SseStyle = PLAIN): Fixture[] {
  return [
    chatSse(CHAT, style),
    chatJson(),
    responsesSse(RESPONSES, style),
    responsesJson(),
    embeddingsJson(),
    anthropicSse(ANTHROPIC, style),
    anthropicJson(),
  ];
}
