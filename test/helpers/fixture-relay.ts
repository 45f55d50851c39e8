/*
 * The Python emitters' OTLP fixtures sent as export requests, two ways with one result shape, so a test can
 * run the same checks on both (count-once.langsmith.test.ts, python-providers.relay.test.ts):
 *
 *   fixture body ─┬─ one POST per id set ─► startRelay (in-process) ─ http/json ─► loopback receiver ─┐
 *                 └─ decoded ─► replay(): one onEnd batch per id set, 5 s apart ─► loopback receiver ─┴─► RequestsOutcome
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { GenAiEnrichingProcessorStats } from '@genai-enrich/processor';
import { startRelay } from '@genai-enrich/relay';
import type { RelayOptions } from '@genai-enrich/relay';
import type { DecodedSpan } from './otlp-json.js';
import { startOtlpReceiver } from './otlp-receiver.js';
import { inEndOrder, toReplaySpans } from './otlp-replay.js';
import { PYTHON_FIXTURES, byId, replay } from './fixture-replay.js';
import type { Fixture } from './fixture-replay.js';

export interface RequestsOutcome {
  /** What the receiver decoded, keyed by span id (each id checked to have arrived once). */
  readonly out: ReadonlyMap<string, DecodedSpan>;
  readonly received: readonly DecodedSpan[];
  readonly final: GenAiEnrichingProcessorStats;
  /** Processor stats once each request (relay) or batch (in-process) was handed over. */
  readonly afterEachRequest: readonly GenAiEnrichingProcessorStats[];
}

/** Every span of the fixture, as one request. */
export const everySpan = (fixture: Fixture): Set<string>[] => [new Set(fixture.decoded.map((s) => s.spanId))];

/**
 * The fixture's raw OTLP/JSON body (bytesValue and all) keeping only the spans in `ids`; `parentsFirst` lists
 * each scope's spans in reverse (LangSmith may end parents first: see its fixtures' `_notes`).
 */
export function fixtureRequestBody(file: string, ids: ReadonlySet<string>, parentsFirst = false): unknown {
  const body = JSON.parse(readFileSync(new URL(file, PYTHON_FIXTURES), 'utf8')) as {
    resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ spanId: string }> }> }>;
  };
  for (const resource of body.resourceSpans) {
    for (const scope of resource.scopeSpans) {
      scope.spans = scope.spans.filter((s) => ids.has(s.spanId));
      if (parentsFirst) scope.spans.reverse();
    }
  }
  return { resourceSpans: body.resourceSpans };
}

/**
 * POSTs one OTLP/JSON request per id set to a real relay forwarding http/json to a loopback receiver, waits
 * for every span, and closes both.
 */
export async function throughRelay(
  file: string,
  requests: readonly ReadonlySet<string>[],
  options: RelayOptions = {},
  parentsFirst = false,
): Promise<RequestsOutcome> {
  const receiver = await startOtlpReceiver();
  try {
    const relay = await startRelay({
      listen: '127.0.0.1:0',
      forward: receiver.url,
      forwardProtocol: 'http/json',
      scheduledDelayMillis: 10,
      ...options,
    });
    try {
      const afterEachRequest: GenAiEnrichingProcessorStats[] = [];
      let count = 0;
      for (const ids of requests) {
        const answer = await fetch(relay.address.tracesUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(fixtureRequestBody(file, ids, parentsFirst)),
          signal: AbortSignal.timeout(5000),
        });
        assert.equal(answer.status, 200);
        assert.deepEqual(await answer.json(), {}, 'no partial success: every span accepted');
        afterEachRequest.push(relay.stats().processor);
        count += ids.size;
      }
      await receiver.waitFor((spans) => spans.length >= count, 5000);
      const final = relay.stats().processor;
      assert.equal(relay.stats().relay.spansReceived, count);
      return { out: byId(receiver.spans), received: [...receiver.spans], final, afterEachRequest };
    } finally {
      await relay.close();
    }
  } finally {
    await receiver.close();
  }
}

/** The same requests as onEnd batches of one in-process processor, 5 s apart (Python's export delay). */
export async function inProcess(fixture: Fixture, requests: readonly ReadonlySet<string>[]): Promise<RequestsOutcome> {
  const spans = toReplaySpans(fixture.decoded);
  const batches = requests.map((ids) => inEndOrder(spans.filter((s) => ids.has(s.spanContext().spanId))));
  const result = await replay(batches, 5000);
  let handed = 0;
  const afterEachRequest = batches.map((batch) => result.statsAfterEach[(handed += batch.length) - 1]);
  return { ...result, afterEachRequest };
}

/** The plain sum of one numeric attribute over `spans`: what a backend adds up per trace. */
export function sumOver(spans: readonly DecodedSpan[], key: string): number {
  let total = 0;
  for (const span of spans) {
    const value = span.attributes[key];
    if (typeof value === 'number') total += value;
  }
  return total;
}

/** Registers two tests of `requests`, through the relay and through the in-process replay, with one check. */
export function itThroughBothPaths(
  title: string,
  fixture: Fixture,
  requests: readonly ReadonlySet<string>[],
  check: (outcome: RequestsOutcome) => void,
): void {
  it(`${title}: the relay`, async () => check(await throughRelay(fixture.file, requests)));
  it(`${title}: the in-process replay`, async () => check(await inProcess(fixture, requests)));
}
