/*
 * The one place that says which numbers an option accepts and how a bad option is reported.
 *
 *   PROCESSOR_OPTION_BOUNDS ──► config.ts (validateConfig / resolveConfig)
 *                          └──► relay config (the processor options it takes as flags and env variables)
 *   TAP_OPTION_BOUNDS ───────► tap/options.ts (usageTapFetch / installUsageTap)
 *   MAX_TIMER_MILLIS ────────► the bounds above, and export-batcher.ts's clamps
 *
 * Every numeric option is an integer between a smallest and a largest value; a bad one is reported as
 * `<name> must be an integer from <min> to <max>, got <value>` and its default is used instead. The relay
 * words the same range CLI-style, after the flag or variable the value came from
 * (`--hold-millis "-1": expected an integer from 0 to 2147483647`), with {@link integerRange}.
 */
import { diag } from '@opentelemetry/api';
import { DEFAULT_TAP_MAX_BUFFER_BYTES } from './tap/usage-parser.js';
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- named by the {@link}s below
import type { GenAiEnrichingProcessorOptions } from './types.js';

/**
 * The longest delay a timer can wait: above it Node's 32-bit timer overflows and fires at once (with a
 * warning), which would turn "wait a long time" into "do not wait". Every `*Millis` option stops here.
 */
export const MAX_TIMER_MILLIS = 2 ** 31 - 1;

/**
 * Default {@link GenAiEnrichingProcessorOptions.holdMillis}: covers a one-minute stream (Logfire records usage at
 * stream end).
 */
export const DEFAULT_HOLD_MILLIS = 60_000;
/** Default {@link GenAiEnrichingProcessorOptions.maxHeldSpans}. */
export const DEFAULT_MAX_HELD_SPANS = 4096;
/**
 * Default {@link GenAiEnrichingProcessorOptions.maxHeldBytes}: 32 MiB of held spans (estimated, span-size.ts),
 * about 8 KiB for each of the default 4096, so that held spans with large prompts are bounded long before
 * the count is reached.
 */
export const DEFAULT_MAX_HELD_BYTES = 32 * 1024 * 1024;
/** Default {@link GenAiEnrichingProcessorOptions.maxPendingUsage}. */
export const DEFAULT_MAX_PENDING_USAGE = 4096;
/** Default {@link GenAiEnrichingProcessorOptions.maxOpenMillis}: the openai client's default request timeout. */
export const DEFAULT_MAX_OPEN_MILLIS = 600_000;
/** Default {@link GenAiEnrichingProcessorOptions.maxOpenSpans}. */
export const DEFAULT_MAX_OPEN_SPANS = 10_000;
/** Default {@link GenAiEnrichingProcessorOptions.maxQueueSize}, as the SDK's BatchSpanProcessor. */
export const DEFAULT_MAX_QUEUE_SIZE = 2048;
/** Default {@link GenAiEnrichingProcessorOptions.maxExportBatchSize}, as the SDK's BatchSpanProcessor. */
export const DEFAULT_MAX_EXPORT_BATCH_SIZE = 512;
/** Default {@link GenAiEnrichingProcessorOptions.scheduledDelayMillis}, as the SDK's BatchSpanProcessor. */
export const DEFAULT_SCHEDULED_DELAY_MILLIS = 5000;
/** Default {@link GenAiEnrichingProcessorOptions.exportTimeoutMillis}, as the SDK's BatchSpanProcessor. */
export const DEFAULT_EXPORT_TIMEOUT_MILLIS = 30_000;
/**
 * Default {@link GenAiEnrichingProcessorOptions.flushTimeoutMillis}: as the SDK's TracerProvider waits for
 * `forceFlush` (its `forceFlushTimeoutMillis`).
 */
export const DEFAULT_FLUSH_TIMEOUT_MILLIS = 30_000;

/** The integers an option accepts, and the value used when it is unset or bad. */
export interface IntegerBounds {
  readonly defaultValue: number;
  readonly min: number;
  readonly max: number;
}

/** The processor's numeric options. */
export type ProcessorNumericOption =
  | 'holdMillis'
  | 'maxHeldSpans'
  | 'maxHeldBytes'
  | 'maxPendingUsage'
  | 'maxOpenMillis'
  | 'maxOpenSpans'
  | 'maxQueueSize'
  | 'maxExportBatchSize'
  | 'scheduledDelayMillis'
  | 'exportTimeoutMillis'
  | 'flushTimeoutMillis';

/** A bound on a count: at least one, and no larger than a double counts exactly. */
function count(defaultValue: number): IntegerBounds {
  return { defaultValue, min: 1, max: Number.MAX_SAFE_INTEGER };
}

