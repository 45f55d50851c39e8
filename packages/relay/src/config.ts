/*
 * The relay's settings: one options object (`RelayOptions`) with exported `DEFAULT_*` constants, and the
 * edge that fills it from the command line and the environment (`parseRelayCommand`). A flag wins over its
 * environment variable, which wins over the default; an empty environment variable counts as unset, as in
 * the OpenTelemetry SDKs. Validation collects every problem at once, each naming where the setting came
 * from (flag, environment variable or option name) and the value it had.
 */
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import type { UserRulesInput } from '@genai-enrich/processor';
import { loadRules } from './rules-file.js';
import {
  DEFAULT_HOLD_MILLIS,
  DEFAULT_MAX_EXPORT_BATCH_SIZE,
  DEFAULT_MAX_HELD_BYTES,
  DEFAULT_MAX_HELD_SPANS,
  DEFAULT_MAX_OPEN_MILLIS,
  DEFAULT_SCHEDULED_DELAY_MILLIS,
} from '@genai-enrich/processor';
import {
  MAX_TIMER_MILLIS,
  PROCESSOR_OPTION_BOUNDS,
  describeValue,
  integerRange,
  isWithinBounds,
} from '@genai-enrich/processor/internal';
import type { IntegerBounds } from '@genai-enrich/processor/internal';

/** How enriched spans are forwarded: OTLP/HTTP with a protobuf or a JSON body, or OTLP/gRPC. */
export type ForwardProtocol = 'http/protobuf' | 'http/json' | 'grpc';

/** Default {@link RelayOptions.listen}: loopback only, on the OTLP/HTTP port. */
export const DEFAULT_LISTEN = '127.0.0.1:4318';
/**
 * The OTLP/gRPC port: by default the relay receives gRPC on {@link RelayOptions.listen}'s host at this port
 * (see {@link RelayOptions.grpcListen}).
 */
export const DEFAULT_GRPC_PORT = 4317;
/** Default {@link RelayOptions.forwardProtocol}, as the OpenTelemetry SDKs default to. */
export const DEFAULT_FORWARD_PROTOCOL: ForwardProtocol = 'http/protobuf';
/** Default {@link RelayOptions.maxBodyBytes}: 20 MiB, the OTLP specification's recommendation. */
export const DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024;
/**
 * Default {@link RelayOptions.maxQueueSize}: twice the default `maxHeldSpans`, four times the processor's own
 * default. The queue must have room for every held span (a flush at shutdown releases them all at once) and
 * for the requests arriving meanwhile.
 */
export const DEFAULT_RELAY_MAX_QUEUE_SIZE = 2 * DEFAULT_MAX_HELD_SPANS;
/**
 * Default {@link RelayOptions.maxInflightBytes}: 64 MiB of request bodies being read at once, counted
 * compressed and inflated, so that a gzip body at the default `maxBodyBytes` (20 MiB on the wire, 20 MiB
 * inflated) fits beside a few small requests. With the two budgets below, the relay's accounted memory stays
 * under 128 MiB: a pod with 256 MiB has room for it, for Node and for the decoding of one body.
 */
export const DEFAULT_MAX_INFLIGHT_BYTES = 64 * 1024 * 1024;
/**
 * Default {@link RelayOptions.maxQueueBytes}: 64 MiB of accepted spans not yet exported, held spans
 * included, twice the default `maxHeldBytes` as the queue's count is twice `maxHeldSpans`: held spans can
 * fill half, and the other half is always there for spans that flow straight through.
 */
export const DEFAULT_MAX_QUEUE_BYTES = 2 * DEFAULT_MAX_HELD_BYTES;
/**
 * Default {@link RelayOptions.maxConnections}: open connections at once. An SDK keeps one or a few; the cap
 * keeps the relay's file descriptors (1024 in many containers) for the connections it makes itself.
 */
export const DEFAULT_MAX_CONNECTIONS = 512;
/**
 * Default {@link RelayOptions.idleTimeoutMillis}: 10 s. A connection that sends nothing this long (before
 * its headers, within a body, or between requests) is closed.
 */
export const DEFAULT_IDLE_TIMEOUT_MILLIS = 10_000;
/** Default {@link RelayOptions.requestTimeoutMillis}: 60 s for a whole request, headers and body. */
export const DEFAULT_REQUEST_TIMEOUT_MILLIS = 60_000;
/**
 * Default {@link RelayOptions.maxQueueDiskBytes}: 1 GiB of the durable queue's files (stored batches and
 * journaled requests); past it the relay answers 503.
 */
export const DEFAULT_MAX_QUEUE_DISK_BYTES = 1024 * 1024 * 1024;
/** Default {@link RelayOptions.exportConcurrency}: batches being delivered at once. */
export const DEFAULT_EXPORT_CONCURRENCY = 4;
/** Default {@link RelayOptions.exportTimeoutMillis}: one delivery attempt, as the OTLP exporters' default. */
export const DEFAULT_EXPORT_TIMEOUT_MILLIS = 10_000;
/** Default {@link RelayOptions.retryInitialIntervalMillis}: the Collector's `retry_on_failure` default. */
export const DEFAULT_RETRY_INITIAL_INTERVAL_MILLIS = 5_000;
/** Default {@link RelayOptions.retryMaxIntervalMillis}: the Collector's default. */
export const DEFAULT_RETRY_MAX_INTERVAL_MILLIS = 30_000;
/** Default {@link RelayOptions.retryMaxElapsedMillis}: a batch is retried for 5 minutes, the Collector's default. */
export const DEFAULT_RETRY_MAX_ELAPSED_MILLIS = 300_000;
/**
 * Default {@link RelayOptions.shutdownGraceMillis}: how long SIGTERM may spend delivering, within
 * Kubernetes' default 30 s grace period.
 */
export const DEFAULT_SHUTDOWN_GRACE_MILLIS = 20_000;
/** The `--queue-dir` value that keeps the queue in memory only. */
export const MEMORY_QUEUE = 'memory';

/** The `Retry-After` value, in seconds, sent with 429 and 503 answers. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;
/** The OTLP/HTTP traces path, received on and appended to a base `forward` URL. */
export const TRACES_PATH = '/v1/traces';
/**
 * Default {@link RelayOptions.metricsIntervalMillis}: 60 s between two OTLP metric exports, as the
 * OpenTelemetry SDKs' `OTEL_METRIC_EXPORT_INTERVAL`.
 */
