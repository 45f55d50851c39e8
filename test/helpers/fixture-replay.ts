/*
 * The Python emitters' OTLP fixtures (test/fixtures/python), loaded and replayed in-process: each span goes
 * to a fresh GenAiEnrichingProcessor's onEnd, as the relay would hand it over, then through the real
 * OTLP/HTTP JSON exporter to a loopback receiver. A fake clock moves by the real gaps between span ends, so
 * a 7 s stream really spans 7 s of hold time.
 *
 *   fixture file ─ loadFixture ─► decoded spans ─ asServiceBatches / toReplaySpans ─► batches ─ replay ─►
 *     processor.onEnd (clock moved to each end) ─► OTLPTraceExporter ─► receiver ─► Replay (checked: once each)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';
import type { GenAiEnrichingProcessorStats } from '@genai-enrich/processor';
import { FakeClock } from '../../packages/processor/test/helpers/fake-clock.js';
import { decodeTraceRequest } from './otlp-json.js';
import type { DecodedSpan } from './otlp-json.js';
import { startOtlpReceiver } from './otlp-receiver.js';
import { byResource, hrTimeToNanos, inEndOrder, toReplaySpans } from './otlp-replay.js';
import type { ReplaySpan } from './otlp-replay.js';

export const PYTHON_FIXTURES = new URL('../fixtures/python/', import.meta.url);

export interface Fixture {
  readonly file: string;
  /** The fixture's `_source`: the emitter's repository, commit and files it was written from. */
  readonly source: string;
  readonly decoded: DecodedSpan[];
}

export function loadFixture(file: string): Fixture {
  const body = JSON.parse(readFileSync(new URL(file, PYTHON_FIXTURES), 'utf8')) as { _source?: unknown };
  assert.equal(typeof body._source, 'string', `${file}: _source names the emitter source it follows`);
  return { file, source: body._source as string, decoded: decodeTraceRequest(body) };
}

/** The single span matching `predicate`. */
export function only(
  spans: readonly DecodedSpan[],
  predicate: (span: DecodedSpan) => boolean,
  what: string,
): DecodedSpan {
  const found = spans.filter(predicate);
  assert.equal(found.length, 1, `exactly one ${what}`);
  return found[0];
}

export interface Replay {
  /** What the receiver decoded, keyed by span id (after checking each id arrived exactly once). */
  readonly out: Map<string, DecodedSpan>;
  readonly received: readonly DecodedSpan[];
  /** `processor.stats()` after each onEnd, in replay order. */
  readonly statsAfterEach: readonly GenAiEnrichingProcessorStats[];
  readonly final: GenAiEnrichingProcessorStats;
}

/**
 * Replays `batches` (each an export request, already in end order) through a fresh processor →
 * OTLPTraceExporter → loopback receiver, moving the fake clock by the gaps between span ends (and
 * `gapMillis` more between batches), then flushes.
 */
export async function replay(batches: readonly (readonly ReplaySpan[])[], gapMillis = 0): Promise<Replay> {
  const receiver = await startOtlpReceiver();
  const clock = new FakeClock(1_000_000);
  const processor = new GenAiEnrichingProcessor(new OTLPTraceExporter({ url: receiver.url }), { clock });
  const statsAfterEach: GenAiEnrichingProcessorStats[] = [];
  let lastEnd: bigint | undefined;
  let count = 0;
  try {
    for (const [i, batch] of batches.entries()) {
      if (i > 0 && gapMillis > 0) clock.advance(gapMillis);
      for (const span of batch) {
        const end = hrTimeToNanos(span.endTime);
        // Spans ended in the past (LiteLLM passes end_time explicitly) arrive "now": never move backwards.
        if (lastEnd !== undefined && end > lastEnd) clock.advance(Number(end - lastEnd) / 1e6);
        if (lastEnd === undefined || end > lastEnd) lastEnd = end;
        processor.onEnd(span);
        statsAfterEach.push(processor.stats());
        count++;
      }
    }
    await processor.forceFlush();
    await receiver.waitFor((spans) => spans.length >= count, 2000);
    const final = processor.stats();
    return { out: byId(receiver.spans), received: [...receiver.spans], statsAfterEach, final };
  } finally {
    await processor.shutdown();
    await receiver.close();
  }
}

/** Spans keyed by span id, failing if an id arrived more than once. */
export function byId(spans: readonly DecodedSpan[]): Map<string, DecodedSpan> {
  const out = new Map<string, DecodedSpan>();
  for (const span of spans) {
    assert.ok(!out.has(span.spanId), `span ${span.spanId} (${span.name}) arrived more than once`);
    out.set(span.spanId, span);
  }
  return out;
}

/** All fixture spans, each a single batch per service, in end order. */
export function asServiceBatches(fixture: Fixture): ReplaySpan[][] {
  return byResource(toReplaySpans(fixture.decoded)).map((batch) => inEndOrder(batch));
}

export function get(out: ReadonlyMap<string, DecodedSpan>, span: DecodedSpan): DecodedSpan {
  const received = out.get(span.spanId);
  assert.ok(received !== undefined, `span ${span.spanId} (${span.name}) was exported`);
  return received;
}

/** Every fixture span came out, and nothing else did. */
export function assertExactlyOnce(
  fixture: Fixture,
  result: { readonly out: ReadonlyMap<string, DecodedSpan>; readonly received: readonly DecodedSpan[] },
): void {
  assert.equal(result.received.length, fixture.decoded.length, 'as many spans out as in');
  for (const span of fixture.decoded) get(result.out, span);
}

/** The processor's health invariants, and nothing dropped or failed. */
export function assertStats(stats: GenAiEnrichingProcessorStats): void {
  assert.equal(
    stats.received,
    stats.forwarded + stats.held + stats.awaitingDescendants,
    'received = forwarded + held + awaitingDescendants',
  );
  assert.equal(stats.holds, stats.joined + stats.expired + stats.evicted + stats.flushed + stats.held, 'holds balance');
  assert.equal(stats.errors, 0, 'no export or internal errors');
  assert.equal(stats.queueDropped, 0);
}
