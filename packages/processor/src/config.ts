import type { SpanNameMode } from '@genai-enrich/normalizer';
import type { Clock, GenAiEnrichingProcessorOptions } from './types.js';

/** Default {@link GenAiEnrichingProcessorOptions.holdMillis}: covers a one-minute stream (Logfire records usage at stream end). */
export const DEFAULT_HOLD_MILLIS = 60_000;
/** Default {@link GenAiEnrichingProcessorOptions.maxHeldSpans}. */
export const DEFAULT_MAX_HELD_SPANS = 4096;
/** Default {@link GenAiEnrichingProcessorOptions.maxPendingUsage}. */
export const DEFAULT_MAX_PENDING_USAGE = 4096;
/** Default {@link GenAiEnrichingProcessorOptions.maxOpenMillis}: the openai client's default request timeout. */
export const DEFAULT_MAX_OPEN_MILLIS = 600_000;
/** Default {@link GenAiEnrichingProcessorOptions.maxOpenSpans}. */
export const DEFAULT_MAX_OPEN_SPANS = 10_000;
/** Default {@link GenAiEnrichingProcessorOptions.spanNames}. */
export const DEFAULT_SPAN_NAMES: SpanNameMode = 'fix-templates';
/** Default {@link GenAiEnrichingProcessorOptions.maxQueueSize}, as the SDK's BatchSpanProcessor. */
export const DEFAULT_MAX_QUEUE_SIZE = 2048;
/** Default {@link GenAiEnrichingProcessorOptions.maxExportBatchSize}, as the SDK's BatchSpanProcessor. */
export const DEFAULT_MAX_EXPORT_BATCH_SIZE = 512;
/** Default {@link GenAiEnrichingProcessorOptions.scheduledDelayMillis}, as the SDK's BatchSpanProcessor. */
export const DEFAULT_SCHEDULED_DELAY_MILLIS = 5000;
/** Default {@link GenAiEnrichingProcessorOptions.exportTimeoutMillis}, as the SDK's BatchSpanProcessor. */
export const DEFAULT_EXPORT_TIMEOUT_MILLIS = 30_000;

/** The options with every default filled in. */
export interface ResolvedConfig {
  holdMillis: number;
  maxHeldSpans: number;
  maxPendingUsage: number;
  maxOpenMillis: number;
  maxOpenSpans: number;
  keepLegacyAttributes: boolean;
  spanNames: SpanNameMode;
  captureLateAttributes: boolean;
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
  exportTimeoutMillis: number;
  clock: Clock;
}

/** The system clock; timers are the host's own. */
export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

const SPAN_NAME_MODES: readonly SpanNameMode[] = ['fix-templates', 'semconv', 'keep'];

type NumericOption =
  | 'holdMillis'
  | 'maxHeldSpans'
  | 'maxPendingUsage'
  | 'maxOpenMillis'
  | 'maxOpenSpans'
  | 'maxQueueSize'
  | 'maxExportBatchSize'
  | 'scheduledDelayMillis'
  | 'exportTimeoutMillis';

// [option, default, smallest valid value]. Counts must be ≥ 1; durations may be 0 (no waiting).
const NUMERIC: ReadonlyArray<readonly [NumericOption, number, number]> = [
  ['holdMillis', DEFAULT_HOLD_MILLIS, 0],
  ['maxHeldSpans', DEFAULT_MAX_HELD_SPANS, 1],
  ['maxPendingUsage', DEFAULT_MAX_PENDING_USAGE, 1],
  ['maxOpenMillis', DEFAULT_MAX_OPEN_MILLIS, 1],
  ['maxOpenSpans', DEFAULT_MAX_OPEN_SPANS, 1],
  ['maxQueueSize', DEFAULT_MAX_QUEUE_SIZE, 1],
  ['maxExportBatchSize', DEFAULT_MAX_EXPORT_BATCH_SIZE, 1],
  ['scheduledDelayMillis', DEFAULT_SCHEDULED_DELAY_MILLIS, 0],
  ['exportTimeoutMillis', DEFAULT_EXPORT_TIMEOUT_MILLIS, 1],
];

