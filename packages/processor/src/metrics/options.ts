/*
 * The `metrics` option: checked and resolved here, called from config.ts as every other option is. A bad
 * value is reported (naming `metrics.<field>` and the value) and metrics stay off or take the field's
 * default: a telemetry setting never throws into the host.
 */
import type { MeterProvider } from '@opentelemetry/api';
import { booleanProblem, describeValue, unknownOptionProblems } from '../option-bounds.js';
import type { GenAiEnrichingProcessorMetricsOptions } from '../types.js';

/**
 * Default {@link GenAiEnrichingProcessorMetricsOptions.skipScopes}: the instrumentations known to record
 * `gen_ai.client.token.usage` and `gen_ai.client.operation.duration` themselves, in JavaScript
 * (`@opentelemetry/instrumentation-openai`) and in Python (`opentelemetry-instrumentation-openai-v2`, whose
 * spans reach the processor through the relay).
 */
export const DEFAULT_METRICS_SKIP_SCOPES: readonly string[] = Object.freeze([
  '@opentelemetry/instrumentation-openai',
  'opentelemetry.instrumentation.openai_v2',
]);

/** The `metrics` option resolved: where the meter comes from, and what is recorded. */
export interface ResolvedMetrics {
  /** A MeterProvider, or the global one, looked up until one is registered. */
  readonly provider: MeterProvider | 'global';
  readonly genAi: boolean;
  readonly stats: boolean;
  readonly skipScopes: ReadonlySet<string>;
}

const KNOWN: ReadonlySet<string> = new Set(['meterProvider', 'global', 'genAi', 'stats', 'skipScopes']);

/** Every problem with the `metrics` option, each naming its field and value; empty when it is valid or unset. */
export function metricsProblems(value: unknown): string[] {
  if (value === undefined) return [];
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return [`metrics must be an object, got ${describeValue(value)}`];
  const o = value as Record<string, unknown>;
  const problems: string[] = [];
  const provider = o['meterProvider'];
  if (provider !== undefined && !isMeterProvider(provider))
    problems.push(`metrics.meterProvider must be a MeterProvider (with getMeter), got ${describeValue(provider)}`);
  for (const name of ['global', 'genAi', 'stats'] as const) {
    const problem = booleanProblem(`metrics.${name}`, o[name]);
    if (problem !== undefined) problems.push(problem);
  }
  if (provider !== undefined && o['global'] === true)
    problems.push('metrics takes meterProvider or global: true, not both; meterProvider is used');
  else if (provider === undefined && o['global'] !== true)
    problems.push('metrics needs a meterProvider, or global: true; no metrics are recorded');
  const scopes = o['skipScopes'];
  if (scopes !== undefined && (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')))
    problems.push(`metrics.skipScopes must be an array of scope names, got ${describeValue(scopes)}`);
  for (const problem of unknownOptionProblems(o, KNOWN)) problems.push(problem.replace('option "', 'option "metrics.'));
  return problems;
}

/** The `metrics` option with defaults filled in, or undefined when metrics are off (unset, or no meter to use). */
export function resolveMetrics(value: unknown): ResolvedMetrics | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const o = value as GenAiEnrichingProcessorMetricsOptions & Record<string, unknown>;
  const provider = isMeterProvider(o.meterProvider) ? o.meterProvider : o.global === true ? 'global' : undefined;
  if (provider === undefined) return undefined;
  const scopes =
    Array.isArray(o.skipScopes) && o.skipScopes.every((s) => typeof s === 'string')
      ? o.skipScopes
      : DEFAULT_METRICS_SKIP_SCOPES;
  return {
    provider,
    genAi: o.genAi !== false,
    stats: o.stats !== false,
    skipScopes: new Set(scopes),
  };
}

function isMeterProvider(value: unknown): value is MeterProvider {
  return value !== null && typeof value === 'object' && typeof (value as MeterProvider).getMeter === 'function';
}
