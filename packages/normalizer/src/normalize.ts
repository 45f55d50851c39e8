import type { Attributes, AttributeValue } from './types.js';
import { PROVIDER_VALUE_MAP, isFrameworkName, normalizeProviderName, providerOfScope } from './providers.js';
import {
  ATTR_AI_OPERATION_ID,
  ATTR_LOGFIRE_RESPONSE_DATA,
  ATTR_LOGFIRE_USAGE_RAW,
  ATTR_OPERATION_NAME,
  OPERATION_VALUE_MAP,
  OUTPUT_TYPE_MAP,
  REQUEST_TYPE_MAP,
  RULES_BY_SOURCE,
  VERCEL_PROVIDER_CALL_OPERATIONS,
} from './rules.js';
import type { MappingRule, ValueKind } from './rules.js';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_SERVER_PORT,
  GEN_AI_OPERATION_NAME_VALUE_TEXT_COMPLETION,
  GEN_AI_PROVIDER_NAME_VALUE_AZURE_AI_OPENAI,
  GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
  ATTR_GENAI_ENRICH_USAGE_MOVED_TO,
} from './semconv.js';
import {
  MAX_USAGE_JSON_LENGTH,
  USAGE_ATTRIBUTE_KEYS,
  extractProviderUsageFromJson,
  mapProviderUsage,
  toTokenCount,
} from './usage.js';
import type { UsageCounts } from './usage.js';
export { ATTR_OPENINFERENCE_SPAN_KIND } from './span-kinds.js';
import { USAGE_SHAPES } from './provider-usage.js';
import { applyUsage } from './usage-attributes.js';
import { includeExcludedUsage, mayExcludeUsage } from './usage-consistency.js';
import type { EmitterScope } from './usage-consistency.js';
import { markUsageAdjusted } from './usage-adjustments.js';
import { applyUserRules } from './user-rules.js';
import { ATTR_LITELLM_USAGE_OBJECT, litellmUsage } from './litellm-usage.js';
import { isFlattenedMessageKey, rebuildMessages } from './messages.js';
import type { UserRules } from './user-rules.js';
import {
  ATTR_OPENINFERENCE_SPAN_KIND,
  ATTR_SESSION_ID,
  ATTR_TRACELOOP_ENTITY_NAME,
  ATTR_TRACELOOP_SPAN_KIND,
  OPENINFERENCE_KIND_OPERATIONS,
  TRACELOOP_KIND_OPERATIONS,
  deriveNames,
} from './span-kinds.js';

/** Options for {@link normalizeAttributes}. */
export interface NormalizeOptions {
  /**
   * Keep legacy and vendor keys after their value was copied to the canonical key. The default value is
   * `false`: mapped legacy keys are removed, so backends see each value once.
   */
  keepLegacyAttributes?: boolean;
  /**
   * Key mappings and value maps for emitters the built-in rules do not know, from {@link compileUserRules}.
   * Applied first; the default is none.
   */
  rules?: UserRules;
}

const ATTR_GEN_AI_SYSTEM = 'gen_ai.system';
const ATTR_LLM_IS_STREAMING = 'llm.is_streaming';
const ATTR_AI_PROMPT_MESSAGES = 'ai.prompt.messages';
/** LangSmith's OpenTelemetry mode: LangChain's `UsageMetadata` as JSON, the only place of its cache and reasoning counts. */
const ATTR_LANGSMITH_USAGE_METADATA = 'langsmith.metadata.usage_metadata';

const hasOwn = Object.prototype.hasOwnProperty;
/** The five count keys (not the total): a Logfire span missing any of them may find it in its JSON. */
const COUNT_KEYS = Object.values(USAGE_ATTRIBUTE_KEYS);

/**
 * Returns a new attribute map in the GenAI semantic conventions v1.41 (see `SEMCONV_VERSION`).
 *
 * - Legacy and vendor keys are copied to their canonical key, with value transforms (provider names,
 *   token counts to integers, finish reasons to string[], …). The table is `MAPPING_RULES`.
 * - A canonical key already present always wins; a legacy value never overwrites it.
 * - Mapped legacy keys are removed unless `keepLegacyAttributes`; a legacy key whose value is junk is
 *   left as it was. Keys that are not GenAI are copied untouched.
 * - Idempotent: normalizing the result again gives a deep-equal map.
 *
 * Never mutates its input and never throws on any attribute map.
 */
