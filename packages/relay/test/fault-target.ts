/*
 * A forward target on loopback that can fail on demand, for the delivery tests: it answers 200 and keeps
 * what it received (decoded with the relay's decoder, every copy counted), or answers 503 (with a
 * Retry-After if asked) or 400, hangs, resets the connection, or stops listening (connections refused) and
 * listens again on the same port. Closed by the test file's after().
 */
import { after } from 'node:test';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { decodeTraceRequest, encodeTraceResponse } from '../src/otlp/index.js';

export type FaultMode = 'ok' | '503' | '400' | 'hang' | 'reset' | 'refuse';

export interface FaultTarget {
  url: string;
  /** Span id → how many times it arrived. */
  readonly arrivals: Map<string, number>;
  /** Requests by the mode that answered them. */
  readonly requests: Record<FaultMode, number>;
  mode(mode: FaultMode, retryAfterSeconds?: number): Promise<void>;
  waitFor(distinctSpans: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

const targets: FaultTarget[] = [];
after(async () => {
  for (const target of targets.splice(0)) await target.close();
});

export async function faultTarget(): Promise<FaultTarget> {
  const arrivals = new Map<string, number>();
  const requests: Record<FaultMode, number> = { ok: 0, '503': 0, '400': 0, hang: 0, reset: 0, refuse: 0 };
  const hung: ServerResponse[] = [];
  const sockets = new Set<Socket>();
  let mode: FaultMode = 'ok';
  let retryAfter: number | undefined;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests[mode]++;
      if (mode === 'hang') return void hung.push(res);
      if (mode === 'reset') return void req.socket.destroy();
      if (mode === '400') return void res.writeHead(400).end('bad request');
      if (mode === '503') {
        const headers: Record<string, string> = retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) };
        return void res.writeHead(503, headers).end('unavailable');
      }
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const format = String(req.headers['content-type']).startsWith('application/json') ? 'json' : 'protobuf';
      for (const span of decodeTraceRequest(body, format).spans) {
        const id = span.spanContext().spanId;
        arrivals.set(id, (arrivals.get(id) ?? 0) + 1);
      }
      res.writeHead(200, { 'content-type': String(req.headers['content-type']) }).end(encodeTraceResponse(format));
    });
  };
  let server = createServer(handle);
  const track = (s: typeof server): void => {
    s.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
  };
  track(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let listening = true;

  const stopListening = async (): Promise<void> => {
    if (!listening) return;
    listening = false;
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };

  const target: FaultTarget = {
    url: `http://127.0.0.1:${port}/v1/traces`,
    arrivals,
    requests,
    async mode(next, retryAfterSeconds) {
      mode = next;
      retryAfter = retryAfterSeconds;
      if (next !== 'hang') for (const res of hung.splice(0)) res.socket?.destroy();
      if (next === 'refuse') await stopListening();
      else if (!listening) {
        server = createServer(handle);
        track(server);
        await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
        listening = true;
      }
    },
    async waitFor(distinct, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (arrivals.size < distinct) {
        if (Date.now() > deadline) {
          throw new Error(`fault target: ${arrivals.size} of ${distinct} spans within ${timeoutMs} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      for (const res of hung.splice(0)) res.socket?.destroy();
      await stopListening();
    },
  };
  targets.push(target);
  return target;
}
