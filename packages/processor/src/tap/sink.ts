/*
 * How a usage tap reaches its processor without the processor exposing a method for it:
 *
 *   new GenAiEnrichingProcessor(…) ─► registerTapSink(processor, report ⇒ …)   (kept in a WeakMap)
 *   usageTapFetch(processor) ──────► tapSinkOf(processor) ─► every report the tap reads goes there
 *
 * The processor's public surface stays its SpanProcessor methods, `recordUsage`, `stats` and `fetch`;
 * tests hand a tap a sink of their own the same way.
 */
import { diag } from '@opentelemetry/api';
import type { TapReport } from '../types.js';

/** Takes what the tap read in one provider response. Must not throw (the tap ignores it if it does). */
export type TapReportSink = (report: TapReport) => void;

const SINKS = new WeakMap<object, TapReportSink>();

/** Makes `owner` a valid target of `usageTapFetch(owner)` and `installUsageTap(owner)`. */
export function registerTapSink(owner: object, sink: TapReportSink): void {
  SINKS.set(owner, sink);
}

/** The sink registered for `owner`; for anything else, a sink that drops reports, with one warning. */
export function tapSinkOf(owner: unknown, who: string): TapReportSink {
  const sink = owner !== null && typeof owner === 'object' ? SINKS.get(owner) : undefined;
  if (sink !== undefined) return sink;
  diag.warn(
    `${who}: the first argument is not a GenAiEnrichingProcessor; the tap passes requests through and reports nothing`,
  );
  return ignore;
}

function ignore(): void {}
