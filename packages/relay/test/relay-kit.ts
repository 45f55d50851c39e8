/*
 * What the relay's test files share: relays and receivers on loopback that their file's after() closes,
 * requests with node:http (which reads an answer sent while the body is still going out), OTLP/JSON span
 * bodies, and small readers of what comes back.
 */
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGzip, gunzipSync } from 'node:zlib';
import { startRelay } from '@genai-enrich/relay';
import type { Relay, RelayOptions, RelayStats } from '@genai-enrich/relay';
import { decodeTraceRequest, encodeTraceResponse } from '../src/otlp/index.js';
import type { OtlpFormat, RelaySpan } from '../src/otlp/index.js';
import { startOtlpReceiver } from '../../../test/helpers/otlp-receiver.js';
import type { OtlpReceiver } from '../../../test/helpers/otlp-receiver.js';

export const MiB = 1024 * 1024;

// ── servers, all on loopback and all closed in after() ──────────────────────────────────────────────

/**
 * Starts relays and receivers for one test file, every one closed in that file's after(): call it once at
 * the top of the file.
 */
export function testServers(): {
  relayTo: (receiverUrl: string | undefined, options?: RelayOptions) => Promise<Relay>;
  jsonReceiver: () => Promise<OtlpReceiver>;
  protoReceiver: () => Promise<ProtoReceiver>;
} {
  const closers: Closers = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });
  return {
    relayTo: (receiverUrl, options) => relayTo(receiverUrl, options, closers),
    jsonReceiver: () => jsonReceiver(closers),
    protoReceiver: () => protoReceiver(closers),
  };
}

type Closers = Array<() => Promise<void>>;

/** A relay on a free loopback port, exporting every 10 ms; to `receiverUrl`, or to nowhere (embedded). */
async function relayTo(receiverUrl: string | undefined, options: RelayOptions = {}, closers: Closers): Promise<Relay> {
  const relay = await startRelay({
    listen: '127.0.0.1:0',
    ...(receiverUrl === undefined ? {} : { forward: receiverUrl }),
    scheduledDelayMillis: 10,
    ...options,
  });
  closers.push(() => relay.close());
  return relay;
}

async function jsonReceiver(closers: Closers): Promise<OtlpReceiver> {
  const receiver = await startOtlpReceiver();
  closers.push(() => receiver.close());
  return receiver;
}

/** A loopback OTLP/HTTP receiver for protobuf (and JSON) bodies, decoding with the relay's decoder; it can stall. */
export interface ProtoReceiver {
  url: string;
  spans: RelaySpan[];
  contentTypes: string[];
  /** Stop answering: requests wait, unanswered, until release(). */
  stall(): void;
  release(): void;
  waitFor(count: number, timeoutMs?: number): Promise<void>;
}

async function protoReceiver(closers: Closers): Promise<ProtoReceiver> {
  const spans: RelaySpan[] = [];
  const contentTypes: string[] = [];
  const waiting: Array<() => void> = [];
  const waiters = new Set<() => void>();
  let stalled = false;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (): void => {
        const contentType = String(req.headers['content-type'] ?? '');
        const format: OtlpFormat | undefined = contentType.startsWith('application/x-protobuf')
          ? 'protobuf'
          : contentType.startsWith('application/json')
            ? 'json'
            : undefined;
        if (format === undefined) {
          res.writeHead(415).end();
          return;
        }
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        try {
          const decoded = decodeTraceRequest(body, format);
          contentTypes.push(contentType);
          spans.push(...decoded.spans);
        } catch (error) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end(String(error));
          return;
        }
        res.writeHead(200, { 'content-type': contentType }).end(encodeTraceResponse(format));
        for (const w of waiters) w();
      };
      if (stalled) waiting.push(answer);
      else answer();
    });
  });
  server.unref();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    spans,
    contentTypes,
    stall: () => {
      stalled = true;
    },
    release: () => {
      stalled = false;
      for (const answer of waiting.splice(0)) answer();
    },
    waitFor(count, timeoutMs = 5000) {
      if (spans.length >= count) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (spans.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`protobuf receiver: ${spans.length} of ${count} spans within ${timeoutMs} ms`));
        }, timeoutMs);
        timer.unref();
        waiters.add(check);
      });
    },
  };
}