export const DEFAULT_METRICS_INTERVAL_MILLIS = 60_000;

/** Where the embedded mode (no `forward`) writes its OTLP JSON lines: `process.stdout` or a test double. */
export interface RelayOutput {
  write(chunk: Uint8Array | string, callback?: (error?: Error | null) => void): boolean;
}

/** Options of {@link startRelay}; every field is optional. */
export interface RelayOptions {
  /**
   * `host:port` to listen on (`[::1]:4318` for IPv6; port 0 picks a free one). The default value is `'127.0.0.1:4318'`.
   */
  listen?: string;
  /**
   * `host:port` to receive OTLP/gRPC on (`TraceService/Export`), or `'off'`. The default is `listen`'s host at
   * port 4317, or at port 0 (a free port) when `listen`'s port is 0.
   */
  grpcListen?: string;
  /**
   * The OTLP/HTTP endpoint enriched spans go to: a base URL (`/v1/traces` is appended) or the full traces URL.
   * With `forwardProtocol: 'grpc'`, the gRPC endpoint `http://host:port` (`https://` for TLS), without a path.
   * None: each export batch is written to `output` (stdout) as one OTLP JSON line. The default is none.
   */
  forward?: string;
  /** The forwarding body format. The default value is `'http/protobuf'`. */
  forwardProtocol?: ForwardProtocol;
  /**
   * Extra headers on forwarded requests, as a record or `key=value,…` (values percent-decoded). The default is none.
   */
  forwardHeaders?: Record<string, string> | string;
  /** The largest request body accepted, before and after gzip decompression, in bytes. The default value is 20 MiB. */
  maxBodyBytes?: number;
  /**
   * The most bytes of request bodies being read at once, across all connections, counted on the wire and
   * again after gunzip; a request that would pass it gets 429. At least twice `maxBodyBytes`. The default
   * value is 64 MiB.
   */
  maxInflightBytes?: number;
  /** The most connections open at once; more are closed as they arrive. The default value is 512. */
  maxConnections?: number;
  /**
   * A connection silent this long is closed: before its request's headers are in (408), within a body
   * (408), or between requests. The default value is 10000.
   */
  idleTimeoutMillis?: number;
  /** The longest a whole request (headers and body) may take (408). At least `idleTimeoutMillis`. The default value is 60000. */
  requestTimeoutMillis?: number;
  /** The processor's `holdMillis`. The default value is 60000. */
  holdMillis?: number;
  /** The processor's `maxHeldSpans`: beyond it the oldest held span is forwarded (evicted). The default value is 4096. */
  maxHeldSpans?: number;
  /**
   * The processor's `maxHeldBytes`: held spans' estimated bytes; beyond it the oldest are forwarded
   * (evicted). The default value is 32 MiB.
   */
  maxHeldBytes?: number;
  /** The processor's `maxOpenMillis`. The default value is 600000. */
  maxOpenMillis?: number;
  /**
   * The processor's export queue bound, at least `maxHeldSpans`; when a request would not fit beside the
   * queued and held spans the relay answers 503. The default value is 8192.
   */
  maxQueueSize?: number;
  /**
   * The most estimated bytes of spans accepted and not yet exported, held spans included; when a request
   * would not fit the relay answers 503. At least `maxHeldBytes`. The default value is 64 MiB.
   */
  maxQueueBytes?: number;
  /** The processor's `maxExportBatchSize`, clamped to `maxQueueSize`. The default value is 512. */
  maxExportBatchSize?: number;
  /**
   * The processor's `scheduledDelayMillis`: how long a partial batch waits before it is forwarded. The default value is
   * 5000.
   */
  scheduledDelayMillis?: number;
  /**
   * Where the durable queue keeps its files (stored batches and journaled requests), or `'memory'` for a
   * queue that does not survive the process. Only when forwarding. The default is a directory per listen
   * address under the system's temporary directory (`<tmpdir>/genai-enrich-relay/<host>-<port>`); with port 0, a
   * fresh directory removed at close.
   */
  queueDir?: string;
  /** The most bytes of the durable queue's files; past it the relay answers 503. The default value is 1 GiB. */
  maxQueueDiskBytes?: number;
  /** `gzip` or `none`: how forwarded bodies are compressed. The default value is `'none'`. */
  forwardCompression?: 'gzip' | 'none';
  /** Batches delivered at once. The default value is 4. */
  exportConcurrency?: number;
  /** How long one delivery attempt may take. The default value is 10000. */
  exportTimeoutMillis?: number;
  /** The first wait before a failed delivery is retried; each next one is 1.5 times longer. The default value is 5000. */
  retryInitialIntervalMillis?: number;
  /** The longest wait between two attempts. The default value is 30000. */
  retryMaxIntervalMillis?: number;
  /**
   * How long a batch is retried, from its first attempt, before its spans are counted lost; 0 retries
   * nothing. The default value is 300000.
   */
  retryMaxElapsedMillis?: number;
  /** How long shutdown (SIGTERM) may spend delivering what is queued. The default value is 20000. */
  shutdownGraceMillis?: number;
  /**
   * The processor's `countUsageOnce`: usage that repeats usage counted on other spans of the trace (agent,
   * chain, outer-span totals; twin spans) moves to `genai_enrich.repeated_usage.*`. `false` leaves it in
   * place. As a flag or variable: `true` or `false`. The default value is `true`.
   */
  countUsageOnce?: boolean;
  /**
   * Metrics: the processor's GenAI metrics and its `stats()`, and the relay's counters, served as Prometheus
   * text on `GET /metrics` and, with `forward`, exported over OTLP to its `/v1/metrics` every
   * `metricsIntervalMillis`. As a flag or variable: `true` or `false`. The default value is `false`.
   */
  metrics?: boolean;
  /** With `metrics` and `forward`: the time between two OTLP metric exports, in ms. The default value is 60000. */
  metricsIntervalMillis?: number;
  /**
   * The processor's `rules`: key mappings and value maps for an in-house emitter, as a JSON or YAML file
   * (`.yaml`/`.yml`), or given in code. Checked at start: every bad rule is named. The default is none.
   */
  rules?: string | UserRulesInput;
  /**
   * Embedded mode only: where OTLP JSON lines are written. Not a command-line setting. The default is `process.stdout`.
   */
  output?: RelayOutput;
}

