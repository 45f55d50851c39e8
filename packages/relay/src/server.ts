/*
 * The OTLP/HTTP relay: a node:http server that feeds what it receives to GenAiEnrichingProcessor.
 *
 *   POST /v1/traces ─ content type? (415) ─ encoding? (415) ─ shutting down? (503) ─ room? (429/503)
 *     ─ body ≤ maxBodyBytes, raw and after gunzip (413) ─ decodeTraceRequest (400)
 *     ─ room for these spans? (503) ─ processor.onEnd(span) in end order ─► 200, partial success if any rejected
 *   processor ─ held for late usage, joined, normalized ─► batched ─► OTLP exporter (--forward) or stdout
 *
 * Back-pressure. Nothing is accepted that the relay would then drop: before it reads a body, and again
 * once it knows how many spans the body holds, the relay checks the processor's held spans against
 * `maxHeldSpans` (429) and the export queue, plus every held span (each will enter it), against
 * `maxQueueSize` (503), and answers with `Retry-After` instead. The processor reports no queue length,
 * so the relay counts it: spans forwarded by the processor, less those handed to the exporter, less drops.
 *
 * Nothing here throws into the request path or crashes the process on a bad request: every handler is
 * guarded, request and response errors are absorbed, and an unexpected failure answers 500.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGunzip } from 'node:zlib';
import type { Gunzip } from 'node:zlib';
import { TraceFlags } from '@opentelemetry/api';
import type { SpanContext } from '@opentelemetry/api';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';
import type {
  ExportResultLike,
  GenAiEnrichingProcessorStats,
  ReadableSpanLike,
  SpanExporterLike,
} from '@genai-enrich/processor';
import { DEFAULT_RETRY_AFTER_SECONDS, TRACES_PATH, listenAddress, resolveRelayConfig } from './config.js';
import type { RelayConfig, RelayOptions, RelayOutput } from './config.js';
import { OtlpDecodeError, decodeTraceRequest, encodeTraceResponse } from './otlp/index.js';
import type { DecodeResult, OtlpFormat, RelaySpan } from './otlp/index.js';
import { RPC_CODE, encodeRpcStatusJson, encodeRpcStatusProtobuf } from './rpc-status.js';
import { ExactOtlpTraceExporter } from './otlp-exporter.js';
import { OtlpJsonLinesExporter } from './stdout-exporter.js';

/** Where the relay listens. */
export interface RelayAddress {
  host: string;
  port: number;
  /** `http://host:port`. */
  url: string;
  /** `http://host:port/v1/traces`, for an exporter's `url`. */
  tracesUrl: string;
}

/** The relay's own counters, beside the processor's. */
export interface RelayCounters {
  /** HTTP requests of any kind. */
  requests: number;
  /** `POST /v1/traces` requests. */
  exportRequests: number;
  /** Export requests answered 200 (their spans were accepted, or rejected by partial success). */
  acceptedRequests: number;
  /** Spans handed to the processor. */
  spansReceived: number;
  /** Spans reported back to clients as rejected (partial success): invalid spans, and drops at a full queue. */
  spansRejected: number;
  /** Request body bytes read off the wire. */
  bytesReceived: number;
  /** Body bytes after gzip decompression (equal to bytesReceived without gzip). */
  bytesDecoded: number;
  /** Export requests turned away with 429 (too many held spans) or 503 (queue full, shutting down). */
  throttled: number;
  /** Answers by HTTP status code. */
  responses: Record<string, number>;
  /** Spans waiting in the export queue now (a gauge). */
  queued: number;
  /** Spans handed to the exporter. */
  exportedSpans: number;
  /** Of those, spans in exports that failed (also counted in the processor's `errors`). */
  failedSpans: number;
}

/** `GET /stats` and {@link Relay.stats}. */
export interface RelayStats {
  processor: GenAiEnrichingProcessorStats;
  relay: RelayCounters;
}

/** A running relay. */
export interface Relay {
  readonly address: RelayAddress;
  readonly config: RelayConfig;
  readonly processor: GenAiEnrichingProcessor;
  stats(): RelayStats;
  /**
   * Once: stops accepting (new requests get 503, `/health` 503), forwards every held span (`flushed`),
   * shuts the processor and exporter down, then closes the server.
   */
  close(): Promise<void>;
}

