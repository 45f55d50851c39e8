/*
 * Flattened messages rebuilt into the conventions' JSON attributes `gen_ai.input.messages` and
 * `gen_ai.output.messages` (`[{ role, name?, parts: [...] }]`, output messages with `finish_reason`):
 *
 *   OpenInference  llm.input_messages.N.message.{role,content,name,tool_call_id}
 *                  llm.input_messages.N.message.contents.M.message_content.{type,text,image.image.url}
 *                  llm.input_messages.N.message.tool_calls.K.tool_call.{id,function.name,function.arguments}
 *                  (and llm.output_messages.N.message.*)
 *   OpenLLMetry    gen_ai.prompt.N.{role,content,tool_call_id}, gen_ai.prompt.N.tool_calls.K.{id,name,arguments}
 *                  gen_ai.completion.N.{role,content,finish_reason,tool_calls.K.*}
 *
 * Parts: text `{type:"text", content}`; an image URL `{type:"uri", modality:"image", uri}`; a tool call
 * `{type:"tool_call", id, name, arguments}` (arguments parsed when they are JSON); a message answering a
 * tool call `{type:"tool_call_response", id, response}`, role `tool`. A missing role is `tool` with a
 * tool_call_id, `assistant` with tool calls or on output, else `user`.
 *
 * Safe by construction: indexes above MAX_INDEX, not numeric, keys that do not fit the shapes, and values
 * that are not strings (every emitter writes strings; a number or an array would change size and meaning
 * when copied into JSON text) are left as they are; a canonical key the span has is never replaced; the
 * rebuilt JSON replaces the flattened keys only when its OTLP protobuf encoding takes no more bytes than
 * theirs did (otlpStringAttributeSize: exact, UTF-8 and varint lengths), so a span never grows, and only the
 * keys it used are removed. OpenInference's long keys make its JSON smaller from one message on;
 * OpenLLMetry's short ones only from about six messages (a role and a content each), so a short OpenLLMetry
 * prompt stays flattened.
 */
import type { Attributes } from './types.js';

const ATTR_INPUT = 'gen_ai.input.messages';
const ATTR_OUTPUT = 'gen_ai.output.messages';
const ATTR_FINISH_REASONS = 'gen_ai.response.finish_reasons';
/** Messages and tool calls past this index are not rebuilt (their keys stay): a span is not a transcript. */
export const MAX_INDEX = 1000;

interface Source {
  readonly prefix: string;
  readonly target: string;
  readonly output: boolean;
  /** The message's own fields after `<prefix>N.`; tool calls under `<toolCalls>K.<toolCallField>`. */
  readonly field: string;
  readonly toolCalls: string;
  readonly toolCall: { id: string; name: string; arguments: string };
}

const OPENINFERENCE_TOOL_CALL = {
  id: 'tool_call.id',
  name: 'tool_call.function.name',
  arguments: 'tool_call.function.arguments',
};
const OPENLLMETRY_TOOL_CALL = { id: 'id', name: 'name', arguments: 'arguments' };

const SOURCES: readonly Source[] = [
  {
    prefix: 'llm.input_messages.',
    target: ATTR_INPUT,
    output: false,
    field: 'message.',
    toolCalls: 'message.tool_calls.',
    toolCall: OPENINFERENCE_TOOL_CALL,
  },
  {
    prefix: 'llm.output_messages.',
    target: ATTR_OUTPUT,
    output: true,
    field: 'message.',
    toolCalls: 'message.tool_calls.',
    toolCall: OPENINFERENCE_TOOL_CALL,
  },
  {
    prefix: 'gen_ai.prompt.',
    target: ATTR_INPUT,
    output: false,
    field: '',
    toolCalls: 'tool_calls.',
    toolCall: OPENLLMETRY_TOOL_CALL,
  },
  {
    prefix: 'gen_ai.completion.',
    target: ATTR_OUTPUT,
    output: true,
    field: '',
    toolCalls: 'tool_calls.',
    toolCall: OPENLLMETRY_TOOL_CALL,
  },
];

/** The source a key belongs to, or -1; two character tests rule out almost every other key first. */
function sourceOf(key: string): number {
  const first = key.charCodeAt(0);
  if (first === 103 /* g */) {
    const c = key.charCodeAt(7); // gen_ai.p… / gen_ai.c…
    if (c === 112 /* p */) return key.startsWith('gen_ai.prompt.') ? 2 : -1;
    if (c === 99 /* c */) return key.startsWith('gen_ai.completion.') ? 3 : -1;
    return -1;
  }
  if (first === 108 /* l */) {
    const c = key.charCodeAt(4); // llm.i… / llm.o…
    if (c === 105 /* i */) return key.startsWith('llm.input_messages.') ? 0 : -1;
    if (c === 111 /* o */) return key.startsWith('llm.output_messages.') ? 1 : -1;
  }
  return -1;
}

