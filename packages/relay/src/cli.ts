/*
 * The `genai-enrich-relay` command (bin/genai-enrich-relay.js calls `main`). Exit codes: 0 after a clean
 * shutdown (or --help/--version), 1 when the relay cannot start, 2 for invalid settings, 128 + the signal
 * number when a second signal cuts the shutdown short. Diagnostics go to stderr: in the embedded mode
 * stdout carries the enriched spans.
 */
import { DiagConsoleLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import { MEMORY_QUEUE, RelayConfigError, parseRelayCommand, relayUsage } from './config.js';
import type { RelayCommand } from './config.js';
import { metricsUrlOf } from './metrics/otlp-metric-exporter.js';
import { startRelay } from './server.js';
import type { Relay } from './server.js';
import { VERSION } from './version.js';

const NAME = 'genai-enrich-relay';
const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGTERM: 15 };

function log(line: string): void {
  process.stderr.write(`${NAME}: ${line}\n`);
}

/** Runs the command line; resolves once the relay is listening (or the command is done). */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let command: RelayCommand;
  try {
    command = parseRelayCommand(argv, process.env);
  } catch (error) {
    if (!(error instanceof RelayConfigError)) throw error;
    log(error.message);
    log('see --help for the options');
    process.exit(2);
  }
  if (command.command === 'help') {
    process.stdout.write(relayUsage() + '\n');
    return;
  }
  if (command.command === 'version') {
    process.stdout.write(VERSION + '\n');
    return;
  }

  const config = command.config;
  // The processor and the exporters report through diag; warnings and errors go to stderr (console.warn/error).
  diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);
  if (config.forward === undefined) {
    // A closed pipe (`genai-enrich-relay | head`) must not crash the relay; exports then fail and are counted.
    let reported = false;
    process.stdout.on('error', (error: Error) => {
      if (!reported) log(`stdout: ${error.message}; enriched spans are being lost`);
      reported = true;
    });
  }

  let relay: Relay;
  try {
    relay = await startRelay(config);
  } catch (error) {
    // The gRPC receiver's error names its own address.
    const message = error instanceof Error ? error.message : String(error);
    log(
      message.startsWith('OTLP/gRPC') ? `cannot listen: ${message}` : `cannot listen on ${config.listen}: ${message}`,
    );
    process.exit(1);
  }
  const queue =
    config.queueDir === MEMORY_QUEUE
      ? 'queue in memory'
      : `durable queue in ${config.queueDir ?? 'a directory of its own, removed at shutdown'}`;
  const target =
    config.forward === undefined
      ? 'writing enriched spans to stdout as OTLP JSON lines'
      : `forwarding to ${config.forward} (${config.forwardProtocol}, ${queue})`;
  const grpc = relay.address.grpcUrl === undefined ? '' : ` and ${relay.address.grpcUrl} (OTLP/gRPC)`;
  log(`${VERSION} listening on ${relay.address.tracesUrl}${grpc}, ${target}`);
  if (config.metrics) {
    const push =
      config.forward === undefined ? '' : ` and OTLP to ${metricsUrlOf(config.forward, config.forwardProtocol)}`;
    log(`metrics on ${relay.address.url}/metrics${push}`);
  }

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log(`${signal} again: exiting now; spans not yet forwarded are lost`);
      process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 0));
    }
    stopping = true;
    log(
      `${signal}: flushing ${relay.processor.stats().held} held spans, delivering for up to ` +
        `${config.shutdownGraceMillis} ms, then stopping (${signal} again exits at once)`,
    );
    relay.close().then(
      () => {
        const { processor, forwarding } = relay.stats();
        const delivery =
          forwarding === undefined
            ? ''
            : `; ${forwarding.delivered} delivered, ${forwarding.lost} lost, ${forwarding.rejectedByTarget} ` +
              `refused by the target` +
              (forwarding.durable ? `, ${forwarding.queuedSpans} left in the durable queue for the next start` : '');
        log(
          `stopped: ${processor.received} spans received, ${processor.forwarded} forwarded ` +
            `(${processor.flushed} flushed at shutdown)${delivery}`,
        );
        process.exit(0);
      },
      (error: unknown) => {
        log(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