/** The options after validation, with every default filled in. */
export interface RelayConfig {
  /** `host:port`, normalized (`[::1]:4318` for IPv6). */
  listen: string;
  /** `host:port` for OTLP/gRPC, normalized; undefined when it is off. */
  grpcListen: string | undefined;
  /**
   * The full traces URL (`http://host:port` for gRPC), or undefined for the embedded stdout mode.
   */
  forward: string | undefined;
  forwardProtocol: ForwardProtocol;
  forwardHeaders: Record<string, string>;
  maxBodyBytes: number;
  maxInflightBytes: number;
  maxConnections: number;
  idleTimeoutMillis: number;
  requestTimeoutMillis: number;
  holdMillis: number;
  maxHeldSpans: number;
  maxHeldBytes: number;
  maxOpenMillis: number;
  maxQueueSize: number;
  maxQueueBytes: number;
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
  countUsageOnce: boolean;
  /**
   * The durable queue's directory, or `'memory'`; undefined (the default with port 0): a fresh directory
   * of this run's own, removed at close. Embedded mode has no queue.
   */
  queueDir: string | undefined;
  maxQueueDiskBytes: number;
  forwardCompression: 'gzip' | 'none';
  exportConcurrency: number;
  exportTimeoutMillis: number;
  retryInitialIntervalMillis: number;
  retryMaxIntervalMillis: number;
  retryMaxElapsedMillis: number;
  shutdownGraceMillis: number;
  metrics: boolean;
  metricsIntervalMillis: number;
  /** The rules file's path, or rules given in code; validated. */
  rules: string | UserRulesInput | undefined;
}

/** Invalid settings; `problems` lists each one, and the message joins them. */
export class RelayConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'RelayConfigError';
    this.problems = problems;
  }
}

/** What the command line asks for. */
export type RelayCommand = { command: 'run'; config: RelayConfig } | { command: 'help' } | { command: 'version' };

type Key =
  | 'listen'
  | 'grpcListen'
  | 'forward'
  | 'forwardProtocol'
  | 'forwardHeaders'
  | 'maxBodyBytes'
  | 'maxInflightBytes'
  | 'maxConnections'
  | 'idleTimeoutMillis'
  | 'requestTimeoutMillis'
  | 'holdMillis'
  | 'maxHeldSpans'
  | 'maxHeldBytes'
  | 'maxOpenMillis'
  | 'maxQueueSize'
  | 'maxQueueBytes'
  | 'maxExportBatchSize'
  | 'scheduledDelayMillis'
  | 'countUsageOnce'
  | 'queueDir'
  | 'maxQueueDiskBytes'
  | 'forwardCompression'
  | 'exportConcurrency'
  | 'exportTimeoutMillis'
  | 'retryInitialIntervalMillis'
  | 'retryMaxIntervalMillis'
  | 'retryMaxElapsedMillis'
  | 'shutdownGraceMillis'
  | 'metrics'
  | 'metricsIntervalMillis'
  | 'rules';

/** One command-line setting: its option key, flag, environment variables and help. */
export interface RelaySetting {
  readonly key: Key;
  readonly flag: string;
  /** Environment variables, the first set one wins (signal-specific OTEL variables before general ones). */
  readonly env: readonly string[];
  readonly value: string;
  readonly defaultText: string;
  readonly help: string;
}