/** A bound on a delay; `min` 0 means "do not wait" is allowed. */
function duration(defaultValue: number, min: 0 | 1): IntegerBounds {
  return { defaultValue, min, max: MAX_TIMER_MILLIS };
}

/**
 * The bounds of {@link GenAiEnrichingProcessorOptions}' numbers, in the order problems are listed. Counts
 * start at 1. Durations may be 0 where waiting no time means something (no hold, export at once); the
 * watchdog and the export timeout start at 1.
 */
export const PROCESSOR_OPTION_BOUNDS: Readonly<Record<ProcessorNumericOption, IntegerBounds>> = Object.freeze({
  holdMillis: duration(DEFAULT_HOLD_MILLIS, 0),
  maxHeldSpans: count(DEFAULT_MAX_HELD_SPANS),
  maxHeldBytes: count(DEFAULT_MAX_HELD_BYTES),
  maxPendingUsage: count(DEFAULT_MAX_PENDING_USAGE),
  maxOpenMillis: duration(DEFAULT_MAX_OPEN_MILLIS, 1),
  maxOpenSpans: count(DEFAULT_MAX_OPEN_SPANS),
  maxQueueSize: count(DEFAULT_MAX_QUEUE_SIZE),
  maxExportBatchSize: count(DEFAULT_MAX_EXPORT_BATCH_SIZE),
  scheduledDelayMillis: duration(DEFAULT_SCHEDULED_DELAY_MILLIS, 0),
  exportTimeoutMillis: duration(DEFAULT_EXPORT_TIMEOUT_MILLIS, 1),
  flushTimeoutMillis: duration(DEFAULT_FLUSH_TIMEOUT_MILLIS, 1),
});

/**
 * The bounds of the HTTP usage tap's `maxBufferBytes`. The smallest is 1 KiB: room for an ordinary SSE line
 * and a short JSON body, so that only genuinely large events take the slower constant-memory path (the
 * parser itself still works down to 256 bytes, where a `data: [DONE]` line would stop fitting). The
 * largest is 1 GiB, the parser's own ceiling: a per-response buffer beyond it is a typo, not a plan.
 */
export const TAP_OPTION_BOUNDS: Readonly<Record<'maxBufferBytes', IntegerBounds>> = Object.freeze({
  maxBufferBytes: { defaultValue: DEFAULT_TAP_MAX_BUFFER_BYTES, min: 1024, max: 2 ** 30 },
});

/** Whether `value` is an integer within `bounds`. */
export function isWithinBounds(value: unknown, bounds: IntegerBounds): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= bounds.min && value <= bounds.max;
}

/** `value` when it is within `bounds`, else the default (the caller reports the problem). */
export function integerOrDefault(value: unknown, bounds: IntegerBounds): number {
  return isWithinBounds(value, bounds) ? value : bounds.defaultValue;
}

/** `an integer from <min> to <max>`: the accepted range, as every message states it. */
export function integerRange(bounds: IntegerBounds): string {
  return `an integer from ${bounds.min} to ${bounds.max}`;
}

/** The problem with option `name` set to `value`, or undefined when it is unset or within `bounds`. */
export function integerProblem(name: string, value: unknown, bounds: IntegerBounds): string | undefined {
  return value === undefined || isWithinBounds(value, bounds)
    ? undefined
    : `${name} must be ${integerRange(bounds)}, got ${describeValue(value)}`;
}

/** The problem with option `name` set to `value`, or undefined when it is unset or a boolean. */
export function booleanProblem(name: string, value: unknown): string | undefined {
  return value === undefined || typeof value === 'boolean'
    ? undefined
    : `${name} must be a boolean, got ${describeValue(value)}`;
}

/** The problem with an options argument that is not an object, or undefined when it is one (or absent). */
export function optionsObjectProblem(options: unknown): string | undefined {
  return options === undefined || options === null || typeof options === 'object'
    ? undefined
    : `options must be an object, got ${describeValue(options)}`;
}

/** One problem per key of `options` not in `known`: a typo would otherwise fall back to a default unnoticed. */
export function unknownOptionProblems(options: object, known: ReadonlySet<string>): string[] {
  return Object.keys(options)
    .filter((key) => !known.has(key))
    .map((key) => `unknown option ${JSON.stringify(key)}`);
}

/**
 * Reports `problems` once, as every component of this package does with bad options: a telemetry setting
 * warns and falls back to its default, it never throws into the host.
 */
export function warnInvalidOptions(who: string, problems: readonly string[]): void {
  if (problems.length > 0) diag.warn(`${who}: invalid options, defaults used instead: ${problems.join('; ')}`);
}

/**
 * A bad option value as messages show it: strings quoted, numbers as written (`NaN`, `2.5`), everything
 * else by its kind (`an object`, `an array`, `a function`), so that a message never dumps a whole object.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined)
    return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}
