/*
 * The OTLP relay: a node:http server (and an OTLP/gRPC one beside it, grpc-server.ts, sharing this pipeline
 * through export-pipeline.ts) that feeds what it receives to GenAiEnrichingProcessor, within a byte budget it
 * cannot exceed.
 *
 *   connection ─ over maxConnections? closed at once ─ silent for idleTimeoutMillis, or a request longer
 *     than requestTimeoutMillis? 408 and closed (Node's headersTimeout, keepAliveTimeout, requestTimeout)
 *   POST /v1/traces (or /) ─ content type? (415) ─ encoding? (415) ─ shutting down? (503) ─ export queue full? (503)
 *     ─ body (body-reader.ts): ≤ maxBodyBytes raw and inflated (413), room in maxInflightBytes (429),
 *       never idle for idleTimeoutMillis (408); a refused body is read and discarded, then answered
 *     ─ decodeTraceRequest (400), a large body DECODE_SLICE_SPANS at a time (split-request.ts, split-json.ts)
 *     ─ closing? (503)
 *     ─ intake (intake.ts): room in the export queue, count and bytes, held spans included? (503; a request
 *       that carries late usage for a held span goes in past it, within CARRIER_OVERDRAFT)
 *       ─ processor.onEnd(span) in end order, SLICE_SPANS at a time ─► 200, partial success if any rejected
 *   processor ─ held for late usage (maxHeldSpans, maxHeldBytes: the oldest evicted), joined, normalized
 *     ─► batched ─► CountingExporter (accounting.ts: frees the spans' bytes) ─► OTLP exporter or stdout
 *   --metrics: GET /metrics, and OTLP to the forward endpoint (metrics/relay-metrics.ts)
 *
 * The byte budget, in the spirit of the Collector's memory_limiter: bytes of request bodies being read
 * (maxInflightBytes, counted on the wire and again inflated) and estimated bytes of spans accepted and not
 * yet exported (maxQueueBytes, held spans included; held spans alone at most maxHeldBytes). Back-pressure
 * only where a budget is spent: 429 for bodies, 503 for the queue, both with Retry-After. A full hold never
 * refuses anything: the processor evicts its oldest span instead, as it does in-process.
 *
 * Nothing here throws into the request path or crashes the process on a bad request: every handler is
 * guarded, request and response errors are absorbed, and an unexpected failure answers 500.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';
import type { GenAiEnrichingProcessorStats, UserRulesInput } from '@genai-enrich/processor';
import { ByteBudget, CountingExporter, SpanLedger } from './accounting.js';
import { readBody } from './body-reader.js';
import type { BodyLimits, BodyResult, Refusal } from './body-reader.js';
import { DEFAULT_RETRY_AFTER_SECONDS, TRACES_PATH, resolveRelayConfig } from './config.js';
import type { RelayConfig, RelayOptions } from './config.js';
import { RoomSignal, SpanIntake, withCarrierOverdraft } from './intake.js';
import { loadRules } from './rules-file.js';
import { DECODE_SLICE_SPANS, SPLIT_MIN_BYTES, decodeInSlices } from './split-request.js';
import { OtlpDecodeError, encodeTraceResponse } from './otlp/index.js';
import type { DecodeResult, OtlpFormat } from './otlp/index.js';
import { encodeRpcStatusJson, encodeRpcStatusProtobuf, rpcCodeOf } from './rpc-status.js';
import type { Accepted, ExportPipeline } from './export-pipeline.js';
import { GrpcTraceServer } from './grpc-server.js';
import { listenOn } from './listen.js';
import { Forwarding } from './delivery/forwarding.js';
import type { ForwardingStats } from './delivery/forwarding.js';
import type { JournalEntry } from './delivery/journal.js';
import { OtlpJsonLinesExporter } from './stdout-exporter.js';
import { RelayMetrics } from './metrics/relay-metrics.js';
import { PROMETHEUS_CONTENT_TYPE } from './metrics/prometheus-text.js';

/** Where the relay listens. */
export interface RelayAddress {
  host: string;
  port: number;
  /** `http://host:port`. */
  url: string;
  /** `http://host:port/v1/traces`, for an exporter's `url`. */
  tracesUrl: string;
  /** `http://host:port` of the OTLP/gRPC receiver, for a gRPC exporter's `url`; undefined when it is off. */
  grpcUrl: string | undefined;
}