/** Every setting, in the order of `--help` and the README table. */
export const RELAY_SETTINGS: readonly RelaySetting[] = [
  {
    key: 'listen',
    flag: 'listen',
    env: ['GENAI_ENRICH_RELAY_LISTEN'],
    value: 'HOST:PORT',
    defaultText: DEFAULT_LISTEN,
    help: 'where to receive OTLP/HTTP (POST /v1/traces)',
  },
  {
    key: 'grpcListen',
    flag: 'grpc-listen',
    env: ['GENAI_ENRICH_RELAY_GRPC_LISTEN'],
    value: 'HOST:PORT',
    defaultText: `--listen's host, port ${DEFAULT_GRPC_PORT}`,
    help: "where to receive OTLP/gRPC (TraceService/Export); off turns it off; port 0 when --listen's port is 0",
  },
  {
    key: 'forward',
    flag: 'forward',
    env: ['GENAI_ENRICH_RELAY_FORWARD'],
    value: 'URL',
    defaultText: 'none: stdout',
    help: 'OTLP/HTTP endpoint to forward to (base URL or full /v1/traces URL); none writes OTLP JSON lines to stdout',
  },
  {
    key: 'forwardProtocol',
    flag: 'forward-protocol',
    env: ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'],
    value: 'PROTOCOL',
    defaultText: DEFAULT_FORWARD_PROTOCOL,
    help: 'http/protobuf, http/json or grpc',
  },
  {
    key: 'forwardHeaders',
    flag: 'forward-headers',
    env: ['OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'OTEL_EXPORTER_OTLP_HEADERS'],
    value: 'K=V,…',
    defaultText: 'none',
    help: 'headers on forwarded requests, values percent-decoded',
  },
  {
    key: 'maxBodyBytes',
    flag: 'max-body-bytes',
    env: ['GENAI_ENRICH_RELAY_MAX_BODY_BYTES'],
    value: 'BYTES',
    defaultText: '20MiB',
    help: 'largest request body, raw and after gunzip (413 above); KiB/MiB/GiB suffixes allowed',
  },
  {
    key: 'maxInflightBytes',
    flag: 'max-inflight-bytes',
    env: ['GENAI_ENRICH_RELAY_MAX_INFLIGHT_BYTES'],
    value: 'BYTES',
    defaultText: '64MiB',
    help: 'request bodies being read at once, all connections, raw and inflated (429 above); ≥ 2 × --max-body-bytes',
  },
  {
    key: 'maxConnections',
    flag: 'max-connections',
    env: ['GENAI_ENRICH_RELAY_MAX_CONNECTIONS'],
    value: 'N',
    defaultText: String(DEFAULT_MAX_CONNECTIONS),
    help: 'most connections open at once; more are closed as they arrive',
  },
  {
    key: 'idleTimeoutMillis',
    flag: 'idle-timeout-millis',
    env: ['GENAI_ENRICH_RELAY_IDLE_TIMEOUT_MILLIS'],
    value: 'MS',
    defaultText: String(DEFAULT_IDLE_TIMEOUT_MILLIS),
    help: 'a connection silent this long (before its headers, within a body, between requests) is closed',
  },
  {
    key: 'requestTimeoutMillis',
    flag: 'request-timeout-millis',
    env: ['GENAI_ENRICH_RELAY_REQUEST_TIMEOUT_MILLIS'],
    value: 'MS',
    defaultText: String(DEFAULT_REQUEST_TIMEOUT_MILLIS),
    help: 'the longest a whole request, headers and body, may take (408); at least --idle-timeout-millis',
  },
  {
    key: 'holdMillis',
    flag: 'hold-millis',
    env: ['GENAI_ENRICH_RELAY_HOLD_MILLIS'],
    value: 'MS',
    defaultText: String(DEFAULT_HOLD_MILLIS),
    help: 'how long an inference span without usage waits for late usage',
  },
  {
    key: 'maxHeldSpans',
    flag: 'max-held-spans',
    env: ['GENAI_ENRICH_RELAY_MAX_HELD_SPANS'],
    value: 'N',
    defaultText: String(DEFAULT_MAX_HELD_SPANS),
    help: 'most spans held at once; beyond it the oldest is forwarded without usage (evicted)',
  },
  {
    key: 'maxHeldBytes',
    flag: 'max-held-bytes',
    env: ['GENAI_ENRICH_RELAY_MAX_HELD_BYTES'],
    value: 'BYTES',
    defaultText: '32MiB',
    help: 'estimated bytes of held spans; beyond it the oldest are forwarded without usage (evicted)',
  },
  {
    key: 'maxOpenMillis',
    flag: 'max-open-millis',
    env: ['GENAI_ENRICH_RELAY_MAX_OPEN_MILLIS'],
    value: 'MS',
    defaultText: String(DEFAULT_MAX_OPEN_MILLIS),
    help: "the processor's watchdog for open spans",
  },
  {
    key: 'maxQueueSize',
    flag: 'max-queue-size',
    env: ['GENAI_ENRICH_RELAY_MAX_QUEUE_SIZE'],
    value: 'N',
    defaultText: String(DEFAULT_RELAY_MAX_QUEUE_SIZE),
    help: 'spans accepted and not yet exported, held ones included, at least --max-held-spans; 503 when full',
  },
  {
    key: 'maxQueueBytes',
    flag: 'max-queue-bytes',
    env: ['GENAI_ENRICH_RELAY_MAX_QUEUE_BYTES'],
    value: 'BYTES',
    defaultText: '64MiB',
    help: 'estimated bytes of spans not yet exported, held ones included (503 above); at least --max-held-bytes',
  },
  {
    key: 'maxExportBatchSize',
    flag: 'max-export-batch-size',
    env: ['GENAI_ENRICH_RELAY_MAX_EXPORT_BATCH_SIZE'],
    value: 'N',
    defaultText: String(DEFAULT_MAX_EXPORT_BATCH_SIZE),
    help: 'most spans per forwarded request',
  },
  {
    key: 'scheduledDelayMillis',
    flag: 'scheduled-delay-millis',
    env: ['GENAI_ENRICH_RELAY_SCHEDULED_DELAY_MILLIS'],
    value: 'MS',
    defaultText: String(DEFAULT_SCHEDULED_DELAY_MILLIS),
    help: 'how long a partial batch waits before it is forwarded',
  },
  {
    key: 'countUsageOnce',
    flag: 'count-usage-once',
    env: ['GENAI_ENRICH_RELAY_COUNT_USAGE_ONCE'],
    value: 'BOOL',
    defaultText: 'true',
    help: "true: usage that repeats its descendants' or a twin's moves to genai_enrich.repeated_usage.*; false: left in place",
  },
  {
    key: 'queueDir',
    flag: 'queue-dir',
    env: ['GENAI_ENRICH_RELAY_QUEUE_DIR'],
    value: 'DIR',
    defaultText: '<tmpdir>/genai-enrich-relay/<host>-<port>',
    help: 'the durable queue: acknowledged spans survive a crash and are delivered after restart; memory: in memory only',
  },
  {
    key: 'maxQueueDiskBytes',
    flag: 'max-queue-disk-bytes',
    env: ['GENAI_ENRICH_RELAY_MAX_QUEUE_DISK_BYTES'],
    value: 'BYTES',
    defaultText: '1GiB',
    help: "the durable queue's files (stored batches, journaled requests); 503 above",
  },
  {
    key: 'forwardCompression',
    flag: 'forward-compression',
    env: ['OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', 'OTEL_EXPORTER_OTLP_COMPRESSION'],
    value: 'MODE',
    defaultText: 'none',
    help: 'compression of forwarded bodies: gzip or none',
  },
  {
    key: 'exportConcurrency',
    flag: 'export-concurrency',
    env: ['GENAI_ENRICH_RELAY_EXPORT_CONCURRENCY'],
    value: 'N',
    defaultText: String(DEFAULT_EXPORT_CONCURRENCY),
    help: 'batches delivered to the forward target at once',
  },
  {
    key: 'exportTimeoutMillis',
    flag: 'export-timeout-millis',
    env: ['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT'],
    value: 'MS',
    defaultText: String(DEFAULT_EXPORT_TIMEOUT_MILLIS),
    help: 'how long one delivery attempt may take before it is retried',
  },
  {
    key: 'retryInitialIntervalMillis',
    flag: 'retry-initial-interval-millis',
    env: ['GENAI_ENRICH_RELAY_RETRY_INITIAL_INTERVAL_MILLIS'],
    value: 'MS',
    defaultText: String(DEFAULT_RETRY_INITIAL_INTERVAL_MILLIS),
    help: 'first wait before a failed delivery is retried (429, 502, 503, 504, no answer); then × 1.5 each time',
  },
  {
    key: 'retryMaxIntervalMillis',
    flag: 'retry-max-interval-millis',
    env: ['GENAI_ENRICH_RELAY_RETRY_MAX_INTERVAL_MILLIS'],
    value: 'MS',
    defaultText: String(DEFAULT_RETRY_MAX_INTERVAL_MILLIS),
    help: 'longest wait between two attempts (a longer Retry-After is honoured)',
  },
  {
    key: 'retryMaxElapsedMillis',
    flag: 'retry-max-elapsed-millis',
    env: ['GENAI_ENRICH_RELAY_RETRY_MAX_ELAPSED_MILLIS'],
    value: 'MS',
    defaultText: String(DEFAULT_RETRY_MAX_ELAPSED_MILLIS),
    help: 'how long a batch is retried before its spans count as lost; 0: no retries',
  },
  {
    key: 'shutdownGraceMillis',
    flag: 'shutdown-grace-millis',
    env: ['GENAI_ENRICH_RELAY_SHUTDOWN_GRACE_MILLIS'],
    value: 'MS',
    defaultText: String(DEFAULT_SHUTDOWN_GRACE_MILLIS),
    help: 'how long SIGTERM may spend delivering; what is left stays in the durable queue (memory: counted lost)',
  },
  {
    key: 'metrics',
    flag: 'metrics',
    env: ['GENAI_ENRICH_RELAY_METRICS'],
    value: 'BOOL',
    defaultText: 'false',
    help: "true: GenAI metrics and the relay's own, on GET /metrics (Prometheus text) and, with --forward, over OTLP",
  },
  {
    key: 'metricsIntervalMillis',
    flag: 'metrics-interval-millis',
    env: ['OTEL_METRIC_EXPORT_INTERVAL'],
    value: 'MS',
    defaultText: String(DEFAULT_METRICS_INTERVAL_MILLIS),
    help: 'with --metrics and --forward: the time between two OTLP metric exports',
  },
  {
    key: 'rules',
    flag: 'rules',
    env: ['GENAI_ENRICH_RELAY_RULES'],
    value: 'FILE',
    defaultText: 'none',
    help: 'key mappings and value maps for an in-house emitter, JSON or YAML (.yaml/.yml)',
  },
];

const FORWARD_PROTOCOLS: readonly ForwardProtocol[] = ['http/protobuf', 'http/json', 'grpc'];

/**
 * The numeric settings. The processor's options keep the processor's own bounds (option-bounds.ts in the
 * processor), so the relay accepts exactly what the processor would. Relay-only: the body limit, the byte
 * budgets of bodies in flight and of the queue, the connection cap and timeouts, and `maxQueueSize`'s
 * default, which leaves room for every held span; `resolve` also checks the pairs that must agree (queue
 * and held spans, in count and bytes; bodies in flight and the body limit; request and idle timeouts).
 */
const NUMERIC: ReadonlyArray<readonly [Key, IntegerBounds]> = [
  // A body limit above 1 GiB is a typo, not a plan: a body is held in memory while it is decoded.
  ['maxBodyBytes', { defaultValue: DEFAULT_MAX_BODY_BYTES, min: 1, max: 2 ** 30 }],
  // The byte budgets: above 64 GiB is a typo too.
  ['maxInflightBytes', { defaultValue: DEFAULT_MAX_INFLIGHT_BYTES, min: 1, max: 2 ** 36 }],
  // Node counts connections in an int; a file descriptor each, no process gets near a million.
  ['maxConnections', { defaultValue: DEFAULT_MAX_CONNECTIONS, min: 1, max: 2 ** 20 }],
  // Node's own timers stop at 2^31 - 1 ms, as the processor's do.
  ['idleTimeoutMillis', { defaultValue: DEFAULT_IDLE_TIMEOUT_MILLIS, min: 1, max: MAX_TIMER_MILLIS }],
  ['requestTimeoutMillis', { defaultValue: DEFAULT_REQUEST_TIMEOUT_MILLIS, min: 1, max: MAX_TIMER_MILLIS }],
  ['holdMillis', PROCESSOR_OPTION_BOUNDS.holdMillis],
  ['maxHeldSpans', PROCESSOR_OPTION_BOUNDS.maxHeldSpans],
  ['maxHeldBytes', PROCESSOR_OPTION_BOUNDS.maxHeldBytes],
  ['maxOpenMillis', PROCESSOR_OPTION_BOUNDS.maxOpenMillis],
  ['maxQueueSize', { ...PROCESSOR_OPTION_BOUNDS.maxQueueSize, defaultValue: DEFAULT_RELAY_MAX_QUEUE_SIZE }],
  ['maxQueueBytes', { defaultValue: DEFAULT_MAX_QUEUE_BYTES, min: 1, max: 2 ** 36 }],
  ['maxExportBatchSize', PROCESSOR_OPTION_BOUNDS.maxExportBatchSize],
  ['scheduledDelayMillis', PROCESSOR_OPTION_BOUNDS.scheduledDelayMillis],
  ['maxQueueDiskBytes', { defaultValue: DEFAULT_MAX_QUEUE_DISK_BYTES, min: 1, max: 2 ** 50 }],
  // A thousand connections to one target is a typo: each is a socket and a batch in memory.
  ['exportConcurrency', { defaultValue: DEFAULT_EXPORT_CONCURRENCY, min: 1, max: 1000 }],
  ['exportTimeoutMillis', { defaultValue: DEFAULT_EXPORT_TIMEOUT_MILLIS, min: 1, max: MAX_TIMER_MILLIS }],
  [
    'retryInitialIntervalMillis',
    { defaultValue: DEFAULT_RETRY_INITIAL_INTERVAL_MILLIS, min: 1, max: MAX_TIMER_MILLIS },
  ],
  ['retryMaxIntervalMillis', { defaultValue: DEFAULT_RETRY_MAX_INTERVAL_MILLIS, min: 1, max: MAX_TIMER_MILLIS }],
  ['retryMaxElapsedMillis', { defaultValue: DEFAULT_RETRY_MAX_ELAPSED_MILLIS, min: 0, max: MAX_TIMER_MILLIS }],
  ['shutdownGraceMillis', { defaultValue: DEFAULT_SHUTDOWN_GRACE_MILLIS, min: 0, max: MAX_TIMER_MILLIS }],
  ['metricsIntervalMillis', { defaultValue: DEFAULT_METRICS_INTERVAL_MILLIS, min: 1, max: MAX_TIMER_MILLIS }],
];

/** A setting's value and where it came from (`--listen`, `GENAI_ENRICH_RELAY_LISTEN` or `listen`). */
interface Sourced {
  readonly value: unknown;
  readonly source: string;
}
type Raw = Partial<Record<Key, Sourced>>;

/**
 * Lists every problem with `options`, each naming the option and its bad value. An empty list means the
 * options are valid. Unknown option names are reported too, since a typo would silently fall back to a default.
 */
export function validateRelayOptions(options: RelayOptions | undefined): string[] {
  return resolve(fromOptions(options)).problems;
}

/** Validates `options` and fills in defaults; throws a {@link RelayConfigError} listing every problem. */
export function resolveRelayConfig(options?: RelayOptions): RelayConfig {
  const { config, problems } = resolve(fromOptions(options));
  if (problems.length > 0) throw new RelayConfigError(problems);
  return config;
}

/**
 * Reads the command line (`argv` without node and the script) and the environment. Throws a
 * {@link RelayConfigError} naming every bad flag or variable, with its value; `--help` and `--version`
 * win over everything else.
 */
export function parseRelayCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): RelayCommand {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
  };
  for (const setting of RELAY_SETTINGS) options[setting.flag] = { type: 'string' };
  // Not strict: unknown flags and stray arguments are collected below, so they are reported together with
  // every other problem instead of one at a time.
  const { values, tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  if (values['help'] === true) return { command: 'help' };
  if (values['version'] === true) return { command: 'version' };

  const problems: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') problems.push(`unexpected argument ${JSON.stringify(token.value)}`);
    else if (token.kind === 'option') {
      const known = options[token.name];
      if (known === undefined) problems.push(`unknown option ${token.rawName}`);
      else if (known.type === 'string' && token.value === undefined) problems.push(`${token.rawName}: expects a value`);
      else if (known.type === 'boolean' && token.value !== undefined) problems.push(`${token.rawName}: takes no value`);
    }
  }
  const raw: Raw = {};
  for (const setting of RELAY_SETTINGS) {
    const flagValue = values[setting.flag];
    if (typeof flagValue === 'string') {
      raw[setting.key] = { value: flagValue, source: `--${setting.flag}` };
      continue;
    }
    for (const name of setting.env) {
      const envValue = env[name];
      if (envValue !== undefined && envValue.trim() !== '') {
        raw[setting.key] = { value: envValue.trim(), source: name };
        break;
      }
    }
  }
  const resolved = resolve(raw);
  problems.push(...resolved.problems);
  if (problems.length > 0) throw new RelayConfigError(problems);
  return { command: 'run', config: resolved.config };
}