/** Counts what the processor hands its exporter, so the relay knows how full the export queue is. */
class CountingExporter implements SpanExporterLike {
  handed = 0;
  failed = 0;
  private readonly _next: SpanExporterLike;

  constructor(next: SpanExporterLike) {
    this._next = next;
  }

  export(spans: ReadableSpanLike[], resultCallback: (result: ExportResultLike) => void): void {
    this.handed += spans.length;
    this._next.export(spans, (result) => {
      if (result?.code !== 0) this.failed += spans.length;
      resultCallback(result);
    });
  }

  forceFlush(): Promise<void> {
    return this._next.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this._next.shutdown();
  }
}

// Status 0: the client went away.
type BodyResult =
  { ok: true; body: Buffer } | { ok: false; status: 400 | 413; message: string } | { ok: false; status: 0 };

const MEDIA_TYPES: Record<string, OtlpFormat> = {
  'application/x-protobuf': 'protobuf',
  'application/json': 'json',
};

/**
 * Starts a relay: validates `options` (throws a RelayConfigError listing every problem), builds the
 * exporter and the processor, and listens. Resolves once the server is listening.
 */
export async function startRelay(options: RelayOptions = {}): Promise<Relay> {
  const config = resolveRelayConfig(options);
  const exporter = new CountingExporter(createExporter(config, options.output ?? process.stdout));
  const processor = new GenAiEnrichingProcessor(exporter, {
    holdMillis: config.holdMillis,
    maxHeldSpans: config.maxHeldSpans,
    maxOpenMillis: config.maxOpenMillis,
    maxQueueSize: config.maxQueueSize,
    maxExportBatchSize: config.maxExportBatchSize,
    scheduledDelayMillis: config.scheduledDelayMillis,
    countUsageOnce: config.countUsageOnce,
  });
  const relay = new RelayServer(config, processor, exporter);
  try {
    await relay.listen();
  } catch (error) {
    await processor.shutdown();
    throw error;
  }
  return relay;
}

function createExporter(config: RelayConfig, output: RelayOutput): SpanExporterLike {
  if (config.forward === undefined) return new OtlpJsonLinesExporter(output);
  return new ExactOtlpTraceExporter({
    url: config.forward,
    headers: { ...config.forwardHeaders },
    protocol: config.forwardProtocol,
  });
}

class RelayServer implements Relay {
  readonly config: RelayConfig;
  readonly processor: GenAiEnrichingProcessor;
  private readonly _exporter: CountingExporter;
  private readonly _server: Server;
  private readonly _counters: Omit<RelayCounters, 'queued' | 'exportedSpans' | 'failedSpans'> = {
    requests: 0,
    exportRequests: 0,
    acceptedRequests: 0,
    spansReceived: 0,
    spansRejected: 0,
    bytesReceived: 0,
    bytesDecoded: 0,
    throttled: 0,
    responses: {},
  };
  private _address: RelayAddress | undefined;
  private _closing = false;
  private _closed: Promise<void> | undefined;

  constructor(config: RelayConfig, processor: GenAiEnrichingProcessor, exporter: CountingExporter) {
    this.config = config;
    this.processor = processor;
    this._exporter = exporter;
    this._server = createServer((req, res) => this._handle(req, res));
  }

  get address(): RelayAddress {
    if (this._address === undefined) throw new Error('the relay is not listening');
    return this._address;
  }