/** Above this a timer delay overflows Node's 32-bit timer and fires at once. */
const MAX_TIMER_MILLIS = 2 ** 31 - 1;

/**
 * Lists every problem with `options`, each naming the option and its bad value. An empty list means the
 * options are valid. Unknown option names are reported too, since a typo silently falls back to a default.
 */
export function validateConfig(options: GenAiEnrichingProcessorOptions | undefined): string[] {
  const problems: string[] = [];
  if (options === undefined || options === null) return problems;
  if (typeof options !== 'object') return [`options must be an object, got ${describe(options)}`];
  const o = options as Record<string, unknown>;
  for (const [name, , min] of NUMERIC) {
    const v = o[name];
    if (v === undefined) continue;
    const max = name.endsWith('Millis') ? MAX_TIMER_MILLIS : Number.MAX_SAFE_INTEGER;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got ${describe(v)}`);
    }
  }
  for (const name of ['keepLegacyAttributes', 'captureLateAttributes'] as const) {
    const v = o[name];
    if (v !== undefined && typeof v !== 'boolean') problems.push(`${name} must be a boolean, got ${describe(v)}`);
  }
  if (o['spanNames'] !== undefined && !SPAN_NAME_MODES.includes(o['spanNames'] as SpanNameMode)) {
    problems.push(`spanNames must be one of ${SPAN_NAME_MODES.map((m) => `'${m}'`).join(', ')}, got ${describe(o['spanNames'])}`);
  }
  const clock = o['clock'] as Partial<Clock> | undefined;
  if (
    clock !== undefined &&
    (clock === null ||
      typeof clock.now !== 'function' ||
      typeof clock.setTimeout !== 'function' ||
      typeof clock.clearTimeout !== 'function')
  ) {
    problems.push(`clock must have now, setTimeout and clearTimeout functions, got ${describe(clock)}`);
  }
  const known = new Set<string>([...NUMERIC.map(([n]) => n), 'keepLegacyAttributes', 'captureLateAttributes', 'spanNames', 'clock']);
  for (const key of Object.keys(o)) if (!known.has(key)) problems.push(`unknown option ${JSON.stringify(key)}`);
  return problems;
}

/**
 * Fills in defaults. A bad value falls back to its default (the caller reports the problems from
 * {@link validateConfig}); `maxExportBatchSize` above `maxQueueSize` is clamped to it, as the SDK does.
 */
export function resolveConfig(options: GenAiEnrichingProcessorOptions | undefined): ResolvedConfig {
  const o = (options !== null && typeof options === 'object' ? options : {}) as Record<string, unknown>;
  const num = (name: NumericOption, fallback: number, min: number): number => {
    const v = o[name];
    const max = name.endsWith('Millis') ? MAX_TIMER_MILLIS : Number.MAX_SAFE_INTEGER;
    return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : fallback;
  };
  const values = {} as Record<NumericOption, number>;
  for (const [name, fallback, min] of NUMERIC) values[name] = num(name, fallback, min);
  if (values.maxExportBatchSize > values.maxQueueSize) values.maxExportBatchSize = values.maxQueueSize;
  const spanNames = SPAN_NAME_MODES.includes(o['spanNames'] as SpanNameMode) ? (o['spanNames'] as SpanNameMode) : DEFAULT_SPAN_NAMES;
  const clock = validateConfig({ clock: o['clock'] as Clock }).length === 0 && o['clock'] !== undefined ? (o['clock'] as Clock) : SYSTEM_CLOCK;
  return {
    ...values,
    keepLegacyAttributes: o['keepLegacyAttributes'] === true,
    spanNames,
    captureLateAttributes: o['captureLateAttributes'] !== false,
    clock,
  };
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}