/** The `--help` text. */
export function relayUsage(): string {
  const lines = [
    'Usage: genai-enrich-relay [options]',
    '',
    'Receives OTLP traces over HTTP (protobuf or JSON) and gRPC, optionally gzip, runs them through GenAiEnrichingProcessor',
    '(late token usage joined, GenAI attributes and names normalized) and forwards every span exactly once.',
    '',
    'Options (flag, environment variable, default):',
  ];
  for (const s of RELAY_SETTINGS) {
    lines.push(`  --${s.flag} ${s.value}`);
    lines.push(`      ${s.help}`);
    lines.push(`      env ${s.env.join(' or ')}; default ${s.defaultText}`);
  }
  lines.push('  -h, --help      print this help');
  lines.push('  -v, --version   print the version');
  lines.push('');
  lines.push('Example: genai-enrich-relay --forward http://127.0.0.1:4319');
  return lines.join('\n');
}

function fromOptions(options: RelayOptions | undefined): Raw & { unknown?: string[] } {
  const raw: Raw & { unknown?: string[] } = {};
  if (options === undefined || options === null || typeof options !== 'object') return raw;
  const keys = new Set<string>(RELAY_SETTINGS.map((s) => s.key));
  for (const [key, value] of Object.entries(options)) {
    if (key === 'output') continue;
    if (!keys.has(key)) (raw.unknown ??= []).push(key);
    else if (value !== undefined) raw[key as Key] = { value, source: key };
  }
  return raw;
}

