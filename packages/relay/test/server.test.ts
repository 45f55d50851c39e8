/*
 * The relay end to end on loopback: real OpenTelemetry exporters (JSON and protobuf) and raw fetch bodies in,
 * GenAiEnrichingProcessor in the middle, a loopback OTLP/HTTP receiver out. The JSON receiver is the shared
 * test helper; the protobuf one below decodes with the relay's own decoder.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { SpanKind } from '@opentelemetry/api';
import type { HrTime } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as OTLPJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ATTR_HOLD_OUTCOME, ATTR_USAGE_MISSING, ATTR_USAGE_MOVED_TO, ATTR_USAGE_SOURCE } from '@genai-enrich/processor';
import {
  MiB,
  byId,
  carrierSpanJson,
  gzipZeros,
  heldSpanJson,
  plainSpanJson,
  postJson,
  request1,
  rpcStatusMessage,
  send,
  spanId,
  stats,
  testServers,
} from './relay-kit.js';

const FIXTURES = new URL('../../../test/fixtures/python/', import.meta.url);
const { relayTo, jsonReceiver, protoReceiver } = testServers();

// ── spans and fixtures ───────────────────────────────────────────────────────────────────────────────

function nanos(time: HrTime): bigint {
  return BigInt(time[0]) * 1_000_000_000n + BigInt(time[1]);
}

/** Records what the SDK ended, to compare with what arrives. */
class Recorder implements SpanProcessor {
  readonly spans: ReadableSpan[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.spans.push(span);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Makes a small trace with the SDK and sends it through `exporter`: an app span around an openai chat span. */
async function sendTrace(exporter: OTLPJsonExporter | OTLPProtoExporter): Promise<ReadableSpan[]> {
  const recorder = new Recorder();
  const provider = new BasicTracerProvider({ spanProcessors: [recorder, new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('support-app', '1.2.3');
  tracer.startActiveSpan('handle ticket', (parent) => {
    const chat = tracer.startSpan('chat gpt-4o-mini', {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.system': 'openai',
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.response.id': 'chatcmpl-relay-1',
        'gen_ai.usage.prompt_tokens': 30,
        'gen_ai.usage.completion_tokens': 6,
      },
    });
    chat.end();
    parent.end();
  });
  await provider.forceFlush();
  await provider.shutdown();
  return recorder.spans;
}

function fixtureBody(file: string): { resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[] }> }> } {
  const body = JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')) as Record<string, unknown>;
  for (const key of Object.keys(body)) if (key.startsWith('_')) delete body[key];
  return body as ReturnType<typeof fixtureBody>;
}

// ── the tests ────────────────────────────────────────────────────────────────────────────────────────

describe('relay server', () => {
  describe('POST /v1/traces from real OpenTelemetry exporters', () => {
    it('OTLP/JSON exporter → relay → JSON forwarding: each span once, normalized, ids and times kept', async () => {
      const receiver = await jsonReceiver();
      const relay = await relayTo(receiver.url, { forwardProtocol: 'http/json' });
      const sent = await sendTrace(new OTLPJsonExporter({ url: relay.address.tracesUrl }));
      await receiver.waitFor((spans) => spans.length >= 2);
      const out = byId(receiver.spans, (s) => s.spanId);
      assert.equal(out.size, 2);
      for (const span of sent) {
        const got = out.get(span.spanContext().spanId);
        assert.ok(got !== undefined, span.name);
        assert.equal(got.traceId, span.spanContext().traceId);
        assert.equal(got.parentSpanId, span.parentSpanContext?.spanId ?? '');
        assert.equal(got.startTimeUnixNano, nanos(span.startTime));
        assert.equal(got.endTimeUnixNano, nanos(span.endTime));
        assert.equal(got.kind, span.kind + 1);
        assert.deepEqual(got.scope, { name: 'support-app', version: '1.2.3' });
      }
      const chat = [...out.values()].find((s) => s.name === 'chat gpt-4o-mini')!;
      assert.equal(chat.attributes['gen_ai.provider.name'], 'openai');
      assert.equal(chat.attributes['gen_ai.system'], undefined);
      assert.equal(chat.attributes['gen_ai.usage.input_tokens'], 30);
      assert.equal(chat.attributes['gen_ai.usage.output_tokens'], 6);
      assert.equal(chat.attributes['gen_ai.usage.prompt_tokens'], undefined);
      assert.equal(chat.attributes[ATTR_USAGE_SOURCE], 'telemetry');
      const s = relay.stats();
      assert.equal(s.processor.received, 2);
      assert.equal(s.relay.spansReceived, 2);
      assert.equal(s.relay.acceptedRequests, s.relay.exportRequests);
    });

    it('OTLP/protobuf exporter (gzip) → relay → protobuf forwarding: each span once, normalized, ids and times kept', async () => {
      const receiver = await protoReceiver();
      const relay = await relayTo(receiver.url);
      const sent = await sendTrace(
        new OTLPProtoExporter({ url: relay.address.tracesUrl, compression: 'gzip' as never }),
      );
      await receiver.waitFor(2);
      assert.ok(
        receiver.contentTypes.every((t) => t === 'application/x-protobuf'),
        receiver.contentTypes.join(),
      );
      const out = byId(receiver.spans, (s) => s.spanContext().spanId);
      assert.equal(out.size, 2);
      for (const span of sent) {
        const got = out.get(span.spanContext().spanId);
        assert.ok(got !== undefined, span.name);
        assert.equal(got.spanContext().traceId, span.spanContext().traceId);
        assert.equal(got.parentSpanContext?.spanId, span.parentSpanContext?.spanId);
        assert.deepEqual(got.startTime, span.startTime);
        assert.deepEqual(got.endTime, span.endTime);
        assert.equal(got.kind, span.kind);
        assert.deepEqual(got.resource.attributes['service.name'], span.resource.attributes['service.name']);
      }
      const chat = [...out.values()].find((s) => s.name === 'chat gpt-4o-mini')!;
      assert.equal(chat.attributes['gen_ai.provider.name'], 'openai');
      assert.equal(chat.attributes['gen_ai.system'], undefined);
      assert.equal(chat.attributes['gen_ai.usage.input_tokens'], 30);
      assert.ok(relay.stats().relay.bytesDecoded > relay.stats().relay.bytesReceived, 'the body came gzipped');
    });
  });

  describe('POST / (an endpoint used as it is, as LangSmith configures it)', () => {
    it('an OTLP exporter whose url is the bare endpoint: its spans go through as on /v1/traces', async () => {
      const receiver = await jsonReceiver();
      const relay = await relayTo(receiver.url, { forwardProtocol: 'http/json' });
      const sent = await sendTrace(new OTLPProtoExporter({ url: `${relay.address.url}/` }));
      await receiver.waitFor((spans) => spans.length >= sent.length);
      const out = byId(receiver.spans, (s) => s.spanId);
      assert.deepEqual([...out.keys()].sort(), sent.map((s) => s.spanContext().spanId).sort());
      const chat = [...out.values()].find((s) => s.name === 'chat gpt-4o-mini')!;
      assert.equal(chat.attributes['gen_ai.provider.name'], 'openai');
      const counters = relay.stats().relay;
      assert.ok(counters.acceptedRequests > 0);
      assert.equal(counters.acceptedRequests, counters.exportRequests);
      // Other methods on / are not traces.
      assert.equal((await send(`${relay.address.url}/`, { method: 'GET' })).status, 404);
    });
  });

  describe('--rules: an in-house emitter', () => {
    it("its spans leave with the conventions' keys, by the rules of a YAML file", async () => {
      const receiver = await jsonReceiver();
      const rules = fileURLToPath(new URL('./fixtures/acme-rules.yaml', import.meta.url));
      const relay = await relayTo(receiver.url, { forwardProtocol: 'http/json', rules });
      const span = {
        ...(plainSpanJson(spanId(1), 'acme complete') as object),
        attributes: [
          { key: 'acme.llm.vendor', value: { stringValue: 'oai' } },
          { key: 'acme.llm.model', value: { stringValue: 'acme-large' } },
          { key: 'acme.llm.kind', value: { stringValue: 'complete' } },
          { key: 'acme.tokens.in', value: { intValue: '40' } },
          { key: 'acme.tokens.out', value: { intValue: 3 } },
        ],
      };
      assert.equal((await postJson(relay, request1([span]))).status, 200);
      await relay.processor.forceFlush();
      await receiver.waitFor((spans) => spans.length >= 1);
      const out = receiver.spans[0].attributes;
      assert.equal(out['gen_ai.provider.name'], 'openai');
      assert.equal(out['gen_ai.request.model'], 'acme-large');
      assert.equal(out['gen_ai.operation.name'], 'chat');
      assert.equal(out['gen_ai.usage.input_tokens'], 40);
      assert.equal(out['gen_ai.usage.output_tokens'], 3);
      assert.equal(out['acme.tokens.in'], undefined);
    });
  });

  describe('Python emitter fixtures POSTed as OTLP/JSON', () => {
    it('Logfire chat stream, split over two requests: usage joined on the request span, template names filled in', async () => {
      const receiver = await jsonReceiver();
      const relay = await relayTo(receiver.url, { forwardProtocol: 'http/json' });
      const body = fixtureBody('logfire-chat-stream-include-usage.json');
      const openaiScope = body.resourceSpans[0].scopeSpans[0];
      const [requestSpan, record] = openaiScope.spans;
      // First the request span alone (Logfire exported it when it ended), then the stream record and the parent.
      const first = structuredClone(body);
      first.resourceSpans[0].scopeSpans = [{ ...openaiScope, spans: [requestSpan] }];
      const second = structuredClone(body);
      second.resourceSpans[0].scopeSpans[0].spans = [record];
      assert.equal((await postJson(relay, first)).status, 200);
      assert.equal(relay.stats().processor.held, 1, 'the request span waits for its usage');
      // gzip on the second request, as Python's exporter sends with OTEL_EXPORTER_OTLP_COMPRESSION=gzip.
      const answer = await send(relay.address.tracesUrl, {
        headers: { 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'gzip' },
        body: gzipSync(JSON.stringify(second)),
      });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['content-type'], 'application/json');
      assert.equal(relay.stats().processor.held, 0);
      await receiver.waitFor((spans) => spans.length >= 3);

      const out = byId(receiver.spans, (s) => s.spanId);
      assert.equal(out.size, 3);
      const request = out.get('4f8a2c6e1d9b3a57')!;
      assert.equal(request.name, "Chat Completion with 'gpt-4o-mini'");
      assert.equal(request.attributes['gen_ai.usage.input_tokens'], 1536);
      assert.equal(request.attributes['gen_ai.usage.output_tokens'], 96);
      assert.equal(request.attributes['gen_ai.usage.cache_read.input_tokens'], 1280);
      assert.equal(request.attributes[ATTR_USAGE_SOURCE], 'sibling_record');
      assert.equal(request.attributes[ATTR_HOLD_OUTCOME], 'joined');
      assert.equal(request.attributes['gen_ai.provider.name'], 'openai');
      assert.equal(request.attributes['gen_ai.system'], undefined);
      assert.equal(request.startTimeUnixNano, 1787822043120391295n, 'nanosecond times survive');
      const outRecord = out.get('c71e9d3f5a2b8046')!;
      assert.equal(outRecord.name, "streaming response from 'gpt-4o-mini' took 2.84s");
      assert.equal(outRecord.attributes['gen_ai.usage.input_tokens'], undefined, 'the usage moved');
      assert.equal(outRecord.attributes[ATTR_USAGE_MOVED_TO], '4f8a2c6e1d9b3a57');
      assert.equal(out.get('b3e1f7a29c4d6e80')!.name, 'summarize ticket {ticket_id}', 'not GenAI: untouched');
    });

    it('LiteLLM proxy: the proxy span in a second request completes the client span of the first', async () => {
      const receiver = await jsonReceiver();
      const relay = await relayTo(receiver.url, { forwardProtocol: 'http/json' });
      const body = fixtureBody('litellm-proxy-stream.json');
      const [clientService, proxyService] = body.resourceSpans;
      assert.equal((await postJson(relay, { resourceSpans: [clientService] })).status, 200);
      assert.equal(relay.stats().processor.held, 1);
      assert.equal((await postJson(relay, { resourceSpans: [proxyService] })).status, 200);
      await receiver.waitFor((spans) => spans.length >= 3);
      const out = byId(receiver.spans, (s) => s.spanId);
      const client = out.get('8b2d6f0a4c1e3957')!;
      assert.equal(client.attributes['gen_ai.usage.input_tokens'], 1423);
      assert.equal(client.attributes['gen_ai.usage.output_tokens'], 187);
      assert.equal(client.attributes['gen_ai.usage.total_tokens'], 1610);
      assert.equal(client.attributes[ATTR_USAGE_SOURCE], 'late_span');
      assert.equal(client.attributes[ATTR_HOLD_OUTCOME], 'joined');
      const proxy = out.get('5f1b9d3e7a2c4680')!;
      assert.equal(proxy.attributes[ATTR_USAGE_MOVED_TO], '8b2d6f0a4c1e3957');
      assert.equal(proxy.attributes['gen_ai.usage.input_tokens'], undefined);
      const s = relay.stats().processor;
      assert.deepEqual([s.received, s.forwarded, s.joined, s.carriers], [3, 3, 1, 1]);
    });
  });

  describe('bad requests', () => {
    it('malformed protobuf → 400 with a google.rpc.Status naming the problem', async () => {
      const relay = await relayTo(undefined, { output: { write: (_c, cb) => (cb?.(), true) } });
      const answer = await send(relay.address.tracesUrl, {
        headers: { 'content-type': 'application/x-protobuf' },
        body: Uint8Array.from([0x0a, 0x05, 0x0a, 0x10]),
      });
      assert.equal(answer.status, 400);
      assert.equal(answer.headers['content-type'], 'application/x-protobuf');
      const status = rpcStatusMessage(answer.body);
      assert.equal(status.code, 3);
      assert.match(status.message, /^protobuf: /);
      assert.equal((await send(`${relay.address.url}/health`, { method: 'GET' })).status, 200, 'still serving');
    });

    it('malformed JSON → 400 with {code, message}', async () => {
      const relay = await relayTo(undefined, { output: { write: (_c, cb) => (cb?.(), true) } });
      for (const body of [
        '{"resourceSpans": [',
        '[1, 2]',
        '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":7}]}]}]}', // a non-hex string only rejects the span
      ]) {
        const answer = await postJson(relay, body);
        assert.equal(answer.status, 400, body);
        assert.equal(answer.headers['content-type'], 'application/json');
        const status = JSON.parse(answer.body.toString('utf8')) as { code: number; message: string };
        assert.equal(status.code, 3);
        assert.match(status.message, /^json: /, body);
      }
      const badGzip = await send(relay.address.tracesUrl, {
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: Buffer.from('not gzip at all'),
      });
      assert.equal(badGzip.status, 400);
      assert.match(JSON.parse(badGzip.body.toString('utf8')).message as string, /invalid gzip body/);
    });

    it('an unsupported content type or encoding → 415; other methods → 405; other paths → 404', async () => {
      const relay = await relayTo(undefined, { output: { write: (_c, cb) => (cb?.(), true) } });
      const plain = await send(relay.address.tracesUrl, {
        headers: { 'content-type': 'text/plain' },
        body: Buffer.from('hello'),
      });
      assert.equal(plain.status, 415);
      assert.match(plain.body.toString(), /unsupported content type "text\/plain"/);
      const none = await send(relay.address.tracesUrl, { body: Buffer.from('{}') });
      assert.equal(none.status, 415);
      const br = await postJson(relay, '{}', { 'content-encoding': 'br' });
      assert.equal(br.status, 415);
      assert.match(JSON.parse(br.body.toString()).message as string, /unsupported content encoding "br"/);
      const get = await send(relay.address.tracesUrl, { method: 'GET' });
      assert.equal(get.status, 405);
      assert.equal(get.headers['allow'], 'POST');
      assert.equal(
        (
          await send(`${relay.address.url}/v1/metrics`, {
            headers: { 'content-type': 'application/json' },
            body: Buffer.from('{}'),
          })
        ).status,
        404,
      );
      assert.equal((await send(`${relay.address.url}/health`, { method: 'DELETE' })).status, 405);
      assert.equal((await postJson(relay, '{}')).status, 200, 'an empty request is fine');
      const s = await stats(relay);
      assert.deepEqual(s.relay.responses, { '415': 3, '405': 2, '404': 1, '200': 1 });
    });

    it('a client that goes away mid-body does not hurt the relay', async () => {
      const relay = await relayTo(undefined, { output: { write: (_c, cb) => (cb?.(), true) } });
      await new Promise<void>((resolve) => {
        const req = request(relay.address.tracesUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': '1000' },
        });
        req.on('error', () => resolve());
        req.write('{"resourceSpans": [');
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 20).unref();
      });
      assert.equal((await send(`${relay.address.url}/health`, { method: 'GET' })).status, 200);
    });
  });