  listen(): Promise<void> {
    const { host, port } = listenAddress(this.config.listen);
    return new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this._server.once('error', onError);
      this._server.listen(port, host, () => {
        this._server.off('error', onError);
        // A failing socket after start-up must not crash the process (the default for an unhandled 'error').
        this._server.on('error', () => {});
        const bound = this._server.address() as AddressInfo;
        const shown = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
        const url = `http://${shown}:${bound.port}`;
        this._address = { host: bound.address, port: bound.port, url, tracesUrl: url + TRACES_PATH };
        resolve();
      });
    });
  }

  stats(): RelayStats {
    const processor = this.processor.stats();
    return {
      processor,
      relay: {
        ...this._counters,
        responses: { ...this._counters.responses },
        queued: this._queued(processor),
        exportedSpans: this._exporter.handed,
        failedSpans: this._exporter.failed,
      },
    };
  }

  close(): Promise<void> {
    this._closed ??= this._close();
    return this._closed;
  }

  private async _close(): Promise<void> {
    this._closing = true;
    // Stop accepting connections; idle keep-alive ones are closed, busy ones finish (and get 503).
    const serverClosed = new Promise<void>((resolve) => this._server.close(() => resolve()));
    this._server.closeIdleConnections();
    // Every request accepted so far has reached onEnd (that part is synchronous), so nothing is missed here.
    await this.processor.forceFlush();
    await this.processor.shutdown();
    this._server.closeAllConnections();
    await serverClosed;
  }

  // ── requests ─────────────────────────────────────────────────────────────────────────────────────

  private _handle(req: IncomingMessage, res: ServerResponse): void {
    this._counters.requests++;
    // Absorb socket errors (a client that resets mid-request); the request is simply abandoned.
    req.on('error', () => {});
    res.on('error', () => {});
    try {
      const path = (req.url ?? '/').split('?', 1)[0];
      if (path === TRACES_PATH) {
        if (req.method !== 'POST') return this._text(res, 405, `${TRACES_PATH} takes POST`, { allow: 'POST' });
        this._counters.exportRequests++;
        this._export(req, res).catch((error: unknown) => this._internalError(res, error));
        return;
      }
      if (path === '/health' || path === '/stats') {
        if (req.method !== 'GET' && req.method !== 'HEAD')
          return this._text(res, 405, `${path} takes GET`, { allow: 'GET, HEAD' });
        if (path === '/health') {
          return this._json(res, this._closing ? 503 : 200, { status: this._closing ? 'shutting down' : 'ok' });
        }
        return this._json(res, 200, this.stats());
      }
      this._text(res, 404, `not found: the relay serves POST ${TRACES_PATH}, GET /health and GET /stats`);
    } catch (error) {
      this._internalError(res, error);
    }
  }

  private async _export(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const contentType = String(req.headers['content-type'] ?? '');
    const format = MEDIA_TYPES[contentType.split(';', 1)[0].trim().toLowerCase()];
    if (format === undefined) {
      return this._text(
        res,
        415,
        `unsupported content type ${JSON.stringify(contentType)}: send application/x-protobuf or application/json`,
      );
    }
    const encoding = String(req.headers['content-encoding'] ?? 'identity')
      .trim()
      .toLowerCase();
    const gzip = encoding === 'gzip' || encoding === 'x-gzip';
    if (!gzip && encoding !== 'identity' && encoding !== '') {
      return this._status(
        res,
        format,
        415,
        `unsupported content encoding ${JSON.stringify(encoding)}: send gzip or none`,
      );
    }
    // Before reading the body: is there room for at least one more span?
    if (this._throttled(res, format, 1)) return;
    const limit = this.config.maxBodyBytes;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      return this._tooLarge(
        req,
        res,
        format,
        `the body is ${declared} bytes; the limit is ${limit} (--max-body-bytes)`,
      );
    }

    const read = await this._readBody(req, limit, gzip);
    if (!read.ok) {
      if (read.status === 0) return; // nobody is listening for an answer
      if (read.status === 413) return this._tooLarge(req, res, format, read.message);
      // The rest of the body is left unread, so the connection cannot carry another request.
      return this._status(res, format, read.status, read.message, { connection: 'close' });
    }

    let decoded: DecodeResult;
    try {
      decoded = decodeTraceRequest(read.body, format);
    } catch (error) {
      if (error instanceof OtlpDecodeError) return this._status(res, format, 400, error.message);
      throw error;
    }
    const spans = decoded.spans;
    // Checked again with the count: the body may have been long in coming, and the count is known now.
    if (this._throttled(res, format, spans.length)) return;

    const droppedBefore = this.processor.stats().queueDropped;
    // An SDK ends (and exports) spans in end order, but a protobuf or JSON body groups them by resource
    // and scope. The processor's joins expect end order (a usage carrier after the span it completes),
    // so restore it; the sort is stable, so spans that end together keep their order.
    for (const span of sortByEndTime(spans)) {
      this._counters.spansReceived++;
      this.processor.onEnd(sampled(span));
    }
    // Spans the processor's queue dropped while these were added: tell the client rather than no one.
    const dropped = this.processor.stats().queueDropped - droppedBefore;
    const rejected = decoded.rejected + dropped;
    this._counters.spansRejected += rejected;
    this._counters.acceptedRequests++;
    let partial: { rejectedSpans: number; errorMessage: string } | undefined;
    if (rejected > 0) {
      const messages: string[] = [];
      if (decoded.rejected > 0) messages.push(decoded.rejectionMessage ?? `${decoded.rejected} invalid spans`);
      if (dropped > 0)
        messages.push(
          `${dropped} spans dropped: the export queue is full (--max-queue-size ${this.config.maxQueueSize})`,
        );
      partial = { rejectedSpans: rejected, errorMessage: messages.join('; ') };
    }
    this._send(res, 200, CONTENT_TYPES[format], encodeTraceResponse(format, partial));
  }

  /**
   * Answers 429 or 503 with Retry-After when `incoming` more spans would not fit: too many held spans, or
   * an export queue without room for them and for every held span (each enters it when released).
   */
  private _throttled(res: ServerResponse, format: OtlpFormat, incoming: number): boolean {
    let status: 429 | 503 | undefined;
    let message = '';
    const stats = this.processor.stats();
    const queued = this._queued(stats);
    if (this._closing) {
      status = 503;
      message = 'the relay is shutting down';
    } else if (stats.held >= this.config.maxHeldSpans) {
      status = 429;
      message =
        `${stats.held} spans are held for late usage, ` +
        `the limit (--max-held-spans ${this.config.maxHeldSpans}); retry later`;
    } else if (queued + stats.held > 0 && queued + stats.held + incoming > this.config.maxQueueSize) {
      // An oversized request into an empty relay is taken: it could never fit, and whatever the queue
      // drops is reported back as rejected.
      status = 503;
      message =
        `the export queue has no room: ${queued} spans queued and ${stats.held} held, ` +
        `limit ${this.config.maxQueueSize} ` +
        `(--max-queue-size); the forward target is slow or down`;
    }
    if (status === undefined) return false;
    this._counters.throttled++;
    this._status(res, format, status, message, { 'retry-after': String(DEFAULT_RETRY_AFTER_SECONDS) });
    return true;
  }

  /** Spans waiting in the processor's export queue: forwarded, not yet handed to the exporter, not dropped. */
  private _queued(stats: GenAiEnrichingProcessorStats): number {
    return Math.max(0, stats.forwarded - stats.queueDropped - this._exporter.handed);
  }

  /**
   * Reads the body, stopping as soon as it passes `limit`: raw bytes off the wire, then bytes out of
   * gunzip (streamed, so a gzip bomb never inflates past the limit plus one zlib chunk).
   */
  private _readBody(req: IncomingMessage, limit: number, gzip: boolean): Promise<BodyResult> {
    return new Promise<BodyResult>((resolve) => {
      const chunks: Buffer[] = [];
      let raw = 0;
      let decoded = 0;
      let settled = false;
      let gunzip: Gunzip | undefined;
      const finish = (result: BodyResult): void => {
        if (settled) return;
        settled = true;
        req.off('data', onData);
        req.off('end', onEnd);
        if (!result.ok) {
          // Stop reading: what is left of the body stays on the wire, and the connection is closed.
          req.pause();
          gunzip?.destroy();
          chunks.length = 0;
        }
        resolve(result);
      };
      const collect = (chunk: Buffer): void => {
        if (settled) return;
        decoded += chunk.length;
        this._counters.bytesDecoded += chunk.length;
        if (decoded > limit) {
          finish({
            ok: false,
            status: 413,
            message: `the body is over ${limit} bytes after gzip decompression (--max-body-bytes)`,
          });
        } else {
          chunks.push(chunk);
        }
      };
      const onData = (chunk: Buffer): void => {
        raw += chunk.length;
        this._counters.bytesReceived += chunk.length;
        if (raw > limit) {
          finish({ ok: false, status: 413, message: `the body is over ${limit} bytes (--max-body-bytes)` });
        } else if (gunzip !== undefined) {
          gunzip.write(chunk);
        } else {
          collect(chunk);
        }
      };
      const onEnd = (): void => {
        if (gunzip !== undefined) gunzip.end();
        else finish({ ok: true, body: Buffer.concat(chunks, decoded) });
      };
      if (gzip) {
        gunzip = createGunzip();
        gunzip.on('data', collect);
        gunzip.on('end', () => finish({ ok: true, body: Buffer.concat(chunks, decoded) }));
        gunzip.on('error', (error: Error) =>
          finish({ ok: false, status: 400, message: `invalid gzip body: ${error.message}` }),
        );
      }
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('close', () => {
        if (!req.complete) finish({ ok: false, status: 0 });
      });
    });
  }

  // ── answers ──────────────────────────────────────────────────────────────────────────────────────

  /** 413, then the connection is closed instead of reading the rest of an oversized body. */
  private _tooLarge(req: IncomingMessage, res: ServerResponse, format: OtlpFormat, message: string): void {
    req.pause();
    this._status(res, format, 413, message, { connection: 'close' });
  }

  /** A google.rpc.Status body in the request's format, as the OTLP/HTTP specification asks. */
  private _status(
    res: ServerResponse,
    format: OtlpFormat,
    status: number,
    message: string,
    headers: Record<string, string> = {},
  ): void {
    const code =
      status === 400 || status === 415
        ? RPC_CODE.INVALID_ARGUMENT
        : status === 413 || status === 429
          ? RPC_CODE.RESOURCE_EXHAUSTED
          : status === 503
            ? RPC_CODE.UNAVAILABLE
            : RPC_CODE.INTERNAL;
    const body = format === 'json' ? encodeRpcStatusJson(code, message) : encodeRpcStatusProtobuf(code, message);
    this._send(res, status, CONTENT_TYPES[format], body, headers);
  }

  private _text(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
    this._send(res, status, 'text/plain; charset=utf-8', Buffer.from(message + '\n', 'utf8'), headers);
  }

  private _json(res: ServerResponse, status: number, value: unknown): void {
    this._send(res, status, 'application/json', Buffer.from(JSON.stringify(value) + '\n', 'utf8'));
  }

  private _internalError(res: ServerResponse, error: unknown): void {
    try {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      this._text(res, 500, `internal error: ${message}`);
    } catch {
      // Nothing left to answer with.
    }
  }

  private _send(
    res: ServerResponse,
    status: number,
    contentType: string,
    body: Uint8Array,
    headers: Record<string, string> = {},
  ): void {
    const key = String(status);
    this._counters.responses[key] = (this._counters.responses[key] ?? 0) + 1;
    if (this._closing) headers = { ...headers, connection: 'close' };
    res.writeHead(status, { 'content-type': contentType, 'content-length': String(body.length), ...headers });
    res.end(body);
  }
}

