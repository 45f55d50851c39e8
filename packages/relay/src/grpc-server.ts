/*
 * The relay's OTLP/gRPC receiver: `TraceService/Export` on @grpc/grpc-js, feeding the same pipeline as
 * `POST /v1/traces` (export-pipeline.ts, server.ts), within the same limits.
 *
 *   connection ─ net.Server, handed to grpc-js (createConnectionInjector) ─ over maxConnections? closed at
 *     once (connectionsRefused) ─ no call open for idleTimeoutMillis? closed (grpc.max_connection_idle_ms)
 *   Export ─ grpc-js reads the whole message, gunzips it (grpc-encoding: gzip) and checks its size: over
 *       maxBodyBytes on the wire or inflated (a gzip bomb stops there) ─► RESOURCE_EXHAUSTED, bad gzip ─► INTERNAL
 *     ─ refusal (server.ts): shutting down or export queue full ─► UNAVAILABLE + RetryInfo;
 *       no room in the in-flight budget ─► RESOURCE_EXHAUSTED + RetryInfo
 *     ─ the message's bytes taken from the in-flight budget
 *     ─ accept (server.ts): decodeTraceRequest, protobuf, the relay's own decoder (INVALID_ARGUMENT);
 *       intake (UNAVAILABLE + RetryInfo) ─► OK: ExportTraceServiceResponse, with partial success if any rejected
 *
 * Statuses as the OTLP specification asks: RESOURCE_EXHAUSTED and UNAVAILABLE carry a google.rpc.RetryInfo
 * (rpc-status.ts) in grpc-status-details-bin, Retry-After's value, so that clients know the refusal is
 * retryable and when; a message over the size limit gets RESOURCE_EXHAUSTED without one (retrying cannot help).
 *
 * What differs from HTTP, because grpc-js reads a message before the relay sees it: the in-flight budget
 * counts a message from when grpc-js hands it over (its size, after gunzip) rather than chunk by chunk; a
 * message trickled in slowly is bounded by the client's deadline, not by idleTimeoutMillis.
 *
 * Nothing here throws into grpc-js or crashes the process: the handler is guarded, and an unexpected failure
 * answers INTERNAL.
 */
