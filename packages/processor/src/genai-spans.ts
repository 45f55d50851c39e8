/*
 * Which spans are GenAI spans, and their normalization in place.
 *
 * A span is GenAI when its instrumentation scope is a known GenAI instrumentation, or its attributes say
 * so. All spans of one tracer share one scope object, so the verdict for the last scope is kept, and a
 * bounded cache keeps it per scope name. onEnd follows the same span's onEnding synchronously, so the
 * verdict onEnding reached is remembered for it instead of being worked out twice.
 *
 * Normalization rewrites attributes and name while the span is still writable (onEnding, SDK ≥ 2.3) or
 * in onEnd (older SDKs); a private mark on the span makes sure it happens once.
 */
import {
  isGenAiScope,
  isGenAiSpan,
  hasUserRuleSource,
  isSpanNormalized,
  normalizeAttributes,
  normalizeSpan,
} from '@genai-enrich/normalizer';
import type { NormalizeSpanOptions } from '@genai-enrich/normalizer';
import type { Attributes } from '@opentelemetry/api';
import { scopeOf } from './sdk-compat.js';
import type { ReadableSpanLike } from './types.js';

/** Scope names whose verdict is cached; spans of further scopes are checked by their attributes. */
export const MAX_CACHED_SCOPES = 1024;

const NORMALIZED: unique symbol = Symbol('genai-enrich normalized');
type MarkedSpan = ReadableSpanLike & { [NORMALIZED]?: boolean };
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class GenAiSpans {
  private readonly _options: NormalizeSpanOptions;
  private readonly _scopes = new Map<string, boolean>();
  private _lastScope: object | undefined;
  private _lastScopeGenAi = false;
  private _lastEnding: object | undefined;
  private _lastEndingGenAi = false;

  constructor(options: NormalizeSpanOptions) {
    this._options = options;
  }

  isGenAi(span: ReadableSpanLike): boolean {
    const scope = scopeOf(span);
    let known: boolean | undefined;
    if (scope === this._lastScope) known = this._lastScopeGenAi;
    else if (scope !== undefined && scope !== null && typeof scope.name === 'string') {
      known = this._scopes.get(scope.name);
      if (known === undefined) {
        known = isGenAiScope(scope.name);
        if (this._scopes.size < MAX_CACHED_SCOPES) this._scopes.set(scope.name, known);
      }
      this._lastScope = scope;
      this._lastScopeGenAi = known;
    }
    if (known === true || isGenAiSpan(span.attributes)) return true;
    // An in-house emitter's span, known by the user's rules.
    const rules = this._options.rules;
    return rules !== undefined && hasUserRuleSource(span.attributes, rules);
  }

  /** onEnding: the verdict, remembered for the onEnd that follows. */
  isGenAiEnding(span: ReadableSpanLike): boolean {
    const genAi = this.isGenAi(span);
    this._lastEnding = span;
    this._lastEndingGenAi = genAi;
    return genAi;
  }

  /** onEnd: the verdict onEnding reached for this span, or a fresh one. */
  isGenAiEnded(span: ReadableSpanLike): boolean {
    const genAi = this._lastEnding === span ? this._lastEndingGenAi : this.isGenAi(span);
    this._lastEnding = undefined;
    return genAi;
  }

  /** Normalizes the span's attributes and name in place, once. */
  normalize(span: ReadableSpanLike): void {
    const marked = span as MarkedSpan;
    if (marked[NORMALIZED] === true) return;
    marked[NORMALIZED] = true;
    // Most spans are already canonical: then the span's own attribute map stays, and no copy is made.
    if (isSpanNormalized(span, this._options)) return;
    const out = normalizeSpan(
      { name: span.name, attributes: span.attributes, instrumentationScope: scopeOf(span) },
      this._options,
    );
    const writable = span as Mutable<ReadableSpanLike>;
    writable.attributes = out.attributes;
    if (out.name !== span.name) writable.name = out.name;
  }

  /** Normalizes attributes written after the span was normalized (late setAttribute), with the same options. */
  normalizeAttributes(attributes: Attributes): Attributes {
    return normalizeAttributes(attributes, this._options);
  }
}
