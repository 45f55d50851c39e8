/*
 * Tracing suppression without a runtime dependency on `@opentelemetry/core`.
 *
 * An exporter usually does I/O (HTTP, gRPC) that is itself instrumented; if those spans were recorded, every
 * export would produce spans to export, forever. The SDK's tracers check `isTracingSuppressed(context)` from
 * `@opentelemetry/core` and return a non-recording span when it is set, and the SDK's own BatchSpanProcessor
 * sets it around each export.
 *
 * This package may not import `@opentelemetry/core` at runtime (types-only policy, so it works on SDK 2.x and
 * 3.x, each with its own core). It does not need to: core builds its key with
 * `createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING')`, and `createContextKey` from
 * `@opentelemetry/api` returns `Symbol.for(description)`, a symbol from the global registry. The same
 * description therefore yields the very same key here, whatever copy or version of core the application loaded,
 * and the SDK's tracers honour what is set here.
 */
import { createContextKey } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';

/** Must stay byte-identical to the description `@opentelemetry/core` uses, or the SDK will not see it. */
const SUPPRESS_TRACING_KEY = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

/**
 * Returns a copy of `ctx` in which the OpenTelemetry SDK records no spans (its tracers hand out non-recording
 * spans), exactly as `suppressTracing` from `@opentelemetry/core` does.
 */
export function suppressTracing(ctx: Context): Context {
  return ctx.setValue(SUPPRESS_TRACING_KEY, true);
}

/** Whether tracing is suppressed in `ctx`, by this module or by `@opentelemetry/core`. */
export function isTracingSuppressed(ctx: Context): boolean {
  return ctx.getValue(SUPPRESS_TRACING_KEY) === true;
}
