/*
 * The request journal: every request the relay acknowledges is on disk before its 200 goes out, until
 * each of its spans is in a stored batch of the delivery queue. Spans wait in memory between the two (held
 * for late usage up to --hold-millis, batched up to --scheduled-delay-millis); the journal is what brings
 * them back after a crash.
 *
 *   <dir>/requests/<sequence>.pb | .json   the request body as it arrived (decompressed)
 *   <dir>/requests/<sequence>.done         the indexes of its spans already in stored batches, appended
 *
 *   record(body, spans) ─► written (.tmp, renamed) ─► each span tagged with its request and index
 *   intake refused the request ─► forget: unlinked, as if it never came
 *   intake left spans out (partial success) ─► unhanded: their indexes are done, they are never replayed
 *   delivery queue stored a batch (delivery-queue.ts onStored) ─► enqueued(spans): their indexes appended
 *     to .done; a request with nothing left ─► both files unlinked
 *   start ─► replay(): each request left, decoded again (the same spans in the same order), minus the
 *     indexes in its .done ─► handed to the processor again
 *
 * After a crash a span can come twice only if it was in a stored batch whose index had not reached
 * .done (the crash fell between the two writes): at most the batch the processor was exporting. A request
 * whose body cannot be read or decoded at replay is moved aside (`.bad`) and reported, never retried
 * forever. No fsync, as in batch-store.ts.
 */
import { appendFile, mkdir, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diag } from '@opentelemetry/api';
import type { ReadableSpanLike } from '@genai-enrich/processor';
import { decodeTraceRequest } from '../otlp/index.js';
import type { OtlpFormat, RelaySpan } from '../otlp/index.js';

/** Where a journaled span keeps its request and index (a symbol of the relay's; exporters never read it). */
const JOURNALED = Symbol('genai-enrich.relay.journaled');

/** A request on disk, until every span of it is stored in a batch. */
export interface JournalEntry {
  readonly seq: number;
  readonly file: string;
  readonly bytes: number;
  /** Spans not yet in a stored batch. */
  outstanding: number;
  /** Its appends and final unlinks, one after another (an append never lands after the unlink). */
  chain: Promise<void>;
}

interface Tag {
  entry: JournalEntry;
  index: number;
  handed: boolean;
}

type Tagged = { [JOURNALED]?: Tag };

const EXTENSIONS: Record<OtlpFormat, string> = { protobuf: 'pb', json: 'json' };
const REQUEST_FILE = /^(\d{16})\.(pb|json)$/;

export class RequestJournal {
  /** Bytes of request bodies on disk now. */
  bytes = 0;
  /** Requests whose spans came back from a previous run, and those spans. */
  readonly counts = { replayedRequests: 0, replayedSpans: 0, unreadable: 0 };
  private readonly _dir: string;
  private _next = 0;
  /** Entries with writes still running, for settle(). */
  private readonly _busy = new Set<JournalEntry>();

  private constructor(dir: string) {
    this._dir = dir;
  }

  static async open(dir: string): Promise<RequestJournal> {
    const journal = new RequestJournal(join(dir, 'requests'));
    await mkdir(journal._dir, { recursive: true });
    return journal;
  }

  /** Writes the request and tags its spans; resolves once it is on disk (then the 200 may go out). */
  async record(body: Uint8Array, format: OtlpFormat, spans: readonly RelaySpan[]): Promise<JournalEntry> {
    const seq = this._next++;
    const file = join(this._dir, `${String(seq).padStart(16, '0')}.${EXTENSIONS[format]}`);
    await writeFile(`${file}.tmp`, body);
    await rename(`${file}.tmp`, file);
    this.bytes += body.length;
    const entry: JournalEntry = { seq, file, bytes: body.length, outstanding: spans.length, chain: Promise.resolve() };
    spans.forEach((span, index) => tag(span, { entry, index, handed: false }));
    return entry;
  }

  /** The intake took this span: it will reach a batch (see `unhanded`). */
  handed(span: ReadableSpanLike): void {
    const tagged = (span as Tagged)[JOURNALED];
    if (tagged !== undefined) tagged.handed = true;
  }

  /** The request was refused whole: nothing of it was acknowledged. */
  forget(entry: JournalEntry): void {
    entry.outstanding = 0;
    void this._remove(entry);
  }

  /** After the intake: spans of the request it did not take (reported rejected) are never replayed. */
  unhanded(spans: readonly RelaySpan[]): void {
    const left = spans.filter((span) => (span as Tagged)[JOURNALED]?.handed === false);
    if (left.length > 0) void this.enqueued(left);
  }

