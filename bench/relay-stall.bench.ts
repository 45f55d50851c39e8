/*
 * How long the relay's event loop stalls while it takes one large request: /health is asked again and again
 * (one request at a time, on a kept-alive connection) while a 200 000-span protobuf (or JSON) request goes in; the
 * longest /health answer is the stall. The relay runs in a child process pinned to one core (taskset, when
 * the machine has it and more than one core), with room for the whole request (queue, body and in-flight
 * limits raised), so the measure is the handling, not back-pressure.
 *
 *   this process: /health poller ─┐           ┌─ sink (counts the spans that arrive)
 *                 large POST ─────┴─► relay ──┘
 *
 * Options the relay under test does not know (an older version, for a before/after) are left out.
 * Run: `npm run bench:relay-stall` (protobuf), `npm run bench:relay-stall-json` (the same spans as OTLP/JSON).
 * RELAY_STALL_SPANS (200000) and RELAY_STALL_ROUNDS (3) change the size, RELAY_STALL_FORMAT (protobuf) the body.
 */
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { machineLine } from './harness.js';
import { startChild, startSink, stopChild } from './relay-children.js';

const SPANS = Number(process.env['RELAY_STALL_SPANS'] ?? 200_000);
const ROUNDS = Number(process.env['RELAY_STALL_ROUNDS'] ?? 3);
const JSON_BODY = process.env['RELAY_STALL_FORMAT'] === 'json';
const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--serve-relay') {
  const { startRelay, validateRelayOptions } = await import('../packages/relay/src/index.js');
  const wanted: Record<string, unknown> = {
    listen: '127.0.0.1:0',
    forward: process.argv[3],
    forwardProtocol: 'http/protobuf',
    scheduledDelayMillis: 50,
    maxQueueSize: 4 * SPANS,
    maxHeldSpans: 4096,
    maxBodyBytes: 256 * 1024 * 1024,
    maxInflightBytes: 512 * 1024 * 1024,
    maxQueueBytes: 4 * 1024 * 1024 * 1024,
  };
  const unknown = new Set(
    validateRelayOptions(wanted as never)
      .map((problem) => /^unknown option "(.+)"$/.exec(problem)?.[1])
      .filter((key) => key !== undefined),
  );
  const options = Object.fromEntries(Object.entries(wanted).filter(([key]) => !unknown.has(key)));
  const relay = await startRelay(options);
  process.stdout.write(`${relay.address.port}\n`);
  process.on('SIGTERM', () => void relay.close().then(() => process.exit(0)));
} else {
  await main();
}

/** 200 000 spans as an HTTP service exports them: server spans with a route, a method and a status. */
function largeRequest(): Uint8Array {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('@opentelemetry/instrumentation-http', '0.200.0');
  for (let i = 0; i < SPANS; i++) {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: (i + 1).toString(16).padStart(32, '0'),
      spanId: (i + 1).toString(16).padStart(16, '0'),
      traceFlags: 1,
    });
    tracer
      .startSpan(
        'GET /cart/{id}',
        {
          kind: SpanKind.SERVER,
          attributes: { 'http.route': '/cart/{id}', 'http.request.method': 'GET', 'http.response.status_code': 200 },
        },
        ctx,
      )
      .end();
  }
  const spans = exporter.getFinishedSpans();
  return JSON_BODY ? JsonTraceSerializer.serializeRequest(spans)! : ProtobufTraceSerializer.serializeRequest(spans)!;
}

/** One GET /health; resolves with its latency in ms. */
function health(port: number, agent: Agent): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(Number(process.hrtime.bigint() - start) / 1e6));
    });
    req.on('error', reject);
    req.end();
  });
}

async function post(port: number, body: Uint8Array): Promise<{ status: number; ms: number }> {
  const start = process.hrtime.bigint();
  const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': JSON_BODY ? 'application/json' : 'application/x-protobuf' },
    body,
  });
  await res.arrayBuffer();
  return { status: res.status, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

async function round(body: Uint8Array): Promise<{ stall: number; idle: number; answer: number; delivered: number }> {
  const sink = await startSink();
  const { child, port } = await startChild(self, 'relay', sink.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const idle: number[] = [];
    for (let i = 0; i < 50; i++) idle.push(await health(port, agent));
    let polling = true;
    let stall = 0;
    const poller = (async () => {
      while (polling) stall = Math.max(stall, await health(port, agent));
    })();
    const start = Date.now();
    const answer = await post(port, body);
    if (answer.status !== 200) throw new Error(`the large request got ${answer.status}`);
    while (sink.spans < SPANS) await new Promise((r) => setTimeout(r, 5));
    const delivered = Date.now() - start;
    polling = false;
    await poller;
    idle.sort((a, b) => a - b);
    return { stall, idle: idle[Math.floor(idle.length / 2)], answer: answer.ms, delivered };
  } finally {
    agent.destroy();
    await stopChild(child, sink);
  }
}

async function main(): Promise<void> {
  const body = largeRequest();
  console.log(
    `relay stall: /health while one ${SPANS}-span ${JSON_BODY ? 'JSON' : 'protobuf'} request (${(body.length / 1024 / 1024).toFixed(1)} MiB) ` +
      `goes in, ${ROUNDS} rounds`,
  );
  console.log(machineLine());
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(await round(body));
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(', ');
  console.log(`| measure | ms (median of ${ROUNDS}) | rounds |`);
  console.log('|---|---:|---|');
  console.log(`| /health, idle relay | ${median(rounds.map((r) => r.idle)).toFixed(2)} | |`);
  console.log(
    `| longest /health during the request (the stall) | ${median(rounds.map((r) => r.stall)).toFixed(0)} | ${fmt(rounds.map((r) => r.stall))} |`,
  );
  console.log(
    `| the request answered | ${median(rounds.map((r) => r.answer)).toFixed(0)} | ${fmt(rounds.map((r) => r.answer))} |`,
  );
  console.log(
    `| every span at the sink | ${median(rounds.map((r) => r.delivered)).toFixed(0)} | ${fmt(rounds.map((r) => r.delivered))} |`,
  );
}
