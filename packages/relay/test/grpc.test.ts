/*
 * The relay's OTLP/gRPC receiver and its gRPC forwarding, end to end on loopback: the OpenTelemetry JS gRPC
 * exporter and a raw @grpc/grpc-js client in (malformed messages included), the same limits and
 * back-pressure as HTTP in gRPC's terms, and a loopback gRPC receiver out.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Metadata, status } from '@grpc/grpc-js';
import { SpanKind } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as OTLPGrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import type { Relay, RelayOptions } from '@genai-enrich/relay';
import { decodeTraceRequest, encodeTraceRequest } from '../src/otlp/index.js';
import type { RelaySpan } from '../src/otlp/index.js';
import { bytes, msg, request as protoRequest, spanBody, str, sub, varint } from './otlp/proto.js';
import {
  gzipZeros,
  heldSpanJson,
  plainSpanJson,
  postJson,
  request1,
  send,
  spanId,
  stats,
  testServers,
} from './relay-kit.js';
import { encodeRpcStatusWithRetryInfo, readRetryDelayMillis } from '../src/rpc-status.js';
import { grpcFrame, http2Call, rawClient, readStatusDetails, startGrpcReceiver } from './grpc-kit.js';
import type { Answerer, GrpcReceiver } from './grpc-kit.js';

const { relayTo, protoReceiver } = testServers();

const NOWHERE = { output: { write: (_c: unknown, cb?: () => void) => (cb?.(), true) } };

/** The protobuf request of `spans` (OTLP/JSON spans), as the relay would encode it. */
function protobufOf(spans: unknown[]): Uint8Array {
  const decoded = decodeTraceRequest(Buffer.from(JSON.stringify(request1(spans))), 'json');
  return encodeTraceRequest(decoded.spans, 'protobuf');
}

function grpcUrl(relay: Relay): string {
  assert.ok(relay.address.grpcUrl !== undefined, 'the relay listens for gRPC');
  return relay.address.grpcUrl;
}

