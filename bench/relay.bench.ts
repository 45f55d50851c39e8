/*
 * Spans per second through the relay on loopback, protobuf in and out, in batches of 512 GenAI spans, with
 * the relay process pinned to one core (taskset, when the machine has it and more than one core).
 *
 *   this process: sender (pre-encoded batches, a few requests in flight) + sink (counts spans that arrive)
 *        │ POST /v1/traces, application/x-protobuf   or   OTLP/gRPC Export (the same bytes, one connection)
 *        ▼
 *   child on one core: either the relay (decode → GenAiEnrichingProcessor → batch → delivery queue → POST),
 *                      received over HTTP or over gRPC, with its durable queue (the default: the request
 *                      journal on disk) or in memory (--queue-dir memory), or the baseline (decode → the
 *                      SDK's protobuf serializer → POST), nothing else
 *        │ POST (http/protobuf)
 *        ▼ sink
 *
 * The spans are complete chat spans with legacy keys (gen_ai.system, prompt/completion tokens, …), so the
 * relay normalizes every one and holds none. A run ends when the sink has counted every span sent.
 * The children run the same way (tsx, workspace sources), alternately, several rounds; the median is used.
 * Beside the wall-clock rate, each relay round reports the relay child's CPU time per span (user + system,
 * from /proc), which other load on a shared machine disturbs less.
 *
 * Run: `npm run bench:relay` (node --conditions=@genai-enrich/source --import tsx bench/relay.bench.ts).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client, Metadata, credentials, status as grpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { decodeTraceRequest } from '../packages/relay/src/otlp/index.js';
import { legacyChatAttributes, machineLine } from './harness.js';
import { startChild, startSink, stopChild } from './relay-children.js';

const SPANS_PER_BATCH = 512;
const BATCHES = Number(process.env['RELAY_BENCH_BATCHES'] ?? 200);
const IN_FLIGHT = 4;
const ROUNDS = Number(process.env['RELAY_BENCH_ROUNDS'] ?? 3);
const self = fileURLToPath(import.meta.url);

// ── child modes ──────────────────────────────────────────────────────────────────────────────────────
const mode = process.argv[2];
if (mode?.startsWith('--serve-relay') === true) {
  const { startRelay, resolveRelayConfig } = await import('../packages/relay/src/index.js');
  const config = resolveRelayConfig({
    listen: '127.0.0.1:0',
    // Port 0: the durable queue's default is a fresh directory of the run's own (the system's tmpdir).
    ...(mode.endsWith('-memory') ? { queueDir: 'memory' } : {}),
    forward: process.argv[3],
    forwardProtocol: 'http/protobuf',
    scheduledDelayMillis: 50,
    maxExportBatchSize: SPANS_PER_BATCH,
    maxQueueSize: 65536,
    maxQueueBytes: 256 * 1024 * 1024,
  });
  const relay = await startRelay(config);
  // The same relay either way; the port printed is the one the sender uses.
  const grpcPort = new URL(relay.address.grpcUrl!).port;
  process.stdout.write(`${mode.includes('-grpc') ? grpcPort : relay.address.port}\n`);
  process.on('SIGTERM', () => void relay.close().then(() => process.exit(0)));
} else if (mode === '--serve-baseline') {
  const forward = process.argv[3];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { spans } = decodeTraceRequest(Buffer.concat(chunks), 'protobuf');
      const body = ProtobufTraceSerializer.serializeRequest(spans)!;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      void fetch(forward, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body }).then((r) =>
        r.arrayBuffer(),
      );
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
} else {
  await main();
}

// ── the parent: payload, sink, sender ────────────────────────────────────────────────────────────────
function genAiBatch(): Uint8Array {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'chat-api', 'telemetry.sdk.language': 'python' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('opentelemetry.instrumentation.openai_v2', '2.1b0');
  for (let i = 0; i < SPANS_PER_BATCH; i++) {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: (i >> 3).toString(16).padStart(32, 'a'),
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
    });
    const span = tracer.startSpan(
      'chat gpt-4o-mini',
      {
        kind: SpanKind.CLIENT,
        attributes: legacyChatAttributes(i),
      },
      ctx,
    );
    span.end();
  }
  return ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans())!;
}

type Kind = 'baseline' | 'relay' | 'relay-memory' | 'relay-grpc' | 'relay-grpc-memory';

/** One request: true when accepted, false when refused with a retryable status (429/503, or their gRPC codes). */
type Post = (body: Uint8Array) => Promise<boolean>;

function httpPost(port: number): Post {
  const url = `http://127.0.0.1:${port}/v1/traces`;
  return async (body) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
    await res.arrayBuffer();
    if (res.status === 200) return true;
    if (res.status !== 429 && res.status !== 503) throw new Error(`HTTP ${res.status}`);
    return false;
  };
}