/** The relay's own counters, beside the processor's. */
export interface RelayCounters {
  /** HTTP requests of any kind. */
  requests: number;
  /** `POST /v1/traces` requests and OTLP/gRPC Export calls. */
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
  /** Export requests turned away with 429 (bodies in flight over budget) or 503 (queue full, shutting down). */
  throttled: number;
  /** Answers by HTTP status code. */
  responses: Record<string, number>;
  /** Answers to OTLP/gRPC Export calls by gRPC status name (`OK`, `UNAVAILABLE`, …). */
  grpcResponses: Record<string, number>;
  /**
   * Requests let in past a full export queue because a span in them carries late usage for a held span
   * (at most CARRIER_OVERDRAFT past the queue's limits; see intake.ts).
   */
  carrierOverdrafts: number;
  /** Spans waiting in the export queue now (a gauge). */
  queued: number;
  /** Estimated bytes of spans accepted and not yet exported, held spans included (a gauge, ≤ maxQueueBytes). */
  queueBytes: number;
  /** The most `queueBytes` has been. */
  queueBytesPeak: number;
  /** Bytes of request bodies being read now, on the wire and inflated (a gauge, ≤ maxInflightBytes). */
  inflightBytes: number;
  /** The most `inflightBytes` has been. */
  inflightBytesPeak: number;
  /** Connections open now (a gauge, ≤ maxConnections). */
  connections: number;
  /** Connections closed on arrival because maxConnections were open. */
  connectionsRefused: number;
  /** Spans handed to the exporter. */
  exportedSpans: number;
  /** Of those, spans in exports that failed (also counted in the processor's `errors`). */
  failedSpans: number;
}

/** `GET /stats` and {@link Relay.stats}. */
export interface RelayStats {
  processor: GenAiEnrichingProcessorStats;
  relay: RelayCounters;
  /** The delivery queue, when the relay forwards (none in embedded mode). */
  forwarding?: ForwardingStats;
}

/** A running relay. */
export interface Relay {
  readonly address: RelayAddress;
  readonly config: RelayConfig;
  readonly processor: GenAiEnrichingProcessor;
  stats(): RelayStats;
  /**
   * Once: stops accepting (new requests get 503, `/health` 503), forwards every held span (`flushed`),
   * shuts the processor down, delivers what is queued for up to `shutdownGraceMillis` (what is left stays
   * in the durable queue for the next start, or is counted lost in memory), then closes the server.
   */
  close(): Promise<void>;
}

const MEDIA_TYPES: Record<string, OtlpFormat> = {
  'application/x-protobuf': 'protobuf',
  'application/json': 'json',
};

/**
 * How much of a refused body (413, 429, 503) is read and thrown away so that the client can read the answer
 * (body-reader.ts): 64 MiB, three times the default body limit. A client sending more is cut off.
 */
export const DISCARD_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Starts a relay: validates `options` (throws a RelayConfigError listing every problem), builds the
 * exporter and the processor, and listens. Resolves once the server is listening.
 */
export async function startRelay(options: RelayOptions = {}): Promise<Relay> {
  const config = resolveRelayConfig(options);
  const ledger = new SpanLedger(config.maxQueueBytes);
  const room = new RoomSignal();
  let forwarding: Forwarding | undefined;
  if (config.forward !== undefined) {
    forwarding = await Forwarding.open(config, config.forward, {
      // Encoded batches are counted in the queue's byte budget until they are delivered (or given up).
      onQueued: (bytes) => ledger.bytes.force(bytes),
      onSettled: (bytes) => {
        ledger.bytes.give(bytes);
        room.notify();
      },
    });
  }
  const next = forwarding?.queue ?? new OtlpJsonLinesExporter(options.output ?? process.stdout);
  const exporter = new CountingExporter(next, ledger, () => room.notify());
  const metrics = config.metrics ? new RelayMetrics(config) : undefined;
  const processor = new GenAiEnrichingProcessor(exporter, {
    holdMillis: config.holdMillis,
    maxHeldSpans: config.maxHeldSpans,
    maxHeldBytes: config.maxHeldBytes,
    maxOpenMillis: config.maxOpenMillis,
    // The intake keeps the queue within maxQueueSize, or within the carriers' overdraft past it.
    maxQueueSize: withCarrierOverdraft(config.maxQueueSize),
    maxExportBatchSize: config.maxExportBatchSize,
    scheduledDelayMillis: config.scheduledDelayMillis,
    countUsageOnce: config.countUsageOnce,
    ...(config.rules === undefined ? {} : { rules: rulesOf(config.rules) }),
    ...(metrics !== undefined ? { metrics: { meterProvider: metrics.meterProvider } } : {}),
  });
  const relay = new RelayServer(config, processor, exporter, ledger, room, forwarding, metrics);
  metrics?.observe(() => relay.stats());
  try {
    await relay.resume();
    await relay.listen();
  } catch (error) {
    await processor.shutdown();
    await forwarding?.close(Date.now());
    await metrics?.shutdown();
    throw error;
  }
  return relay;
}

