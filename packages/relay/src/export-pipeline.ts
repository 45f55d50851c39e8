/*
 * What the OTLP/gRPC receiver (grpc-server.ts) shares with the OTLP/HTTP one (server.ts): one pipeline, one
 * set of limits and counters, so that a request gets the same answer whichever protocol brings it.
 *
 *   refusal(bytes) ─ shutting down, export queue full (503), too large (413), in-flight budget spent (429)
 *   inflight.tryTake(bytes) ─ the body's bytes, from now until it is decoded
 *   accept(body) ─ decode (400), admit and hand to the processor (503) ─► accepted, with partial success
 */
import type { ByteBudget } from './accounting.js';
import type { Refusal } from './body-reader.js';

/** What became of a body: accepted (partial success when some spans were rejected), or refused. */
export type Accepted =
  | { ok: true; partial: { rejectedSpans: number; errorMessage: string } | undefined }
  | { ok: false; status: 400 | 503; message: string };

/** The relay counters a receiver adds to (server.ts's RelayCounters). */
export interface ReceiverCounters {
  exportRequests: number;
  throttled: number;
  bytesReceived: number;
  bytesDecoded: number;
  connectionsRefused: number;
  /** Answers to OTLP/gRPC Export calls, by gRPC status name. */
  grpcResponses: Record<string, number>;
}

export interface ExportPipeline {
  readonly counters: ReceiverCounters;
  /** Bytes of request bodies being read or decoded, across all connections and both protocols. */
  readonly inflight: ByteBudget;
  /** Why a request whose body is `bytes` long would be refused before its body is taken, if it would. */
  refusal(bytes: number): Refusal | undefined;
  /** Decodes a protobuf body and hands its spans to the processor; gives `taken` back to `inflight` once decoded. */
  accept(body: Buffer, taken: number): Promise<Accepted>;
}
