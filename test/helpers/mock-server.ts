// The plumbing the loopback provider mocks share: listening on loopback without holding the process open,
// one HTTP exchange that survives a client going away, request bodies, and random ids.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One HTTP exchange: a client that goes away never crashes the mock, and its call never reads as completed. */
export class Exchange {
  closed = false;

  constructor(
    readonly res: ServerResponse,
    readonly call: { completed: boolean },
  ) {
    res.on('error', () => {
      this.closed = true;
    });
    res.on('close', () => {
      this.closed = true;
      if (!res.writableFinished) call.completed = false;
    });
  }

  /** Returns false (and writes nothing) once the client has gone. */
  write(chunk: string | Uint8Array): boolean {
    if (this.closed || this.res.destroyed) return false;
    this.res.write(chunk);
    return true;
  }

  end(chunk?: string): boolean {
    if (this.closed || this.res.destroyed) return false;
    this.res.end(chunk);
    this.call.completed = true;
    return true;
  }
}

/**
 * Listens on 127.0.0.1 at a random port, unref'd (server and connections), so a test process never waits
 * on a mock. `close` is idempotent and drops open connections.
 */
export async function listenLoopback(server: Server): Promise<{ port: number; close(): Promise<void> }> {
  server.on('connection', (socket) => socket.unref());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.unref();
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` random letters and digits, as provider ids use. */
export function alnum(length: number): string {
  // 248 = 4 * 62: rejecting larger bytes keeps the alphabet unbiased.
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALNUM[byte % 62];
    }
  }
  return out;
}

/** `text` cut into `parts` consecutive pieces of near-equal length (stream deltas). */
export function splitText(text: string, parts: number): string[] {
  return Array.from({ length: parts }, (_, i) =>
    text.slice(Math.floor((i * text.length) / parts), Math.floor(((i + 1) * text.length) / parts)),
  );
}
