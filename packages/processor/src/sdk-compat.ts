/*
 * One build for SDK 1.x, 2.x and 3.x: the few fields whose names changed between the SDK lines, read in one
 * place. SDK 1.x (`@opentelemetry/sdk-trace-base` 1.x) has `parentSpanId` and `instrumentationLibrary`;
 * 2.x and 3.x have `parentSpanContext` and `instrumentationScope`. (1.x also never calls `onEnding`: the
 * processor then normalizes in `onEnd`, before it forwards.)
 */
import type { InstrumentationScopeLike, ReadableSpanLike } from './types.js';

/** The span id of the span's parent, or undefined for a root span. */
export function parentSpanIdOf(span: ReadableSpanLike): string | undefined {
  const parent = span.parentSpanContext;
  if (parent !== undefined && parent !== null) return parent.spanId;
  const id = span.parentSpanId;
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}

/** The span's instrumentation scope (or, on SDK 1.x, library). */
export function scopeOf(span: ReadableSpanLike): InstrumentationScopeLike | undefined {
  return span.instrumentationScope ?? span.instrumentationLibrary;
}

/**
 * The key (trace id + span id) of the span's parent in this process: undefined for a root span, and for a
 * span whose parent is remote (it will never end here).
 */
export function parentKeyOf(span: ReadableSpanLike): string | undefined {
  const parent = span.parentSpanContext;
  if (parent !== undefined && parent !== null) {
    return parent.isRemote === true ? undefined : parent.traceId + parent.spanId;
  }
  const id = span.parentSpanId;
  return typeof id === 'string' && id.length > 0 ? span.spanContext().traceId + id : undefined;
}
