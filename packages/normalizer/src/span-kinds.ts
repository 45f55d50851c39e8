/*
 * What the span kinds of OpenInference (`openinference.span.kind`) and OpenLLMetry (`traceloop.span.kind`)
 * mean in the GenAI conventions: the operation name a span without one gets, and where OpenLLMetry's
 * entity name goes. Read by normalize.ts after the mapping rules.
 */
import type { Attributes } from './types.js';
import * as S from './semconv.js';

/** The OpenInference span kind attribute; its value tells an LLM call from an embedding call. */
export const ATTR_OPENINFERENCE_SPAN_KIND = 'openinference.span.kind';
/** OpenLLMetry's span kind (`workflow`, `task`, `agent`, `tool`) and the name its decorators give the span. */
export const ATTR_TRACELOOP_SPAN_KIND = 'traceloop.span.kind';
export const ATTR_TRACELOOP_ENTITY_NAME = 'traceloop.entity.name';
/** OpenInference's conversation id (also OTel's own, unrelated, session key). */
export const ATTR_SESSION_ID = 'session.id';

/**
 * OpenInference span kinds (matched in upper case: emitters write `LLM`, `llm` and `Embedding`) →
 * `gen_ai.operation.name`. CHAIN, GUARDRAIL, EVALUATOR and UNKNOWN have no operation in the conventions.
 */
export const OPENINFERENCE_KIND_OPERATIONS: ReadonlyMap<string, string> = new Map([
  ['LLM', S.GEN_AI_OPERATION_NAME_VALUE_CHAT],
  ['EMBEDDING', S.GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS],
  ['AGENT', S.GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT],
  ['TOOL', S.GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL],
  ['RETRIEVER', S.GEN_AI_OPERATION_NAME_VALUE_RETRIEVAL],
  // A reranker orders retrieved documents: part of retrieval, as the conventions have no rerank operation.
  ['RERANKER', S.GEN_AI_OPERATION_NAME_VALUE_RETRIEVAL],
]);

/** OpenLLMetry span kinds → `gen_ai.operation.name`; a `task` is a step of a workflow, no operation. */
export const TRACELOOP_KIND_OPERATIONS: ReadonlyMap<string, string> = new Map([
  ['workflow', S.GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW],
  ['agent', S.GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT],
  ['tool', S.GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL],
]);

/** OpenLLMetry span kinds → the key `traceloop.entity.name` fills. */
export const TRACELOOP_KIND_NAME_KEYS: ReadonlyMap<string, string> = new Map([
  ['workflow', S.ATTR_GEN_AI_WORKFLOW_NAME],
  ['agent', S.ATTR_GEN_AI_AGENT_NAME],
  ['tool', S.ATTR_GEN_AI_TOOL_NAME],
]);

/**
 * Names the conventions have a key for: OpenLLMetry's `traceloop.entity.name` goes to the key its span kind
 * calls for (a workflow's name is not an agent's), and OpenInference's `session.id` becomes the
 * conversation id on OpenInference spans only (OTel's own `session.id` is a user session, not a conversation).
 * The sources stay: they are not legacy spellings of these keys.
 */
export function deriveNames(out: Attributes): void {
  const entity = out[ATTR_TRACELOOP_ENTITY_NAME];
  const traceloop = out[ATTR_TRACELOOP_SPAN_KIND];
  if (typeof entity === 'string' && entity.length > 0 && typeof traceloop === 'string') {
    const key = TRACELOOP_KIND_NAME_KEYS.get(traceloop.toLowerCase());
    if (key !== undefined && out[key] === undefined) out[key] = entity;
  }
  const session = out[ATTR_SESSION_ID];
  if (
    typeof session === 'string' &&
    session.length > 0 &&
    out[ATTR_OPENINFERENCE_SPAN_KIND] !== undefined &&
    out[S.ATTR_GEN_AI_CONVERSATION_ID] === undefined
  ) {
    out[S.ATTR_GEN_AI_CONVERSATION_ID] = session;
  }
}
