/*
 * DeliveryQueue (delivery-queue.ts) with a scripted sender: the order and concurrency of deliveries, what
 * each answer leads to (delivered, retried, refused for good, partial success, lost when the retry time runs
 * out), Retry-After, the byte accounting the relay's budget relies on, when a batch's journal places are
 * released, when a batch is written to disk (only when it has to wait), and drain/stop for both stores
 * (memory: counted lost; a directory: left for the next start, and delivered by it).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReadableSpanLike } from '@genai-enrich/processor';
import { DirectoryBatchStore, MemoryBatchStore } from '../../src/delivery/batch-store.js';
import type { BatchStore } from '../../src/delivery/batch-store.js';
import { DeliveryQueue } from '../../src/delivery/delivery-queue.js';
import type { RetryPolicy } from '../../src/delivery/delivery-queue.js';
import type { SendOutcome, Sender } from '../../src/delivery/http-sender.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const OK: SendOutcome = { status: 'success', rejectedSpans: 0, message: undefined };
const RETRY: SendOutcome = { status: 'retryable', retryInMillis: undefined, reason: '503' };

/** A sender that answers from a script (the last answer repeats), recording each body and when. */
class ScriptedSender implements Sender {
  readonly sent: Array<{ body: string; at: number }> = [];
  inFlight = 0;
  maxInFlight = 0;
  private readonly _script: Array<SendOutcome | 'hang'>;
  private readonly _hung: Array<() => void> = [];

  constructor(...script: Array<SendOutcome | 'hang'>) {
    this._script = script;
  }

  async send(body: Uint8Array): Promise<SendOutcome> {
    this.sent.push({ body: Buffer.from(body).toString(), at: Date.now() });
    const answer = this._script.length > 1 ? this._script.shift()! : this._script[0];
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (answer === 'hang') {
        await new Promise<void>((resolve) => this._hung.push(resolve));
        return RETRY;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
      return answer;
    } finally {
      this.inFlight--;
    }
  }

  shutdown(): void {
    for (const release of this._hung.splice(0)) release();
  }
}

const FAST: RetryPolicy = {
  initialIntervalMillis: 10,
  multiplier: 1.5,
  maxIntervalMillis: 20,
  maxElapsedMillis: 60_000,
  randomization: 0,
};

function queue(
  sender: Sender,
  options: { store?: BatchStore; concurrency?: number; retry?: Partial<RetryPolicy> } = {},
) {
  const bytes = { queued: 0, settled: 0 };
  const claimed: string[] = [];
  const released: string[] = [];
  const q = new DeliveryQueue({
    encode: (spans) => Buffer.from(spans.map((s) => s.name).join(',')),
    sender,
    store: options.store ?? new MemoryBatchStore(),
    concurrency: options.concurrency ?? 2,
    timeoutMillis: 1000,
    retry: { ...FAST, ...options.retry },
    claim: (spans) => {
      const names = spans.map((s) => s.name).join(',');
      claimed.push(names);
      return () => {
        released.push(names);
        return Promise.resolve();
      };
    },
    onQueued: (b) => (bytes.queued += b),
    onSettled: (b) => (bytes.settled += b),
  });
  return { q, bytes, claimed, released };
}