import { createServer } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import { Metadata, Server, ServerCredentials, status as grpcStatus } from '@grpc/grpc-js';
import type { ConnectionInjector, ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { DEFAULT_RETRY_AFTER_SECONDS } from './config.js';
import type { RelayConfig } from './config.js';
import type { Accepted, ExportPipeline } from './export-pipeline.js';
import { STATUS_DETAILS_KEY, TRACE_EXPORT_METHOD, rawMessage } from './grpc-method.js';
import { listenOn } from './listen.js';
import type { BoundAddress } from './listen.js';
import { encodeTraceResponse } from './otlp/index.js';
import { RPC_CODE, encodeRpcStatusWithRetryInfo, rpcCodeOf } from './rpc-status.js';

/**
 * Streams (calls) at once on one connection. A connection's calls are buffered by grpc-js before the relay
 * counts them, so this bounds what one connection can make it hold; SDKs export one or a few at a time.
 */
export const GRPC_MAX_CONCURRENT_STREAMS = 16;

/** Where the gRPC receiver listens; `url` (`http://host:port`) is what the OpenTelemetry gRPC exporters take. */
export type GrpcAddress = BoundAddress;

type ExportCall = ServerUnaryCall<Buffer, Buffer>;

export class GrpcTraceServer {
  private readonly _config: RelayConfig;
  private readonly _pipeline: ExportPipeline;
  private readonly _grpc: Server;
  private readonly _injector: ConnectionInjector;
  private readonly _net: NetServer;
  private _connections = 0;
  private _address: GrpcAddress | undefined;

  constructor(config: RelayConfig, pipeline: ExportPipeline) {
    this._config = config;
    this._pipeline = pipeline;
    this._grpc = new Server({
      // grpc-js checks it on the wire and while it inflates (RESOURCE_EXHAUSTED).
      'grpc.max_receive_message_length': config.maxBodyBytes,
      'grpc.max_connection_idle_ms': config.idleTimeoutMillis,
      'grpc.max_concurrent_streams': GRPC_MAX_CONCURRENT_STREAMS,
    });
    this._grpc.addService(
      {
        Export: {
          path: TRACE_EXPORT_METHOD,
          requestStream: false,
          responseStream: false,
          requestSerialize: rawMessage,
          requestDeserialize: rawMessage,
          responseSerialize: rawMessage,
          responseDeserialize: rawMessage,
        },
      },
      { Export: (call: ExportCall, callback: sendUnaryData<Buffer>) => this._export(call, callback) },
    );
    this._injector = this._grpc.createConnectionInjector(ServerCredentials.createInsecure());
    this._net = createServer((socket: Socket) => {
      this._connections++;
      socket.once('close', () => this._connections--);
      socket.on('error', () => {}); // a reset connection is simply gone
      this._injector.injectConnection(socket);
    });
    this._net.maxConnections = config.maxConnections;
    this._net.on('drop', () => pipeline.counters.connectionsRefused++);
  }

  /** Connections open now. */
  get connections(): number {
    return this._connections;
  }

  get address(): GrpcAddress | undefined {
    return this._address;
  }

  /** Listens on `config.grpcListen`; rejects when it cannot (the port is taken). */
  async listen(): Promise<GrpcAddress> {
    this._address = await listenOn(this._net, this._config.grpcListen!);
    return this._address;
  }

  /**
   * Stops accepting: the listener closes and open connections are told to go away (GOAWAY) once their calls
   * are answered; calls that still arrive are refused (UNAVAILABLE) by the pipeline while it shuts down.
   */
  stopAccepting(): void {
    this._net.close();
    this._injector.drain(this._config.requestTimeoutMillis);
  }

  /** Closes every connection; resolves once the listener is closed. */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      if (!this._net.listening) resolve();
      else this._net.close(() => resolve());
    });
    this._injector.destroy();
    this._grpc.forceShutdown();
    return closed;
  }

  private _export(call: ExportCall, callback: sendUnaryData<Buffer>): void {
    const counters = this._pipeline.counters;
    counters.exportRequests++;
    try {
      const body = call.request;
      // grpc-js hands over the message gunzipped: its size on the wire is not known here.
      counters.bytesReceived += body.length;
      counters.bytesDecoded += body.length;
      const refusal = this._pipeline.refusal(body.length);
      if (refusal !== undefined) return this._refuse(callback, refusal.status, refusal.message);
      // refusal() found room for it, so this takes it (the check is for safety, not expected to fail).
      if (!this._pipeline.inflight.tryTake(body.length)) {
        return this._refuse(callback, 429, 'no room in the in-flight budget (--max-inflight-bytes); retry later');
      }
      this._pipeline.accept(body, body.length).then(
        (accepted: Accepted) => {
          if (!accepted.ok) return this._refuse(callback, accepted.status, accepted.message);
          this._count(grpcStatus.OK);
          callback(null, Buffer.from(encodeTraceResponse('protobuf', accepted.partial)));
        },
        (error: unknown) => this._internalError(callback, error),
      );
    } catch (error) {
      this._internalError(callback, error);
    }
  }

  /** A refusal, in gRPC's terms: the code for the same HTTP status, and RetryInfo where a retry will help. */
  private _refuse(callback: sendUnaryData<Buffer>, status: number, message: string): void {
    const code = rpcCodeOf(status);
    const metadata = new Metadata();
    if (status === 429 || status === 503) {
      this._pipeline.counters.throttled++;
      const details = encodeRpcStatusWithRetryInfo(code, message, DEFAULT_RETRY_AFTER_SECONDS * 1000);
      metadata.set(STATUS_DETAILS_KEY, Buffer.from(details));
    }
    this._count(code);
    callback({ code, details: message, metadata });
  }

  private _internalError(callback: sendUnaryData<Buffer>, error: unknown): void {
    try {
      const message = error instanceof Error ? error.message : String(error);
      this._count(RPC_CODE.INTERNAL);
      callback({ code: RPC_CODE.INTERNAL, details: `internal error: ${message}` });
    } catch {
      // Nothing left to answer with.
    }
  }

  /** Counts an answer in `grpcResponses`, by status name. */
  private _count(code: number): void {
    const name = grpcStatus[code] ?? String(code);
    const responses = this._pipeline.counters.grpcResponses;
    responses[name] = (responses[name] ?? 0) + 1;
  }
}