const CONTENT_TYPES: Record<OtlpFormat, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/**
 * A span that reached the relay was exported, so it was sampled, whatever its flags say. The decoder
 * already reads a zero flags byte as sampled (the Python SDK writes only the is-remote bits); this covers
 * any other byte without the sampled bit, which the processor's batcher, like the SDK's, would skip.
 */
function sampled(span: RelaySpan): RelaySpan {
  const context = span.spanContext();
  if ((context.traceFlags & TraceFlags.SAMPLED) !== 0) return span;
  const fixed: SpanContext = { ...context, traceFlags: context.traceFlags | TraceFlags.SAMPLED };
  try {
    (span as { spanContext: () => SpanContext }).spanContext = () => fixed;
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0) return span;
  } catch {
    // A frozen span: wrap it instead (the serializers read properties, so the prototype chain serves).
  }
  return Object.create(span, {
    spanContext: { value: () => fixed, writable: true, enumerable: true, configurable: true },
  }) as RelaySpan;
}

function sortByEndTime(spans: readonly RelaySpan[]): RelaySpan[] {
  const sorted = [...spans];
  let ordered = true;
  for (let i = 1; i < sorted.length && ordered; i++)
    ordered = compareTime(sorted[i - 1].endTime, sorted[i].endTime) <= 0;
  if (!ordered) sorted.sort((a, b) => compareTime(a.endTime, b.endTime));
  return sorted;
}

function compareTime(a: readonly [number, number], b: readonly [number, number]): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}
