/*
 * Where the delivery queue keeps encoded batches until they are delivered: in memory, or in a directory
 * that outlives the process (the durable queue, the relay's default when it forwards).
 *
 *   <dir>/batches/<sequence, 16 digits>-<spans>.otlp   one encoded OTLP request per file, in the forward
 *                                                      protocol's encoding
 *   add: written to `<name>.tmp`, then renamed: a crash leaves a whole batch or none (a stray .tmp is
 *        removed at the next start)
 *   remove: unlinked once the batch is delivered, refused or lost
 *   load (at start): every batch left, oldest first; their bodies are read when they are sent
 *
 * No fsync, as the Collector's `file_storage` defaults: a batch survives the process (a crash, SIGKILL, an
 * OOM kill) but not the machine losing power before the page cache is written. Batches added in this
 * process are kept in memory too (they are counted in the relay's byte budget), so sending reads no file.
 */
import { mkdir, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One stored batch. */
export interface StoredBatch {
  readonly spans: number;
  readonly bytes: number;
  body(): Promise<Uint8Array>;
}

export interface BatchStore {
  /** Whether batches outlive the process. */
  readonly durable: boolean;
  /** Bytes of batches stored now. */
  readonly bytes: number;
  add(body: Uint8Array, spans: number): Promise<StoredBatch>;
  /** Forgets a batch (delivered, refused or lost); never throws. */
  remove(batch: StoredBatch): void;
  close(): Promise<void>;
}

export class MemoryBatchStore implements BatchStore {
  readonly durable = false;
  bytes = 0;

  add(body: Uint8Array, spans: number): Promise<StoredBatch> {
    this.bytes += body.length;
    return Promise.resolve({ spans, bytes: body.length, body: () => Promise.resolve(body) });
  }

  remove(batch: StoredBatch): void {
    this.bytes -= batch.bytes;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface FileBatch extends StoredBatch {
  readonly file: string;
}

const BATCH_FILE = /^(\d{16})-(\d+)\.otlp$/;

export class DirectoryBatchStore implements BatchStore {
  readonly durable = true;
  bytes = 0;
  private readonly _dir: string;
  private _next = 0;
  private _closed = false;

  private constructor(dir: string) {
    this._dir = dir;
  }

  /** Opens `<dir>/batches`, creating it; returns the store and the batches a previous run left, oldest first. */
  static async open(dir: string): Promise<{ store: DirectoryBatchStore; left: StoredBatch[] }> {
    const store = new DirectoryBatchStore(join(dir, 'batches'));
    await mkdir(store._dir, { recursive: true });
    const left: StoredBatch[] = [];
    const names = (await readdir(store._dir)).sort();
    for (const name of names) {
      const file = join(store._dir, name);
      if (name.endsWith('.tmp')) {
        await rm(file, { force: true }); // a write cut short: its batch was never acknowledged to the processor
        continue;
      }
      const match = BATCH_FILE.exec(name);
      if (match === null) continue;
      const bytes = (await stat(file)).size;
      store._next = Math.max(store._next, Number(match[1]) + 1);
      store.bytes += bytes;
      const batch: FileBatch = { file, spans: Number(match[2]), bytes, body: () => readFile(file) };
      left.push(batch);
    }
    return { store, left };
  }

  async add(body: Uint8Array, spans: number): Promise<StoredBatch> {
    if (this._closed) throw new Error('the queue directory is closed');
    const name = `${String(this._next++).padStart(16, '0')}-${spans}.otlp`;
    const file = join(this._dir, name);
    await writeFile(`${file}.tmp`, body);
    await rename(`${file}.tmp`, file);
    this.bytes += body.length;
    const batch: FileBatch = { file, spans, bytes: body.length, body: () => Promise.resolve(body) };
    return batch;
  }

  remove(batch: StoredBatch): void {
    this.bytes -= batch.bytes;
    unlink((batch as FileBatch).file).catch(() => {}); // already gone: nothing to forget
  }

  close(): Promise<void> {
    this._closed = true;
    return Promise.resolve();
  }
}