export function normalizeAttributes(
  attributes: Attributes,
  options?: NormalizeOptions,
  scope?: EmitterScope,
): Attributes {
  if (attributes === null || typeof attributes !== 'object') return {};
  if (options?.rules !== undefined) {
    attributes = applyUserRules(attributes, options.rules, options.keepLegacyAttributes === true, convert);
  }
  // Most spans need no change: not GenAI, or already canonical. Proving that is one cheap pass, and
  // then the copy is the engine's bulk clone instead of a key-by-key rebuild.
  if (isAlreadyNormal(attributes)) return { ...attributes };
  return rebuild(attributes, options?.keepLegacyAttributes === true, scope);
}

/**
 * True when {@link normalizeAttributes} would change nothing: no key is a legacy source or a trigger
 * for a derived value, and every canonical key holds a clean value. Cheap (one pass over the keys, most
 * ruled out by their first two characters), so a caller that may write in place can skip the copy.
 */
export function isNormalized(attributes: Attributes): boolean {
  return attributes !== null && typeof attributes === 'object' && isAlreadyNormal(attributes);
}

function isAlreadyNormal(attributes: Attributes): boolean {
  for (const key in attributes) {
    if (!mayMatter(key)) continue;
    const rule = KEY_TABLE[key];
    if (rule === undefined) {
      if (isFlattenedMessageKey(key)) return false;
      continue;
    }
    if (rule === TRIGGER || rule.rank !== 0) return false;
    const value = attributes[key];
    if (value !== undefined && !isClean(rule.kind, value)) return false;
  }
  return true;
}

/**
 * A two-character test that rules out most keys that are neither mapping sources nor derivation
 * triggers: every such key starts with `ge`, `ll`, `la`, `ai`, `ag`, `op`, `re`, `to`, `tr`, `se`, `em` or `__`.
 */
function mayMatter(key: string): boolean {
  // The second character is read only once the first has matched: most keys stop at the first.
  switch (key.charCodeAt(0)) {
    case 103: // g
      return key.charCodeAt(1) === 101; // e
    case 108: // l
      return key.charCodeAt(1) === 108 || key.charCodeAt(1) === 97; // l, a (langsmith.*)
    case 97: // a
      return key.charCodeAt(1) === 105 || key.charCodeAt(1) === 103; // i, g (agent.name)
    case 111: // o
      return key.charCodeAt(1) === 112; // p
    case 114: // r
      return key.charCodeAt(1) === 101; // e
    case 116: // t
      return key.charCodeAt(1) === 111 || key.charCodeAt(1) === 114; // o (tool.*, tool_call.*), r (traceloop.*)
    case 115: // s
      return key.charCodeAt(1) === 101 && key.charCodeAt(2) === 115; // es (session.id; not server.*)
    case 101: // e
      return key.charCodeAt(1) === 109; // m (embedding.model_name)
    case 95: // _
      return key.charCodeAt(1) === 95; // _
    default:
      return false;
  }
}

/** Marks keys whose presence can add or change a canonical value without being a mapping source. */
const TRIGGER = 'trigger';

/**
 * The rules by source key, plus the derivation triggers, in a null-prototype object: on V8 a keyed load
 * from a dictionary-mode object is about three times faster than `Map#get` for this hot lookup.
 */
const KEY_TABLE: Record<string, MappingRule | typeof TRIGGER | undefined> = Object.create(null);
for (const [source, rule] of RULES_BY_SOURCE) KEY_TABLE[source] = rule;
for (const key of [
  ATTR_AI_OPERATION_ID,
  ATTR_OPERATION_NAME,
  ATTR_OPENINFERENCE_SPAN_KIND,
  ATTR_LOGFIRE_RESPONSE_DATA,
  ATTR_LOGFIRE_USAGE_RAW,
  ATTR_LANGSMITH_USAGE_METADATA,
  ATTR_TRACELOOP_SPAN_KIND,
  ATTR_TRACELOOP_ENTITY_NAME,
  ATTR_SESSION_ID,
  '__proto__',
]) {
  KEY_TABLE[key] = TRIGGER;
}

