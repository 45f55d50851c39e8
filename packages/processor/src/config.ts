import { UserRulesError, compileUserRules } from '@genai-enrich/normalizer';
import type { UserRules } from '@genai-enrich/normalizer';
import type { SpanNameMode } from '@genai-enrich/normalizer';
import {
  PROCESSOR_OPTION_BOUNDS,
  booleanProblem,
  describeValue,
  integerOrDefault,
  integerProblem,
  optionsObjectProblem,
  unknownOptionProblems,
} from './option-bounds.js';
import type { IntegerBounds, ProcessorNumericOption } from './option-bounds.js';
import { metricsProblems, resolveMetrics } from './metrics/options.js';
import type { ResolvedMetrics } from './metrics/options.js';
import type { Clock, GenAiEnrichingProcessorOptions } from './types.js';

/** Default {@link GenAiEnrichingProcessorOptions.spanNames}. */
export const DEFAULT_SPAN_NAMES: SpanNameMode = 'fix-templates';
// The numeric defaults live with their bounds; re-exported here, where the other options' defaults are.
export {
  DEFAULT_EXPORT_TIMEOUT_MILLIS,
  DEFAULT_FLUSH_TIMEOUT_MILLIS,
  DEFAULT_HOLD_MILLIS,
  DEFAULT_MAX_EXPORT_BATCH_SIZE,
  DEFAULT_MAX_HELD_BYTES,
  DEFAULT_MAX_HELD_SPANS,
  DEFAULT_MAX_OPEN_MILLIS,
  DEFAULT_MAX_OPEN_SPANS,
  DEFAULT_MAX_PENDING_USAGE,
  DEFAULT_MAX_QUEUE_SIZE,
  DEFAULT_SCHEDULED_DELAY_MILLIS,
} from './option-bounds.js';
export { DEFAULT_METRICS_SKIP_SCOPES } from './metrics/options.js';

/** The options with every default filled in. */
export interface ResolvedConfig {
  holdMillis: number;
  maxHeldSpans: number;
  maxHeldBytes: number;
  maxPendingUsage: number;
  maxOpenMillis: number;
  maxOpenSpans: number;
  keepLegacyAttributes: boolean;
  spanNames: SpanNameMode;
  captureLateAttributes: boolean;
  countUsageOnce: boolean;
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
  exportTimeoutMillis: number;
  flushTimeoutMillis: number;
  /** Undefined: no metrics. */
  metrics: ResolvedMetrics | undefined;
  /** Undefined: no user rules. */
  rules: UserRules | undefined;
  clock: Clock;
}

/** The system clock; timers are the host's own. */
export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

const SPAN_NAME_MODES: readonly SpanNameMode[] = ['fix-templates', 'semconv', 'keep'];

const NUMERIC = Object.entries(PROCESSOR_OPTION_BOUNDS) as ReadonlyArray<[ProcessorNumericOption, IntegerBounds]>;

/**
 * Lists every problem with `options`, each naming the option and its bad value. An empty list means the
 * options are valid. Unknown option names are reported too, since a typo silently falls back to a default.
 */
export function validateConfig(options: GenAiEnrichingProcessorOptions | undefined): string[] {
  const problems: string[] = [];
  if (options === undefined || options === null) return problems;
  const notAnObject = optionsObjectProblem(options);
  if (notAnObject !== undefined) return [notAnObject];
  const o = options as Record<string, unknown>;
  for (const [name, bounds] of NUMERIC) push(problems, integerProblem(name, o[name], bounds));
  for (const name of ['keepLegacyAttributes', 'captureLateAttributes', 'countUsageOnce'] as const)
    push(problems, booleanProblem(name, o[name]));
  if (o['spanNames'] !== undefined && !SPAN_NAME_MODES.includes(o['spanNames'] as SpanNameMode)) {
    problems.push(
      `spanNames must be one of ${SPAN_NAME_MODES.map((m) => `'${m}'`).join(', ')}, ` +
        `got ${describeValue(o['spanNames'])}`,
    );
  }
  const clock = o['clock'] as Partial<Clock> | undefined;
  if (
    clock !== undefined &&
    (clock === null ||
      typeof clock.now !== 'function' ||
      typeof clock.setTimeout !== 'function' ||
      typeof clock.clearTimeout !== 'function')
  ) {
    problems.push(`clock must have now, setTimeout and clearTimeout functions, got ${describeValue(clock)}`);
  }
  problems.push(...metricsProblems(o['metrics']));
  problems.push(...rulesProblems(o['rules']));
  problems.push(...unknownOptionProblems(o, KNOWN_OPTIONS));
  return problems;
}

function rulesProblems(rules: unknown): string[] {
  if (rules === undefined) return [];
  try {
    compileUserRules(rules);
    return [];
  } catch (error) {
    return error instanceof UserRulesError ? error.problems.map((p) => `rules: ${p}`) : [`rules: ${String(error)}`];
  }
}

/** The user's rules, compiled; undefined when there are none or they are invalid (reported by validateConfig). */
function resolveRules(rules: unknown): UserRules | undefined {
  if (rules === undefined) return undefined;
  try {
    const compiled = compileUserRules(rules);
    return compiled.rules.length > 0 ? compiled : undefined;
  } catch {
    return undefined;
  }
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  ...NUMERIC.map(([n]) => n),
  'keepLegacyAttributes',
  'captureLateAttributes',
  'countUsageOnce',
  'spanNames',
  'metrics',
  'rules',
  'clock',
]);

function push(problems: string[], problem: string | undefined): void {
  if (problem !== undefined) problems.push(problem);
}

/**
 * Fills in defaults. A bad value falls back to its default (the caller reports the problems from
 * {@link validateConfig}); `maxExportBatchSize` above `maxQueueSize` is clamped to it, as the SDK does.
 */
export function resolveConfig(options: GenAiEnrichingProcessorOptions | undefined): ResolvedConfig {
  const o = (options !== null && typeof options === 'object' ? options : {}) as Record<string, unknown>;
  const values = {} as Record<ProcessorNumericOption, number>;
  for (const [name, bounds] of NUMERIC) values[name] = integerOrDefault(o[name], bounds);
  if (values.maxExportBatchSize > values.maxQueueSize) values.maxExportBatchSize = values.maxQueueSize;
  const spanNames = SPAN_NAME_MODES.includes(o['spanNames'] as SpanNameMode)
    ? (o['spanNames'] as SpanNameMode)
    : DEFAULT_SPAN_NAMES;
  const clock =
    validateConfig({ clock: o['clock'] as Clock }).length === 0 && o['clock'] !== undefined
      ? (o['clock'] as Clock)
      : SYSTEM_CLOCK;
  return {
    ...values,
    keepLegacyAttributes: o['keepLegacyAttributes'] === true,
    spanNames,
    captureLateAttributes: o['captureLateAttributes'] !== false,
    countUsageOnce: o['countUsageOnce'] !== false,
    metrics: resolveMetrics(o['metrics']),
    rules: resolveRules(o['rules']),
    clock,
  };
}
