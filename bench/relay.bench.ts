/*
 * Spans per second through the relay on loopback, protobuf in and out, in batches of 512 GenAI spans, with
 * the relay process pinned to one core (taskset, when the machine has it and more than one core).
 *
 *   this process: sender (pre-encoded batches, a few requests in flight) + sink (counts spans that arrive)
 *        │ POST /v1/traces, application/x-protobuf
 *        ▼
 *   child on one core: the relay (decode → GenAiEnrichingProcessor → batch → delivery queue → POST), with
 *                      its durable queue (the default: request journal and batches on disk) or in memory
 *                      (--queue-dir memory), or the baseline (decode → the SDK's protobuf serializer →
 *                      POST), nothing else
 *        │
 *        ▼ sink
 *
 * The spans are complete chat spans with legacy keys (gen_ai.system, prompt/completion tokens, …), so the
 * relay normalizes every one and holds none. A run ends when the sink has counted every span sent.
 * The children run the same way (tsx, workspace sources), alternately, several rounds; the median is used.
 *
 * Run: `npm run bench:relay` (node --conditions=@genai-enrich/source --import tsx bench/relay.bench.ts).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
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
if (mode === '--serve-relay-memory' || mode === '--serve-relay-durable') {
  const { startRelay, resolveRelayConfig } = await import('../packages/relay/src/index.js');
  const config = resolveRelayConfig({
    listen: '127.0.0.1:0',
    // Port 0: the durable queue's default is a fresh directory of the run's own (the system's tmpdir).
    ...(mode === '--serve-relay-memory' ? { queueDir: 'memory' } : {}),
    forward: process.argv[3],
    forwardProtocol: 'http/protobuf',
    scheduledDelayMillis: 50,
    maxExportBatchSize: SPANS_PER_BATCH,
    maxQueueSize: 65536,
    maxQueueBytes: 256 * 1024 * 1024,
  });
  const relay = await startRelay(config);
  process.stdout.write(`${relay.address.port}\n`);
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

async function send(port: number, body: Uint8Array, batches: number): Promise<number> {
  let next = 0;
  let retries = 0;
  const url = `http://127.0.0.1:${port}/v1/traces`;
  async function worker(): Promise<void> {
    while (next < batches) {
      next++;
      for (;;) {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
        await res.arrayBuffer();
        if (res.status === 200) break;
        if (res.status !== 429 && res.status !== 503) throw new Error(`HTTP ${res.status}`);
        retries++;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return retries;
}

type Kind = 'baseline' | 'relay-memory' | 'relay-durable';

/** CPU seconds (user + system) a process has used, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

async function measure(
  kind: Kind,
  body: Uint8Array,
): Promise<{ spansPerSecond: number; cpuMicros: number; retries: number }> {
  const sink = await startSink();
  const { child, port } = await startChild(self, kind, sink.url);
  try {
    await send(port, body, 10); // warm-up
    await sink.waitFor(10 * SPANS_PER_BATCH);
    const before = sink.spans;
    const cpuBefore = cpuSeconds(child.pid);
    const start = process.hrtime.bigint();
    const retries = await send(port, body, BATCHES);
    await sink.waitFor(before + BATCHES * SPANS_PER_BATCH);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpuMicros = ((cpuSeconds(child.pid) - cpuBefore) * 1e6) / (BATCHES * SPANS_PER_BATCH);
    return { spansPerSecond: (BATCHES * SPANS_PER_BATCH) / seconds, cpuMicros, retries };
  } finally {
    await stopChild(child, sink);
  }
}

async function main(): Promise<void> {
  const body = genAiBatch();
  console.log(
    `relay throughput: ${BATCHES} batches × ${SPANS_PER_BATCH} GenAI spans, protobuf in and out, ${ROUNDS} rounds`,
  );
  console.log(machineLine());
  const results: Record<Kind, number[]> = { baseline: [], 'relay-memory': [], 'relay-durable': [] };
  const cpu: Record<Kind, number[]> = { baseline: [], 'relay-memory': [], 'relay-durable': [] };
  let retries = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (const kind of ['baseline', 'relay-memory', 'relay-durable'] as const) {
      const m = await measure(kind, body);
      results[kind].push(m.spansPerSecond);
      cpu[kind].push(m.cpuMicros);
      retries += m.retries;
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const row = (kind: Kind, label: string): [number, number] => {
    const value = median(results[kind]);
    const micros = median(cpu[kind]);
    console.log(
      `| ${label} | ${Math.round(value)} | ${results[kind].map((x) => Math.round(x)).join(', ')} | ` +
        `${micros.toFixed(1)} |`,
    );
    return [value, micros];
  };
  console.log(`| case | spans/s (median of ${ROUNDS}) | all rounds | child CPU µs/span (median) |`);
  console.log('|---|---:|---|---:|');
  const [baseline] = row('baseline', 'baseline: decode + encode only');
  const [memory, memoryCpu] = row('relay-memory', 'relay, queue in memory: decode + processor + encode + delivery');
  const [durable, durableCpu] = row(
    'relay-durable',
    'relay, durable queue (the default): the same + journal and batches on disk',
  );
  console.log(
    `relay (memory) / baseline: ${(memory / baseline).toFixed(2)}; durable / memory: ${(durable / memory).toFixed(2)} ` +
      `spans/s, ${(durableCpu / memoryCpu).toFixed(2)} CPU per span (cost target ≤ 1.15); ` +
      `target ≥ 30000 spans/s on one core (memory): ${memory >= 30000 ? 'met' : 'missed'}; 429/503 retries: ${retries}`,
  );
}
