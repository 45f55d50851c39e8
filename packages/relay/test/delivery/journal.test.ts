/*
 * RequestJournal (journal.ts) on a real directory: a request is on disk once recorded; the indexes of its
 * spans that reach a stored batch go to its .done file; it disappears once all have; a new journal on the
 * same directory replays exactly the spans not done, in order; what a crash can leave half-written (a .tmp,
 * a torn .done line, a .done without its request, an unreadable body) is dealt with, never replayed wrong.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RequestJournal } from '../../src/delivery/journal.js';
import { decodeTraceRequest } from '../../src/otlp/index.js';
import type { RelaySpan } from '../../src/otlp/index.js';
import { plainSpanJson, request1, spanId } from '../relay-kit.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function fresh(): Promise<{ dir: string; journal: RequestJournal }> {
  const dir = await mkdtemp(join(tmpdir(), 'genai-enrich-journal-'));
  dirs.push(dir);
  return { dir, journal: await RequestJournal.open(dir) };
}

function body(first: number, count: number): { bytes: Uint8Array; spans: RelaySpan[] } {
  const bytes = Buffer.from(
    JSON.stringify(request1(Array.from({ length: count }, (_, i) => plainSpanJson(spanId(first + i))))),
  );
  return { bytes, spans: decodeTraceRequest(bytes, 'json').spans };
}

const ids = (spans: readonly RelaySpan[]): string[] => spans.map((s) => s.spanContext().spanId);

async function files(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'requests'))).sort();
}

describe('RequestJournal', () => {
  it('keeps a request until every span of it is in a stored batch, noting which are', async () => {
    const { dir, journal } = await fresh();
    const { bytes, spans } = body(1, 4);
    assert.equal(await journal.record(bytes, 'json', spans).written, true);
    spans.forEach((span) => journal.handed(span));
    assert.deepEqual(await files(dir), ['0000000000000000.json']);
    assert.equal(journal.bytes, bytes.length);
    await journal.enqueued([spans[2], spans[0]]);
    assert.deepEqual(await files(dir), ['0000000000000000.done', '0000000000000000.json']);
    assert.equal((await readFile(join(dir, 'requests', '0000000000000000.done'), 'utf8')).trim(), '2,0');
    await journal.enqueued([spans[1], spans[3], spans[1]]); // a span reported twice counts once
    await journal.settle();
    assert.deepEqual(await files(dir), []);
    assert.equal(journal.bytes, 0);
  });

  it('a new journal on the directory replays exactly the spans not done, request by request, in order', async () => {
    const { dir, journal } = await fresh();
    const a = body(1, 3);
    const b = body(10, 2);
    await journal.record(a.bytes, 'json', a.spans).written;
    await journal.record(b.bytes, 'json', b.spans).written;
    await journal.enqueued([a.spans[1]]);
    const again = await RequestJournal.open(dir);
    const replayed = await again.replay();
    assert.deepEqual(ids(replayed), [spanId(1), spanId(3), spanId(10), spanId(11)]);
    assert.deepEqual({ ...again.counts }, { replayedRequests: 2, replayedSpans: 4, unreadable: 0 });
    // The replayed spans carry their place: once in a batch, the journal forgets them.
    await again.enqueued(replayed);
    await again.settle();
    assert.deepEqual(await files(dir), []);
    // New requests after a replay do not reuse a sequence number still on disk.
    const c = body(20, 1);
    const { entry } = again.record(c.bytes, 'json', c.spans);
    assert.ok(entry.seq >= 2);
  });

  it('a refused request is forgotten; spans the intake did not take are never replayed', async () => {
    const { dir, journal } = await fresh();
    const refused = body(1, 2);
    journal.forget(journal.record(refused.bytes, 'json', refused.spans).entry);
    const partial = body(5, 3);
    journal.record(partial.bytes, 'json', partial.spans);
    journal.handed(partial.spans[0]);
    journal.unhanded(partial.spans);
    await journal.settle();
    const replayed = await (await RequestJournal.open(dir)).replay();
    assert.deepEqual(ids(replayed), [spanId(5)]);
  });

  it('what a crash leaves: a .tmp and an orphan .done are removed, a torn line ignored, a bad body set aside', async () => {
    const { dir, journal } = await fresh();
    const a = body(1, 3);
    await journal.record(a.bytes, 'json', a.spans).written;
    const requests = join(dir, 'requests');
    await appendFile(join(requests, '0000000000000000.done'), '0\n2,'); // the second line cut short
    await writeFile(join(requests, '0000000000000007.json.tmp'), '{"resourceSpans":[');
    await writeFile(join(requests, '0000000000000008.done'), '0\n');
    await writeFile(join(requests, '0000000000000009.pb'), Buffer.from([0x0a, 0xff])); // not protobuf
    const again = await RequestJournal.open(dir);
    const replayed = await again.replay();
    assert.deepEqual(ids(replayed), [spanId(2), spanId(3)]);
    assert.equal(again.counts.unreadable, 1);
    assert.deepEqual(await files(dir), ['0000000000000000.done', '0000000000000000.json', '0000000000000009.pb.bad']);
  });
});