/** A canonical value that {@link convert} would return unchanged. */
function isClean(kind: ValueKind, value: AttributeValue): boolean {
  switch (kind) {
    case 'int':
      return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
    case 'string[]':
      if (!Array.isArray(value)) return false;
      for (const item of value) if (typeof item !== 'string') return false;
      return true;
    case 'stream':
      return typeof value === 'boolean';
    case 'provider':
      // Anthropic, Bedrock and Google go the long way: a count may need its cache or reasoning added back.
      return (
        typeof value === 'string' &&
        !mayExcludeUsage(value) &&
        (PROVIDER_VALUE_MAP.get(value) === value || normalizeProviderName(value) === value)
      );
    case 'operation':
      return typeof value === 'string' && value.length > 0 && !OPERATION_VALUE_MAP.has(value);
    default:
      return false;
  }
}

function rebuild(attributes: Attributes, keepLegacy: boolean, scope: EmitterScope | undefined): Attributes {
  const out: Attributes = {};
  const vercelOperation = vercelOperationOf(attributes);

  // Best legacy source per canonical key (the rule and its converted value), found in one pass.
  // Allocated only for spans that need it.
  let pendingRules: MappingRule[] | undefined;
  let pendingValues: AttributeValue[] | undefined;

  for (const key in attributes) {
    if (!hasOwn.call(attributes, key)) continue;
    const value = attributes[key];
    const entry = KEY_TABLE[key];
    const rule = entry === TRIGGER ? undefined : entry;
    if (rule === undefined || value === undefined) {
      setAttribute(out, key, value);
      continue;
    }
    const converted = convert(rule.kind, value);
    if (rule.rank === 0) {
      // A malformed canonical value is kept as it is: it still wins over any legacy source.
      setAttribute(out, key, converted === undefined ? value : converted);
      continue;
    }
    if (converted === undefined) {
      setAttribute(out, key, value);
      continue;
    }
    if (keepLegacy) setAttribute(out, key, value);
    if (attributes[rule.target] !== undefined) continue;
    if (pendingRules === undefined || pendingValues === undefined) {
      pendingRules = [];
      pendingValues = [];
    }
    let at = 0;
    while (at < pendingRules.length && pendingRules[at].target !== rule.target) at++;
    if (at === pendingRules.length || rule.rank < pendingRules[at].rank) {
      pendingRules[at] = rule;
      pendingValues[at] = converted;
    }
  }

  if (pendingRules !== undefined && pendingValues !== undefined) {
    for (let i = 0; i < pendingRules.length; i++) {
      const rule = pendingRules[i];
      let value = pendingValues[i];
      // A legacy "not streaming" flag maps to leaving gen_ai.request.stream unset, as semconv asks.
      if (value === false && rule.kind === 'stream') continue;
      if (rule.kind === 'request-type' && isOpenAiTextCompletion(attributes, rule.source)) {
        value = GEN_AI_OPERATION_NAME_VALUE_TEXT_COMPLETION;
      }
      setAttribute(out, rule.target, value);
      if (rule.kind === 'url' && out[ATTR_SERVER_PORT] === undefined) {
        const port = portOf(parseUrl(attributes[rule.source]!)!);
        if (port !== undefined) out[ATTR_SERVER_PORT] = port;
      }
    }
  }

  deriveOperationName(out, vercelOperation);
  deriveNames(out);
  // A provider mapped from a legacy key (a canonical one always wins) that its scope knows better.
  if (attributes[ATTR_GEN_AI_PROVIDER_NAME] === undefined) {
    const scoped = providerOfScope(out[ATTR_GEN_AI_PROVIDER_NAME], scope?.name);
    if (scoped !== undefined) out[ATTR_GEN_AI_PROVIDER_NAME] = scoped;
  }
  rebuildMessages(out, keepLegacy);
  fillJsonUsage(out);
  includeExcludedUsage(out, scope);
  return out;
}

function setAttribute(out: Attributes, key: string, value: AttributeValue | undefined): void {
  // Plain assignment to `__proto__` would replace the prototype instead of adding a key.
  if (key === '__proto__') {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    out[key] = value;
  }
}

