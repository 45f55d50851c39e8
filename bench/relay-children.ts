/*
 * What the relay benches share: a sink that counts the spans forwarded to it (decoding each protobuf body
 * with the relay's decoder), and a child process running a bench file's `--serve-<kind>` mode, pinned to
 * the last core with taskset when the machine has it and more than one core, so that the relay has a core
 * of its own and the sender and sink share the other.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { decodeTraceRequest } from '../packages/relay/src/otlp/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface Sink {
  url: string;
  spans: number;
  server: Server;
  waitFor(n: number): Promise<void>;
}

export async function startSink(): Promise<Sink> {
  let resolveWait: (() => void) | undefined;
  let target = Infinity;
  const sink: Sink = {
    url: '',
    spans: 0,
    server: createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        sink.spans += decodeTraceRequest(Buffer.concat(chunks), 'protobuf').spans.length;
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        if (sink.spans >= target) resolveWait?.();
      });
    }),
    waitFor(n) {
      target = n;
      return sink.spans >= n ? Promise.resolve() : new Promise<void>((r) => (resolveWait = r));
    },
  };
  await new Promise<void>((r) => sink.server.listen(0, '127.0.0.1', r));
  sink.url = `http://127.0.0.1:${(sink.server.address() as AddressInfo).port}/v1/traces`;
  return sink;
}

/**
 * Runs `script --serve-<kind> forward` (tsx, workspace sources) on a core of its own; resolves with the
 * port it prints on its first line.
 */
export function startChild(
  script: string,
  kind: string,
  forward: string,
): Promise<{ child: ChildProcess; port: number }> {
  const pin = os.cpus().length > 1 && spawnSync('taskset', ['--version']).status === 0;
  const args = ['--conditions=@genai-enrich/source', '--import', 'tsx', script, `--serve-${kind}`, forward];
  const child = pin
    ? spawn('taskset', ['-c', String(os.cpus().length - 1), process.execPath, ...args], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
      })
    : spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve({ child, port: Number(d.toString().trim()) }));
    child.once('exit', (code) => reject(new Error(`${kind} child exited with ${code}`)));
  });
}

/** Stops the child (SIGTERM: a relay flushes and exits) and the sink. */
export async function stopChild(child: ChildProcess, sink: Sink): Promise<void> {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  sink.server.closeAllConnections();
  sink.server.close();
}