// ── requests ─────────────────────────────────────────────────────────────────────────────────────────

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A request with node:http, so that a 413 sent while the body is still going out is read, not lost. */
export function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Uint8Array | Uint8Array[] } = {},
): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    let answered = false;
    const req = request(url, { method: options.method ?? 'POST', headers: options.headers ?? {} }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    // The relay may answer and close before the whole body is written (413): the answer still counts.
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
      else setTimeout(() => answered || reject(error), 1000).unref();
    });
    const body = options.body;
    if (Array.isArray(body)) {
      for (const chunk of body) req.write(chunk);
      req.end();
    } else req.end(body);
  });
}

export function postJson(relay: Relay, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return send(relay.address.tracesUrl, {
    headers: { 'content-type': 'application/json', ...headers },
    body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  });
}

export async function stats(relay: Relay): Promise<RelayStats> {
  const answer = await send(`${relay.address.url}/stats`, { method: 'GET' });
  assert.equal(answer.status, 200);
  return JSON.parse(answer.body.toString('utf8')) as RelayStats;
}

/** The `message` of a google.rpc.Status in protobuf (field 2), enough to read an error answer. */
export function rpcStatusMessage(bytes: Buffer): { code: number; message: string } {
  let code = 0;
  let message = '';
  let at = 0;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[at++];
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
      shift += 7;
    }
  };
  while (at < bytes.length) {
    const tag = varint();
    if (tag === 0x08) code = varint();
    else if (tag === 0x12) {
      const length = varint();
      message = bytes.subarray(at, at + length).toString('utf8');
      at += length;
    } else throw new Error(`unexpected tag ${tag}`);
  }
  return { code, message };
}

// ── spans and fixtures ───────────────────────────────────────────────────────────────────────────────

/** `size` bytes of zeros, gzipped, without ever holding them in memory at once. */
export async function gzipZeros(size: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gzip.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => gzip.on('end', resolve).on('error', reject));
  const block = Buffer.alloc(MiB);
  for (let written = 0; written < size; written += MiB) {
    if (!gzip.write(block)) await new Promise((resolve) => gzip.once('drain', resolve));
  }
  gzip.end();
  await done;
  return Buffer.concat(out);
}

export function byId<T>(spans: readonly T[], id: (span: T) => string): Map<string, T> {
  const out = new Map<string, T>();
  for (const span of spans) {
    assert.ok(!out.has(id(span)), `span ${id(span)} arrived more than once`);
    out.set(id(span), span);
  }
  return out;
}

/** An inference span with no usage: the processor holds it for late usage. */
export function heldSpanJson(spanId: string, responseId: string): unknown {
  return {
    traceId: '5b8efff798038103d269b633813fc60c',
    spanId,
    name: 'chat gpt-4o-mini',
    kind: 3,
    startTimeUnixNano: '1787830000000000000',
    endTimeUnixNano: '1787830001000000000',
    attributes: [
      { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
      { key: 'gen_ai.system', value: { stringValue: 'openai' } },
      { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
      { key: 'gen_ai.response.id', value: { stringValue: responseId } },
    ],
  };
}

/** A span that carries the late usage for the held span with `responseId` (LiteLLM's callback span). */
export function carrierSpanJson(spanId: string, responseId: string, input: number, output: number): unknown {
  return {
    ...(plainSpanJson(spanId, 'litellm_request') as object),
    attributes: [
      { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
      { key: 'gen_ai.system', value: { stringValue: 'openai' } },
      { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
      { key: 'gen_ai.response.id', value: { stringValue: responseId } },
      { key: 'gen_ai.usage.input_tokens', value: { intValue: input } },
      { key: 'gen_ai.usage.output_tokens', value: { intValue: output } },
    ],
  };
}

export function plainSpanJson(spanId: string, name = 'db query'): unknown {
  return {
    traceId: '5b8efff798038103d269b633813fc60c',
    spanId,
    name,
    kind: 1,
    startTimeUnixNano: '1787830000000000000',
    endTimeUnixNano: '1787830000500000000',
  };
}

export function request1(spans: unknown[]): unknown {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'relay-test' } }] },
        scopeSpans: [{ scope: { name: 'relay-test' }, spans }],
      },
    ],
  };
}

export function spanId(n: number): string {
  return n.toString(16).padStart(16, '0');
}