function convert(kind: ValueKind, value: AttributeValue): AttributeValue | undefined {
  switch (kind) {
    case 'int':
      return toTokenCount(value);
    case 'number':
      return toFiniteNumber(value);
    case 'string':
      return typeof value === 'string' && value.length > 0 ? value : undefined;
    case 'model':
      if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
      return typeof value === 'string' && value.length > 0 ? value : undefined;
    case 'json':
      if (Array.isArray(value)) return value.length > 0 ? value : undefined;
      return typeof value === 'string' && value.length > 0 ? value : undefined;
    case 'string[]':
      return toStringArray(value);
    case 'stream':
      return toStreamFlag(value);
    case 'provider':
      // A framework (langchain) is not where a model call goes: such a value is not mapped.
      return typeof value === 'string' && value.length > 0 && !isFrameworkName(value)
        ? normalizeProviderName(value)
        : undefined;
    case 'operation':
      return typeof value === 'string' && value.length > 0 ? (OPERATION_VALUE_MAP.get(value) ?? value) : undefined;
    case 'request-type':
      return typeof value === 'string' ? REQUEST_TYPE_MAP.get(value.toLowerCase()) : undefined;
    case 'output-type':
      return typeof value === 'string' ? OUTPUT_TYPE_MAP.get(value.toLowerCase()) : undefined;
    case 'url':
      return parseUrl(value)?.hostname || undefined;
  }
}

function parseUrl(value: AttributeValue): URL | undefined {
  if (typeof value !== 'string' || value.length > 2048) return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** The default port of a URL scheme, as `server.port` wants it when the URL names none. */
function portOf(url: URL): number | undefined {
  if (url.port !== '') return Number(url.port);
  if (url.protocol === 'https:') return 443;
  if (url.protocol === 'http:') return 80;
  return undefined;
}

function toFiniteNumber(value: AttributeValue): number | undefined {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && value.trim().length > 0 && value.length <= 32) n = Number(value);
  else return undefined;
  return Number.isFinite(n) ? n : undefined;
}

function toStreamFlag(value: AttributeValue): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    // LiteLLM writes Python's str(bool).
    const lower = value.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  return undefined;
}

/** Finish reasons and stop sequences: a string, a JSON-string array (Logfire, LiteLLM) or an array. */
export function toStringArray(value: unknown): string[] | undefined {
  if (Array.isArray(value)) {
    const out: string[] = [];
    for (const item of value) {
      if (typeof item === 'string') out.push(item);
      else if (typeof item === 'number' || typeof item === 'boolean') out.push(String(item));
    }
    return out;
  }
  if (typeof value !== 'string' || value.length === 0) return undefined;
  const first = value.charCodeAt(0);
  if (first === 91 /* [ */ || first === 34 /* " */) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed)) return toStringArray(parsed);
      if (typeof parsed === 'string') return [parsed];
    } catch {
      // Not JSON after all: a single reason that happens to start with a bracket or quote.
    }
  }
  return [value];
}

/**
 * `llm.request.type = completion` is the legacy text-completions API only on OpenLLMetry's OpenAI spans.
 * LiteLLM (which writes `llm.is_streaming` as a string) and OpenLLMetry's other instrumentations use it
 * for chat calls.
 */
function isOpenAiTextCompletion(attributes: Attributes, source: string): boolean {
  const type = attributes[source];
  if (typeof type !== 'string' || type.toLowerCase() !== 'completion') return false;
  if (typeof attributes[ATTR_LLM_IS_STREAMING] === 'string') return false;
  const provider = attributes[ATTR_GEN_AI_PROVIDER_NAME] ?? attributes[ATTR_GEN_AI_SYSTEM];
  if (typeof provider !== 'string') return false;
  const name = normalizeProviderName(provider);
  return name === GEN_AI_PROVIDER_NAME_VALUE_OPENAI || name === GEN_AI_PROVIDER_NAME_VALUE_AZURE_AI_OPENAI;
}

