/*
 * Refusals the client can read. A body over --max-body-bytes, or one the in-flight budget has no room for,
 * is read and discarded before it is answered, so that Node's fetch, http.request and the OpenTelemetry JS
 * exporters (node:http transport, and the fetch transport of their browser build) see 413 or 429 instead of
 * EPIPE; the relay never keeps what it refuses. Also: Expect: 100-continue gets its 413 before the body.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as OTLPJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
// The same exporter built for browsers: its transport is fetch (globalThis.fetch, undici in Node).
import { OTLPTraceExporter as OTLPFetchExporter } from '@opentelemetry/exporter-trace-otlp-http/build/src/platform/browser/index.js';
import { OTLPTraceExporter as OTLPProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { Relay } from '@genai-enrich/relay';
import { heldSpanJson, request1, spanId, testServers } from './relay-kit.js';

const { relayTo } = testServers();

const LIMIT = 64 * 1024;

/** A relay with a 64 KiB body limit that writes to nowhere. */
function smallRelay(options: Parameters<typeof relayTo>[1] = {}): Promise<Relay> {
  return relayTo(undefined, {
    maxBodyBytes: LIMIT,
    maxInflightBytes: 4 * LIMIT,
    output: { write: (_c, cb) => (cb?.(), true) },
    ...options,
  });
}

/** A JSON body of about `bytes` bytes: one span with a long attribute. */
function bodyOf(bytes: number): Buffer {
  const span = heldSpanJson(spanId(1), 'resp-1') as { attributes: unknown[] };
  span.attributes.push({ key: 'gen_ai.prompt', value: { stringValue: 'p'.repeat(bytes) } });
  return Buffer.from(JSON.stringify(request1([span])));
}

/**
 * node:http, strict: any socket error fails the request (the kit's `send` forgives EPIPE). The body goes
 * out in 16 KiB writes, as a streaming client writes it.
 */
function strictPost(
  url: string,
  body: Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    for (let at = 0; at < body.length; at += 16 * 1024) req.write(body.subarray(at, at + 16 * 1024));
    req.end();
  });
}

/** A span the SDK made, with an attribute of `bytes` characters, for the exporters. */
function bigSpan(bytes: number): ReadableSpan {
  let ended: ReadableSpan | undefined;
  const provider = new BasicTracerProvider({
    spanProcessors: [
      {
        onStart: () => {},
        onEnd: (span: ReadableSpan) => (ended = span),
        forceFlush: () => Promise.resolve(),
        shutdown: () => Promise.resolve(),
      },
    ],
  });
  provider
    .getTracer('refusals')
    .startSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.prompt': 'p'.repeat(bytes) } })
    .end();
  return ended!;
}