function resolve(raw: Raw & { unknown?: string[] }): { config: RelayConfig; problems: string[] } {
  const problems: string[] = [];
  const bad = (s: Sourced, reason: string, shown = describeValue(s.value)): void => {
    problems.push(`${s.source} ${shown}: ${reason}`);
  };
  for (const key of raw.unknown ?? []) problems.push(`unknown option ${JSON.stringify(key)}`);

  let { host, port } = parseListen(DEFAULT_LISTEN) as { host: string; port: number };
  let listenValid = true;
  if (raw.listen !== undefined) {
    const parsed =
      typeof raw.listen.value === 'string' ? parseListen(raw.listen.value) : 'expected a "host:port" string';
    if (typeof parsed === 'string') {
      bad(raw.listen, parsed);
      listenValid = false;
    } else ({ host, port } = parsed);
  }

  // Off, or listen's host at the gRPC port (a free port when listen's is).
  let grpc: { host: string; port: number } | undefined = { host, port: port === 0 ? 0 : DEFAULT_GRPC_PORT };
  if (raw.grpcListen !== undefined) {
    const v = raw.grpcListen.value;
    const parsed = v === 'off' ? undefined : typeof v === 'string' ? parseListen(v) : 'expected "host:port" or off';
    if (typeof parsed === 'string') bad(raw.grpcListen, `${parsed}, or off`);
    else grpc = parsed;
  }
  if (listenValid && grpc !== undefined && grpc.port !== 0 && grpc.port === port && grpc.host === host) {
    const blamed = raw.grpcListen ?? raw.listen!; // the defaults never clash, so one of them was set
    bad(blamed, `OTLP/HTTP and OTLP/gRPC cannot share ${formatListen(host, port)} (--grpc-listen off turns gRPC off)`);
  }

  let forwardProtocol = DEFAULT_FORWARD_PROTOCOL;
  if (raw.forwardProtocol !== undefined) {
    const v = raw.forwardProtocol.value;
    if (FORWARD_PROTOCOLS.includes(v as ForwardProtocol)) forwardProtocol = v as ForwardProtocol;
    else bad(raw.forwardProtocol, 'expected http/protobuf, http/json or grpc');
  }

  let forward: string | undefined;
  if (raw.forward !== undefined) {
    const v = raw.forward.value;
    const toGrpc = forwardProtocol === 'grpc';
    const parsed = typeof v !== 'string' ? undefined : toGrpc ? parseGrpcEndpoint(v) : parseForward(v);
    // Forwarding to the relay's own address in the same protocol would loop every span back in.
    const own = toGrpc ? grpc : listenValid ? { host, port } : undefined;
    if (parsed === undefined) bad(raw.forward, 'expected an http:// or https:// URL');
    else if (parsed === GRPC_PATH) bad(raw.forward, 'an OTLP/gRPC endpoint is http(s)://host:port, without a path');
    else if (own !== undefined && sameEndpoint(parsed, own.host, own.port))
      bad(raw.forward, `this is the relay's own listen address (${formatListen(own.host, own.port)})`);
    else forward = parsed;
  }

  let forwardHeaders: Record<string, string> = {};
  if (raw.forwardHeaders !== undefined) {
    const parsed = parseHeaders(raw.forwardHeaders.value);
    if (typeof parsed === 'string') bad(raw.forwardHeaders, parsed, redactHeaders(raw.forwardHeaders.value));
    else forwardHeaders = parsed;
  }

  const numbers = {} as Record<Key, number>;
  for (const [key, bounds] of NUMERIC) {
    numbers[key] = bounds.defaultValue;
    const s = raw[key];
    if (s === undefined) continue;
    // Flags and variables are text: parse it first, then check the number as the processor would.
    const bytes = key.endsWith('Bytes');
    const n = bytes ? toBytes(s.value) : toInteger(s.value);
    if (!isWithinBounds(n, bounds)) {
      const unit = bytes ? ' (bytes, or with a KiB/MiB/GiB suffix)' : '';
      bad(s, `expected ${integerRange(bounds)}${unit}`);
    } else numbers[key] = n;
  }
  const flush = 'a flush releases every held span into the queue at once';
  atLeast(raw, numbers, bad, 'maxQueueSize', 'maxHeldSpans', 1, 'max queue size', 'max held spans', flush);
  atLeast(raw, numbers, bad, 'maxQueueBytes', 'maxHeldBytes', 1, 'max queue bytes', 'max held bytes', flush);
  atLeast(
    raw,
    numbers,
    bad,
    'maxInflightBytes',
    'maxBodyBytes',
    2,
    'max inflight bytes',
    'max body bytes',
    'a gzip body counts on the wire and again inflated',
  );
  atLeast(
    raw,
    numbers,
    bad,
    'requestTimeoutMillis',
    'idleTimeoutMillis',
    1,
    'request timeout',
    'idle timeout',
    'the idle timeout also bounds the wait for headers, which is part of the request',
  );
  let forwardCompression: 'gzip' | 'none' = 'none';
  if (raw.forwardCompression !== undefined) {
    const v = raw.forwardCompression.value;
    if (v === 'gzip' || v === 'none') forwardCompression = v;
    else bad(raw.forwardCompression, 'expected gzip or none');
  }
  let queueDir: string | undefined = port === 0 ? undefined : defaultQueueDir(host, port);
  if (raw.queueDir !== undefined) {
    const v = raw.queueDir.value;
    if (typeof v !== 'string' || v.trim() === '') bad(raw.queueDir, `expected a directory or ${MEMORY_QUEUE}`);
    else queueDir = v === MEMORY_QUEUE ? MEMORY_QUEUE : resolvePath(v);
  }
  const countUsageOnce = toBoolean(raw.countUsageOnce, true, bad);
  const metrics = toBoolean(raw.metrics, false, bad);
  let rules: string | UserRulesInput | undefined;
  if (raw.rules !== undefined) {
    const loaded = loadRules(raw.rules.value);
    if ('problems' in loaded) for (const problem of loaded.problems) bad(raw.rules, problem);
    else rules = raw.rules.value as string | UserRulesInput;
  }
  return {
    problems,
    config: {
      listen: formatListen(host, port),
      grpcListen: grpc === undefined ? undefined : formatListen(grpc.host, grpc.port),
      forward,
      forwardProtocol,
      forwardHeaders,
      maxBodyBytes: numbers.maxBodyBytes,
      maxInflightBytes: numbers.maxInflightBytes,
      maxConnections: numbers.maxConnections,
      idleTimeoutMillis: numbers.idleTimeoutMillis,
      requestTimeoutMillis: numbers.requestTimeoutMillis,
      holdMillis: numbers.holdMillis,
      maxHeldSpans: numbers.maxHeldSpans,
      maxHeldBytes: numbers.maxHeldBytes,
      maxOpenMillis: numbers.maxOpenMillis,
      maxQueueSize: numbers.maxQueueSize,
      maxQueueBytes: numbers.maxQueueBytes,
      // As the processor and the SDK do: a batch larger than the queue could never fill.
      maxExportBatchSize: Math.min(numbers.maxExportBatchSize, numbers.maxQueueSize),
      scheduledDelayMillis: numbers.scheduledDelayMillis,
      countUsageOnce,
      queueDir,
      maxQueueDiskBytes: numbers.maxQueueDiskBytes,
      forwardCompression,
      exportConcurrency: numbers.exportConcurrency,
      exportTimeoutMillis: numbers.exportTimeoutMillis,
      retryInitialIntervalMillis: numbers.retryInitialIntervalMillis,
      retryMaxIntervalMillis: numbers.retryMaxIntervalMillis,
      retryMaxElapsedMillis: numbers.retryMaxElapsedMillis,
      shutdownGraceMillis: numbers.shutdownGraceMillis,
      metrics,
      metricsIntervalMillis: numbers.metricsIntervalMillis,
      rules,
    },
  };
}