/** The rules validated at resolve time (a file read again here: the config may have come from the CLI). */
function rulesOf(value: string | UserRulesInput): UserRulesInput | undefined {
  const loaded = loadRules(value);
  return 'rules' in loaded ? loaded.rules : undefined;
}

type Counters = Omit<
  RelayCounters,
  | 'queued'
  | 'exportedSpans'
  | 'failedSpans'
  | 'queueBytes'
  | 'queueBytesPeak'
  | 'inflightBytes'
  | 'inflightBytesPeak'
  | 'connections'
  | 'carrierOverdrafts'
>;

class RelayServer implements Relay {
  readonly config: RelayConfig;
  readonly processor: GenAiEnrichingProcessor;
  private readonly _exporter: CountingExporter;
  private readonly _ledger: SpanLedger;
  private readonly _forwarding: Forwarding | undefined;
  private readonly _inflight: ByteBudget;
  private readonly _intake: SpanIntake;
  private readonly _bodyLimits: BodyLimits;
  private readonly _server: Server;
  private readonly _grpc: GrpcTraceServer | undefined;
  private readonly _metrics: RelayMetrics | undefined;
  private readonly _counters: Counters = {
    requests: 0,
    exportRequests: 0,
    acceptedRequests: 0,
    spansReceived: 0,
    spansRejected: 0,
    bytesReceived: 0,
    bytesDecoded: 0,
    throttled: 0,
    responses: {},
    grpcResponses: {},
    connectionsRefused: 0,
  };
  private _connections = 0;
  private _address: RelayAddress | undefined;
  private _closing = false;
  private _closed: Promise<void> | undefined;

