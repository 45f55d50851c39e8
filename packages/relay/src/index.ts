/*
 * @genai-enrich/relay's public API: start a relay from code, its options and their defaults, and the OTLP
 * decoder and encoder for replaying stored bodies through a processor. The command line's own machinery (settings
 * table, argv parsing, help text) and the response encoder are in `./internal.ts`, not here.
 */
export { startRelay } from './server.js';
export type { Relay, RelayAddress, RelayCounters, RelayStats } from './server.js';
export type { ForwardingStats } from './delivery/forwarding.js';
export {
  DEFAULT_FORWARD_PROTOCOL,
  DEFAULT_GRPC_PORT,
  DEFAULT_IDLE_TIMEOUT_MILLIS,
  DEFAULT_LISTEN,
  DEFAULT_METRICS_INTERVAL_MILLIS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_INFLIGHT_BYTES,
  DEFAULT_MAX_QUEUE_BYTES,
  DEFAULT_RELAY_MAX_QUEUE_SIZE,
  DEFAULT_REQUEST_TIMEOUT_MILLIS,
  DEFAULT_RETRY_AFTER_SECONDS,
  DEFAULT_EXPORT_CONCURRENCY,
  DEFAULT_EXPORT_TIMEOUT_MILLIS,
  DEFAULT_MAX_QUEUE_DISK_BYTES,
  DEFAULT_RETRY_INITIAL_INTERVAL_MILLIS,
  DEFAULT_RETRY_MAX_ELAPSED_MILLIS,
  DEFAULT_RETRY_MAX_INTERVAL_MILLIS,
  DEFAULT_SHUTDOWN_GRACE_MILLIS,
  MEMORY_QUEUE,
  RelayConfigError,
  resolveRelayConfig,
  validateRelayOptions,
} from './config.js';
export type { ForwardProtocol, RelayConfig, RelayOptions, RelayOutput } from './config.js';
// The relay's own metrics (--metrics): names for dashboards and alerts.
export { RELAY_METER_NAME, RELAY_METRIC_PREFIX, RELAY_METRICS } from './metrics/relay-metrics.js';
export type { RelayMetric } from './metrics/relay-metrics.js';
// The processor's defaults for the options the relay passes through, so that one import has them all.
export {
  DEFAULT_HOLD_MILLIS,
  DEFAULT_MAX_EXPORT_BATCH_SIZE,
  DEFAULT_MAX_HELD_BYTES,
  DEFAULT_MAX_HELD_SPANS,
  DEFAULT_MAX_OPEN_MILLIS,
  DEFAULT_SCHEDULED_DELAY_MILLIS,
} from '@genai-enrich/processor';
export { decodeTraceRequest, encodeTraceRequest, OtlpDecodeError } from './otlp/index.js';
export type { DecodeResult, OtlpFormat, RelayEvent, RelayScope, RelaySpan } from './otlp/index.js';
export { VERSION } from './version.js';
