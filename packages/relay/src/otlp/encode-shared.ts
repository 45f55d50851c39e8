/*
 * What the protobuf and JSON encoders share: which spans go into which ResourceSpans and ScopeSpans, and
 * which value an attribute is written with (its exact form from exact.ts, a double for keys the GenAI
 * conventions type as double, or its plain value).
 */
import type { Attributes, HrTime, Link, SpanContext, SpanStatus } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import { MAPPING_RULES } from '@genai-enrich/normalizer';
import type { ReadableSpanLike } from '@genai-enrich/processor';
import { ExactDouble, decodedResourceOf, exactRecordOf } from './exact.js';
import type { ExactRecord } from './exact.js';
import type { RelayEvent, RelayScope } from './types.js';

/**
 * The span shape the encoders read: a RelaySpan, or any ReadableSpan of the SDK (whose events may lack a
 * dropped count and whose links may lack attributes). `decodedAttributes` is there on RelaySpans only.
 */
export interface EncodableSpan {
  readonly name: string;
  readonly kind: number;
  spanContext(): SpanContext;
  readonly parentSpanContext?: SpanContext;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  readonly decodedAttributes?: Attributes;
  readonly links: ReadonlyArray<Link>;
  readonly events: ReadonlyArray<Partial<RelayEvent> & Pick<RelayEvent, 'name' | 'time'>>;
  readonly droppedAttributesCount?: number;
  readonly droppedEventsCount?: number;
  readonly droppedLinksCount?: number;
  readonly resource: Resource;
  readonly instrumentationScope: RelayScope;
}

/** Spans by Resource object, then by scope object, in order of first appearance. */
export type SpanGroups = Map<Resource, Map<RelayScope, EncodableSpan[]>>;

/**
 * Groups by object identity: every span of one decoded ResourceSpans shares one Resource, and of one
 * ScopeSpans one scope object (as the SDK's tracers share theirs), so a request keeps its structure, and two
 * scopes that differ only in attributes stay apart.
 */
export function groupSpans(spans: readonly ReadableSpanLike[]): SpanGroups {
  const groups: SpanGroups = new Map();
  let lastResource: Resource | undefined;
  let lastScopes: Map<RelayScope, EncodableSpan[]> | undefined;
  let lastScope: RelayScope | undefined;
  let lastList: EncodableSpan[] | undefined;
  for (const s of spans) {
    const span = s as unknown as EncodableSpan;
    const resource = span.resource;
    const scope = span.instrumentationScope;
    // Consecutive spans mostly share both: skip the map lookups then.
    if (resource !== lastResource) {
      lastResource = resource;
      lastScopes = groups.get(resource);
      if (lastScopes === undefined) groups.set(resource, (lastScopes = new Map()));
      lastScope = undefined;
    }
    if (scope !== lastScope) {
      lastScope = scope;
      lastList = lastScopes!.get(scope);
      if (lastList === undefined) lastScopes!.set(scope, (lastList = []));
    }
    lastList!.push(span);
  }
  return groups;
}

/** A resource's attributes as decoded (empty AnyValues included) and dropped count, or the Resource's own. */
export function resourceFields(resource: Resource): { attributes: Attributes; droppedAttributesCount: number } {
  const decoded = decodedResourceOf(resource);
  if (decoded !== undefined) return decoded as { attributes: Attributes; droppedAttributesCount: number };
  return { attributes: resource.attributes ?? {}, droppedAttributesCount: 0 };
}

/**
 * Keys the GenAI conventions type as double that the normalizer writes from legacy keys (its rules of kind
 * `number`: `llm.top_k` → `gen_ai.request.top_k`, the penalties). A number it wrote there is written as a
 * double even when integral; a value that came in under the key itself keeps its type.
 */
export const DOUBLE_TYPED_KEYS: ReadonlySet<string> = new Set(
  MAPPING_RULES.filter((rule) => rule.kind === 'number').map((rule) => rule.target),
);

/**
 * How to write one attribute map: the exact record of the map it was decoded as, and whether the processor
 * replaced the map since (then values may have been written under new keys).
 */
export interface AttributeSource {
  /** Whether values need {@link valueToWrite}; false: every value is written as it is (most maps). */
  readonly lookup: boolean;
  readonly exact: ExactRecord | undefined;
  /** The map as decoded when the span's map has been replaced since; undefined when it is the same map. */
  readonly decoded: Attributes | undefined;
  /** Whether the span was not decoded by the relay at all (no decoded map to compare with). */
  readonly foreign: boolean;
}

const SAME_MAP: AttributeSource = { lookup: false, exact: undefined, decoded: undefined, foreign: false };

/** The source of a map that is written as it was decoded (events, links, scopes, resources). */
export function attributeSource(attributes: Attributes | undefined): AttributeSource {
  const exact = exactRecordOf(attributes);
  return exact === undefined ? SAME_MAP : { lookup: true, exact, decoded: undefined, foreign: false };
}

/** The source of a span's attributes, which the processor may have replaced with a normalized copy. */
export function spanAttributeSource(span: EncodableSpan): AttributeSource {
  const decoded = span.decodedAttributes;
  if (decoded === undefined) return { lookup: true, exact: undefined, decoded: undefined, foreign: true };
  const exact = exactRecordOf(decoded);
  if (decoded !== span.attributes) return { lookup: true, exact, decoded, foreign: false };
  return exact === undefined ? SAME_MAP : { lookup: true, exact, decoded: undefined, foreign: false };
}

/**
 * The value to write for `attributes[key]`: its exact form while it still holds the value it was decoded
 * with; a double for a number the normalizer wrote under a double-typed key; else the value itself.
 */
export function valueToWrite(source: AttributeSource, key: string, value: unknown): unknown {
  const entry = source.exact?.get(key);
  if (entry !== undefined && Object.is(entry.plain, value)) return entry.exact;
  if (
    typeof value === 'number' &&
    Number.isInteger(value) &&
    (source.decoded !== undefined || source.foreign) &&
    DOUBLE_TYPED_KEYS.has(key) &&
    !(source.decoded !== undefined && Object.hasOwn(source.decoded, key) && Object.is(source.decoded[key], value))
  ) {
    return new ExactDouble(value);
  }
  return value;
}