  constructor(
    config: RelayConfig,
    processor: GenAiEnrichingProcessor,
    exporter: CountingExporter,
    ledger: SpanLedger,
    room: RoomSignal,
    forwarding: Forwarding | undefined,
    metrics: RelayMetrics | undefined,
  ) {
    this.config = config;
    this._metrics = metrics;
    this.processor = processor;
    this._exporter = exporter;
    this._ledger = ledger;
    this._forwarding = forwarding;
    this._inflight = new ByteBudget(config.maxInflightBytes);
    this._intake = new SpanIntake(processor, ledger, room, {
      maxQueueSize: config.maxQueueSize,
      maxQueueBytes: config.maxQueueBytes,
      waitMillis: config.requestTimeoutMillis,
      queued: () => this._queued(this.processor.stats()),
      closing: () => this._closing,
      onHanded: forwarding?.journal === undefined ? undefined : (span) => forwarding.journal!.handed(span),
    });
    this._bodyLimits = {
      maxBodyBytes: config.maxBodyBytes,
      inflight: this._inflight,
      idleMillis: config.idleTimeoutMillis,
      discardBytes: DISCARD_BODY_BYTES,
      flags: {
        maxBodyBytes: '--max-body-bytes',
        maxInflightBytes: '--max-inflight-bytes',
        idleMillis: '--idle-timeout-millis',
      },
    };
    this._server = createServer(
      // Node checks the header and request timeouts on this interval: a quarter of the idle timeout, so a
      // silent connection is closed within 1.25 of it (and never later than 30 s after, Node's default).
      { connectionsCheckingInterval: Math.max(10, Math.min(30_000, Math.floor(config.idleTimeoutMillis / 4))) },
      (req, res) => this._handle(req, res),
    );
    this._server.headersTimeout = config.idleTimeoutMillis;
    this._server.requestTimeout = config.requestTimeoutMillis;
    this._server.keepAliveTimeout = config.idleTimeoutMillis;
    this._server.maxConnections = config.maxConnections;
    this._server.on('drop', () => this._counters.connectionsRefused++);
    this._server.on('connection', (socket: Socket) => {
      this._connections++;
      socket.once('close', () => this._connections--);
    });
    // Expect: 100-continue (curl sends it for large bodies): a body that would be refused is not asked for.
    this._server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      const declared = Number(req.headers['content-length']);
      const path = req.url?.split('?', 1)[0];
      const traces = path === TRACES_PATH || path === '/';
      if (traces && Number.isFinite(declared) && declared > config.maxBodyBytes) {
        this._counters.requests++;
        this._counters.exportRequests++;
        return this._text(res, 413, tooLargeMessage(declared, config.maxBodyBytes), { connection: 'close' });
      }
      res.writeContinue();
      this._handle(req, res);
    });
    const pipeline: ExportPipeline = {
      counters: this._counters,
      inflight: this._inflight,
      refusal: (bytes) => this._refusalBeforeBody(bytes),
      accept: (body, taken) => this._accept(body, taken, 'protobuf'),
    };
    this._grpc = config.grpcListen === undefined ? undefined : new GrpcTraceServer(config, pipeline);
  }

  get address(): RelayAddress {
    if (this._address === undefined) throw new Error('the relay is not listening');
    return this._address;
  }

  async listen(): Promise<void> {
    await this._listenHttp();
    try {
      await this._grpc?.listen();
    } catch (error) {
      this._server.close();
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`OTLP/gRPC on ${this.config.grpcListen}: ${message} (--grpc-listen off turns it off)`, {
        cause: error,
      });
    }
    this._address!.grpcUrl = this._grpc?.address?.url;
  }

  private async _listenHttp(): Promise<void> {
    const bound = await listenOn(this._server, this.config.listen);
    this._address = { ...bound, tracesUrl: bound.url + TRACES_PATH, grpcUrl: undefined };
  }

  stats(): RelayStats {
    const processor = this.processor.stats();
    return {
      processor,
      relay: {
        ...this._counters,
        responses: { ...this._counters.responses },
        grpcResponses: { ...this._counters.grpcResponses },
        queued: this._queued(processor),
        queueBytes: this._ledger.bytes.used,
        queueBytesPeak: this._ledger.bytes.peak,
        inflightBytes: this._inflight.used,
        inflightBytesPeak: this._inflight.peak,
        connections: this._connections + (this._grpc?.connections ?? 0),
        exportedSpans: this._exporter.handed,
        failedSpans: this._exporter.failed,
        carrierOverdrafts: this._intake.carrierOverdrafts,
      },
      ...(this._forwarding === undefined ? {} : { forwarding: this._forwarding.stats() }),
    };
  }

  /** At start: what a previous run acknowledged and journaled goes back to the processor. */
  async resume(): Promise<void> {
    const spans = (await this._forwarding?.resume()) ?? [];
    if (spans.length > 0) await this._intake.replay(spans);
  }

  close(): Promise<void> {
    this._closed ??= this._close();
    return this._closed;
  }

  private async _close(): Promise<void> {
    const deadline = Date.now() + this.config.shutdownGraceMillis;
    this._closing = true;
    // Stop accepting connections; idle keep-alive ones are closed, busy ones finish (and get 503).
    const serverClosed = new Promise<void>((resolve) => this._server.close(() => resolve()));
    this._server.closeIdleConnections();
    this._grpc?.stopAccepting();
    // Requests being handed over stop at their next slice (503), so nothing reaches the processor after this.
    await this.processor.forceFlush();
    await this.processor.shutdown();
    await this._forwarding?.close(deadline);
    // After the processor: the spans flushed at shutdown are in the last metrics export.
    await this._metrics?.shutdown();
    this._server.closeAllConnections();
    await Promise.all([serverClosed, this._grpc?.close()]);
  }

  // ── requests ─────────────────────────────────────────────────────────────────────────────────────

  private _handle(req: IncomingMessage, res: ServerResponse): void {
    this._counters.requests++;
    // Absorb socket errors (a client that resets mid-request); the request is simply abandoned.
    req.on('error', () => {});
    res.on('error', () => {});
    try {
      const path = (req.url ?? '/').split('?', 1)[0];
      // POST / too: LangSmith's OTLP exporter, among others, posts to the configured endpoint as it is.
      if (path === TRACES_PATH || (path === '/' && req.method === 'POST')) {
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
      if (path === '/metrics') return this._serveMetrics(req, res);
      this._text(
        res,
        404,
        `not found: the relay serves POST ${TRACES_PATH} (or POST /), GET /health, GET /stats and (with --metrics) GET /metrics`,
      );
    } catch (error) {
      this._internalError(res, error);
    }
  }

  /** GET /metrics: Prometheus text, collected now (metrics/relay-metrics.ts). */
  private _serveMetrics(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return this._text(res, 405, '/metrics takes GET', { allow: 'GET, HEAD' });
    if (this._metrics === undefined) return this._text(res, 404, 'no metrics: start the relay with --metrics true');
    this._metrics.prometheusText().then(
      (text) => this._send(res, 200, PROMETHEUS_CONTENT_TYPE, Buffer.from(text, 'utf8')),
      (error: unknown) => this._internalError(res, error),
    );
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

    const declared = Number(req.headers['content-length']);
    const read = await readBody(req, gzip, this._bodyLimits, this._counters, this._refusalBeforeBody(declared));
    if (!read.ok) {
      if (read.status === 0) return; // nobody is listening for an answer
      return this._refuse(req, res, format, read);
    }
    const accepted = await this._accept(read.body, read.taken, format);
    if (!accepted.ok) {
      if (accepted.status === 400) return this._status(res, format, 400, accepted.message);
      return this._throttle(res, format, accepted.status, accepted.message);
    }
    this._send(res, 200, CONTENT_TYPES[format], encodeTraceResponse(format, accepted.partial));
  }

  /**
   * A body read within the limits, whichever protocol brought it: decoded (400), admitted and handed to the
   * processor (503). `taken`, the body's bytes of the in-flight budget, goes back once it is decoded.
   */
  private async _accept(body: Buffer, taken: number, format: OtlpFormat): Promise<Accepted> {
    let decoded: DecodeResult;
    try {
      decoded = await decodeInSlices(body, DECODE_SLICE_SPANS, SPLIT_MIN_BYTES, format);
    } catch (error) {
      if (error instanceof OtlpDecodeError) return { ok: false, status: 400, message: error.message };
      throw error;
    } finally {
      // The body is garbage once decoded; the spans are counted in the queue's budget from here on.
      this._inflight.give(taken);
    }
    if (this._closing) return { ok: false, status: 503, message: 'the relay is shutting down' };

    // The durable queue: the request is on disk before the 200 goes out (see delivery/journal.ts); it is
    // written while its spans are handed over.
    const journal = this._forwarding?.journal;
    let journaled: { entry: JournalEntry; written: Promise<boolean> } | undefined;
    if (journal !== undefined && decoded.spans.length > 0) {
      const full = this._diskFull(body.length);
      if (full !== undefined) return { ok: false, status: 503, message: full };
      journaled = journal.record(body, format, decoded.spans);
    }
    const droppedBefore = this.processor.stats().queueDropped;
    const intake = await this._intake.take(decoded.spans);
    if (intake.refused) {
      if (journaled !== undefined) journal!.forget(journaled.entry);
      return { ok: false, status: 503, message: intake.message };
    }
    if (journaled !== undefined) {
      journal!.unhanded(decoded.spans);
      // Not on disk: its spans go on (they were handed over), but the client is told to send it again.
      if (!(await journaled.written)) {
        return { ok: false, status: 503, message: 'the durable queue cannot write the request (see the log)' };
      }
    }
    this._counters.spansReceived += intake.handed;
    // Spans the processor's queue dropped while these were added (the intake leaves room, so none are
    // expected): tell the client rather than no one.
    const dropped = this.processor.stats().queueDropped - droppedBefore;
    const rejected = decoded.rejected + intake.rejected + dropped;
    this._counters.spansRejected += rejected;
    this._counters.acceptedRequests++;
    let partial: { rejectedSpans: number; errorMessage: string } | undefined;
    if (rejected > 0) {
      const messages: string[] = [];
      if (decoded.rejected > 0) messages.push(decoded.rejectionMessage ?? `${decoded.rejected} invalid spans`);
      if (intake.reason !== undefined) messages.push(intake.reason);
      if (dropped > 0)
        messages.push(
          `${dropped} spans dropped: the export queue is full (--max-queue-size ${this.config.maxQueueSize})`,
        );
      partial = { rejectedSpans: rejected, errorMessage: messages.join('; ') };
    }
    return { ok: true, partial };
  }

  /**
   * What refuses a request before its body is read: shutting down or a full export queue (503), a declared
   * length over the body limit (413) or over what the in-flight budget has left (429). The body is then
   * read and discarded, not kept, so that the client sees the answer. `declared`: the body's length, NaN when
   * it is not known (no Content-Length).
   */
  private _refusalBeforeBody(declared: number): Refusal | undefined {
    if (this._closing) return { status: 503, message: 'the relay is shutting down' };
    const stats = this.processor.stats();
    const queued = this._queued(stats);
    // While spans are held the body may carry their late usage, which goes in past a full queue (intake.ts):
    // read it unless even the carriers' overdraft is spent.
    const { maxQueueSize, maxQueueBytes } = this.config;
    const carriers = stats.held > 0;
    if (
      queued + stats.held + stats.awaitingDescendants + this._ledger.reservedSpans >=
        (carriers ? withCarrierOverdraft(maxQueueSize) : maxQueueSize) ||
      this._ledger.bytes.used >= (carriers ? withCarrierOverdraft(maxQueueBytes) : maxQueueBytes)
    ) {
      return {
        status: 503,
        message:
          `the export queue is full: ${queued} spans queued and ${stats.held} held, ` +
          `${this._ledger.bytes.used} bytes of spans not yet exported, limits ${this.config.maxQueueSize} ` +
          `(--max-queue-size) and ${this.config.maxQueueBytes} (--max-queue-bytes); the forward target is slow or down`,
      };
    }
    const diskFull = this._diskFull(0);
    if (diskFull !== undefined) return { status: 503, message: diskFull };
    if (!Number.isFinite(declared)) return undefined;
    if (declared > this.config.maxBodyBytes) {
      return { status: 413, message: tooLargeMessage(declared, this.config.maxBodyBytes) };
    }
    if (this._inflight.used + declared > this._inflight.limit) {
      return {
        status: 429,
        message:
          `the relay is reading ${this._inflight.used} bytes of request bodies, and this one is ${declared}; ` +
          `its limit is ${this._inflight.limit} (--max-inflight-bytes); retry later`,
      };
    }
    return undefined;
  }

  /** Spans accepted and not yet delivered, outside the hold: in the processor's export queue, or being delivered. */
  private _queued(stats: GenAiEnrichingProcessorStats): number {
    const delivering = this._forwarding?.queue.spans ?? 0;
    return Math.max(0, stats.forwarded - stats.queueDropped - this._exporter.handed) + delivering;
  }

  /** Why the durable queue's files have no room for `bytes` more, or undefined when they have. */
  private _diskFull(bytes: number): string | undefined {
    const forwarding = this._forwarding;
    if (forwarding?.journal === undefined) return undefined;
    const used = forwarding.stats().diskBytes;
    if (used + bytes <= this.config.maxQueueDiskBytes) return undefined;
    return (
      `the durable queue's files hold ${used} bytes, limit ${this.config.maxQueueDiskBytes} ` +
      '(--max-queue-disk-bytes); the forward target is slow or down'
    );
  }

  // ── answers ──────────────────────────────────────────────────────────────────────────────────────

  /**
   * A refused body (body-reader.ts). Read to its end, the connection can carry the next request, except
   * after a 413; cut short, it is closed once the answer is out.
   */
  private _refuse(
    req: IncomingMessage,
    res: ServerResponse,
    format: OtlpFormat,
    read: Extract<BodyResult, { drained: boolean }>,
  ): void {
    const close = !read.drained || read.status === 413 || read.status === 408;
    const headers: Record<string, string> = close ? { connection: 'close' } : {};
    if (read.status === 429 || read.status === 503) {
      this._counters.throttled++;
      headers['retry-after'] = String(DEFAULT_RETRY_AFTER_SECONDS);
    }
    this._status(res, format, read.status, read.message, headers);
    if (!read.drained) res.once('finish', () => req.socket.destroy());
  }

  /** 429 or 503 with Retry-After, after the body was read. */
  private _throttle(res: ServerResponse, format: OtlpFormat, status: 429 | 503, message: string): void {
    this._counters.throttled++;
    this._status(res, format, status, message, { 'retry-after': String(DEFAULT_RETRY_AFTER_SECONDS) });
  }

  /** A google.rpc.Status body in the request's format, as the OTLP/HTTP specification asks. */
  private _status(
    res: ServerResponse,
    format: OtlpFormat,
    status: number,
    message: string,
    headers: Record<string, string> = {},
  ): void {
    const code = rpcCodeOf(status);
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

function tooLargeMessage(declared: number, limit: number): string {
  return `the body is ${declared} bytes; the limit is ${limit} (--max-body-bytes)`;
}
