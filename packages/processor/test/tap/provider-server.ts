// A loopback server that answers every request with a body written in exactly the pieces a test gives,
// so a test controls where chunk boundaries fall (inside an SSE event, inside a UTF-8 character), and
// records what it received and whether the client went away early.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Answer {
  status?: number;
  contentType: string;
  /** More response headers (Bedrock's request id and token counts). */
  headers?: Readonly<Record<string, string>>;
  /** Written one by one, with `delayMs` between them. */
  pieces: readonly Uint8Array[];
  delayMs?: number;
}

export interface Received {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The request body's bytes, exactly. */
  bodyBytes: Uint8Array;
  /** False when the client closed the connection before the whole answer was written. */
  completed: boolean;
  /** Resolves once the exchange is over, either way. */
  done: Promise<void>;
}

export interface ProviderServer {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

export async function startProviderServer(answer: (path: string, body: string) => Answer): Promise<ProviderServer> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let resolveDone!: () => void;
    const record: Received = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body: '',
      bodyBytes: new Uint8Array(0),
      completed: false,
      done: new Promise((r) => (resolveDone = r)),
    };
    received.push(record);
    let gone = false;
    res.on('close', () => {
      gone = !res.writableFinished;
      resolveDone();
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const bytes = Buffer.concat(chunks);
      record.bodyBytes = new Uint8Array(bytes);
      record.body = bytes.toString('utf8');
      const a = answer(record.path, record.body);
      void (async () => {
        res.writeHead(a.status ?? 200, { ...a.headers, 'content-type': a.contentType });
        res.flushHeaders();
        for (const piece of a.pieces) {
          if (gone || res.destroyed) return;
          res.write(piece);
          await sleep(a.delayMs ?? 1);
        }
        if (gone || res.destroyed) return;
        res.end(() => {
          record.completed = true;
        });
      })();
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Splits `bytes` at the given offsets. */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    if (cut <= at || cut >= bytes.length) continue;
    out.push(bytes.subarray(at, cut));
    at = cut;
  }
  out.push(bytes.subarray(at));
  return out;
}