/** Whether a key may be a flattened message key (a cheap test for the normalizer's fast path). */
export function isFlattenedMessageKey(key: string): boolean {
  return sourceOf(key) >= 0;
}

const INPUT_FIELDS: ReadonlySet<string> = new Set(['role', 'content', 'name', 'tool_call_id']);
const OUTPUT_FIELDS: ReadonlySet<string> = new Set([...INPUT_FIELDS, 'finish_reason']);
const CONTENT_FIELDS: ReadonlySet<string> = new Set([
  'message_content.type',
  'message_content.text',
  'message_content.image.image.url',
]);

interface Collected {
  fields: Map<string, string>;
  contents: Map<number, Map<string, string>>;
  toolCalls: Map<number, Map<string, string>>;
}

/**
 * Rebuilds the messages in `out` in place (see the header). `keepLegacy` keeps the flattened keys. Never
 * throws: anything that does not fit is left as it came.
 */
export function rebuildMessages(out: Attributes, keepLegacy: boolean): void {
  // One pass sorts the keys by source; most spans have none.
  let keys: string[][] | undefined;
  for (const key in out) {
    const index = sourceOf(key);
    if (index < 0 || !Object.prototype.hasOwnProperty.call(out, key)) continue;
    keys ??= [[], [], [], []];
    keys[index].push(key);
  }
  if (keys === undefined) return;
  for (let i = 0; i < SOURCES.length; i++) {
    const source = SOURCES[i];
    if (keys[i].length === 0 || out[source.target] !== undefined) continue;
    try {
      rebuildOne(out, source, keys[i], keepLegacy);
    } catch {
      // Leave the span as it was for this source.
    }
  }
}

function rebuildOne(out: Attributes, source: Source, keys: readonly string[], keepLegacy: boolean): void {
  const messages = new Map<number, Collected>();
  const used: string[] = [];
  let usedSize = 0;
  for (const key of keys) {
    const value = out[key];
    if (typeof value !== 'string') continue;
    const dot = key.indexOf('.', source.prefix.length);
    const index = toIndex(key.slice(source.prefix.length, dot < 0 ? undefined : dot));
    if (index === undefined || dot < 0) continue;
    const rest = key.slice(dot + 1);
    let message = messages.get(index);
    if (message === undefined)
      messages.set(index, (message = { fields: new Map(), contents: new Map(), toolCalls: new Map() }));
    if (!collect(message, rest, value, source)) continue;
    used.push(key);
    usedSize += otlpStringAttributeSize(key, value);
  }
  if (messages.size === 0) return;
  // Most short transcripts would not fit (OpenLLMetry's prompts): skip them before building anything.
  if (lowerBound(source.target, messages) > usedSize) return;
  const finishReasons = out[ATTR_FINISH_REASONS];
  const rebuilt = [...messages.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([index, message]) =>
      toMessage(message, source.output, Array.isArray(finishReasons) ? finishReasons[index] : undefined),
    );
  const json = JSON.stringify(rebuilt);
  if (otlpStringAttributeSize(source.target, json) > usedSize) return; // never larger than what it replaces
  out[source.target] = json;
  if (!keepLegacy) for (const key of used) delete out[key];
}

/** Files one flattened key of a message; false when the key does not fit the shape (it is then kept). */
function collect(message: Collected, rest: string, value: string, source: Source): boolean {
  if (rest.startsWith(source.toolCalls)) {
    const tail = rest.slice(source.toolCalls.length);
    const dot = tail.indexOf('.');
    const k = toIndex(tail.slice(0, dot < 0 ? undefined : dot));
    if (k === undefined || dot < 0) return false;
    const field = tail.slice(dot + 1);
    const { id, name, arguments: args } = source.toolCall;
    if (field !== id && field !== name && field !== args) return false;
    let call = message.toolCalls.get(k);
    if (call === undefined) message.toolCalls.set(k, (call = new Map()));
    call.set(field === id ? 'id' : field === name ? 'name' : 'arguments', value);
    return true;
  }
  if (source.field !== '' && rest.startsWith('message.contents.')) {
    const tail = rest.slice('message.contents.'.length);
    const dot = tail.indexOf('.');
    const m = toIndex(tail.slice(0, dot < 0 ? undefined : dot));
    const field = dot < 0 ? '' : tail.slice(dot + 1);
    if (m === undefined || !CONTENT_FIELDS.has(field)) {
      return false;
    }
    let content = message.contents.get(m);
    if (content === undefined) message.contents.set(m, (content = new Map()));
    content.set(field, value);
    return true;
  }
  if (!rest.startsWith(source.field)) return false;
  const field = rest.slice(source.field.length);
  if (!(source.output ? OUTPUT_FIELDS : INPUT_FIELDS).has(field)) return false;
  message.fields.set(field, value);
  return true;
}

