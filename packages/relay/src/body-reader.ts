/*
 * Reading a request body within the relay's limits, and refusing one so that the client can read why.
 *
 *   chunk off the wire ─ over maxBodyBytes? (413) ─ no room in the in-flight budget? (429) ─► kept
 *        └ gzip: into a streamed gunzip ─ each inflated chunk: over maxBodyBytes? (413) ─ room? (429) ─► kept
 *   nothing for idleMillis ─► 408          the client goes away ─► nothing to answer (status 0)
 *   end ─► the body, and the bytes it took from the budget (the caller gives them back once decoded)
 *
 * A refusal stops buffering at once (what was kept goes back to the budget) and then reads and discards
 * the rest of the body, up to `discardBytes`, before it resolves: the answer is sent once the client has
 * finished sending. Node's fetch, http.request and the OpenTelemetry exporters write the whole body before
 * they read the answer; a server that answers and closes while they are still writing makes them fail with
 * EPIPE or ECONNRESET instead of seeing the status. Past `discardBytes`, or when the body stalls, the caller
 * answers anyway and closes (`drained: false`).
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip } from 'node:zlib';
import type { Gunzip } from 'node:zlib';
import type { ByteBudget } from './accounting.js';

/** How a body is read. */
export interface BodyLimits {
  /** The largest body, on the wire and after gunzip. */
  maxBodyBytes: number;
  /** Bodies being read across all connections: each kept chunk is taken from it. */
  inflight: ByteBudget;
  /** How long the body may send nothing. */
  idleMillis: number;
  /** How much of a refused body is read and thrown away, so that the client sees the answer. */
  discardBytes: number;
  /** Messages name the setting that was reached. */
  flags: { maxBodyBytes: string; maxInflightBytes: string; idleMillis: string };
}

/** A refusal: the status, and why. */
export interface Refusal {
  status: 400 | 408 | 413 | 429 | 503;
  message: string;
}

/** `taken`: bytes of the in-flight budget the body holds. `drained`: the whole refused body was read. */
export type BodyResult =
  { ok: true; body: Buffer; taken: number } | ({ ok: false; drained: boolean } & Refusal) | { ok: false; status: 0 };

/** Counters the reader adds to (the relay's `bytesReceived` and `bytesDecoded`). */
export interface BodyCounters {
  bytesReceived: number;
  bytesDecoded: number;
}

/**
 * Reads `req`'s body (gunzipped when `gzip`) within `limits`. With `refusal`, nothing is kept: the body is
 * discarded as a refused one would be, and the result is that refusal. Never rejects.
 */
export function readBody(
  req: IncomingMessage,
  gzip: boolean,
  limits: BodyLimits,
  counters: BodyCounters,
  refusal?: Refusal,
): Promise<BodyResult> {
  return new Promise<BodyResult>((resolve) => {
    let chunks: Buffer[] = [];
    let raw = 0;
    let inflated = 0;
    let taken = 0;
    let discarded = 0;
    let refused: Refusal | undefined;
    let settled = false;
    let gunzip: Gunzip | undefined;

    const settle = (result: BodyResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      if (!result.ok) {
        // What is left stays on the wire: the caller answers and closes.
        if (!req.readableEnded) req.pause();
        gunzip?.destroy();
      }
      resolve(result);
    };
    /** Stops keeping the body; reads and discards the rest before settling (see the header). */
    const refuse = (why: Refusal): void => {
      if (refused !== undefined || settled) return;
      refused = why;
      chunks = [];
      limits.inflight.give(taken);
      taken = 0;
      gunzip?.destroy();
      gunzip = undefined;
      // A stalled body is not waited for again; one already read to its end has nothing left to discard.
      if (why.status === 408 || req.readableEnded) settle({ ok: false, drained: req.readableEnded, ...why });
    };
    const keep = (chunk: Buffer, message: () => string): boolean => {
      if (!limits.inflight.tryTake(chunk.length)) {
        refuse({ status: 429, message: message() });
        return false;
      }
      taken += chunk.length;
      chunks.push(chunk);
      return true;
    };
    const inflightFull = (): string =>
      `the relay is reading ${limits.inflight.used} bytes of request bodies, its limit is ${limits.inflight.limit} ` +
      `(${limits.flags.maxInflightBytes}); retry later`;

    const onInflated = (chunk: Buffer): void => {
      if (refused !== undefined) return;
      inflated += chunk.length;
      counters.bytesDecoded += chunk.length;
      if (inflated > limits.maxBodyBytes) {
        refuse({
          status: 413,
          message: `the body is over ${limits.maxBodyBytes} bytes after gzip decompression (${limits.flags.maxBodyBytes})`,
        });
      } else keep(chunk, inflightFull);
    };
    const onData = (chunk: Buffer): void => {
      idle.refresh();
      if (refused !== undefined) {
        discarded += chunk.length;
        if (discarded > limits.discardBytes) settle({ ok: false, drained: false, ...refused });
        return;
      }
      raw += chunk.length;
      counters.bytesReceived += chunk.length;
      if (raw > limits.maxBodyBytes) {
        refuse({
          status: 413,
          message: `the body is over ${limits.maxBodyBytes} bytes (${limits.flags.maxBodyBytes})`,
        });
      } else if (gunzip === undefined) {
        inflated += chunk.length;
        counters.bytesDecoded += chunk.length;
        keep(chunk, inflightFull);
      } else if (limits.inflight.tryTake(chunk.length)) {
        // The compressed bytes count until the body is done: zlib holds what it has not inflated yet.
        taken += chunk.length;
        gunzip.write(chunk);
      } else {
        refuse({ status: 429, message: inflightFull() });
      }
    };
    const onEnd = (): void => {
      if (refused !== undefined) settle({ ok: false, drained: true, ...refused });
      else if (gunzip !== undefined) gunzip.end();
      else settle({ ok: true, body: join(chunks, inflated), taken });
    };
    const onClose = (): void => {
      if (!req.complete) {
        limits.inflight.give(taken);
        taken = 0;
        settle({ ok: false, status: 0 });
      }
    };
    const idle = setTimeout(() => {
      if (refused !== undefined) settle({ ok: false, drained: false, ...refused });
      else
        refuse({
          status: 408,
          message: `the body sent nothing for ${limits.idleMillis} ms (${limits.flags.idleMillis})`,
        });
    }, limits.idleMillis);
    idle.unref();

    if (gzip) {
      const stream = createGunzip();
      gunzip = stream;
      stream.on('data', onInflated);
      stream.on('end', () => {
        if (refused === undefined) settle({ ok: true, body: join(chunks, inflated), taken });
      });
      stream.on('error', (error: Error) => {
        if (gunzip === stream) refuse({ status: 400, message: `invalid gzip body: ${error.message}` });
      });
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    if (refusal !== undefined) refuse(refusal);
  });
}

/** The chunks as one buffer; one chunk is used as it is (no copy). */
function join(chunks: Buffer[], length: number): Buffer {
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length);
}