/**
 * Checks `big ≥ times × small` for two settings that must agree, blaming the one that was set (the first
 * when both were): `--max-queue-size "100": must be at least --max-held-spans (200): <why>`.
 */
function atLeast(
  raw: Raw,
  numbers: Record<Key, number>,
  bad: (s: Sourced, reason: string) => void,
  big: Key,
  small: Key,
  times: number,
  bigName: string,
  smallName: string,
  why: string,
): void {
  if (numbers[big] >= times * numbers[small]) return;
  const twice = times === 2 ? 'twice ' : '';
  if (raw[big] !== undefined) {
    const other =
      raw[small] === undefined
        ? `the default ${smallName}, ${numbers[small]}`
        : `${raw[small].source} (${numbers[small]})`;
    bad(raw[big], `must be at least ${twice}${other}: ${why}`);
  } else if (raw[small] !== undefined) {
    const most = times === 2 ? 'half ' : '';
    bad(raw[small], `must not exceed ${most}the default ${bigName}, ${numbers[big]}: ${why}`);
  }
}

/** The host and port of a valid {@link RelayConfig.listen}. */
export function listenAddress(listen: string): { host: string; port: number } {
  const parsed = parseListen(listen);
  if (typeof parsed === 'string') throw new RelayConfigError([`listen ${JSON.stringify(listen)}: ${parsed}`]);
  return parsed;
}