function toMessage(message: Collected, output: boolean, spanFinishReason: unknown): Record<string, unknown> {
  const toolCallId = message.fields.get('tool_call_id');
  const content = message.fields.get('content');
  const parts: Array<Record<string, unknown>> = [];
  if (toolCallId !== undefined && !output) {
    parts.push({ type: 'tool_call_response', id: toolCallId, response: content ?? '' });
  } else if (content !== undefined && content.length > 0) {
    parts.push({ type: 'text', content });
  }
  for (const [, part] of [...message.contents.entries()].sort((a, b) => a[0] - b[0])) {
    const type = part.get('message_content.type');
    const url = part.get('message_content.image.image.url');
    const partText = part.get('message_content.text');
    if (type === 'image' && url !== undefined) parts.push({ type: 'uri', modality: 'image', uri: url });
    else if (partText !== undefined) parts.push({ type: 'text', content: partText });
  }
  const calls = [...message.toolCalls.entries()].sort((a, b) => a[0] - b[0]);
  for (const [, call] of calls) {
    const args = call.get('arguments');
    parts.push({
      type: 'tool_call',
      ...(call.has('id') ? { id: call.get('id') } : {}),
      name: call.get('name') ?? '',
      ...(args !== undefined ? { arguments: parseArguments(args) } : {}),
    });
  }
  let role = message.fields.get('role');
  if (role === undefined || role.length === 0) {
    role = toolCallId !== undefined && !output ? 'tool' : calls.length > 0 || output ? 'assistant' : 'user';
  } else if (toolCallId !== undefined && !output && role === 'user') {
    role = 'tool';
  }
  const name = message.fields.get('name');
  const out: Record<string, unknown> = { role, ...(name !== undefined ? { name } : {}), parts };
  if (output) {
    const reason =
      message.fields.get('finish_reason') ?? (typeof spanFinishReason === 'string' ? spanFinishReason : '');
    out['finish_reason'] = reason;
  }
  return out;
}

/**
 * The fewest bytes the rebuilt attribute can take, from the lengths alone: each message at least
 * `{"role":"<role>","parts":[]}`, each content at least a text part, each tool call at least
 * `{"type":"tool_call","name":""}` and its id and name. Arguments count for nothing: they are parsed and
 * written again, which can shorten them (Python's `json.dumps` puts a space after every `,` and `:`). A
 * string's JSON takes at least as many bytes as it has characters, and the framing at least 8 bytes, so this
 * never exceeds otlpStringAttributeSize of the JSON.
 */
function lowerBound(target: string, messages: ReadonlyMap<number, Collected>): number {
  let size = target.length + 8 + 2; // the KeyValue's framing, and the JSON array's brackets
  for (const message of messages.values()) {
    size += 23 + (message.fields.get('role')?.length ?? 0) + 1;
    const content = message.fields.get('content');
    if (content !== undefined && content.length > 0) size += 28 + content.length;
    for (const call of message.toolCalls.values()) {
      size += 30 + (call.get('id')?.length ?? 0) + (call.get('name')?.length ?? 0);
    }
  }
  return size;
}

function parseArguments(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function toIndex(text: string): number | undefined {
  if (text.length === 0 || text.length > 4) return undefined;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return undefined;
    n = n * 10 + digit;
  }
  return n <= MAX_INDEX ? n : undefined;
}

/**
 * The bytes a string attribute takes in a span's OTLP protobuf encoding: the `attributes` entry (tag and
 * length) around a KeyValue, its `key` (tag, length, UTF-8) and its `value`, an AnyValue holding
 * `string_value` (tag, length, UTF-8). An empty value counts as an AnyValue with nothing in it, the fewest
 * bytes an encoder may write, so the keys replaced are never overcounted.
 */
export function otlpStringAttributeSize(key: string, value: string): number {
  const keyBytes = utf8Length(key);
  const valueBytes = utf8Length(value);
  const anyValue = valueBytes === 0 ? 0 : 1 + varintSize(valueBytes) + valueBytes;
  const keyValue = 1 + varintSize(keyBytes) + keyBytes + 1 + varintSize(anyValue) + anyValue;
  return 1 + varintSize(keyValue) + keyValue;
}

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

const NON_ASCII = /[\u0080-\uffff]/;

/**
 * UTF-8 bytes of a string as OTLP encoders write it: a lone surrogate becomes U+FFFD (3 bytes). Most text is
 * ASCII: the native regex rules that out about four times faster than the loop.
 */
function utf8Length(text: string): number {
  if (!NON_ASCII.test(text)) return text.length;
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a pair: two UTF-16 units, four bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}
