/*
 * `stats()` as metrics: one observable instrument per field, all read by one batch callback (one `stats()`
 * call per collection, nothing per span). Named in the Collector's manner, `genai_enrich.processor.` + the
 * stage + what is counted (Prometheus: dots become underscores and counters get `_total`):
 *
 *   spans.*  what enters and leaves      hold.*       held spans        late_usage.*  usage waiting for its span
 *   tap.*    the HTTP usage tap           watchdog.*   open GenAI spans  usage.*       counting once
 *   queue.*  exporter mode's queue        late_attributes.captured, errors
 *
 * Counters are cumulative (ObservableCounter); gauges are ObservableUpDownCounter, since they add up across
 * processors (held spans, bytes, waiting entries).
 */
import type { BatchObservableResult, Meter, Observable } from '@opentelemetry/api';
import type { GenAiEnrichingProcessorStats } from '../types.js';

/** The prefix of every self-metric. */
export const PROCESSOR_METRIC_PREFIX = 'genai_enrich.processor.';

type Field = keyof GenAiEnrichingProcessorStats;

/** One self-metric: the `stats()` field it reads, its name after the prefix, and its kind and unit. */
export interface StatsMetric {
  readonly field: Field;
  readonly name: string;
  readonly kind: 'counter' | 'gauge';
  readonly unit: string;
  readonly description: string;
}

/** Every `stats()` field, as the metric it becomes (the processor README's table lists the same). */
export const STATS_METRICS: readonly StatsMetric[] = Object.freeze([
  counter('received', 'spans.received', '{span}', 'Spans that entered onEnd.'),
  counter('forwarded', 'spans.forwarded', '{span}', 'Spans handed to the next stage, each once.'),
  counter('carriers', 'spans.carriers', '{span}', 'Spans whose usage moved to the span they complete.'),
  gauge('held', 'hold.spans', '{span}', 'Spans held now, waiting for usage.'),
  gauge('heldBytes', 'hold.bytes', 'By', 'Estimated bytes of the spans held now.'),
  counter('holds', 'hold.started', '{span}', 'Spans ever held.'),
  counter('joined', 'hold.joined', '{span}', 'Held spans released because late usage joined them.'),
  counter('expired', 'hold.expired', '{span}', 'Held spans forwarded without usage after holdMillis.'),
  counter('evicted', 'hold.evicted', '{span}', 'Held spans forwarded without usage to make room.'),
  counter('flushed', 'hold.flushed', '{span}', 'Held spans forwarded by forceFlush or shutdown.'),
  gauge('pendingUsage', 'late_usage.pending', '{usage}', 'Late usage waiting for its span to end.'),
  counter('pendingUsageExpired', 'late_usage.expired', '{usage}', 'Late usage that never found its span.'),
  counter('pendingUsageDropped', 'late_usage.dropped', '{usage}', 'Late usage dropped at maxPendingUsage.'),
  counter('lateAttributes', 'late_attributes.captured', '{write}', 'Attribute writes captured after end().'),
  gauge('open', 'watchdog.open', '{span}', 'Open GenAI spans watched now.'),
  counter('forceEnded', 'watchdog.force_ended', '{span}', 'GenAI spans ended by the watchdog.'),
  counter('openUnwatched', 'watchdog.unwatched', '{span}', 'GenAI spans not watched at maxOpenSpans.'),
  counter('queueDropped', 'queue.dropped', '{span}', 'Spans dropped because the export queue was full.'),
  counter(
    'flushTimeouts',
    'queue.flush_timeouts',
    '{call}',
    'forceFlush and shutdown calls that stopped waiting for the next stage at flushTimeoutMillis.',
  ),
  counter('tapReports', 'tap.reports', '{report}', 'Usage reports from the HTTP usage tap.'),
  counter('tapUsed', 'tap.used', '{report}', 'Tap reports that supplied usage to a span.'),
  counter('tapSuperseded', 'tap.superseded', '{report}', "Tap reports the span's telemetry made unnecessary."),
  counter('tapDisagreed', 'tap.disagreed', '{report}', "Used tap reports that differed from the span's telemetry."),
  counter('tapUnmatched', 'tap.unmatched', '{report}', 'Tap reports that found no span.'),
  gauge('tapPending', 'tap.pending', '{report}', 'Tap reports waiting for their span to end.'),
  counter('usageRepeated', 'usage.repeated', '{span}', 'Spans whose repeated usage was set aside.'),
  gauge('awaitingDescendants', 'usage.awaiting_descendants', '{span}', 'Spans waiting for their descendants.'),
  counter('usageUnaccounted', 'usage.unaccounted', '{span}', 'Spans the count-once rule could not follow.'),
  counter('errors', 'errors', '{error}', 'Failed exports, next-stage calls that threw, and internal errors.'),
]);

function counter(field: Field, name: string, unit: string, description: string): StatsMetric {
  return { field, name, kind: 'counter', unit, description };
}

function gauge(field: Field, name: string, unit: string, description: string): StatsMetric {
  return { field, name, kind: 'gauge', unit, description };
}

/** Registers the self-metrics on `meter`; `stats` is read once per collection and must not throw. */
export function observeStats(meter: Meter, stats: () => GenAiEnrichingProcessorStats): void {
  const instruments = STATS_METRICS.map((m): [StatsMetric, Observable] => {
    const options = { unit: m.unit, description: m.description };
    const name = PROCESSOR_METRIC_PREFIX + m.name;
    return [
      m,
      m.kind === 'counter'
        ? meter.createObservableCounter(name, options)
        : meter.createObservableUpDownCounter(name, options),
    ];
  });
  meter.addBatchObservableCallback(
    (result: BatchObservableResult) => {
      const snapshot = stats();
      for (const [m, instrument] of instruments) result.observe(instrument, snapshot[m.field]);
    },
    instruments.map(([, instrument]) => instrument),
  );
}
