import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_FORWARD_PROTOCOL,
  DEFAULT_GRPC_PORT,
  DEFAULT_HOLD_MILLIS,
  DEFAULT_IDLE_TIMEOUT_MILLIS,
  DEFAULT_LISTEN,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_EXPORT_BATCH_SIZE,
  DEFAULT_MAX_HELD_BYTES,
  DEFAULT_MAX_HELD_SPANS,
  DEFAULT_MAX_INFLIGHT_BYTES,
  DEFAULT_MAX_OPEN_MILLIS,
  DEFAULT_METRICS_INTERVAL_MILLIS,
  DEFAULT_MAX_QUEUE_BYTES,
  DEFAULT_RELAY_MAX_QUEUE_SIZE,
  DEFAULT_REQUEST_TIMEOUT_MILLIS,
  DEFAULT_SCHEDULED_DELAY_MILLIS,
  DEFAULT_EXPORT_CONCURRENCY,
  DEFAULT_EXPORT_TIMEOUT_MILLIS,
  DEFAULT_MAX_QUEUE_DISK_BYTES,
  DEFAULT_RETRY_INITIAL_INTERVAL_MILLIS,
  DEFAULT_RETRY_MAX_ELAPSED_MILLIS,
  DEFAULT_RETRY_MAX_INTERVAL_MILLIS,
  DEFAULT_SHUTDOWN_GRACE_MILLIS,
  RelayConfigError,
  VERSION,
  resolveRelayConfig,
  validateRelayOptions,
} from '@genai-enrich/relay';
import type { RelayConfig } from '@genai-enrich/relay';
import { RELAY_SETTINGS, parseRelayCommand, relayUsage } from '@genai-enrich/relay/internal';
import type { RelayCommand } from '@genai-enrich/relay/internal';
import { validateConfig } from '@genai-enrich/processor';
import { PROCESSOR_OPTION_BOUNDS, integerRange } from '@genai-enrich/processor/internal';

const RULES_YAML = fileURLToPath(new URL('./fixtures/acme-rules.yaml', import.meta.url));
const RULES_JSON = fileURLToPath(new URL('./fixtures/acme-rules.json', import.meta.url));

function run(argv: string[], env: Record<string, string> = {}): RelayConfig {
  const command: RelayCommand = parseRelayCommand(argv, env);
  assert.equal(command.command, 'run');
  return (command as { config: RelayConfig }).config;
}

/** The problems a bad command line is reported with. */
function problems(argv: string[], env: Record<string, string> = {}): readonly string[] {
  try {
    parseRelayCommand(argv, env);
  } catch (error) {
    assert.ok(error instanceof RelayConfigError, String(error));
    assert.equal(error.message, `invalid configuration: ${error.problems.join('; ')}`);
    return error.problems;
  }
  assert.fail(`no error for ${JSON.stringify(argv)} ${JSON.stringify(env)}`);
}