function vercelOperationOf(attributes: Attributes): string | undefined {
  const id = attributes[ATTR_AI_OPERATION_ID];
  if (typeof id === 'string') return id.startsWith('ai.') ? id : undefined;
  // Before `ai.operationId`, the AI SDK wrote `operation.name` = "<operation id> <function id>".
  const name = attributes[ATTR_OPERATION_NAME];
  if (typeof name !== 'string' || !name.startsWith('ai.')) return undefined;
  const space = name.indexOf(' ');
  const operation = space < 0 ? name : name.slice(0, space);
  // ai@3.2 wrote the outer operation's name on its provider-call span too; only the provider call
  // carries the messages sent to the model and the gen_ai.* request keys.
  if (
    vercelProviderCallOperation(operation) === undefined &&
    (attributes[ATTR_AI_PROMPT_MESSAGES] !== undefined || attributes[ATTR_GEN_AI_SYSTEM] !== undefined)
  ) {
    return (
      operation +
      (operation.startsWith('ai.embed') ? '.doEmbed' : operation.startsWith('ai.stream') ? '.doStream' : '.doGenerate')
    );
  }
  return operation;
}

function vercelProviderCallOperation(operationId: string): string | undefined {
  const dot = operationId.lastIndexOf('.');
  return dot < 0 ? undefined : VERCEL_PROVIDER_CALL_OPERATIONS.get(operationId.slice(dot));
}

function deriveOperationName(out: Attributes, vercelOperation: string | undefined): void {
  if (out[ATTR_GEN_AI_OPERATION_NAME] !== undefined) return;
  let operation: string | undefined;
  if (vercelOperation !== undefined) operation = vercelProviderCallOperation(vercelOperation);
  else {
    const kind = out[ATTR_OPENINFERENCE_SPAN_KIND];
    if (typeof kind === 'string') operation = OPENINFERENCE_KIND_OPERATIONS.get(kind.toUpperCase());
    const traceloop = out[ATTR_TRACELOOP_SPAN_KIND];
    if (operation === undefined && typeof traceloop === 'string') {
      operation = TRACELOOP_KIND_OPERATIONS.get(traceloop.toLowerCase());
    }
  }
  if (operation !== undefined) out[ATTR_GEN_AI_OPERATION_NAME] = operation;
}

/**
 * Logfire, LangSmith and LiteLLM put cache and reasoning counts only in strings (the provider's usage object
 * as JSON; LangChain's `UsageMetadata`; LiteLLM's Usage as a Python repr, litellm-usage.ts); fill each
 * missing canonical count from them. (LiteLLM's spans always carry legacy keys, so they reach this.)
 */
function fillJsonUsage(out: Attributes): void {
  const raw = out[ATTR_LOGFIRE_USAGE_RAW];
  const responseData = out[ATTR_LOGFIRE_RESPONSE_DATA];
  const langsmith = out[ATTR_LANGSMITH_USAGE_METADATA];
  const litellm = out[ATTR_LITELLM_USAGE_OBJECT];
  if (raw === undefined && responseData === undefined && langsmith === undefined && litellm === undefined) return;
  // A record whose usage already moved to its request span would count the call twice.
  if (out[ATTR_GENAI_ENRICH_USAGE_MOVED_TO] !== undefined) return;
  let missing = false;
  for (const key of COUNT_KEYS) {
    if (out[key] === undefined) {
      missing = true;
      break;
    }
  }
  if (!missing) return;
  const found =
    extractProviderUsageFromJson(raw) ??
    extractProviderUsageFromJson(responseData) ??
    litellmUsage(litellm, out[ATTR_GEN_AI_PROVIDER_NAME]);
  const usage = found?.usage ?? langchainUsage(langsmith);
  if (usage === undefined) return;
  applyUsage(out, usage);
  markUsageAdjusted(out, found?.adjusted, usage);
}

function langchainUsage(value: AttributeValue | undefined): UsageCounts | undefined {
  if (typeof value !== 'string' || value.length > MAX_USAGE_JSON_LENGTH || value.charCodeAt(0) !== 123 /* { */) {
    return undefined;
  }
  try {
    return mapProviderUsage(USAGE_SHAPES.langchain, JSON.parse(value))?.usage;
  } catch {
    return undefined;
  }
}