describe('OTLP/gRPC in', () => {
  for (const compression of ['none', 'gzip'] as const) {
    it(`the OpenTelemetry JS gRPC exporter (compression ${compression}): every span forwarded once, enriched`, async () => {
      const receiver = await protoReceiver();
      const relay = await relayTo(receiver.url);
      const exporter = new OTLPGrpcExporter({ url: grpcUrl(relay), compression: compression as never });
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
      const tracer = provider.getTracer('grpc-test');
      // Legacy keys, renamed on the way: the span went through the processor.
      const attributes = { 'gen_ai.system': 'openai', 'gen_ai.usage.prompt_tokens': 30 };
      const chat = tracer.startSpan('chat gpt-4o-mini', { kind: SpanKind.CLIENT, attributes });
      chat.end();
      for (let i = 0; i < 20; i++) tracer.startSpan(`db query ${i}`).end();
      await provider.forceFlush();
      await receiver.waitFor(21);
      await provider.shutdown();

      assert.equal(receiver.spans.length, 21);
      assert.equal(new Set(receiver.spans.map((s) => s.spanContext().spanId)).size, 21);
      const forwarded = receiver.spans.find((s) => s.name === 'chat gpt-4o-mini')!;
      assert.equal(forwarded.spanContext().spanId, chat.spanContext().spanId);
      assert.equal(forwarded.attributes['gen_ai.provider.name'], 'openai');
      assert.equal(forwarded.attributes['gen_ai.usage.input_tokens'], 30);
      assert.equal(forwarded.attributes['gen_ai.system'], undefined);
      const { relay: counters } = await stats(relay);
      assert.deepEqual(counters.grpcResponses, { OK: 21 });
      assert.equal(counters.exportRequests, 21);
      assert.equal(counters.acceptedRequests, 21);
      assert.equal(counters.spansReceived, 21);
      assert.equal(counters.requests, 1, 'the /stats request only: gRPC calls are not HTTP requests');
    });
  }

  it('a raw client: garbage and truncated messages get INVALID_ARGUMENT, invalid spans partial success', async () => {
    const relay = await relayTo(undefined, NOWHERE);
    const client = rawClient(grpcUrl(relay));
    try {
      const garbage = await client.send(Buffer.from('this is not protobuf at all, \xff\xff\xff'));
      assert.equal(garbage.code, status.INVALID_ARGUMENT, garbage.details);
      assert.match(garbage.details, /offset|wire type|field/);

      const whole = protobufOf([plainSpanJson(spanId(1)), plainSpanJson(spanId(2))]);
      const truncated = await client.send(whole.subarray(0, whole.length - 7));
      assert.equal(truncated.code, status.INVALID_ARGUMENT, truncated.details);
      assert.equal(truncated.retryDelayMillis, undefined, 'a bad message is not worth retrying');

      // One span with a 3-byte trace id, one valid: the valid one goes in, the client is told of the other.
      const partial = await client.send(
        protoRequest(
          spanBody(),
          Uint8Array.from([...bytes(1, Uint8Array.from([1, 2, 3])), ...bytes(2, Uint8Array.from([1, 2, 3, 4]))]),
        ),
      );
      assert.equal(partial.code, status.OK, partial.details);
      // ExportTraceServiceResponse{partial_success=1{rejected_spans=1: 1, error_message=2}}
      const response = partial.response!;
      assert.equal(response[0], 0x0a);
      assert.equal(response[2], 0x08);
      assert.equal(response[3], 1);
      assert.match(response.toString('utf8'), /1 invalid span rejected/);

      const fine = await client.send(whole);
      assert.equal(fine.code, status.OK);
      assert.equal(fine.response!.length, 0, 'all accepted: the empty response');

      const { relay: counters } = await stats(relay);
      assert.deepEqual(counters.grpcResponses, { INVALID_ARGUMENT: 2, OK: 2 });
      assert.equal(counters.spansReceived, 3);
      assert.equal(counters.spansRejected, 1);
    } finally {
      client.close();
    }
  });

  it('limits: over --max-body-bytes, a gzip bomb, a bad gzip frame, a truncated frame; the relay keeps serving', async () => {
    const limit = 64 * 1024;
    const relay = await relayTo(undefined, { maxBodyBytes: limit, maxInflightBytes: 4 * limit, ...NOWHERE });
    const url = grpcUrl(relay);
    const plain = rawClient(url);
    const gzip = rawClient(url, { gzip: true });
    try {
      const big = await plain.send(Buffer.alloc(limit + 1));
      assert.equal(big.code, status.RESOURCE_EXHAUSTED, big.details);
      assert.equal(big.retryDelayMillis, undefined, 'no RetryInfo: retrying the same message cannot help');

      // 20 MiB of zeros compress to about 20 KiB: under the limit on the wire, far over it inflated.
      const bomb = await http2Call(url, grpcFrame(await gzipZeros(20 * 1024 * 1024), true), {
        'grpc-encoding': 'gzip',
      });
      assert.equal(bomb.status, status.RESOURCE_EXHAUSTED, bomb.message);

      const badGzip = await http2Call(url, grpcFrame(Buffer.from('not gzip at all'), true), {
        'grpc-encoding': 'gzip',
      });
      assert.equal(badGzip.status, status.INTERNAL, badGzip.message);
      assert.match(badGzip.message, /decompress/i);

      // The frame says 1000 bytes and the stream ends after 10.
      const cut = await http2Call(url, grpcFrame(Buffer.alloc(10), false, 1000));
      assert.notEqual(cut.status, status.OK);

      // A gzipped message under the limit is read, and the relay still answers.
      const ok = await gzip.send(protobufOf([plainSpanJson(spanId(9))]));
      assert.equal(ok.code, status.OK, ok.details);
      assert.equal((await stats(relay)).relay.spansReceived, 1);
      assert.equal((await send(`${relay.address.url}/health`, { method: 'GET' })).status, 200);
    } finally {
      plain.close();
      gzip.close();
    }
  });

  it('back-pressure: a full export queue is UNAVAILABLE with RetryInfo, bodies over the in-flight budget RESOURCE_EXHAUSTED with RetryInfo', async () => {
    const receiver = await protoReceiver();
    receiver.stall();
    const limit = 64 * 1024;
    const relay = await relayTo(receiver.url, {
      maxQueueSize: 4,
      maxHeldSpans: 1,
      maxExportBatchSize: 2,
      scheduledDelayMillis: 0,
      maxBodyBytes: limit,
      maxInflightBytes: 2 * limit,
    });
    const client = rawClient(grpcUrl(relay));
    try {
      // Four spans in the stalled delivery: the queue is full.
      for (let i = 0; i < 4; i += 2) {
        const two = [plainSpanJson(spanId(i + 1)), plainSpanJson(spanId(i + 2))];
        assert.equal((await client.send(protobufOf(two))).code, status.OK);
      }
      const full = await client.send(protobufOf([plainSpanJson(spanId(100))]));
      assert.equal(full.code, status.UNAVAILABLE, full.details);
      assert.match(full.details, /export queue/);
      assert.equal(full.detailsCode, status.UNAVAILABLE);
      assert.equal(full.retryDelayMillis, 1000);

      receiver.release();
      await receiver.waitFor(4);

      // Two HTTP bodies, most of the way in and stalled, hold nearly all of the in-flight budget (2 × 64 KiB).
      const stalled = [0, 1].map(() => {
        const req = request(relay.address.tracesUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': String(limit) },
        });
        req.on('error', () => {});
        req.write(Buffer.alloc(limit - 1024, 0x20));
        return req;
      });
      const deadline = Date.now() + 5000;
      while (relay.stats().relay.inflightBytes < 2 * limit - 2048) {
        assert.ok(Date.now() < deadline, `in flight: ${relay.stats().relay.inflightBytes}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      const over = await client.send(Buffer.alloc(4096));
      for (const req of stalled) req.destroy();
      assert.equal(over.code, status.RESOURCE_EXHAUSTED, over.details);
      assert.match(over.details, /--max-inflight-bytes/);
      assert.equal(over.retryDelayMillis, 1000);

      const { relay: counters } = await stats(relay);
      assert.equal(counters.grpcResponses['UNAVAILABLE'], 1);
      assert.equal(counters.grpcResponses['RESOURCE_EXHAUSTED'], 1);
      assert.equal(counters.throttled, 2);
    } finally {
      client.close();
    }
  });

  it('--max-connections counts gRPC connections: one more is closed as it arrives', async () => {
    const relay = await relayTo(undefined, { maxConnections: 1, ...NOWHERE });
    const first = rawClient(grpcUrl(relay));
    const second = rawClient(grpcUrl(relay));
    try {
      assert.equal((await first.send(protobufOf([plainSpanJson(spanId(1))]))).code, status.OK);
      const refused = await second.send(protobufOf([plainSpanJson(spanId(2))]), 1000);
      assert.notEqual(refused.code, status.OK);
      const { relay: counters } = relay.stats();
      assert.ok(counters.connectionsRefused >= 1, JSON.stringify(counters));
      assert.equal(counters.spansReceived, 1);
    } finally {
      first.close();
      second.close();
    }
  });

  it('a connection with no call open is closed after --idle-timeout-millis', async () => {
    const relay = await relayTo(undefined, { idleTimeoutMillis: 200, ...NOWHERE });
    const client = rawClient(grpcUrl(relay));
    try {
      assert.equal((await client.send(protobufOf([plainSpanJson(spanId(1))]))).code, status.OK);
      assert.equal(relay.stats().relay.connections, 1);
      const deadline = Date.now() + 3000;
      while (relay.stats().relay.connections > 0) {
        assert.ok(Date.now() < deadline, 'the idle connection was closed');
        await sleep(20);
      }
      // The client reconnects for its next call.
      assert.equal((await client.send(protobufOf([plainSpanJson(spanId(2))]))).code, status.OK);
    } finally {
      client.close();
    }
  });

  it('a taken gRPC port: startRelay rejects, naming the address and how to turn gRPC off', async () => {
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      await assert.rejects(
        relayTo(undefined, { grpcListen: `127.0.0.1:${port}`, ...NOWHERE }),
        new RegExp(`OTLP/gRPC on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*--grpc-listen off`),
      );
    } finally {
      taken.close();
    }
  });

  it('shutting down: connections are sent away and new calls get UNAVAILABLE; held spans are still forwarded', async () => {
    const receiver = await protoReceiver();
    receiver.stall();
    const relay = await relayTo(receiver.url, { holdMillis: 60_000 });
    const client = rawClient(grpcUrl(relay));
    try {
      assert.equal((await client.send(protobufOf([heldSpanJson(spanId(1), 'resp-1')]))).code, status.OK);
      assert.equal(relay.stats().processor.held, 1);
      const closed = relay.close();
      const late = await client.send(protobufOf([plainSpanJson(spanId(2))]), 2000);
      // Told to go away (GOAWAY) and refused a new connection: a client retries, elsewhere if it can.
      assert.equal(late.code, status.UNAVAILABLE, late.details);
      receiver.release();
      await closed;
      assert.deepEqual(
        receiver.spans.map((s) => s.spanContext().spanId),
        [spanId(1)],
      );
    } finally {
      client.close();
    }
  });
});

describe('OTLP/gRPC out (--forward-protocol grpc)', () => {
  const receivers: GrpcReceiver[] = [];
  after(async () => {
    for (const r of receivers.splice(0)) await r.close();
  });
  const grpcReceiver = async (answer?: Answerer): Promise<GrpcReceiver> => {
    const receiver = await startGrpcReceiver(answer);
    receivers.push(receiver);
    return receiver;
  };

  /** A relay forwarding over gRPC to `receiver`, and the JSON spans posted to it. */
  async function forwardOver(receiver: GrpcReceiver, spans: unknown[], options: RelayOptions = {}): Promise<Relay> {
    const relay = await relayTo(receiver.url, { forwardProtocol: 'grpc', ...options });
    const answer = await postJson(relay, request1(spans));
    assert.equal(answer.status, 200, answer.body.toString());
    return relay;
  }

  it('sends what it would POST as http/protobuf, values exact, with --forward-headers as metadata', async () => {
    const spans = [
      plainSpanJson(spanId(1)),
      { ...(plainSpanJson(spanId(2)) as object), attributes: [{ key: 'temperature', value: { doubleValue: 1 } }] },
      {
        ...(plainSpanJson(spanId(3)) as object),
        attributes: [{ key: 'big', value: { intValue: '9007199254740993' } }],
      },
    ];
    const grpc = await grpcReceiver();
    const http = await protoReceiver();
    await forwardOver(grpc, spans, { forwardHeaders: { 'x-tenant': 'acme' } });
    const viaHttp = await relayTo(http.url);
    assert.equal((await postJson(viaHttp, request1(spans))).status, 200);
    await grpc.waitFor(3);
    await http.waitFor(3);

    assert.equal(grpc.metadata[0].get('x-tenant')[0], 'acme');
    const json = (received: RelaySpan[]): unknown =>
      JSON.parse(Buffer.from(encodeTraceRequest(received, 'json')).toString()) as unknown;
    const forwarded = JSON.stringify(json(grpc.spans));
    assert.match(forwarded, /"doubleValue":1\b/, 'the integral double is still a double');
    assert.match(forwarded, /"intValue":"9007199254740993"/, 'the int64 beyond 2^53 is exact');
    assert.deepEqual(json(grpc.spans), json(http.spans));
  });

  it("--metrics: the relay's metrics go to the same endpoint, MetricsService/Export", async () => {
    const grpc = await grpcReceiver();
    const relay = await forwardOver(grpc, [plainSpanJson(spanId(1))], { metrics: true });
    await grpc.waitFor(1);
    await relay.close(); // the last metrics export goes out at shutdown
    assert.ok(grpc.metricMessages.length >= 1, 'metrics exported');
    const metrics = Buffer.concat(grpc.metricMessages).toString('latin1');
    assert.match(metrics, /genai_enrich\.relay\.spans\.received/);
    assert.match(metrics, /genai-enrich-relay/, 'the resource service.name');
  });

  /** Retries a few ms apart, so that a RetryInfo of 300 ms is the longer wait and is honoured. */
  const FAST_RETRIES: RelayOptions = { retryInitialIntervalMillis: 20, retryMaxIntervalMillis: 50 };

  it('retries UNAVAILABLE after the RetryInfo delay; the spans arrive once', async () => {
    const grpc = await grpcReceiver((n) => (n === 0 ? refusal(status.UNAVAILABLE, 300) : null));
    const relay = await forwardOver(grpc, [plainSpanJson(spanId(1)), plainSpanJson(spanId(2))], FAST_RETRIES);
    await grpc.waitFor(2);
    assert.equal(grpc.messages.length, 2);
    assert.deepEqual(grpc.messages[1], grpc.messages[0], 'the same request again');
    const waited = grpc.arrivals[1] - grpc.arrivals[0];
    assert.ok(waited >= 280 && waited < 1000, `retried after ${waited} ms, RetryInfo said 300`);
    const forwarding = relay.stats().forwarding!;
    assert.equal(forwarding.retries, 1);
    await relay.close();
    assert.equal(relay.stats().forwarding!.delivered, 2);
  });

  it('a target that refuses connections: retried until --retry-max-elapsed-millis, then counted lost', async () => {
    const closed = await grpcReceiver();
    await closed.close();
    const relay = await forwardOver(closed, [plainSpanJson(spanId(1))], {
      ...FAST_RETRIES,
      retryMaxElapsedMillis: 400,
      exportTimeoutMillis: 200,
    });
    const deadline = Date.now() + 5000;
    while (relay.stats().forwarding!.lost < 1) {
      assert.ok(Date.now() < deadline, `lost within the retry time: ${JSON.stringify(relay.stats().forwarding)}`);
      await sleep(20);
    }
    assert.ok(relay.stats().forwarding!.retries >= 2, 'retried: UNAVAILABLE is retryable');
  });

  it('RESOURCE_EXHAUSTED is retried only with RetryInfo; INVALID_ARGUMENT is not retried', async () => {
    const cases = [
      { answer: refusal(status.RESOURCE_EXHAUSTED, 100), calls: 2, refused: 0 },
      { answer: refusal(status.RESOURCE_EXHAUSTED, undefined), calls: 1, refused: 1 },
      { answer: refusal(status.INVALID_ARGUMENT, undefined), calls: 1, refused: 1 },
    ];
    for (const { answer, calls, refused } of cases) {
      const grpc = await grpcReceiver((n) => (n === 0 ? answer : null));
      const relay = await forwardOver(grpc, [plainSpanJson(spanId(1))], FAST_RETRIES);
      await relay.close(); // delivers what it can within the shutdown grace
      const name = status[answer.code];
      assert.equal(grpc.messages.length, calls, name);
      const forwarding = relay.stats().forwarding!;
      assert.equal(forwarding.rejectedByTarget, refused, name);
      assert.equal(forwarding.delivered, 1 - refused, name);
    }
  });
});

/** An error status, with a RetryInfo of `retryMillis` in grpc-status-details-bin when given (built by hand). */
function refusal(code: number, retryMillis: number | undefined): { code: number; details: string; metadata: Metadata } {
  const metadata = new Metadata();
  if (retryMillis !== undefined) {
    const retryInfo = sub(
      3,
      str(1, 'type.googleapis.com/google.rpc.RetryInfo'),
      sub(2, sub(1, varint(2, retryMillis * 1_000_000))),
    );
    metadata.set('grpc-status-details-bin', Buffer.from(msg(varint(1, code), str(2, 'busy'), retryInfo)));
  }
  return { code, details: 'busy', metadata };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('google.rpc.RetryInfo in grpc-status-details-bin (rpc-status.ts)', () => {
  it('what the relay writes, a reader written apart reads: the code and the delay', () => {
    for (const millis of [0, 1, 999, 1000, 1500, 30_000]) {
      const bytes = Buffer.from(encodeRpcStatusWithRetryInfo(14, 'queue full', millis));
      assert.deepEqual(readStatusDetails(bytes), { code: 14, retryDelayMillis: millis });
      assert.equal(readRetryDelayMillis(bytes), millis);
    }
  });

  it('reads a RetryInfo among other details, written by hand; none, or bytes that are not a Status, give undefined', () => {
    const retryInfo = (seconds: number, nanos: number): Uint8Array =>
      sub(3, str(1, 'type.googleapis.com/google.rpc.RetryInfo'), sub(2, sub(1, varint(1, seconds), varint(2, nanos))));
    const other = sub(3, str(1, 'type.googleapis.com/google.rpc.DebugInfo'), sub(2, str(2, 'detail')));
    assert.equal(readRetryDelayMillis(msg(varint(1, 8), str(2, 'busy'), other, retryInfo(2, 500_000_000))), 2500);
    assert.equal(readRetryDelayMillis(msg(varint(1, 8), other)), undefined);
    assert.equal(readRetryDelayMillis(msg(varint(1, 8), retryInfo(0, 0))), 0);
    assert.equal(readRetryDelayMillis(Buffer.from('not a status \xff\xff')), undefined);
    assert.equal(readRetryDelayMillis(msg(varint(1, 8), retryInfo(1, 0)).subarray(0, 20)), undefined);
  });
});
