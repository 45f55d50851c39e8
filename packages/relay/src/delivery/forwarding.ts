/*
 * Forwarding, assembled: the delivery queue (delivery-queue.ts) with its sender (http-sender.ts, or
 * grpc-sender.ts for --forward-protocol grpc), and, for
 * the durable queue, the directory (batch-store.ts, journal.ts) with a lock so that two relays never share it.
 *
 *   open(config) ─► <queueDir>/lock (another live relay holds it? refused) ─► stored batches left by the
 *     previous run ─► queue.resume ─► journaled requests left ─► replay() hands their spans back
 *   the journal notes each exported batch's spans (claim) and forgets their requests once the queue
 *     releases them: delivered, refused, lost, or stored because they have to wait
 *   close(deadline) ─► drain until the deadline ─► queue.shutdown ─► journal settled ─► lock removed (and an
 *     ephemeral directory with it)
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpanLike } from '@genai-enrich/processor';
import { MEMORY_QUEUE } from '../config.js';
import type { RelayConfig } from '../config.js';
import { TRACE_EXPORT_METHOD } from '../grpc-method.js';
import { encodeTraceRequest } from '../otlp/index.js';
import type { RelaySpan } from '../otlp/index.js';
import { DirectoryBatchStore, MemoryBatchStore } from './batch-store.js';
import type { BatchStore, StoredBatch } from './batch-store.js';
import { DeliveryQueue } from './delivery-queue.js';
import type { DeliveryCounts } from './delivery-queue.js';
import { GrpcSender } from './grpc-sender.js';
import { HttpSender } from './http-sender.js';
import type { Sender } from './http-sender.js';
import { RequestJournal } from './journal.js';

/** What `/stats` shows of forwarding. */
export interface ForwardingStats extends DeliveryCounts {
  /** Whether the queue survives the process. */
  durable: boolean;
  /** Spans queued for delivery now: waiting, in flight or backing off (a gauge). */
  queuedSpans: number;
  /** Encoded bytes queued for delivery now (a gauge). */
  queuedBytes: number;
  /** Batches being sent now (a gauge). */
  inFlight: number;
  /** Bytes of the durable queue's files now: stored batches and journaled requests (a gauge). */
  diskBytes: number;
  /** Spans of requests a previous run acknowledged and left in the journal, handed to the processor again. */
  replayedSpans: number;
}

export interface ForwardingHooks {
  onQueued(bytes: number): void;
  onSettled(bytes: number): void;
}

export class Forwarding {
  readonly queue: DeliveryQueue;
  readonly journal: RequestJournal | undefined;
  private readonly _store: BatchStore;
  private readonly _dir: string | undefined;
  private readonly _ephemeral: boolean;
  private _left: StoredBatch[];

  private constructor(
    queue: DeliveryQueue,
    store: BatchStore,
    journal: RequestJournal | undefined,
    dir: string | undefined,
    ephemeral: boolean,
    left: StoredBatch[],
  ) {
    this.queue = queue;
    this._store = store;
    this.journal = journal;
    this._dir = dir;
    this._ephemeral = ephemeral;
    this._left = left;
  }

  static async open(config: RelayConfig, forward: string, hooks: ForwardingHooks): Promise<Forwarding> {
    // OTLP/gRPC carries the same protobuf bytes as http/protobuf.
    const json = config.forwardProtocol === 'http/json';
    const common = {
      url: forward,
      headers: { ...config.forwardHeaders },
      gzip: config.forwardCompression === 'gzip',
      readPartialSuccess: (body: Uint8Array) => readPartialSuccess(body, json),
    };
    const sender: Sender =
      config.forwardProtocol === 'grpc'
        ? new GrpcSender({ ...common, method: TRACE_EXPORT_METHOD })
        : new HttpSender({ ...common, contentType: json ? 'application/json' : 'application/x-protobuf' });
    const ephemeral = config.queueDir === undefined;
    let dir = config.queueDir === MEMORY_QUEUE ? undefined : config.queueDir;
    if (ephemeral) {
      await mkdir(join(tmpdir(), 'genai-enrich-relay'), { recursive: true });
      dir = await mkdtemp(join(tmpdir(), 'genai-enrich-relay', 'run-'));
    }
    let store: BatchStore = new MemoryBatchStore();
    let journal: RequestJournal | undefined;
    let left: StoredBatch[] = [];
    if (dir !== undefined) {
      await lock(dir);
      const opened = await DirectoryBatchStore.open(dir);
      store = opened.store;
      left = opened.left;
      journal = await RequestJournal.open(dir);
    }
    const queue = new DeliveryQueue({
      encode: (spans) => encodeTraceRequest(spans, json ? 'json' : 'protobuf'),
      sender,
      store,
      concurrency: config.exportConcurrency,
      timeoutMillis: config.exportTimeoutMillis,
      retry: {
        initialIntervalMillis: config.retryInitialIntervalMillis,
        multiplier: 1.5,
        maxIntervalMillis: config.retryMaxIntervalMillis,
        maxElapsedMillis: config.retryMaxElapsedMillis,
        randomization: 0.5,
      },
      ...(journal === undefined ? {} : { claim: (spans: readonly ReadableSpanLike[]) => journal.claim(spans) }),
      onQueued: hooks.onQueued,
      onSettled: hooks.onSettled,
    });
    return new Forwarding(queue, store, journal, dir, ephemeral, left);
  }

  /** Starts delivering what the previous run stored, and returns the spans of the requests it journaled. */
  async resume(): Promise<RelaySpan[]> {
    this.queue.resume(this._left);
    this._left = [];
    return this.journal === undefined ? [] : this.journal.replay();
  }

  stats(): ForwardingStats {
    return {
      ...this.queue.counts,
      durable: this._store.durable,
      queuedSpans: this.queue.spans,
      queuedBytes: this.queue.bytes,
      inFlight: this.queue.inFlight,
      diskBytes: this._store.durable ? this._store.bytes + (this.journal?.bytes ?? 0) : 0,
      replayedSpans: this.journal?.counts.replayedSpans ?? 0,
    };
  }

  /** Delivers until `deadline` (epoch ms), then stops; see the header. */
  async close(deadline: number): Promise<void> {
    await this.queue.drain(deadline);
    await this.queue.stop();
    await this.journal?.settle();
    if (this._dir === undefined) return;
    if (this._ephemeral) await rm(this._dir, { recursive: true, force: true });
    else await rm(join(this._dir, 'lock'), { force: true });
  }
}

/** Takes `<dir>/lock` for this process; refuses when a live process holds it (a dead one's is taken over). */
async function lock(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'lock');
  const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
    throw new Error(`the queue directory ${dir} is in use by process ${holder}: give each relay its own --queue-dir`);
  }
  await writeFile(file, `${process.pid}\n`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM'; // alive, another user's
  }
}

function readPartialSuccess(body: Uint8Array, json: boolean): { rejectedSpans: number; message: string | undefined } {
  if (body.length === 0) return { rejectedSpans: 0, message: undefined };
  const response = json
    ? JsonTraceSerializer.deserializeResponse(body)
    : ProtobufTraceSerializer.deserializeResponse(body);
  const partial = response.partialSuccess;
  const rejected = Number(partial?.rejectedSpans ?? 0);
  return {
    rejectedSpans: Number.isFinite(rejected) && rejected > 0 ? rejected : 0,
    message: partial?.errorMessage === '' ? undefined : partial?.errorMessage,
  };
}