/** Exports a batch of spans named `names`, resolving with the export's result code. */
function exportBatch(q: DeliveryQueue, ...names: string[]): Promise<number> {
  const spans = names.map((name) => ({ name }) as unknown as ReadableSpanLike);
  return new Promise((resolve) => q.export(spans, (result) => resolve(result.code)));
}

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('DeliveryQueue', () => {
  it('acknowledges an export at once, delivers oldest first, at most `concurrency` at once', async () => {
    const sender = new ScriptedSender(OK);
    const { q, bytes, claimed, released } = queue(sender, { concurrency: 2 });
    const codes = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((name) => exportBatch(q, name)));
    assert.deepEqual(codes, [0, 0, 0, 0, 0]);
    assert.deepEqual(claimed, ['a', 'b', 'c', 'd', 'e']);
    await until(() => q.counts.delivered === 5);
    assert.deepEqual([...released].sort(), ['a', 'b', 'c', 'd', 'e'], 'released once delivered');
    assert.deepEqual(
      sender.sent.map((s) => s.body),
      ['a', 'b', 'c', 'd', 'e'],
    );
    assert.equal(sender.maxInFlight, 2);
    assert.equal(q.spans, 0);
    assert.equal(bytes.queued, 5);
    assert.equal(bytes.settled, 5, 'every byte taken is given back');
  });

  it('retries what fails with a retryable answer until it goes through; nothing is lost', async () => {
    const sender = new ScriptedSender(RETRY, RETRY, RETRY, OK);
    const { q } = queue(sender, { concurrency: 1 });
    await exportBatch(q, 'x', 'y');
    await until(() => q.counts.delivered === 2);
    assert.equal(sender.sent.length, 4);
    assert.equal(q.counts.retries, 3);
    assert.equal(q.counts.lost, 0);
  });

  it('waits at least what Retry-After asks, when it asks for longer than the back-off', async () => {
    const sender = new ScriptedSender({ status: 'retryable', retryInMillis: 300, reason: '429' }, OK);
    const { q } = queue(sender, { concurrency: 1 });
    await exportBatch(q, 'x');
    await until(() => q.counts.delivered === 1);
    assert.ok(sender.sent[1].at - sender.sent[0].at >= 295, `${sender.sent[1].at - sender.sent[0].at} ms apart`);
  });

  it('a refusal for good is not retried; a partial success counts the spans the target rejected', async () => {
    const sender = new ScriptedSender(
      { status: 'failure', reason: '400' },
      { status: 'success', rejectedSpans: 1, message: 'bad span' },
    );
    const { q, bytes } = queue(sender, { concurrency: 1 });
    await exportBatch(q, 'a', 'b');
    await exportBatch(q, 'c', 'd', 'e');
    await until(() => q.spans === 0);
    assert.equal(sender.sent.length, 2);
    assert.deepEqual(
      { ...q.counts },
      { delivered: 2, rejectedByTarget: 3, lost: 0, retries: 0, storeFailures: 0, resumed: 0 },
    );
    assert.equal(bytes.queued, bytes.settled);
  });

  it('a batch still failing when its retry time runs out is lost; 0 retries nothing', async () => {
    const sender = new ScriptedSender(RETRY);
    const { q } = queue(sender, { concurrency: 1, retry: { maxElapsedMillis: 0 } });
    await exportBatch(q, 'a', 'b', 'c');
    await until(() => q.counts.lost === 3);
    assert.equal(sender.sent.length, 1);
    assert.equal(q.spans, 0);
  });

  it('drain stops at its deadline; stop() then counts a memory queue lost', async () => {
    const sender = new ScriptedSender('hang');
    const { q } = queue(sender, { concurrency: 1 });
    await exportBatch(q, 'a');
    await exportBatch(q, 'b', 'c');
    const start = Date.now();
    await q.drain(Date.now() + 100);
    assert.ok(Date.now() - start < 2000);
    assert.equal(q.spans, 3);
    await q.stop();
    await until(() => q.counts.lost === 3);
    assert.equal(q.counts.delivered, 0);
  });

  it('a batch is written to a directory only when it has to wait, and its journal places released then', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'genai-enrich-delivery-'));
    dirs.push(dir);
    const { store } = await DirectoryBatchStore.open(dir);
    const healthy = queue(new ScriptedSender(OK), { store, concurrency: 1 });
    await exportBatch(healthy.q, 'a');
    await until(() => healthy.q.counts.delivered === 1);
    assert.equal(store.bytes, 0, 'a batch delivered at once was never written');

    const sender = new ScriptedSender(RETRY, 'hang');
    const failing = queue(sender, { store, concurrency: 1 });
    await exportBatch(failing.q, 'b', 'c');
    await until(() => sender.sent.length === 2);
    assert.deepEqual(await readdir(join(dir, 'batches')), ['0000000000000000-2.otlp'], 'written when it failed');
    assert.deepEqual(failing.released, ['b,c'], 'its requests need no journal now');
    sender.shutdown(); // the hung attempt fails; then it is delivered
  });

  it('a directory store keeps what stop() left, and a new queue on it delivers that first', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'genai-enrich-delivery-'));
    dirs.push(dir);
    const first = await DirectoryBatchStore.open(dir);
    const hanging = new ScriptedSender('hang');
    const { q } = queue(hanging, { store: first.store, concurrency: 1 });
    await exportBatch(q, 'a');
    await exportBatch(q, 'b', 'c');
    await q.drain(Date.now() + 50);
    await q.stop();
    assert.equal(q.counts.lost, 0, 'nothing is lost: it is on disk');
    assert.equal(q.spans, 3, 'and still counted as queued');
    assert.equal((await readdir(join(dir, 'batches'))).length, 2);

    const second = await DirectoryBatchStore.open(dir);
    assert.deepEqual(
      second.left.map((b) => b.spans),
      [1, 2],
    );
    const sender = new ScriptedSender(OK);
    const next = queue(sender, { store: second.store, concurrency: 1 });
    next.q.resume(second.left);
    await until(() => next.q.counts.delivered === 3);
    assert.deepEqual(
      sender.sent.map((s) => s.body),
      ['a', 'b,c'],
    );
    assert.equal(next.q.counts.resumed, 3);
    let files = await readdir(join(dir, 'batches'));
    for (let i = 0; i < 100 && files.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      files = await readdir(join(dir, 'batches'));
    }
    assert.deepEqual(files, [], 'delivered batches are removed');
  });
});
