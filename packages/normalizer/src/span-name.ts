import type { Attributes } from './types.js';
import { formatTemplate } from './format-template.js';
import { isNormalized, normalizeAttributes } from './normalize.js';
import type { NormalizeOptions } from './normalize.js';
import type { EmitterScope } from './usage-consistency.js';
import { hasUserRuleSource } from './user-rules.js';
import { isGenAiSpan } from './predicates.js';
import {
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_DATA_SOURCE_ID,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_LOGFIRE_MSG,
  ATTR_LOGFIRE_MSG_TEMPLATE,
  ATTR_LOGFIRE_SPAN_TYPE,
  GEN_AI_OPERATION_NAME_VALUE_CREATE_AGENT,
  GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
  GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
  GEN_AI_OPERATION_NAME_VALUE_RETRIEVAL,
} from './semconv.js';

/**
 * How span names are rewritten:
 * - `'fix-templates'`: a name that is an uninterpolated Python format template (Logfire) becomes the
 *   formatted message; every other name is kept.
 * - `'semconv'`: GenAI spans are named `{gen_ai.operation.name} {gen_ai.request.model}` (or the tool,
 *   agent or data source for those operations), as semconv recommends; templates are fixed as above
 *   where no semconv name can be built, and on Logfire log records.
 * - `'keep'`: names are never changed.
 */
export type SpanNameMode = 'fix-templates' | 'semconv' | 'keep';

/** The default {@link SpanNameMode}. */
export const DEFAULT_SPAN_NAME_MODE: SpanNameMode = 'fix-templates';

/** Options for {@link normalizeSpan}. */
export interface NormalizeSpanOptions extends NormalizeOptions {
  /** How span names are rewritten. The default value is `'fix-templates'`. */
  spanNames?: SpanNameMode;
}

/** A span's name and attributes, the part of a span the normalizer reads and writes. */
export interface SpanNameAndAttributes {
  name: string;
  attributes: Attributes;
  /** The instrumentation scope that emitted the span: some rules depend on it (CACHE_EXCLUDING_EMITTERS). */
  instrumentationScope?: EmitterScope;
}

/**
 * Tells whether `name` contains a `{field}` replacement field: a `{` that is not part of `{{`, followed by
 * a closing `}` with no other brace in between. Linear in the name's length.
 */
export function hasTemplateField(name: string): boolean {
  const n = name.length;
  for (let i = 0; i < n; i++) {
    if (name.charCodeAt(i) !== 123 /* { */) continue;
    if (name.charCodeAt(i + 1) === 123) {
      i++;
      continue;
    }
    for (let j = i + 1; j < n; j++) {
      const c = name.charCodeAt(j);
      if (c === 125 /* } */) return j > i + 1;
      if (c === 123) {
        i = j - 1;
        break;
      }
    }
  }
  return false;
}

/**
 * Returns the name a span should carry. `attributes` are the span's attributes as emitted (templates
 * refer to them). Returns `name` unchanged when nothing applies, or when a template cannot be formatted.
 *
 * A name is treated as a template when it equals `logfire.msg_template`, or when it has `{field}`
 * placeholders on a Logfire or GenAI span (an HTTP route such as `GET /users/{id}` elsewhere is left alone).
 * The fix uses `logfire.msg` when present, else formats the template with Python `str.format` semantics.
 */
export function normalizeSpanName(
  name: string,
  attributes: Attributes,
  mode: SpanNameMode = DEFAULT_SPAN_NAME_MODE,
  normalized?: Attributes,
): string {
  if (mode === 'keep' || typeof name !== 'string') return name;
  if (mode === 'semconv') {
    const semconv = semconvSpanName(normalized ?? attributes, attributes);
    if (semconv !== undefined) return semconv;
  }
  if (!isTemplateName(name, attributes)) return name;
  const msg = attributes[ATTR_LOGFIRE_MSG];
  if (typeof msg === 'string' && msg.length > 0) return msg;
  return formatTemplate(name, attributes) ?? name;
}

function isTemplateName(name: string, attributes: Attributes): boolean {
  const template = attributes[ATTR_LOGFIRE_MSG_TEMPLATE];
  if (template !== undefined) return template === name || hasTemplateField(name);
  return hasTemplateField(name) && isGenAiSpan(attributes);
}

function semconvSpanName(normalized: Attributes, original: Attributes): string | undefined {
  // A Logfire log record (the streaming record) is not an operation of its own.
  if (original[ATTR_LOGFIRE_SPAN_TYPE] === 'log') return undefined;
  const operation = normalized[ATTR_GEN_AI_OPERATION_NAME];
  if (typeof operation !== 'string' || operation.length === 0) return undefined;
  let subjectKey: string;
  switch (operation) {
    case GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL:
      subjectKey = ATTR_GEN_AI_TOOL_NAME;
      break;
    case GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT:
    case GEN_AI_OPERATION_NAME_VALUE_CREATE_AGENT:
      subjectKey = ATTR_GEN_AI_AGENT_NAME;
      break;
    case GEN_AI_OPERATION_NAME_VALUE_RETRIEVAL:
      subjectKey = ATTR_GEN_AI_DATA_SOURCE_ID;
      break;
    default:
      subjectKey = ATTR_GEN_AI_REQUEST_MODEL;
  }
  const subject = normalized[subjectKey];
  return typeof subject === 'string' && subject.length > 0 ? `${operation} ${subject}` : operation;
}

/**
 * True when {@link normalizeSpan} would change neither the attributes nor the name, so a caller that may
 * write in place can keep the span as it is. Conservative: `false` means "maybe".
 */
export function isSpanNormalized(span: SpanNameAndAttributes, options?: NormalizeSpanOptions): boolean {
  const mode = options?.spanNames ?? DEFAULT_SPAN_NAME_MODE;
  if (mode === 'semconv' || !isNormalized(span.attributes)) return false;
  if (options?.rules !== undefined && hasUserRuleSource(span.attributes, options.rules)) return false;
  return mode === 'keep' || (span.attributes[ATTR_LOGFIRE_MSG_TEMPLATE] === undefined && !hasTemplateField(span.name));
}

/**
 * Normalizes a span's attributes and name together. When the name changes from a template, the template
 * is kept in `logfire.msg_template` (added if the emitter did not set it), so nothing is lost.
 * Returns new objects; never mutates its input and never throws.
 */
export function normalizeSpan(span: SpanNameAndAttributes, options?: NormalizeSpanOptions): SpanNameAndAttributes {
  const attributes = normalizeAttributes(span.attributes, options, span.instrumentationScope);
  const original = span.attributes !== null && typeof span.attributes === 'object' ? span.attributes : attributes;
  const name = normalizeSpanName(span.name, original, options?.spanNames ?? DEFAULT_SPAN_NAME_MODE, attributes);
  if (
    name !== span.name &&
    attributes[ATTR_LOGFIRE_MSG_TEMPLATE] === undefined &&
    isTemplateName(span.name, original)
  ) {
    attributes[ATTR_LOGFIRE_MSG_TEMPLATE] = span.name;
  }
  return { name, attributes };
}
