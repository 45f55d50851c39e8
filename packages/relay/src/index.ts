export { startRelay } from './server.js';
export { decodeTraceRequest, encodeTraceResponse, OtlpDecodeError } from './otlp/index.js';
export type { DecodeResult, OtlpFormat, RelayEvent, RelayScope, RelaySpan } from './otlp/index.js';
export {
  DEFAULT_FORWARD_PROTOCOL,
  DEFAULT_LISTEN,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_RELAY_MAX_QUEUE_SIZE,
  DEFAULT_RETRY_AFTER_SECONDS,
  RELAY_SETTINGS,
  RelayConfigError,
  TRACES_PATH,
  parseRelayCommand,
  relayUsage,
  resolveRelayConfig,
  validateRelayOptions,
} from './config.js';
export {
  DEFAULT_HOLD_MILLIS,
  DEFAULT_MAX_EXPORT_BATCH_SIZE,
  DEFAULT_MAX_HELD_SPANS,
  DEFAULT_MAX_OPEN_MILLIS,
  DEFAULT_SCHEDULED_DELAY_MILLIS,
} from '@genai-enrich/processor';
export { OtlpJsonLinesExporter } from './stdout-exporter.js';
export { VERSION } from './version.js';
export type { ForwardProtocol, RelayCommand, RelayConfig, RelayOptions, RelayOutput, RelaySetting } from './config.js';
export type { Relay, RelayAddress, RelayCounters, RelayStats } from './server.js';
