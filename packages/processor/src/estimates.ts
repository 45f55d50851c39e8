/*
 * Instrumentations known to put an estimate where the provider's usage should be. Telemetry usage is
 * normally the provider's own number, copied; these write their own count instead, and nothing on the span
 * says so. When the HTTP usage tap reads the real numbers and they differ, the span keeps the provider's
 * numbers and `genai_enrich.telemetry_usage` keeps the estimate with the reason it is one.
 *
 * One row per known case, from the instrumentation's source:
 * - @traceloop/instrumentation-openai ≤ 0.27 (OpenLLMetry-JS) with `enrichTokens` (on by default in
 *   `@traceloop/node-server-sdk`): a streamed chat or completion never reads the stream's usage chunk; it
 *   counts the prompt and the reply text with js-tiktoken and writes that as the usage.
 * Without the tap a stream cannot be told from a plain call on these spans (0.27 records no stream flag),
 * so there an estimate cannot be named and stays as it is.
 */
import { scopeOf } from './sdk-compat.js';
import type { ReadableSpanLike, TapReport } from './types.js';

interface KnownEstimate {
  readonly scope: string;
  /** Versions up to and including this `major.minor` estimate; later ones are not known to. */
  readonly throughMinor: readonly [number, number];
  /** Only when the provider's response was a stream (the tap tells). */
  readonly streamedOnly: boolean;
  readonly why: string;
}

const KNOWN_ESTIMATES: readonly KnownEstimate[] = [
  {
    scope: '@traceloop/instrumentation-openai',
    throughMinor: [0, 27],
    streamedOnly: true,
    why: 'OpenLLMetry enrichTokens: a js-tiktoken count of the text, the stream usage is not read',
  },
];

/** Why the span's telemetry usage is known to be an estimate, or undefined when it is not known to be. */
export function knownEstimate(span: ReadableSpanLike, report: TapReport): string | undefined {
  const scope = scopeOf(span);
  if (scope === undefined || scope === null || typeof scope.name !== 'string') return undefined;
  for (const known of KNOWN_ESTIMATES) {
    if (scope.name !== known.scope || (known.streamedOnly && report.streamed !== true)) continue;
    if (versionAtMost(scope.version, known.throughMinor)) return known.why;
  }
  return undefined;
}

/** Whether `version` (`major.minor.patch…`) is at most `major.minor`; an unknown version is not. */
function versionAtMost(version: string | undefined, [major, minor]: readonly [number, number]): boolean {
  const match = typeof version === 'string' ? /^(\d+)\.(\d+)/.exec(version) : null;
  if (match === null) return false;
  const [vMajor, vMinor] = [Number(match[1]), Number(match[2])];
  return vMajor < major || (vMajor === major && vMinor <= minor);
}