  /**
   * These spans are in a stored batch (delivery-queue.ts): resolves once that is on disk, so that the
   * batch is acknowledged to the processor only then. Never rejects.
   */
  enqueued(spans: readonly ReadableSpanLike[]): Promise<void> {
    const byEntry = new Map<JournalEntry, number[]>();
    for (const span of spans) {
      const tagged = (span as Tagged)[JOURNALED];
      if (tagged === undefined || tagged.entry.outstanding === 0) continue;
      (span as Tagged)[JOURNALED] = undefined; // once, whatever happens to the span next
      let indexes = byEntry.get(tagged.entry);
      if (indexes === undefined) byEntry.set(tagged.entry, (indexes = []));
      indexes.push(tagged.index);
    }
    const writes: Array<Promise<void>> = [];
    for (const [entry, indexes] of byEntry) {
      entry.outstanding -= indexes.length;
      if (entry.outstanding <= 0) writes.push(this._remove(entry));
      else {
        const line = `${indexes.join(',')}\n`;
        writes.push(this._then(entry, () => appendFile(doneFile(entry.file), line)));
      }
    }
    return Promise.all(writes).then(() => {});
  }

  /**
   * At start: the spans of every request a previous run left, minus those already in stored batches, each
   * tagged again; in the order the requests came.
   */
  async replay(): Promise<RelaySpan[]> {
    const out: RelaySpan[] = [];
    const names = (await readdir(this._dir)).sort();
    const present = new Set(names);
    for (const name of names) {
      const file = join(this._dir, name);
      if (name.endsWith('.tmp')) {
        await rm(file, { force: true }); // never acknowledged: its 200 waited for the rename
        continue;
      }
      const stem = name.replace(/\.done$/, '');
      if (name.endsWith('.done') && !present.has(`${stem}.pb`) && !present.has(`${stem}.json`)) {
        await rm(file, { force: true }); // its request was unlinked just before a crash
        continue;
      }
      const match = REQUEST_FILE.exec(name);
      if (match === null) continue;
      this._next = Math.max(this._next, Number(match[1]) + 1);
      let spans: RelaySpan[];
      let done: Set<number>;
      try {
        const body = await readFile(file);
        spans = decodeTraceRequest(body, match[2] === 'pb' ? 'protobuf' : 'json').spans;
        done = parseDone(await readFile(doneFile(file), 'utf8').catch(() => ''));
      } catch (error) {
        this.counts.unreadable++;
        diag.error(`genai-enrich relay: journaled request ${name} cannot be replayed (${String(error)}); kept as .bad`);
        await rename(file, `${file}.bad`).catch(() => {});
        continue;
      }
      const bytes = (await stat(file)).size;
      const entry: JournalEntry = { seq: Number(match[1]), file, bytes, outstanding: 0, chain: Promise.resolve() };
      spans.forEach((span, index) => {
        if (done.has(index)) return;
        tag(span, { entry, index, handed: true });
        entry.outstanding++;
        out.push(span);
      });
      if (entry.outstanding === 0) {
        await this._remove(entry, false);
        continue;
      }
      this.bytes += bytes;
      this.counts.replayedRequests++;
      this.counts.replayedSpans += entry.outstanding;
    }
    return out;
  }

  /** Resolves once every pending append and unlink has run (at shutdown). */
  async settle(): Promise<void> {
    for (const entry of [...this._busy]) await entry.chain;
  }

  private _remove(entry: JournalEntry, counted = true): Promise<void> {
    if (counted) this.bytes -= entry.bytes;
    void this._then(entry, () => unlink(entry.file));
    return this._then(entry, () => unlink(doneFile(entry.file))); // no .done when nothing was appended
  }

  private _then(entry: JournalEntry, op: () => Promise<void>): Promise<void> {
    this._busy.add(entry);
    const chain = entry.chain.then(op).catch(() => {});
    entry.chain = chain;
    void chain.then(() => {
      if (entry.chain === chain) this._busy.delete(entry);
    });
    return chain;
  }
}

function tag(span: RelaySpan, value: Tag): void {
  (span as Tagged)[JOURNALED] = value;
}

function doneFile(file: string): string {
  return file.replace(/\.(pb|json)$/, '.done');
}

/** The indexes in a .done file; a line cut short by a crash is ignored. */
function parseDone(text: string): Set<number> {
  const done = new Set<number>();
  for (const line of text.split('\n')) {
    if (!/^\d+(,\d+)*$/.test(line)) continue;
    for (const index of line.split(',')) done.add(Number(index));
  }
  return done;
}