describe('relay configuration', () => {
  describe('defaults', () => {
    it('are the DEFAULT_* constants, and the default config is valid', () => {
      const config = run([]);
      assert.deepEqual(config, {
        listen: DEFAULT_LISTEN,
        grpcListen: `127.0.0.1:${DEFAULT_GRPC_PORT}`,
        forward: undefined,
        forwardProtocol: DEFAULT_FORWARD_PROTOCOL,
        forwardHeaders: {},
        maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
        maxInflightBytes: DEFAULT_MAX_INFLIGHT_BYTES,
        maxConnections: DEFAULT_MAX_CONNECTIONS,
        idleTimeoutMillis: DEFAULT_IDLE_TIMEOUT_MILLIS,
        requestTimeoutMillis: DEFAULT_REQUEST_TIMEOUT_MILLIS,
        holdMillis: DEFAULT_HOLD_MILLIS,
        maxHeldSpans: DEFAULT_MAX_HELD_SPANS,
        maxHeldBytes: DEFAULT_MAX_HELD_BYTES,
        maxOpenMillis: DEFAULT_MAX_OPEN_MILLIS,
        maxQueueSize: DEFAULT_RELAY_MAX_QUEUE_SIZE,
        maxQueueBytes: DEFAULT_MAX_QUEUE_BYTES,
        maxExportBatchSize: DEFAULT_MAX_EXPORT_BATCH_SIZE,
        scheduledDelayMillis: DEFAULT_SCHEDULED_DELAY_MILLIS,
        countUsageOnce: true,
        queueDir: join(tmpdir(), 'genai-enrich-relay', '127.0.0.1-4318'),
        maxQueueDiskBytes: DEFAULT_MAX_QUEUE_DISK_BYTES,
        forwardCompression: 'none',
        exportConcurrency: DEFAULT_EXPORT_CONCURRENCY,
        exportTimeoutMillis: DEFAULT_EXPORT_TIMEOUT_MILLIS,
        retryInitialIntervalMillis: DEFAULT_RETRY_INITIAL_INTERVAL_MILLIS,
        retryMaxIntervalMillis: DEFAULT_RETRY_MAX_INTERVAL_MILLIS,
        retryMaxElapsedMillis: DEFAULT_RETRY_MAX_ELAPSED_MILLIS,
        shutdownGraceMillis: DEFAULT_SHUTDOWN_GRACE_MILLIS,
        metrics: false,
        metricsIntervalMillis: DEFAULT_METRICS_INTERVAL_MILLIS,
        rules: undefined,
      });
      assert.deepEqual(resolveRelayConfig({}), config);
      assert.deepEqual(validateRelayOptions({}), []);
      assert.deepEqual(validateRelayOptions(undefined), []);
    });

    it('listen on loopback port 4318, 20 MiB bodies, protobuf forwarding, a queue with room for every held span', () => {
      assert.equal(DEFAULT_LISTEN, '127.0.0.1:4318');
      assert.equal(DEFAULT_GRPC_PORT, 4317);
      assert.equal(DEFAULT_MAX_BODY_BYTES, 20 * 1024 * 1024);
      assert.equal(DEFAULT_FORWARD_PROTOCOL, 'http/protobuf');
      assert.ok(DEFAULT_RELAY_MAX_QUEUE_SIZE >= DEFAULT_MAX_HELD_SPANS);
    });

    it('a byte budget that fits a small pod: 64 MiB of bodies in flight, 64 MiB of spans (32 MiB of them held)', () => {
      assert.equal(DEFAULT_MAX_INFLIGHT_BYTES, 64 * 1024 * 1024);
      assert.ok(DEFAULT_MAX_INFLIGHT_BYTES >= 2 * DEFAULT_MAX_BODY_BYTES, 'a gzip body at the limit fits');
      assert.equal(DEFAULT_MAX_HELD_BYTES, 32 * 1024 * 1024);
      assert.equal(DEFAULT_MAX_QUEUE_BYTES, 64 * 1024 * 1024);
      assert.ok(DEFAULT_MAX_QUEUE_BYTES >= DEFAULT_MAX_HELD_BYTES);
      assert.ok(DEFAULT_REQUEST_TIMEOUT_MILLIS >= DEFAULT_IDLE_TIMEOUT_MILLIS);
      assert.equal(DEFAULT_MAX_CONNECTIONS, 512);
    });

    it('VERSION is the package version', () => {
      const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
        version: string;
      };
      assert.equal(VERSION, manifest.version);
    });
  });

  describe('flags and environment', () => {
    it('reads every setting from its flag', () => {
      const config = run([
        '--listen',
        '0.0.0.0:9000',
        '--grpc-listen',
        '0.0.0.0:9001',
        '--forward',
        'http://collector:4318',
        '--forward-protocol',
        'http/json',
        '--forward-headers',
        'authorization=Bearer%20abc,x-tenant=acme',
        '--max-body-bytes',
        '4MiB',
        '--max-inflight-bytes',
        '1GiB',
        '--max-connections',
        '64',
        '--idle-timeout-millis',
        '2000',
        '--request-timeout-millis',
        '9000',
        '--hold-millis',
        '30000',
        '--max-held-spans',
        '100',
        '--max-held-bytes',
        '8MiB',
        '--max-open-millis',
        '1000',
        '--max-queue-size',
        '400',
        '--max-queue-bytes',
        '16384KiB',
        '--max-export-batch-size',
        '50',
        '--scheduled-delay-millis',
        '0',
        '--count-usage-once',
        'false',
        '--queue-dir',
        '/var/lib/relay-queue',
        '--max-queue-disk-bytes',
        '2GiB',
        '--forward-compression',
        'gzip',
        '--export-concurrency',
        '8',
        '--export-timeout-millis',
        '3000',
        '--retry-initial-interval-millis',
        '100',
        '--retry-max-interval-millis',
        '1000',
        '--retry-max-elapsed-millis',
        '60000',
        '--shutdown-grace-millis',
        '25000',
        '--metrics',
        'true',
        '--metrics-interval-millis',
        '15000',
        '--rules',
        RULES_YAML,
      ]);
      assert.deepEqual(config, {
        listen: '0.0.0.0:9000',
        grpcListen: '0.0.0.0:9001',
        forward: 'http://collector:4318/v1/traces',
        forwardProtocol: 'http/json',
        forwardHeaders: { authorization: 'Bearer abc', 'x-tenant': 'acme' },
        maxBodyBytes: 4 * 1024 * 1024,
        maxInflightBytes: 1024 ** 3,
        maxConnections: 64,
        idleTimeoutMillis: 2000,
        requestTimeoutMillis: 9000,
        holdMillis: 30_000,
        maxHeldSpans: 100,
        maxHeldBytes: 8 * 1024 * 1024,
        maxOpenMillis: 1000,
        maxQueueSize: 400,
        maxQueueBytes: 16 * 1024 * 1024,
        maxExportBatchSize: 50,
        scheduledDelayMillis: 0,
        countUsageOnce: false,
        queueDir: '/var/lib/relay-queue',
        maxQueueDiskBytes: 2 * 1024 ** 3,
        forwardCompression: 'gzip',
        exportConcurrency: 8,
        exportTimeoutMillis: 3000,
        retryInitialIntervalMillis: 100,
        retryMaxIntervalMillis: 1000,
        retryMaxElapsedMillis: 60_000,
        shutdownGraceMillis: 25_000,
        metrics: true,
        metricsIntervalMillis: 15_000,
        rules: RULES_YAML,
      });
    });

    it('reads every setting from its environment variable', () => {
      const config = run([], {
        GENAI_ENRICH_RELAY_LISTEN: '[::1]:4320',
        GENAI_ENRICH_RELAY_GRPC_LISTEN: 'off',
        GENAI_ENRICH_RELAY_FORWARD: 'https://otlp.example.com/otlp/',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_HEADERS: 'api-key=k1',
        GENAI_ENRICH_RELAY_MAX_BODY_BYTES: '1024',
        GENAI_ENRICH_RELAY_MAX_INFLIGHT_BYTES: '4k',
        GENAI_ENRICH_RELAY_MAX_CONNECTIONS: '3',
        GENAI_ENRICH_RELAY_IDLE_TIMEOUT_MILLIS: '60',
        GENAI_ENRICH_RELAY_REQUEST_TIMEOUT_MILLIS: '70',
        GENAI_ENRICH_RELAY_HOLD_MILLIS: '10',
        GENAI_ENRICH_RELAY_MAX_HELD_SPANS: '5',
        GENAI_ENRICH_RELAY_MAX_HELD_BYTES: '100000',
        GENAI_ENRICH_RELAY_MAX_OPEN_MILLIS: '20',
        GENAI_ENRICH_RELAY_MAX_QUEUE_SIZE: '30',
        GENAI_ENRICH_RELAY_MAX_QUEUE_BYTES: '1m',
        GENAI_ENRICH_RELAY_MAX_EXPORT_BATCH_SIZE: '40',
        GENAI_ENRICH_RELAY_SCHEDULED_DELAY_MILLIS: '50',
        GENAI_ENRICH_RELAY_COUNT_USAGE_ONCE: 'false',
        GENAI_ENRICH_RELAY_QUEUE_DIR: 'memory',
        GENAI_ENRICH_RELAY_MAX_QUEUE_DISK_BYTES: '10m',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
        GENAI_ENRICH_RELAY_EXPORT_CONCURRENCY: '2',
        OTEL_EXPORTER_OTLP_TIMEOUT: '4000',
        GENAI_ENRICH_RELAY_RETRY_INITIAL_INTERVAL_MILLIS: '11',
        GENAI_ENRICH_RELAY_RETRY_MAX_INTERVAL_MILLIS: '12',
        GENAI_ENRICH_RELAY_RETRY_MAX_ELAPSED_MILLIS: '0',
        GENAI_ENRICH_RELAY_SHUTDOWN_GRACE_MILLIS: '13',
        GENAI_ENRICH_RELAY_METRICS: 'true',
        OTEL_METRIC_EXPORT_INTERVAL: '10000',
        GENAI_ENRICH_RELAY_RULES: RULES_JSON,
      });
      assert.deepEqual(config, {
        listen: '[::1]:4320',
        grpcListen: undefined,
        forward: 'https://otlp.example.com/otlp/v1/traces',
        forwardProtocol: 'http/json',
        forwardHeaders: { 'api-key': 'k1' },
        maxBodyBytes: 1024,
        maxInflightBytes: 4096,
        maxConnections: 3,
        idleTimeoutMillis: 60,
        requestTimeoutMillis: 70,
        holdMillis: 10,
        maxHeldSpans: 5,
        maxHeldBytes: 100_000,
        maxOpenMillis: 20,
        maxQueueSize: 30,
        maxQueueBytes: 1024 * 1024,
        maxExportBatchSize: 30, // clamped to the queue, as the SDK does
        scheduledDelayMillis: 50,
        countUsageOnce: false,
        queueDir: 'memory',
        maxQueueDiskBytes: 10 * 1024 * 1024,
        forwardCompression: 'gzip',
        exportConcurrency: 2,
        exportTimeoutMillis: 4000,
        retryInitialIntervalMillis: 11,
        retryMaxIntervalMillis: 12,
        retryMaxElapsedMillis: 0,
        shutdownGraceMillis: 13,
        metrics: true,
        metricsIntervalMillis: 10_000,
        rules: RULES_JSON,
      });
    });

    it('a flag wins over its environment variable; a signal-specific OTEL variable over the general one', () => {
      const env = {
        GENAI_ENRICH_RELAY_LISTEN: '127.0.0.1:1111',
        GENAI_ENRICH_RELAY_FORWARD: 'http://from-env:4318',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
        GENAI_ENRICH_RELAY_HOLD_MILLIS: '1',
      };
      const config = run(['--listen', '127.0.0.1:2222', '--hold-millis', '2'], env);
      assert.equal(config.listen, '127.0.0.1:2222');
      assert.equal(config.holdMillis, 2);
      assert.equal(config.forward, 'http://from-env:4318/v1/traces');
      assert.equal(config.forwardProtocol, 'http/protobuf');
      assert.equal(run(['--forward-protocol', 'http/json'], env).forwardProtocol, 'http/json');
    });

    it('a flag wins even when the environment variable is invalid, and an empty variable is unset', () => {
      assert.equal(run(['--listen', '127.0.0.1:1'], { GENAI_ENRICH_RELAY_LISTEN: 'nonsense' }).listen, '127.0.0.1:1');
      assert.equal(run([], { GENAI_ENRICH_RELAY_FORWARD: '', OTEL_EXPORTER_OTLP_PROTOCOL: ' ' }).forward, undefined);
    });

    it('keeps a full /v1/traces URL, appends it to a base URL, and accepts a bare port', () => {
      assert.equal(run(['--forward', 'http://h:4319/v1/traces']).forward, 'http://h:4319/v1/traces');
      assert.equal(run(['--forward', 'http://h:4319']).forward, 'http://h:4319/v1/traces');
      assert.equal(run(['--forward', 'http://h:4319/prefix']).forward, 'http://h:4319/prefix/v1/traces');
      assert.equal(run(['--listen', '0']).listen, '127.0.0.1:0');
      assert.equal(run(['--listen=localhost:4318']).listen, 'localhost:4318');
    });

    it("OTLP/gRPC: --listen's host at port 4317 (a free port when --listen's is), another address, or off", () => {
      assert.equal(run(['--listen', '0.0.0.0:4318']).grpcListen, '0.0.0.0:4317');
      assert.equal(run(['--listen', '[::1]:9000']).grpcListen, '[::1]:4317');
      assert.equal(run(['--listen', '127.0.0.1:0']).grpcListen, '127.0.0.1:0');
      assert.equal(run(['--grpc-listen', '0.0.0.0:5317']).grpcListen, '0.0.0.0:5317');
      assert.equal(run(['--grpc-listen', '5317']).grpcListen, '127.0.0.1:5317');
      assert.equal(run(['--grpc-listen', 'off']).grpcListen, undefined);
      assert.equal(resolveRelayConfig({ grpcListen: 'off' }).grpcListen, undefined);
    });

    it('forwards over OTLP/gRPC to http(s)://host:port, without a path', () => {
      const grpc = ['--forward-protocol', 'grpc'];
      assert.equal(run([...grpc, '--forward', 'http://collector:4317']).forward, 'http://collector:4317');
      assert.equal(run([...grpc, '--forward', 'https://collector:4317/']).forward, 'https://collector:4317');
      assert.equal(run([], { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).forwardProtocol, 'grpc');
      assert.deepEqual(problems([...grpc, '--forward', 'http://collector:4317/v1/traces']), [
        '--forward "http://collector:4317/v1/traces": an OTLP/gRPC endpoint is http(s)://host:port, without a path',
      ]);
      assert.deepEqual(problems([...grpc, '--forward', 'http://127.0.0.1:4317']), [
        `--forward "http://127.0.0.1:4317": this is the relay's own listen address (127.0.0.1:4317)`,
      ]);
      // Over gRPC, the relay's own OTLP/HTTP port is another server's.
      assert.equal(run([...grpc, '--forward', 'http://127.0.0.1:4318']).forward, 'http://127.0.0.1:4318');
    });

    it('--help and --version win over everything else', () => {
      assert.deepEqual(parseRelayCommand(['--help', '--listen', 'x:y']), { command: 'help' });
      assert.deepEqual(parseRelayCommand(['-h']), { command: 'help' });
      assert.deepEqual(parseRelayCommand(['--version', '--bogus']), { command: 'version' });
    });

    it('the README options table has a row for every setting, in order, with its variables and default', () => {
      const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
      const section = readme.slice(
        readme.indexOf('## Options'),
        readme.indexOf('\n## ', readme.indexOf('## Options') + 1),
      );
      const rows = section
        .split('\n')
        .filter((line) => line.startsWith('| `--') && !line.startsWith('| `-h`'))
        .map((line) => line.split(' | ').map((cell) => cell.replace(/^\| /, '').replace(/`/g, '').trim()));
      assert.deepEqual(
        rows.map(([flag, env, defaultText]) => ({ flag, env, defaultText })),
        RELAY_SETTINGS.map((setting) => ({
          flag: `--${setting.flag} ${setting.value}`,
          env: setting.env.join(', '),
          defaultText: setting.defaultText,
        })),
      );
    });

    it('the usage text lists every flag with its environment variables and default', () => {
      const usage = relayUsage();
      for (const setting of RELAY_SETTINGS) {
        assert.ok(usage.includes(`--${setting.flag} `), setting.flag);
        for (const env of setting.env) assert.ok(usage.includes(env), env);
        assert.ok(usage.includes(`default ${setting.defaultText}`), `${setting.flag} default`);
      }
    });
  });

  describe('validation', () => {
    it('a rules file: every bad rule named, with the flag and the file', () => {
      const bad = fileURLToPath(new URL('./fixtures/bad-rules.yaml', import.meta.url));
      assert.deepEqual(problems(['--rules', bad]), [
        `--rules ${JSON.stringify(bad)}: rules[0].kind: expected one of string, int, number, string[], stream, provider, operation, model, json, got "javascript"`,
        `--rules ${JSON.stringify(bad)}: rules[1].source: expected an attribute key (a non-empty string of at most 255 characters)`,
      ]);
      assert.match(
        problems(['--rules', '/nonexistent/rules.json'])[0],
        /^--rules "\/nonexistent\/rules\.json": cannot read it: ENOENT/,
      );
    });

    it('names the flag and the value', () => {
      assert.deepEqual(problems(['--listen', 'x:y']), ['--listen "x:y": port must be 0–65535']);
      assert.deepEqual(problems(['--listen', 'localhost']), ['--listen "localhost": expected host:port']);
      assert.deepEqual(problems(['--listen', '::1:4318']), [
        '--listen "::1:4318": put an IPv6 address in brackets, e.g. [::1]:4318',
      ]);
      assert.deepEqual(problems(['--listen', '127.0.0.1:70000']), ['--listen "127.0.0.1:70000": port must be 0–65535']);
      assert.deepEqual(problems(['--forward', 'ftp://h/']), [
        '--forward "ftp://h/": expected an http:// or https:// URL',
      ]);
      assert.deepEqual(problems(['--forward', 'not a url']), [
        '--forward "not a url": expected an http:// or https:// URL',
      ]);
      assert.deepEqual(problems(['--forward-protocol', 'http/grpc']), [
        '--forward-protocol "http/grpc": expected http/protobuf, http/json or grpc',
      ]);
      assert.deepEqual(problems(['--grpc-listen', '4317:x']), ['--grpc-listen "4317:x": port must be 0–65535, or off']);
      assert.deepEqual(problems(['--listen', '127.0.0.1:4317']), [
        '--listen "127.0.0.1:4317": OTLP/HTTP and OTLP/gRPC cannot share 127.0.0.1:4317 (--grpc-listen off turns gRPC off)',
      ]);
      assert.equal(run(['--listen', '127.0.0.1:4317', '--grpc-listen', 'off']).listen, '127.0.0.1:4317');
      assert.deepEqual(problems(['--max-body-bytes', '20GB']), [
        '--max-body-bytes "20GB": expected an integer from 1 to 1073741824 (bytes, or with a KiB/MiB/GiB suffix)',
      ]);
      assert.deepEqual(problems(['--hold-millis', '-1']), [
        '--hold-millis "-1": expected an integer from 0 to 2147483647',
      ]);
      assert.deepEqual(problems(['--max-held-spans', '0']), [
        '--max-held-spans "0": expected an integer from 1 to 9007199254740991',
      ]);
      assert.deepEqual(problems(['--max-open-millis', '1.5']), [
        '--max-open-millis "1.5": expected an integer from 1 to 2147483647',
      ]);
      assert.deepEqual(problems(['--max-queue-size', 'lots']), [
        '--max-queue-size "lots": expected an integer from 1 to 9007199254740991',
      ]);
      assert.deepEqual(problems(['--max-export-batch-size', '0']), [
        '--max-export-batch-size "0": expected an integer from 1 to 9007199254740991',
      ]);
      assert.deepEqual(problems(['--scheduled-delay-millis', '3000000000']), [
        '--scheduled-delay-millis "3000000000": expected an integer from 0 to 2147483647',
      ]);
      assert.deepEqual(problems(['--count-usage-once', 'no']), ['--count-usage-once "no": expected true or false']);
      assert.deepEqual(validateRelayOptions({ countUsageOnce: 'yes' as unknown as boolean }), [
        'countUsageOnce "yes": expected true or false',
      ]);
    });

    it('names the environment variable and the value', () => {
      assert.deepEqual(problems([], { GENAI_ENRICH_RELAY_LISTEN: 'x:y' }), [
        'GENAI_ENRICH_RELAY_LISTEN "x:y": port must be 0–65535',
      ]);
      assert.deepEqual(problems([], { OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' }), [
        'OTEL_EXPORTER_OTLP_PROTOCOL "thrift": expected http/protobuf, http/json or grpc',
      ]);
      assert.deepEqual(
        problems([], { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'thrift', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }),
        ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL "thrift": expected http/protobuf, http/json or grpc'],
      );
      assert.deepEqual(problems([], { GENAI_ENRICH_RELAY_HOLD_MILLIS: 'soon' }), [
        'GENAI_ENRICH_RELAY_HOLD_MILLIS "soon": expected an integer from 0 to 2147483647',
      ]);
    });

    it('reports several problems together, flags and environment alike', () => {
      const found = problems(['--listen', 'x:y', '--max-held-spans', 'many', '--bogus', 'stray'], {
        OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift',
        GENAI_ENRICH_RELAY_FORWARD: 'mailto:a@b',
      });
      assert.deepEqual(found, [
        'unknown option --bogus',
        'unexpected argument "stray"',
        '--listen "x:y": port must be 0–65535',
        'OTEL_EXPORTER_OTLP_PROTOCOL "thrift": expected http/protobuf, http/json or grpc',
        'GENAI_ENRICH_RELAY_FORWARD "mailto:a@b": expected an http:// or https:// URL',
        '--max-held-spans "many": expected an integer from 1 to 9007199254740991',
      ]);
    });

    it('a flag without its value is a problem', () => {
      assert.deepEqual(problems(['--forward']), ['--forward: expects a value']);
      assert.deepEqual(problems(['--hold-millis', '5', '--listen']), ['--listen: expects a value']);
    });

    it('does not print header values, which are often credentials', () => {
      const found = problems(['--forward-headers', 'authorization=Bearer sk-secret,broken']);
      assert.deepEqual(found, ['--forward-headers "authorization=…,broken": entry "broken" is not key=value']);
      assert.ok(!found.join().includes('sk-secret'));
      assert.deepEqual(problems([], { OTEL_EXPORTER_OTLP_HEADERS: 'bad key=v' }), [
        'OTEL_EXPORTER_OTLP_HEADERS "bad key=…": "bad key" is not a valid header name',
      ]);
      assert.deepEqual(problems(['--forward-headers', 'k=%E0%A4%A']), [
        '--forward-headers "k=…": the value of "k" is not valid percent-encoding',
      ]);
    });

    it('refuses to forward to its own listen address', () => {
      assert.deepEqual(problems(['--forward', 'http://127.0.0.1:4318']), [
        `--forward "http://127.0.0.1:4318": this is the relay's own listen address (127.0.0.1:4318)`,
      ]);
      assert.equal(
        run(['--listen', '127.0.0.1:0', '--forward', 'http://127.0.0.1:4318']).forward,
        'http://127.0.0.1:4318/v1/traces',
      );
    });

    it('the export queue must hold every held span', () => {
      assert.deepEqual(problems(['--max-queue-size', '100']), [
        '--max-queue-size "100": must be at least the default max held spans, 4096: a flush releases every held span into the queue at once',
      ]);
      assert.deepEqual(problems(['--max-queue-size', '100', '--max-held-spans', '200']), [
        '--max-queue-size "100": must be at least --max-held-spans (200): a flush releases every held span into the queue at once',
      ]);
      assert.deepEqual(problems(['--max-held-spans', '10000']), [
        '--max-held-spans "10000": must not exceed the default max queue size, 8192: a flush releases every held span into the queue at once',
      ]);
    });

    it('the byte budgets: the queue holds every held byte, bodies in flight fit a gzip body twice', () => {
      assert.deepEqual(problems(['--max-queue-bytes', '1MiB']), [
        '--max-queue-bytes "1MiB": must be at least the default max held bytes, 33554432: a flush releases every held span into the queue at once',
      ]);
      assert.deepEqual(problems(['--max-held-bytes', '1GiB']), [
        '--max-held-bytes "1GiB": must not exceed the default max queue bytes, 67108864: a flush releases every held span into the queue at once',
      ]);
      assert.deepEqual(problems(['--max-inflight-bytes', '30MiB']), [
        '--max-inflight-bytes "30MiB": must be at least twice the default max body bytes, 20971520: a gzip body counts on the wire and again inflated',
      ]);
      assert.deepEqual(problems(['--max-body-bytes', '40MiB']), [
        '--max-body-bytes "40MiB": must not exceed half the default max inflight bytes, 67108864: a gzip body counts on the wire and again inflated',
      ]);
      assert.deepEqual(problems(['--max-inflight-bytes', '1MiB', '--max-body-bytes', '1MiB']), [
        '--max-inflight-bytes "1MiB": must be at least twice --max-body-bytes (1048576): a gzip body counts on the wire and again inflated',
      ]);
      assert.deepEqual(problems(['--max-inflight-bytes', '70GiB', '--max-connections', '0']), [
        '--max-inflight-bytes "70GiB": expected an integer from 1 to 68719476736 (bytes, or with a KiB/MiB/GiB suffix)',
        '--max-connections "0": expected an integer from 1 to 1048576',
      ]);
    });

    it('the request timeout is at least the idle timeout', () => {
      assert.deepEqual(problems(['--request-timeout-millis', '5000']), [
        '--request-timeout-millis "5000": must be at least the default idle timeout, 10000: the idle timeout also bounds the wait for headers, which is part of the request',
      ]);
      assert.deepEqual(problems([], { GENAI_ENRICH_RELAY_IDLE_TIMEOUT_MILLIS: '90000' }), [
        'GENAI_ENRICH_RELAY_IDLE_TIMEOUT_MILLIS "90000": must not exceed the default request timeout, 60000: the idle timeout also bounds the wait for headers, which is part of the request',
      ]);
      assert.deepEqual(problems(['--idle-timeout-millis', '0']), [
        '--idle-timeout-millis "0": expected an integer from 1 to 2147483647',
      ]);
    });

    it('validates the programmatic options object, naming each option', () => {
      assert.deepEqual(
        validateRelayOptions({
          listen: 'x:y',
          forwardProtocol: 'thrift' as never,
          maxBodyBytes: 0,
          holdMillis: 1.5,
          forwardHeaders: { 'a b': 'c' },
        }),
        [
          'listen "x:y": port must be 0–65535',
          'forwardProtocol "thrift": expected http/protobuf, http/json or grpc',
          'forwardHeaders {"a b": …}: "a b" is not a valid header name',
          'maxBodyBytes 0: expected an integer from 1 to 1073741824 (bytes, or with a KiB/MiB/GiB suffix)',
          'holdMillis 1.5: expected an integer from 0 to 2147483647',
        ],
      );
      assert.deepEqual(validateRelayOptions({ lisen: '127.0.0.1:1' } as never), ['unknown option "lisen"']);
      assert.throws(() => resolveRelayConfig({ maxHeldSpans: -1 }), {
        name: 'RelayConfigError',
        message: 'invalid configuration: maxHeldSpans -1: expected an integer from 1 to 9007199254740991',
      });
    });
  });
});

describe("the processor's options in the relay", () => {
  // The relay passes these through to GenAiEnrichingProcessor: it must accept exactly what the processor
  // accepts, with the processor's range in its messages (under the relay's own names).
  const passedThrough = [
    'holdMillis',
    'maxHeldSpans',
    'maxHeldBytes',
    'maxOpenMillis',
    'maxQueueSize',
    'maxExportBatchSize',
    'scheduledDelayMillis',
  ] as const;

  it('are bounded as the processor bounds them', () => {
    for (const name of passedThrough) {
      const bounds = PROCESSOR_OPTION_BOUNDS[name];
      // maxHeldSpans: 1 and maxHeldBytes: 1 keep the relay-only rules (queue ≥ held) out of the way.
      const atMin = { maxHeldSpans: 1, maxHeldBytes: 1, [name]: bounds.min };
      assert.deepEqual(validateRelayOptions(atMin), [], `${name} at its minimum`);
      assert.deepEqual(validateConfig(atMin), [], `${name} at its minimum, for the processor`);
      for (const bad of [bounds.min - 1, bounds.max + 1]) {
        const unit = name.endsWith('Bytes') ? ' (bytes, or with a KiB/MiB/GiB suffix)' : '';
        assert.deepEqual(validateRelayOptions({ maxHeldSpans: 1, maxHeldBytes: 1, [name]: bad }), [
          `${name} ${bad}: expected ${integerRange(bounds)}${unit}`,
        ]);
        assert.deepEqual(validateConfig({ [name]: bad }), [`${name} must be ${integerRange(bounds)}, got ${bad}`]);
      }
    }
  });

  it('keep the relay-only default of the queue, which leaves room for every held span', () => {
    assert.notEqual(DEFAULT_RELAY_MAX_QUEUE_SIZE, PROCESSOR_OPTION_BOUNDS.maxQueueSize.defaultValue);
    assert.equal(resolveRelayConfig({}).maxQueueSize, DEFAULT_RELAY_MAX_QUEUE_SIZE);
  });
});
