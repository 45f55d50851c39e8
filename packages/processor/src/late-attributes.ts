/*
 * Attribute writes after `end()`. The SDK drops them silently, yet some instrumentations set a stream's
 * usage only once the stream is read to its end, after they ended the span. For each GenAI span seen in
 * onStart, `setAttribute` and `setAttributes` are wrapped on that instance only: before `end()` they pass
 * straight through; after it, the write goes to the processor's listener (the span may be held there).
 */
import { hasUsage, isUsageKey } from '@genai-enrich/normalizer';
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import type { SpanLike } from './types.js';

/** Receives the writes made on a span after its `end()`. */
export type LateAttributesListener = (span: SpanLike, attributes: Attributes) => void;

interface Capture {
  readonly listener: LateAttributesListener;
  readonly setAttribute: SpanLike['setAttribute'];
  readonly setAttributes: SpanLike['setAttributes'];
}

const CAPTURE: unique symbol = Symbol('genai-enrich late attributes');
type CapturedSpan = SpanLike & { [CAPTURE]?: Capture };

/** Wraps the span's attribute setters, once per span (the first processor to ask keeps it). */
export function captureLateAttributes(span: SpanLike, listener: LateAttributesListener): void {
  const captured = span as CapturedSpan;
  if (captured[CAPTURE] !== undefined || typeof span.setAttribute !== 'function') return;
  captured[CAPTURE] = { listener, setAttribute: span.setAttribute, setAttributes: span.setAttributes };
  captured.setAttribute = lateSetAttribute;
  captured.setAttributes = lateSetAttributes;
}

function lateSetAttribute(this: CapturedSpan, key: string, value: AttributeValue): CapturedSpan {
  const capture = this[CAPTURE]!;
  if (!this.ended) return capture.setAttribute.call(this, key, value);
  capture.listener(this, { [key]: value });
  return this;
}

function lateSetAttributes(this: CapturedSpan, attributes: Attributes): CapturedSpan {
  const capture = this[CAPTURE]!;
  if (!this.ended) return capture.setAttributes.call(this, attributes);
  if (attributes !== null && typeof attributes === 'object') capture.listener(this, { ...attributes });
  return this;
}

/**
 * Merges late (normalized) attributes into a held span's: a key takes the late value when it has none,
 * a null (SDK 3.x keeps nulls), or a placeholder zero count while the span reports no usage. Returns
 * whether the merge gave the span its usage.
 */
export function mergeLateAttributes(target: Attributes, late: Attributes): boolean {
  const hadUsage = hasUsage(target);
  for (const key of Object.keys(late)) {
    const current = target[key] as unknown;
    if (current === undefined || current === null || (!hadUsage && current === 0 && isUsageKey(key))) {
      target[key] = late[key];
    }
  }
  return !hadUsage && hasUsage(target);
}
