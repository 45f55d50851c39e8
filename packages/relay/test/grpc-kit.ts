/*
 * What the relay's OTLP/gRPC tests share, all on loopback: a raw @grpc/grpc-js client that sends any bytes as
 * the Export message, a raw HTTP/2 client for what grpc-js would never send (a bad gzip frame, a truncated
 * frame), a gRPC receiver that keeps every message and answers as a test tells it, and a reader of
 * grpc-status-details-bin written here, apart from the relay's own (rpc-status.ts).
 */
import { connect, constants as http2 } from 'node:http2';
import { Client, Metadata, Server, ServerCredentials, credentials } from '@grpc/grpc-js';
import type { ServerUnaryCall, ServiceDefinition, ServiceError, sendUnaryData } from '@grpc/grpc-js';
import { decodeTraceRequest } from '../src/otlp/index.js';
import type { RelaySpan } from '../src/otlp/index.js';

export const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const METRICS_EXPORT_PATH = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';
const same = (b: Buffer): Buffer => b;

/** What a call came to. */
export interface CallResult {
  /** The gRPC status code (0: OK). */
  code: number;
  details: string;
  /** The response message (OK only). */
  response: Buffer | undefined;
  /** The RetryInfo delay in grpc-status-details-bin, if any. */
  retryDelayMillis: number | undefined;
  /** The Status code inside grpc-status-details-bin, if any. */
  detailsCode: number | undefined;
}

/** A raw grpc-js client of `url` (`http://host:port`), on its own connection; `gzip` compresses every message. */
export function rawClient(
  url: string,
  options: { gzip?: boolean } = {},
): {
  send(message: Uint8Array, deadlineMillis?: number): Promise<CallResult>;
  close(): void;
} {
  const client = new Client(new URL(url).host, credentials.createInsecure(), {
    'grpc.default_compression_algorithm': options.gzip === true ? 2 : 0,
    'grpc.max_send_message_length': -1,
    // A connection of its own, not one shared with other clients of the same target.
    'grpc.use_local_subchannel_pool': 1,
  });
  return {
    send: (message, deadlineMillis = 10_000) =>
      new Promise<CallResult>((resolve) => {
        client.makeUnaryRequest(
          EXPORT_PATH,
          same,
          same,
          Buffer.from(message),
          new Metadata(),
          { deadline: Date.now() + deadlineMillis },
          (error: ServiceError | null, response?: Buffer) => {
            if (error === null) {
              resolve({ code: 0, details: '', response, retryDelayMillis: undefined, detailsCode: undefined });
              return;
            }
            const bin = error.metadata.get('grpc-status-details-bin')[0];
            const status = Buffer.isBuffer(bin) ? readStatusDetails(bin) : undefined;
            resolve({
              code: error.code,
              details: error.details,
              response: undefined,
              retryDelayMillis: status?.retryDelayMillis,
              detailsCode: status?.code,
            });
          },
        );
      }),
    close: () => client.close(),
  };
}

/**
 * One call over plain HTTP/2, with `frame` as the whole request body (a 5-byte gRPC prefix and what
 * follows, as the caller builds it). Resolves with grpc-status and grpc-message, from the trailers or, for a
 * trailers-only answer, the headers; `reset` when the stream was reset instead.
 */