/** `host:port`, `[v6]:port` or a bare port (on loopback); a string is the reason it is invalid. */
function parseListen(value: string): { host: string; port: number } | string {
  let host: string;
  let port: string;
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(value);
  if (bracketed !== null) {
    host = bracketed[1]!;
    port = bracketed[2]!;
  } else if (/^\d+$/.test(value)) {
    host = '127.0.0.1';
    port = value;
  } else {
    const colon = value.lastIndexOf(':');
    if (colon < 0) return 'expected host:port';
    host = value.slice(0, colon);
    port = value.slice(colon + 1);
    if (host.includes(':')) return 'put an IPv6 address in brackets, e.g. [::1]:4318';
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return 'port must be 0–65535';
  if (host === '' || /\s/.test(host)) return 'host is empty or has spaces (0.0.0.0 listens on every interface)';
  return { host, port: Number(port) };
}

function formatListen(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The full traces URL: a base URL gets `/v1/traces` appended, as OTEL_EXPORTER_OTLP_ENDPOINT does. */
function parseForward(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return undefined;
  if (!url.pathname.endsWith(TRACES_PATH)) url.pathname = url.pathname.replace(/\/+$/, '') + TRACES_PATH;
  return url.toString();
}

/** What parseGrpcEndpoint answers for a URL with a path, a query or a fragment. */
const GRPC_PATH = 'path';

/**
 * An OTLP/gRPC endpoint, `http://host:port` (`https://` for TLS), as `scheme://host:port`; undefined when it is
 * not an http(s) URL, GRPC_PATH when it has more than that (gRPC's path is the method's, not the user's).
 */
function parseGrpcEndpoint(value: string): string | undefined {
  const parsed = parseForward(value);
  if (parsed === undefined) return undefined;
  const url = new URL(value);
  if (url.pathname.replace(/\/+$/, '') !== '' || url.search !== '' || url.hash !== '') return GRPC_PATH;
  return `${url.protocol}//${url.host}`;
}

/** Forwarding to the listen address would loop every span back in. Only a literal match is caught. */
function sameEndpoint(forward: string, host: string, port: number): boolean {
  if (port === 0) return false;
  const url = new URL(forward);
  const forwardPort = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  const forwardHost = url.hostname.replace(/^\[|\]$/g, '');
  return forwardPort === port && forwardHost === host;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * `key=value,…` (W3C baggage style, as OTEL_EXPORTER_OTLP_HEADERS) or a record; a string is the reason it is invalid.
 */
function parseHeaders(value: unknown): Record<string, string> | string {
  const out: Record<string, string> = {};
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (!HEADER_NAME.test(k)) return `${JSON.stringify(k)} is not a valid header name`;
      if (typeof v !== 'string' || /[\r\n\0]/.test(v))
        return `the value of ${JSON.stringify(k)} must be a string without line breaks`;
      out[k] = v;
    }
    return out;
  }
  if (typeof value !== 'string') return 'expected key=value pairs separated by commas';
  for (const entry of value.split(',')) {
    if (entry.trim() === '') continue;
    const eq = entry.indexOf('=');
    if (eq < 0) return `entry ${JSON.stringify(redactEntry(entry))} is not key=value`;
    const key = entry.slice(0, eq).trim();
    if (!HEADER_NAME.test(key)) return `${JSON.stringify(key)} is not a valid header name`;
    let decoded: string;
    try {
      decoded = decodeURIComponent(entry.slice(eq + 1).trim());
    } catch {
      return `the value of ${JSON.stringify(key)} is not valid percent-encoding`;
    }
    if (/[\r\n\0]/.test(decoded)) return `the value of ${JSON.stringify(key)} has a line break`;
    out[key] = decoded;
  }
  return out;
}

/** Header values are often credentials: problems show the keys only. */
function redactHeaders(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.split(',').map(redactEntry).join(','));
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .map((k) => `${JSON.stringify(k)}: …`)
      .join(', ')}}`;
  return describeValue(value);
}

function redactEntry(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry.trim() : `${entry.slice(0, eq).trim()}=…`;
}

/** A boolean setting: `true`/`false`, as a value or as text; anything else is reported and `fallback` used. */
function toBoolean(s: Sourced | undefined, fallback: boolean, bad: (s: Sourced, reason: string) => void): boolean {
  if (s === undefined) return fallback;
  if (s.value === true || s.value === 'true') return true;
  if (s.value === false || s.value === 'false') return false;
  bad(s, 'expected true or false');
  return fallback;
}

function toInteger(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
};

function toBytes(value: unknown): number | undefined {
  if (typeof value !== 'string') return toInteger(value);
  const match = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
  const unit = match === null ? undefined : BYTE_UNITS[match[2].toLowerCase()];
  return match === null || unit === undefined ? undefined : Number(match[1]) * unit;
}

/** The default durable queue directory for a listen address: one per address, so two relays never share one. */
function defaultQueueDir(host: string, port: number): string {
  return join(tmpdir(), 'genai-enrich-relay', `${host.replace(/[^0-9A-Za-z.-]/g, '_')}-${port}`);
}