function exportOnce(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

describe('refusals the client can read', () => {
  it('fetch sees 413 for a body over the limit, with and without Content-Length, and the relay kept none of it', async () => {
    const relay = await smallRelay();
    // Larger than the loopback socket buffers, so a relay that stopped reading would cut the client off.
    const body = bodyOf(16 * 1024 * 1024);
    const declared = await fetch(relay.address.tracesUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.equal(declared.status, 413);
    assert.match(((await declared.json()) as { message: string }).message, /the limit is 65536 \(--max-body-bytes\)/);
    // A streamed body: no Content-Length, so it is over the limit only once 64 KiB have come.
    const streamed = await fetch(relay.address.tracesUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < body.length; at += 16 * 1024) controller.enqueue(body.subarray(at, at + 16 * 1024));
          controller.close();
        },
      }),
      duplex: 'half',
    });
    assert.equal(streamed.status, 413);
    assert.match(((await streamed.json()) as { message: string }).message, /over 65536 bytes \(--max-body-bytes\)/);
    const s = relay.stats().relay;
    assert.ok(s.bytesReceived <= 2 * LIMIT, `kept ${s.bytesReceived} bytes of two 16 MiB bodies`);
    assert.ok(s.inflightBytesPeak <= LIMIT + 16 * 1024, `peak ${s.inflightBytesPeak}`);
    assert.equal(s.inflightBytes, 0);
    assert.equal(s.responses['413'], 2);
  });

  it('http.request sees 413 without an error on its socket', async () => {
    const relay = await smallRelay();
    const body = bodyOf(16 * 1024 * 1024);
    const answer = await strictPost(relay.address.tracesUrl, body, {
      'content-type': 'application/json',
      'content-length': String(body.length),
    });
    assert.equal(answer.status, 413);
    assert.equal(answer.headers['connection'], 'close');
    assert.match(answer.body, /the limit is 65536/);
  });

  it('Expect: 100-continue gets its 413 before sending the body', async () => {
    const relay = await smallRelay();
    const answer = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = request(relay.address.tracesUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(LIMIT * 2), expect: '100-continue' },
      });
      req.on('continue', () => (continued = true));
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, continued }));
      });
      req.on('error', reject);
    });
    assert.deepEqual(answer, { status: 413, continued: false });
    assert.equal(relay.stats().relay.bytesReceived, 0);
  });

  for (const [name, make] of [
    ['@opentelemetry/exporter-trace-otlp-http (node:http)', (url: string) => new OTLPJsonExporter({ url })],
    ['@opentelemetry/exporter-trace-otlp-proto (node:http)', (url: string) => new OTLPProtoExporter({ url })],
    [
      '@opentelemetry/exporter-trace-otlp-http, gzip (inflates past the limit)',
      (url: string) => new OTLPJsonExporter({ url, compression: 'gzip' as never }),
    ],
    ['@opentelemetry/exporter-trace-otlp-http, browser build (fetch)', (url: string) => new OTLPFetchExporter({ url })],
  ] as const) {
    it(`${name} reports the 413 as a non-retryable failure, not a network error`, async () => {
      const relay = await smallRelay();
      const exporter: SpanExporter = make(relay.address.tracesUrl);
      const result = await exportOnce(exporter, [bigSpan(16 * 1024 * 1024)]);
      await exporter.shutdown();
      assert.equal(result.code, ExportResultCode.FAILED);
      const error: (Error & { code?: number }) | undefined = result.error;
      assert.ok(error !== undefined);
      assert.ok(
        error.code === 413 || /\b413\b/.test(error.message),
        `the exporter saw ${error.name}: ${error.message} (code ${String(error.code)})`,
      );
      assert.equal(relay.stats().relay.responses['413'], 1);
    });
  }

  it('429 from the in-flight budget is read too, with Retry-After, and the retry goes through', async () => {
    const relay = await smallRelay({ maxInflightBytes: 2 * LIMIT });
    // Bodies that stay half sent hold their bytes: two of 40 KiB, 80 KiB of the 128 KiB budget.
    const stalled = [0, 1].map(() => connect(relay.address.port, '127.0.0.1'));
    for (const socket of stalled) {
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.write(
        `POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${LIMIT}\r\n\r\n`,
      );
      socket.write(Buffer.alloc(40 * 1024, 0x20));
    }
    for (let i = 0; i < 100 && relay.stats().relay.inflightBytes < 80 * 1024; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(relay.stats().relay.inflightBytes, 80 * 1024);
    const body = bodyOf(LIMIT - 4 * 1024);
    const refused = await strictPost(relay.address.tracesUrl, body, {
      'content-type': 'application/json',
      'content-length': String(body.length),
    });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['retry-after'], '1');
    assert.match(refused.body, /--max-inflight-bytes/);
    // Chunked, without Content-Length: refused while streaming, once it would pass the budget.
    const chunked = await strictPost(relay.address.tracesUrl, body, {
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
    });
    assert.equal(chunked.status, 429);
    assert.ok(relay.stats().relay.inflightBytesPeak <= 2 * LIMIT);
    for (const socket of stalled) socket.destroy();
    for (let i = 0; i < 100 && relay.stats().relay.inflightBytes > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(relay.stats().relay.inflightBytes, 0, 'a client that went away gives its bytes back');
    const retried = await strictPost(relay.address.tracesUrl, body, { 'content-type': 'application/json' });
    assert.equal(retried.status, 200);
    assert.equal(relay.stats().relay.throttled, 2);
  });
});
