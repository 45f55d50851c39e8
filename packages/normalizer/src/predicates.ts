import type { Attributes } from './types.js';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  GEN_AI_OPERATION_NAME_VALUE_CHAT,
  GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS,
  GEN_AI_OPERATION_NAME_VALUE_GENERATE_CONTENT,
  GEN_AI_OPERATION_NAME_VALUE_TEXT_COMPLETION,
} from './semconv.js';

/** Non-prefixed keys that mark a span as GenAI on their own. */
const GENAI_MARKER_KEYS: ReadonlySet<string> = new Set([
  'llm.model_name',
  'llm.request.model',
  'llm.response.model',
  'llm.provider',
  'llm.system',
  'llm.request.type',
  'llm.is_streaming',
  'ai.model.id',
  'ai.model.provider',
  'openinference.span.kind',
  // OpenLLMetry's workflow, task, agent and tool spans (its decorators): the aggregates around model calls.
  'traceloop.span.kind',
]);

/** Key prefixes that mark a span as GenAI. `gen_ai.` covers every semconv and legacy `gen_ai.*` key. */
const GENAI_MARKER_PREFIXES: readonly string[] = ['gen_ai.', 'llm.token_count.', 'llm.usage.', 'ai.usage.'];

/**
 * Instrumentation scopes whose spans are GenAI even before any attribute says so (a span that ended
 * with none set, or a scope that sets only content keys). Matched by prefix.
 */
export const GENAI_SCOPE_PREFIXES: readonly string[] = [
  '@traceloop/instrumentation-',
  '@opentelemetry/instrumentation-openai',
  '@arizeai/openinference-instrumentation-',
  'openinference.instrumentation.',
  'opentelemetry.instrumentation.openai',
  'opentelemetry.instrumentation.anthropic',
  'opentelemetry.instrumentation.bedrock',
  'opentelemetry.instrumentation.google_generativeai',
  'opentelemetry.instrumentation.vertexai',
  'litellm',
];

/** The Vercel AI SDK's tracer name, matched exactly (a prefix would catch every `ai*` scope). */
const GENAI_SCOPE_EXACT: ReadonlySet<string> = new Set(['ai']);

/** The operations whose spans are inference spans: they call a model and report token usage. */
export const INFERENCE_OPERATIONS: ReadonlySet<string> = new Set([
  GEN_AI_OPERATION_NAME_VALUE_CHAT,
  GEN_AI_OPERATION_NAME_VALUE_TEXT_COMPLETION,
  GEN_AI_OPERATION_NAME_VALUE_GENERATE_CONTENT,
  GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS,
]);

/**
 * Tells whether a span is GenAI: it has any `gen_ai.*` key, an `llm.*` or `ai.*` usage or model key,
 * `openinference.span.kind`, or comes from a known GenAI instrumentation scope. Cheap on spans that are
 * not GenAI: one pass over the keys, a first-character test before any string comparison.
 */
export function isGenAiSpan(attributes: Attributes, scopeName?: string): boolean {
  if (attributes !== null && typeof attributes === 'object') {
    for (const key in attributes) {
      const c = key.charCodeAt(0);
      // g(en_ai.), l(lm.), a(i.), o(peninference.), t(raceloop.): no other key can match.
      if (c !== 103 && c !== 108 && c !== 97 && c !== 111 && c !== 116) continue;
      if (GENAI_MARKER_KEYS.has(key)) return true;
      for (const prefix of GENAI_MARKER_PREFIXES) if (key.startsWith(prefix)) return true;
    }
  }
  return scopeName !== undefined && isGenAiScope(scopeName);
}

/** Tells whether an instrumentation scope name belongs to a known GenAI instrumentation. */
export function isGenAiScope(scopeName: string): boolean {
  if (GENAI_SCOPE_EXACT.has(scopeName)) return true;
  for (const prefix of GENAI_SCOPE_PREFIXES) if (scopeName.startsWith(prefix)) return true;
  return false;
}

/**
 * Tells whether normalized attributes describe an inference span (chat, text_completion,
 * generate_content, embeddings), the only spans that carry token usage. Run it on the output of
 * `normalizeAttributes`, which derives the operation for Vercel `do*` calls and OpenInference kinds.
 */
export function isInferenceSpan(attributes: Attributes): boolean {
  const operation = attributes[ATTR_GEN_AI_OPERATION_NAME];
  return typeof operation === 'string' && INFERENCE_OPERATIONS.has(operation);
}

/**
 * Whether an inference span looks like a call to a model: it names a request model, a response model or a
 * response id. LangSmith writes `gen_ai.operation.name = chat` on prompt-template steps that call nothing;
 * such a span has none of these, and there is no usage to wait for.
 */
export function isModelCall(attributes: Attributes): boolean {
  return (
    isInferenceSpan(attributes) &&
    (nonEmpty(attributes[ATTR_GEN_AI_REQUEST_MODEL]) ||
      nonEmpty(attributes[ATTR_GEN_AI_RESPONSE_MODEL]) ||
      nonEmpty(attributes[ATTR_GEN_AI_RESPONSE_ID]))
  );
}

function nonEmpty(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0;
}
