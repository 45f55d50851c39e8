/*
 * One attempt to deliver one encoded OTLP request over gRPC (`--forward-protocol grpc`), and what the answer
 * means for a retry, as the OTLP specification reads gRPC statuses:
 *
 *   Export(message) ─► OK ─────────────────────────────────────────────────────► delivered (partial success read)
 *                      CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE,
 *                      UNAVAILABLE, DATA_LOSS; RESOURCE_EXHAUSTED with a RetryInfo ─► retry, after RetryInfo's
 *                                                                                   delay when it has one
 *                      anything else (RESOURCE_EXHAUSTED without RetryInfo, INVALID_ARGUMENT,
 *                      UNAUTHENTICATED, UNIMPLEMENTED…) ─────────────────────────► failed, not retried
 *
 * The message is the relay's own protobuf encoding, values as received, sent as raw bytes with @grpc/grpc-js
 * (grpc-method.ts); the RetryInfo comes from the grpc-status-details-bin trailer (rpc-status.ts). Headers go
 * as metadata, gzip as grpc-encoding; TLS when the URL is https:// (the system's root certificates). As for
 * HTTP (http-sender.ts), the retries, their back-off and their deadline are the delivery queue's: a sender
 * makes one attempt and never throws. The connection is made on the first attempt and kept; grpc-js
 * reconnects by itself.
 */
import { Client, Metadata, credentials } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { STATUS_DETAILS_KEY, rawMessage } from '../grpc-method.js';
import { RPC_CODE, readRetryDelayMillis } from '../rpc-status.js';
import { VERSION } from '../version.js';
import type { SendOutcome, Sender } from './http-sender.js';

/** Codes the OTLP specification lists as retryable (RESOURCE_EXHAUSTED only with a RetryInfo). */
const RETRYABLE_CODES = new Set<number>([
  RPC_CODE.CANCELLED,
  RPC_CODE.DEADLINE_EXCEEDED,
  RPC_CODE.ABORTED,
  RPC_CODE.OUT_OF_RANGE,
  RPC_CODE.UNAVAILABLE,
  RPC_CODE.DATA_LOSS,
]);

export interface GrpcSenderOptions {
  /** `http://host:port`, or `https://host:port` for TLS. */
  url: string;
  /** The method's path (grpc-method.ts). */
  method: string;
  /** Sent as metadata with every call. */
  headers: Record<string, string>;
  gzip: boolean;
  /** Reads a partial success out of an OK answer: how many items the target rejected, and why. */
  readPartialSuccess(body: Uint8Array): { rejectedSpans: number; message: string | undefined };
}

export class GrpcSender implements Sender {
  private readonly _options: GrpcSenderOptions;
  private _connection: { client: Client; metadata: Metadata } | undefined;

  constructor(options: GrpcSenderOptions) {
    this._options = options;
  }

  send(body: Uint8Array, timeoutMillis: number): Promise<SendOutcome> {
    let connection: { client: Client; metadata: Metadata };
    try {
      connection = this._connection ??= this._connect();
    } catch (error) {
      return Promise.resolve({ status: 'failure', reason: `cannot send to ${this._options.url}: ${describe(error)}` });
    }
    const message = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return new Promise<SendOutcome>((resolve) => {
      connection.client.makeUnaryRequest(
        this._options.method,
        rawMessage,
        rawMessage,
        message,
        connection.metadata.clone(),
        { deadline: Date.now() + timeoutMillis },
        (error: ServiceError | null, answer?: Buffer) => {
          resolve(error === null ? this._success(answer) : this._outcome(error));
        },
      );
    });
  }

  shutdown(): void {
    this._connection?.client.close();
    this._connection = undefined;
  }

  private _connect(): { client: Client; metadata: Metadata } {
    const url = new URL(this._options.url);
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(this._options.headers)) metadata.set(key, value);
    const client = new Client(
      url.host,
      url.protocol === 'https:' ? credentials.createSsl() : credentials.createInsecure(),
      {
        'grpc.default_compression_algorithm': this._options.gzip ? 2 : 0,
        'grpc.primary_user_agent': `genai-enrich-relay/${VERSION}`,
        // The answer is an Export…ServiceResponse: small. The request's size is the target's to limit.
        'grpc.max_receive_message_length': 4 * 1024 * 1024,
      },
    );
    return { client, metadata };
  }

  private _success(answer: Buffer | undefined): SendOutcome {
    try {
      return { status: 'success', ...this._options.readPartialSuccess(answer ?? new Uint8Array(0)) };
    } catch {
      return { status: 'success', rejectedSpans: 0, message: undefined }; // an answer we cannot read
    }
  }

  /** A failed call, read as the OTLP specification says (see the header). */
  private _outcome(error: ServiceError): SendOutcome {
    const details = error.metadata?.get(STATUS_DETAILS_KEY)[0];
    const retryInMillis = Buffer.isBuffer(details) ? readRetryDelayMillis(details) : undefined;
    const reason = `${this._options.url} answered ${error.code} ${error.details}`;
    if (
      RETRYABLE_CODES.has(error.code) ||
      (error.code === RPC_CODE.RESOURCE_EXHAUSTED && retryInMillis !== undefined)
    ) {
      return { status: 'retryable', retryInMillis, reason };
    }
    return { status: 'failure', reason };
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