/** The Export call with the message's bytes as they are, on one connection (as an SDK's gRPC exporter). */
function grpcPost(client: Client): Post {
  const same = (b: Buffer): Buffer => b;
  const path = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
  return (body) =>
    new Promise<boolean>((resolve, reject) => {
      const message = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      client.makeUnaryRequest(path, same, same, message, new Metadata(), (error: ServiceError | null) => {
        if (error === null) resolve(true);
        else if (error.code === grpcStatus.UNAVAILABLE || error.code === grpcStatus.RESOURCE_EXHAUSTED) resolve(false);
        else reject(error);
      });
    });
}

async function send(post: Post, body: Uint8Array, batches: number): Promise<number> {
  let next = 0;
  let retries = 0;
  async function worker(): Promise<void> {
    while (next < batches) {
      next++;
      while (!(await post(body))) {
        retries++;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return retries;
}

/** User + system CPU time of a process, in µs (/proc; undefined where there is none). */
function cpuMicros(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime, fields 14 and 15 of stat (11 and 12 after the command), in clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

async function measure(
  kind: Kind,
  body: Uint8Array,
): Promise<{ spansPerSecond: number; cpuMicrosPerSpan: number | undefined; retries: number }> {
  const sink = await startSink();
  const { child, port } = await startChild(self, kind, sink.url);
  const client = kind.startsWith('relay-grpc')
    ? new Client(`127.0.0.1:${port}`, credentials.createInsecure(), {})
    : undefined;
  const post = client === undefined ? httpPost(port) : grpcPost(client);
  try {
    await send(post, body, 10); // warm-up
    await sink.waitFor(10 * SPANS_PER_BATCH);
    const before = sink.spans;
    const cpuBefore = cpuMicros(child.pid);
    const start = process.hrtime.bigint();
    const retries = await send(post, body, BATCHES);
    await sink.waitFor(before + BATCHES * SPANS_PER_BATCH);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpuAfter = cpuMicros(child.pid);
    const spans = BATCHES * SPANS_PER_BATCH;
    const cpuMicrosPerSpan =
      cpuBefore === undefined || cpuAfter === undefined ? undefined : (cpuAfter - cpuBefore) / spans;
    return { spansPerSecond: spans / seconds, cpuMicrosPerSpan, retries };
  } finally {
    client?.close();
    await stopChild(child, sink);
  }
}

async function main(): Promise<void> {
  const body = genAiBatch();
  const KINDS: ReadonlyArray<{ kind: Kind; label: string }> = [
    { kind: 'baseline', label: 'baseline: decode + encode only (HTTP)' },
    { kind: 'relay-memory', label: 'relay, HTTP, queue in memory: decode + processor + encode + delivery' },
    { kind: 'relay', label: 'relay, HTTP, durable queue (the default): the same + the request journal' },
    { kind: 'relay-grpc-memory', label: 'relay, gRPC, queue in memory' },
    { kind: 'relay-grpc', label: 'relay, gRPC, durable queue' },
  ];

  console.log(
    `relay throughput: ${BATCHES} batches × ${SPANS_PER_BATCH} GenAI spans, protobuf in (HTTP or gRPC) and out (HTTP), ${ROUNDS} rounds`,
  );
  console.log(machineLine());
  const empty = (): Record<Kind, number[]> => ({
    baseline: [],
    relay: [],
    'relay-memory': [],
    'relay-grpc': [],
    'relay-grpc-memory': [],
  });
  const rates = empty();
  const cpu = empty();
  let retries = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (const { kind } of KINDS) {
      const m = await measure(kind, body);
      rates[kind].push(m.spansPerSecond);
      if (m.cpuMicrosPerSpan !== undefined) cpu[kind].push(m.cpuMicrosPerSpan);
      retries += m.retries;
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cpuCell = (xs: number[]): string => (xs.length === 0 ? '–' : median(xs).toFixed(1));
  console.log(`| case | spans/s (median of ${ROUNDS}) | child CPU µs/span (median) | all rounds, spans/s |`);
  console.log('|---|---:|---:|---|');
  for (const { kind, label } of KINDS) {
    const all = rates[kind].map((x) => Math.round(x)).join(', ');
    console.log(`| ${label} | ${Math.round(median(rates[kind]))} | ${cpuCell(cpu[kind])} | ${all} |`);
  }
  const relay = median(rates.relay);
  const grpc = median(rates['relay-grpc']);
  const durableCost = (durable: Kind, memory: Kind): string =>
    cpu[durable].length === 0 ? '–' : (median(cpu[durable]) / median(cpu[memory])).toFixed(2);
  console.log(
    `relay / baseline: ${(relay / median(rates.baseline)).toFixed(2)}; gRPC / HTTP: ${(grpc / relay).toFixed(2)}; ` +
      `durable / memory, CPU per span: HTTP ${durableCost('relay', 'relay-memory')}, gRPC ` +
      `${durableCost('relay-grpc', 'relay-grpc-memory')} (target ≤ 1.15); ` +
      `target ≥ 30000 spans/s on one core: ${relay >= 30000 ? 'met' : 'missed'}; 429/503 retries: ${retries}`,
  );
}