  describe('body size limits', () => {
    it('413 when Content-Length is over the limit, and when a chunked body passes it while streaming', async () => {
      const relay = await relayTo(undefined, {
        maxBodyBytes: 64 * 1024,
        output: { write: (_c, cb) => (cb?.(), true) },
      });
      const declared = await postJson(relay, 'x'.repeat(100 * 1024));
      assert.equal(declared.status, 413);
      assert.equal(declared.headers['connection'], 'close');
      assert.match(JSON.parse(declared.body.toString()).message as string, /the limit is 65536/);
      // No Content-Length: 16 KiB chunks until it is over. The relay stops reading after the limit.
      const chunks = Array.from({ length: 40 }, () => Buffer.alloc(16 * 1024, 0x20));
      const streamed = await send(relay.address.tracesUrl, {
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        body: chunks,
      });
      assert.equal(streamed.status, 413);
      assert.match(JSON.parse(streamed.body.toString()).message as string, /over 65536 bytes \(--max-body-bytes\)/);
      const s = relay.stats().relay;
      assert.ok(
        s.bytesReceived <= 64 * 1024 + 64 * 1024,
        `read ${s.bytesReceived} bytes, not the whole ${40 * 16 * 1024}`,
      );
    });

    it('a gzip bomb (50 MiB of zeros) → 413 after inflating no more than the 20 MiB limit', async () => {
      const relay = await relayTo(undefined, { output: { write: (_c, cb) => (cb?.(), true) } });
      // Compressed from one reused 1 MiB block of zeros, so no 50 MiB buffer is left for the GC to skew the
      // memory reading below.
      const bomb = await gzipZeros(50 * MiB);
      assert.ok(bomb.length < MiB, 'small on the wire');
      const before = process.memoryUsage().arrayBuffers;
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      }, 1);
      const answer = await send(relay.address.tracesUrl, {
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
        body: bomb,
      });
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      assert.equal(answer.status, 413);
      assert.match(rpcStatusMessage(answer.body).message, /after gzip decompression/);
      const s = relay.stats().relay;
      assert.ok(s.bytesDecoded <= 20 * MiB + 64 * 1024, `inflated ${s.bytesDecoded} bytes`);
      // The inflated part is collected up to the limit (20 MiB), then dropped; an unbounded inflate would hold 50.
      assert.ok(peak - before < 30 * MiB, `array buffers grew by ${((peak - before) / MiB).toFixed(1)} MiB`);
    });
  });

  describe('back-pressure', () => {
    it('a full hold refuses nothing: the oldest held span is evicted, and the late usage for a held span gets in', async () => {
      const receiver = await jsonReceiver();
      const relay = await relayTo(receiver.url, { forwardProtocol: 'http/json', maxHeldSpans: 2, maxQueueSize: 8 });
      const held = request1([heldSpanJson(spanId(1), 'resp-1'), heldSpanJson(spanId(2), 'resp-2')]);
      assert.equal((await postJson(relay, held)).status, 200);
      assert.equal(relay.stats().processor.held, 2);
      // Non-GenAI traffic at a full hold: accepted.
      assert.equal((await postJson(relay, request1([plainSpanJson(spanId(3))]))).status, 200);
      // A third held span: accepted, and the oldest held span leaves (evicted, marked), as in-process.
      assert.equal((await postJson(relay, request1([heldSpanJson(spanId(4), 'resp-4')]))).status, 200);
      // The span carrying the late usage for a held span: accepted, and it empties that hold.
      const carrier = carrierSpanJson(spanId(5), 'resp-2', 21, 4);
      assert.equal((await postJson(relay, request1([carrier]))).status, 200);
      await relay.processor.forceFlush();
      await receiver.waitFor((spans) => spans.length >= 5);
      const out = byId(receiver.spans, (s) => s.spanId);
      assert.deepEqual([...out.keys()].sort(), [spanId(1), spanId(2), spanId(3), spanId(4), spanId(5)]);
      assert.equal(out.get(spanId(1))!.attributes[ATTR_HOLD_OUTCOME], 'evicted');
      assert.equal(out.get(spanId(1))!.attributes[ATTR_USAGE_MISSING], true);
      assert.equal(out.get(spanId(2))!.attributes[ATTR_HOLD_OUTCOME], 'joined');
      assert.equal(out.get(spanId(2))!.attributes['gen_ai.usage.input_tokens'], 21);
      assert.equal(out.get(spanId(4))!.attributes[ATTR_HOLD_OUTCOME], 'flushed');
      const s = relay.stats();
      assert.equal(s.relay.throttled, 0, 'nothing was refused');
      assert.equal(s.processor.evicted, 1);
      assert.equal(s.relay.responses['429'], undefined);
    });

    it('503 with Retry-After while a forward target that does not answer fills the queue; everything arrives once it does', async () => {
      const receiver = await protoReceiver();
      receiver.stall();
      const relay = await relayTo(receiver.url, {
        maxQueueSize: 4,
        maxHeldSpans: 1,
        maxExportBatchSize: 2,
        scheduledDelayMillis: 0,
      });
      let n = 0;
      const batch = (size: number): unknown => request1(Array.from({ length: size }, () => plainSpanJson(spanId(++n))));
      assert.equal((await postJson(relay, batch(2))).status, 200, 'exported at once, and stuck in delivery');
      const tooMany = batch(3);
      const refused = await postJson(relay, tooMany);
      assert.equal(refused.status, 503);
      assert.equal(refused.headers['retry-after'], '1');
      assert.match(
        JSON.parse(refused.body.toString()).message as string,
        /the export queue has no room for 3 spans \(\d+ bytes\): 2 spans queued/,
      );
      assert.equal((await postJson(relay, batch(2))).status, 200, 'two more still fit');
      assert.equal((await postJson(relay, batch(1))).status, 503, 'now it is full');
      assert.equal((await stats(relay)).relay.queued, 4, 'spans being delivered count until they are');

      receiver.release();
      for (let i = 0; i < 200 && relay.stats().relay.queued > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal((await postJson(relay, tooMany)).status, 200, 'the retry is accepted');
      await relay.processor.forceFlush();
      await receiver.waitFor(7);
      const out = byId(receiver.spans, (s) => s.spanContext().spanId);
      assert.equal(out.size, 7, 'every accepted span arrived exactly once');
      const s = relay.stats();
      assert.equal(s.processor.queueDropped, 0);
      assert.equal(s.relay.throttled, 2);
      assert.equal(s.relay.spansRejected, 0);
    });
    it('a request carrying late usage for a held span goes in past a full queue, within the overdraft; others get 503', async () => {
      const receiver = await protoReceiver();
      receiver.stall();
      const relay = await relayTo(receiver.url, {
        maxQueueSize: 16,
        maxHeldSpans: 4,
        maxExportBatchSize: 2,
        scheduledDelayMillis: 0,
      });
      assert.equal((await postJson(relay, request1([heldSpanJson(spanId(1), 'resp-1')]))).status, 200);
      assert.equal(relay.stats().processor.held, 1);
      let n = 1;
      let refusedPlain = 0;
      for (let i = 0; i < 40 && refusedPlain === 0; i++) {
        if ((await postJson(relay, request1([plainSpanJson(spanId(++n))]))).status === 503) refusedPlain = n;
      }
      assert.ok(refusedPlain > 0, 'the queue filled up');
      const plainAccepted = n - 2; // spans 2..n-1
      // Late usage for a span that is not held: refused like anything else.
      const stray = await postJson(relay, request1([carrierSpanJson(spanId(++n), 'resp-9', 5, 5)]));
      assert.equal(stray.status, 503);
      // A carrier with more spans than the overdraft (16 / 8 = 2) holds: refused whole, nothing taken.
      const big = request1([
        carrierSpanJson(spanId(++n), 'resp-1', 21, 4),
        plainSpanJson(spanId(++n)),
        plainSpanJson(spanId(++n)),
      ]);
      assert.equal((await postJson(relay, big)).status, 503);
      assert.equal(relay.stats().processor.held, 1, 'the refused carrier joined nothing');
      // The carrier alone, with one more span: let in past the full queue.
      const carrier = carrierSpanJson(spanId(++n), 'resp-1', 21, 4);
      const companion = plainSpanJson(spanId(++n));
      assert.equal((await postJson(relay, request1([carrier, companion]))).status, 200);
      let s = relay.stats();
      assert.equal(s.relay.carrierOverdrafts, 1);
      assert.equal(s.processor.held, 0, 'the hold is empty');
      assert.equal(s.processor.joined, 1);

      receiver.release();
      await relay.processor.forceFlush();
      const expected = 1 + plainAccepted + 2;
      await receiver.waitFor(expected);
      const out = byId(receiver.spans, (span) => span.spanContext().spanId);
      assert.equal(out.size, expected, 'every accepted span arrived exactly once');
      assert.equal(receiver.spans.length, expected);
      const joined = out.get(spanId(1))!;
      assert.equal(joined.attributes[ATTR_HOLD_OUTCOME], 'joined');
      assert.equal(joined.attributes['gen_ai.usage.input_tokens'], 21);
      s = relay.stats();
      assert.equal(s.processor.queueDropped, 0);
      assert.ok(s.relay.queueBytesPeak <= relay.config.maxQueueBytes * 1.125);
    });
  });

  describe('partial success, health and stats', () => {
    it('a span with an invalid span id is rejected by partial success; the rest goes through', async () => {
      const receiver = await jsonReceiver();
      const relay = await relayTo(receiver.url, { forwardProtocol: 'http/json' });
      const answer = await postJson(
        relay,
        request1([plainSpanJson(spanId(7)), plainSpanJson('0000000000000000', 'bad id')]),
      );
      assert.equal(answer.status, 200);
      const response = JSON.parse(answer.body.toString()) as {
        partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string };
      };
      assert.equal(Number(response.partialSuccess?.rejectedSpans), 1);
      assert.ok((response.partialSuccess?.errorMessage ?? '').length > 0);
      await receiver.waitFor((spans) => spans.length >= 1);
      await relay.processor.forceFlush();
      assert.deepEqual(
        receiver.spans.map((s) => s.name),
        ['db query'],
      );
      assert.equal(relay.stats().relay.spansRejected, 1);
    });

    it('GET /health and GET /stats', async () => {
      const receiver = await jsonReceiver();
      const relay = await relayTo(receiver.url, { forwardProtocol: 'http/json' });
      const health = await send(`${relay.address.url}/health`, { method: 'GET' });
      assert.equal(health.status, 200);
      assert.deepEqual(JSON.parse(health.body.toString()), { status: 'ok' });
      const body = Buffer.from(
        JSON.stringify(request1([plainSpanJson(spanId(9)), heldSpanJson(spanId(10), 'resp-10')])),
      );
      assert.equal(
        (await send(relay.address.tracesUrl, { headers: { 'content-type': 'application/json' }, body })).status,
        200,
      );
      await receiver.waitFor((spans) => spans.length >= 1);
      const s = await stats(relay);
      assert.equal(s.processor.received, 2);
      assert.equal(s.processor.held, 1);
      assert.equal(
        s.processor.received,
        s.processor.forwarded + s.processor.held + s.processor.awaitingDescendants,
        'the health invariant',
      );
      assert.equal(s.relay.exportRequests, 1);
      assert.equal(s.relay.spansReceived, 2);
      assert.equal(s.relay.bytesReceived, body.length);
      assert.equal(s.relay.bytesDecoded, body.length);
      assert.equal(s.relay.exportedSpans, 1);
      assert.equal(s.relay.queued, 0);
      assert.ok(s.relay.requests >= 3);
    });

    it('close(): held spans are forwarded as flushed, then the relay refuses connections', async () => {
      const receiver = await jsonReceiver();
      const relay = await relayTo(receiver.url, { forwardProtocol: 'http/json' });
      assert.equal((await postJson(relay, request1([heldSpanJson(spanId(11), 'resp-11')]))).status, 200);
      assert.equal(relay.stats().processor.held, 1);
      await relay.close();
      assert.equal(receiver.spans.length, 1);
      assert.equal(receiver.spans[0].attributes[ATTR_HOLD_OUTCOME], 'flushed');
      assert.equal(relay.stats().processor.flushed, 1);
      await assert.rejects(send(`${relay.address.url}/health`, { method: 'GET' }), { code: 'ECONNREFUSED' });
      await relay.close(); // idempotent
    });
  });
});
