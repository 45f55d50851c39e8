/*
 * Delivery under faults, end to end on loopback: a relay forwarding to a target that answers 503, hangs,
 * refuses connections or resets them for longer than one export timeout. Every span the relay acknowledged
 * arrives once the target recovers, exactly once; a Retry-After is honoured; a batch the target refuses for
 * good (400) is not retried; a batch still failing when its retry time runs out is counted lost, and the
 * counts add up.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Relay, RelayOptions } from '@genai-enrich/relay';
import { faultTarget } from './fault-target.js';
import type { FaultMode } from './fault-target.js';
import { plainSpanJson, postJson, request1, spanId, testServers } from './relay-kit.js';

const { relayTo } = testServers();

/** Fast retries, a short export timeout: an outage of a second spans many attempts. */
const FAST: RelayOptions = {
  scheduledDelayMillis: 5,
  maxExportBatchSize: 8,
  exportTimeoutMillis: 200,
  retryInitialIntervalMillis: 40,
  retryMaxIntervalMillis: 150,
  retryMaxElapsedMillis: 60_000,
};

let next = 0;

/** Posts `requests` requests of `size` spans; resolves with the ids of the spans acknowledged (200). */
async function post(relay: Relay, requests: number, size: number): Promise<string[]> {
  const acknowledged: string[] = [];
  for (let r = 0; r < requests; r++) {
    const ids = Array.from({ length: size }, () => spanId(++next));
    const answer = await postJson(relay, request1(ids.map((id) => plainSpanJson(id))));
    assert.equal(answer.status, 200, answer.body.toString());
    acknowledged.push(...ids);
  }
  return acknowledged;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The target counts a span before it answers, the relay once the answer is in: wait for the relay too. */
async function delivered(relay: Relay, spans: number): Promise<void> {
  for (let i = 0; i < 250 && relay.stats().forwarding!.delivered < spans; i++) await sleep(20);
}

describe('delivery under faults', () => {
  for (const fault of ['503', 'hang', 'refuse', 'reset'] as FaultMode[]) {
    it(`target ${fault === 'refuse' ? 'refuses connections' : fault === 'hang' ? 'hangs' : fault === 'reset' ? 'resets connections' : 'answers 503'} for 1.2 s: every acknowledged span arrives once, after`, async () => {
      const target = await faultTarget();
      const relay = await relayTo(target.url, FAST);
      await target.mode(fault);
      const sent = await post(relay, 12, 10);
      await sleep(1200); // longer than the export timeout, several retries each
      const during = relay.stats().forwarding!;
      assert.equal(target.arrivals.size, 0, 'nothing got through during the outage');
      assert.ok(during.retries > 0, 'deliveries were retried');
      assert.equal(during.queuedSpans, sent.length, 'every span waits in the queue');
      await target.mode('ok');
      await target.waitFor(sent.length, 10_000);
      for (const id of sent) assert.equal(target.arrivals.get(id), 1, `span ${id} arrived once`);
      await delivered(relay, sent.length);
      const s = relay.stats();
      assert.equal(s.forwarding!.delivered, sent.length);
      assert.equal(s.forwarding!.lost, 0);
      assert.equal(s.forwarding!.queuedSpans, 0);
      assert.equal(s.relay.exportedSpans, sent.length);
    });
  }

  it('honours Retry-After: a 1 s Retry-After spaces the attempts, though the back-off is 40 ms', async () => {
    const target = await faultTarget();
    const relay = await relayTo(target.url, { ...FAST, exportConcurrency: 1 });
    await target.mode('503', 1);
    const sent = await post(relay, 1, 4);
    await sleep(1500);
    assert.ok(target.requests['503'] <= 2, `${target.requests['503']} attempts in 1.5 s`);
    await target.mode('ok');
    await target.waitFor(sent.length, 5000);
    await delivered(relay, sent.length);
    assert.equal(relay.stats().forwarding!.delivered, sent.length);
  });

  it('a batch the target refuses for good (400) is not retried: counted rejectedByTarget', async () => {
    const target = await faultTarget();
    const relay = await relayTo(target.url, { ...FAST, exportConcurrency: 1 });
    await target.mode('400');
    const sent = await post(relay, 1, 4);
    for (let i = 0; i < 100 && relay.stats().forwarding!.rejectedByTarget < sent.length; i++) await sleep(10);
    await sleep(200);
    const s = relay.stats().forwarding!;
    assert.equal(s.rejectedByTarget, sent.length);
    assert.equal(s.retries, 0);
    assert.equal(target.requests['400'], 1);
  });

  it('a batch still failing when its retry time runs out is counted lost, and the counts add up', async () => {
    const target = await faultTarget();
    const relay = await relayTo(target.url, { ...FAST, retryMaxElapsedMillis: 300 });
    await target.mode('503');
    const sent = await post(relay, 3, 5);
    for (let i = 0; i < 200 && relay.stats().forwarding!.lost < sent.length; i++) await sleep(10);
    const s = relay.stats();
    assert.equal(s.forwarding!.lost, sent.length);
    assert.equal(s.forwarding!.queuedSpans, 0);
    assert.equal(
      s.relay.exportedSpans,
      s.forwarding!.delivered + s.forwarding!.rejectedByTarget + s.forwarding!.lost + s.forwarding!.queuedSpans,
    );
    // Room again: the lost spans no longer count against the queue.
    assert.equal(s.relay.queueBytes, 0);
  });
});
