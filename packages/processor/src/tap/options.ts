/*
 * The usage tap's options, checked as the processor checks its own: each bad option is named with its
 * value in one `diag.warn`, and its default is used; nothing throws into the application. The bounds and
 * the wording come from option-bounds.ts.
 */
import {
  TAP_OPTION_BOUNDS,
  booleanProblem,
  describeValue,
  integerOrDefault,
  integerProblem,
  optionsObjectProblem,
  unknownOptionProblems,
  warnInvalidOptions,
} from '../option-bounds.js';
import type { FetchLike } from './fetch.js';

/** The tap's options with every default filled in. */
export interface ResolvedTapOptions {
  /** The fetch to wrap; undefined means `globalThis.fetch`, looked up at each call. */
  readonly fetch: FetchLike | undefined;
  readonly includeUsage: boolean;
  readonly maxBufferBytes: number;
  /** `installUsageTap` only: the extra hosts, lower-cased. */
  readonly hosts: readonly string[];
}

/** Who is being configured: `usageTapFetch` takes a `fetch`, `installUsageTap` takes `hosts` instead. */
export type TapOptionsOwner = 'usageTapFetch' | 'installUsageTap';

const KNOWN: Readonly<Record<TapOptionsOwner, ReadonlySet<string>>> = {
  usageTapFetch: new Set(['fetch', 'includeUsage', 'maxBufferBytes']),
  installUsageTap: new Set(['hosts', 'includeUsage', 'maxBufferBytes']),
};

/** Lists every problem with `options` of `owner`, each naming the option and its bad value. */
export function validateTapOptions(owner: TapOptionsOwner, options: unknown): string[] {
  if (options === undefined || options === null) return [];
  const notAnObject = optionsObjectProblem(options);
  if (notAnObject !== undefined) return [notAnObject];
  const o = options as Record<string, unknown>;
  const problems = [
    booleanProblem('includeUsage', o['includeUsage']),
    integerProblem('maxBufferBytes', o['maxBufferBytes'], TAP_OPTION_BOUNDS.maxBufferBytes),
  ];
  if (owner === 'usageTapFetch' && o['fetch'] !== undefined && typeof o['fetch'] !== 'function') {
    problems.push(`fetch must be a function, got ${describeValue(o['fetch'])}`);
  }
  if (owner === 'installUsageTap' && o['hosts'] !== undefined) problems.push(...hostProblems(o['hosts']));
  return [...problems.filter((p): p is string => p !== undefined), ...unknownOptionProblems(o, KNOWN[owner])];
}

/** Validates `options` of `owner`, warns once about every problem, and fills in the defaults. */
export function resolveTapOptions(owner: TapOptionsOwner, options: unknown): ResolvedTapOptions {
  warnInvalidOptions(owner, validateTapOptions(owner, options));
  const o = (options !== null && typeof options === 'object' ? options : {}) as Record<string, unknown>;
  const fetch = o['fetch'];
  const hosts = owner === 'installUsageTap' && Array.isArray(o['hosts']) ? (o['hosts'] as unknown[]) : [];
  return {
    fetch: owner === 'usageTapFetch' && typeof fetch === 'function' ? (fetch as FetchLike) : undefined,
    includeUsage: o['includeUsage'] === true,
    maxBufferBytes: integerOrDefault(o['maxBufferBytes'], TAP_OPTION_BOUNDS.maxBufferBytes),
    // A bad entry is left out (and was reported); the good ones still count.
    hosts: hosts.filter((h): h is string => typeof h === 'string' && h !== '').map((h) => h.toLowerCase()),
  };
}

function hostProblems(hosts: unknown): string[] {
  if (!Array.isArray(hosts)) return [`hosts must be an array of strings, got ${describeValue(hosts)}`];
  const problems: string[] = [];
  hosts.forEach((host: unknown, i) => {
    if (typeof host !== 'string' || host === '')
      problems.push(`hosts[${i}] must be a non-empty string, got ${describeValue(host)}`);
  });
  return problems;
}
