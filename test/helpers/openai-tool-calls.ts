/*
 * Tool calls for the OpenAI mock's chat completions (its `toolCallArguments` option): enough of the wire
 * format for an agent loop — the model calls a tool, the client runs it and asks again with the result —
 * to run against the mock with the real `openai` client or the Vercel AI SDK.
 */
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionMessageFunctionToolCall,
} from 'openai/resources/chat/completions';
import { alnum, isRecord, splitText } from './mock-server.js';

/**
 * The call to answer `body` with: its first function tool, with `args`, when it offers tools and no message
 * carries a tool result yet (the model has not called anything in this conversation). Undefined otherwise.
 */
export function requestedToolCall(
  body: Record<string, unknown>,
  args: Record<string, unknown>,
): ChatCompletionMessageFunctionToolCall | undefined {
  const tools = Array.isArray(body.tools) ? body.tools : [];
  const first: unknown = tools.find((t) => isRecord(t) && t.type === 'function' && isRecord(t.function));
  if (!isRecord(first) || !isRecord(first.function) || typeof first.function.name !== 'string') return undefined;
  const messages = Array.isArray(body.messages) ? body.messages : [];
  if (messages.some((m) => isRecord(m) && m.role === 'tool')) return undefined;
  return {
    id: `call_${alnum(24)}`,
    type: 'function',
    function: { name: first.function.name, arguments: JSON.stringify(args) },
  };
}

/** A non-streamed answer that calls `toolCall`. */
export function chatToolCallChoice(toolCall: ChatCompletionMessageFunctionToolCall): ChatCompletion.Choice {
  return {
    index: 0,
    message: { role: 'assistant', content: null, refusal: null, tool_calls: [toolCall], annotations: [] },
    logprobs: null,
    finish_reason: 'tool_calls',
  } satisfies ChatCompletion.Choice;
}

/**
 * A streamed answer that calls `toolCall`, as OpenAI streams it: the id and name first, the JSON arguments
 * in `parts` pieces, then finish_reason `tool_calls`.
 */
export function chatToolCallChunks(
  toolCall: ChatCompletionMessageFunctionToolCall,
  parts: number,
): ChatCompletionChunk.Choice[] {
  const choice = (
    delta: ChatCompletionChunk.Choice.Delta,
    finish: 'tool_calls' | null = null,
  ): ChatCompletionChunk.Choice => ({ index: 0, delta, logprobs: null, finish_reason: finish });
  const { id, function: fn } = toolCall;
  return [
    choice({
      role: 'assistant',
      content: null,
      tool_calls: [{ index: 0, id, type: 'function', function: { name: fn.name, arguments: '' } }],
    }),
    ...splitText(fn.arguments, parts).map((piece) =>
      choice({ tool_calls: [{ index: 0, function: { arguments: piece } }] }),
    ),
    choice({}, 'tool_calls'),
  ];
}