export function http2Call(
  url: string,
  frame: Uint8Array,
  headers: Record<string, string> = {},
): Promise<{ status: number | undefined; message: string; reset: boolean }> {
  return new Promise((resolve, reject) => {
    const session = connect(url);
    session.on('error', reject);
    const stream = session.request({
      [http2.HTTP2_HEADER_METHOD]: 'POST',
      [http2.HTTP2_HEADER_PATH]: EXPORT_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    let status: number | undefined;
    let message = '';
    const read = (h: Record<string, unknown>): void => {
      if (h['grpc-status'] !== undefined) status = Number(h['grpc-status']);
      if (typeof h['grpc-message'] === 'string') message = decodeURIComponent(h['grpc-message']);
    };
    stream.on('response', read);
    stream.on('trailers', read);
    stream.on('data', () => {});
    stream.on('error', () => {});
    stream.on('close', () => {
      session.close();
      resolve({ status, message, reset: status === undefined });
    });
    stream.end(frame);
  });
}

/** A gRPC length-prefixed message: the compressed flag, the length (big-endian), the bytes. */
export function grpcFrame(message: Uint8Array, compressed: boolean, declaredLength = message.length): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([prefix, message]);
}

/** A loopback gRPC receiver: keeps each message and its metadata, and answers as `answer` says (OK by default). */
export interface GrpcReceiver {
  url: string;
  messages: Buffer[];
  metadata: Metadata[];
  /** When each call arrived (Date.now()). */
  arrivals: number[];
  spans: RelaySpan[];
  /** ExportMetricsServiceRequest messages (MetricsService/Export), kept as they came. */
  metricMessages: Buffer[];
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** What the receiver answers to call `n` (from 0): null for OK, or an error status. */
export type Answerer = (n: number) => { code: number; details: string; metadata?: Metadata } | null;

export async function startGrpcReceiver(answer: Answerer = () => null): Promise<GrpcReceiver> {
  const server = new Server();
  const receiver: GrpcReceiver = {
    url: '',
    messages: [],
    metadata: [],
    arrivals: [],
    spans: [],
    metricMessages: [],
    waitFor: (count, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const check = (): void => {
          if (receiver.spans.length >= count) resolve();
          else if (Date.now() > deadline)
            reject(new Error(`gRPC receiver: ${receiver.spans.length} of ${count} spans within ${timeoutMs} ms`));
          else setTimeout(check, 10).unref();
        };
        check();
      }),
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
  const method = (path: string): ServiceDefinition[string] => ({
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: same,
    requestDeserialize: same,
    responseSerialize: same,
    responseDeserialize: same,
  });
  server.addService(
    { Export: method(METRICS_EXPORT_PATH) },
    {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        receiver.metricMessages.push(call.request);
        callback(null, Buffer.alloc(0));
      },
    },
  );
  server.addService(
    { Export: method(EXPORT_PATH) },
    {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        const n = receiver.messages.length;
        receiver.messages.push(call.request);
        receiver.metadata.push(call.metadata);
        receiver.arrivals.push(Date.now());
        const error = answer(n);
        if (error !== null) return callback(error);
        receiver.spans.push(...decodeTraceRequest(call.request, 'protobuf').spans);
        callback(null, Buffer.alloc(0));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error === null ? resolve(bound) : reject(error),
    ),
  );
  receiver.url = `http://127.0.0.1:${port}`;
  return receiver;
}

/**
 * google.rpc.Status{code=1, message=2, details=3: Any{type_url=1, value=2}} and, in a RetryInfo detail,
 * retry_delay=1: Duration{seconds=1, nanos=2}. Read here field by field, apart from the relay's reader.
 */
export function readStatusDetails(bytes: Buffer): { code: number; retryDelayMillis: number | undefined } {
  const fields = (buf: Buffer): Array<[number, number | Buffer]> => {
    const out: Array<[number, number | Buffer]> = [];
    let at = 0;
    const varint = (): number => {
      let value = 0;
      for (let shift = 0; ; shift += 7) {
        if (at >= buf.length) throw new Error(`truncated varint in ${buf.toString('hex')}`);
        const b = buf[at++];
        value += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) return value;
      }
    };
    while (at < buf.length) {
      const tag = varint();
      if ((tag & 7) === 0) out.push([tag >> 3, varint()]);
      else if ((tag & 7) === 2) {
        const length = varint();
        out.push([tag >> 3, buf.subarray(at, at + length)]);
        at += length;
      } else throw new Error(`unexpected wire type in ${buf.toString('hex')}`);
    }
    return out;
  };
  let code = 0;
  let retryDelayMillis: number | undefined;
  for (const [field, value] of fields(bytes)) {
    if (field === 1) code = value as number;
    if (field !== 3) continue;
    const any = new Map(fields(value as Buffer));
    if ((any.get(1) as Buffer).toString() !== 'type.googleapis.com/google.rpc.RetryInfo') continue;
    const retryInfo = new Map(fields(any.get(2) as Buffer));
    const duration = new Map(fields((retryInfo.get(1) as Buffer | undefined) ?? Buffer.alloc(0)));
    retryDelayMillis = ((duration.get(1) as number) ?? 0) * 1000 + ((duration.get(2) as number) ?? 0) / 1e6;
  }
  return { code, retryDelayMillis };
}
