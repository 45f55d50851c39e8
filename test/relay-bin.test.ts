/*
 * The built `genai-enrich-relay` command under plain `node` (no tsx, no source condition), as a user runs
 * it: it needs packages/relay/dist, which CI builds before `npm test` (.ci/run), as `npm ci` does through
 * the root `prepare` script. Covers the SIGTERM shutdown (held spans forwarded as `flushed`), the embedded
 * stdout mode, a second signal, and the exit code for bad settings.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { decodeTraceRequest } from './helpers/otlp-json.js';
import { startOtlpReceiver } from './helpers/otlp-receiver.js';
import type { OtlpReceiver } from './helpers/otlp-receiver.js';

const BIN = fileURLToPath(new URL('../packages/relay/bin/genai-enrich-relay.js', import.meta.url));
const CLI = fileURLToPath(new URL('../packages/relay/dist/esm/cli.js', import.meta.url));

interface Child {
  process: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** The relay's traces URL, read from its start-up line on stderr. */
  url: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();

/** Runs the bin with plain node and an environment without OTEL_* or NODE_OPTIONS settings. */
function runBin(args: string[]): Child {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('OTEL_') && !key.startsWith('GENAI_ENRICH_') && key !== 'NODE_OPTIONS') env[key] = value;
  }
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  const url = new Promise<string>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      const match = /listening on (http:\/\/\S+\/v1\/traces)/.exec(stderr);
      if (match !== null) resolve(match[1].replace(/,$/, ''));
    });
    void exited.then(() => reject(new Error(`the relay exited before listening; stderr: ${stderr}`)));
  });
  url.catch(() => {});
  return { process: child, stdout: () => stdout, stderr: () => stderr, url, exited };
}

async function post(url: string, body: unknown): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Three inference spans without usage (held for late usage) and one plain span, as one export request. */
function heldSpans(): unknown {
  const chat = (n: number): unknown => ({
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: `00f067aa0ba902b${n}`,
    parentSpanId: '00f067aa0ba902a0',
    name: 'chat gpt-4o-mini',
    kind: 3,
    startTimeUnixNano: '1787830000000000000',
    endTimeUnixNano: `178783000${n}000000000`,
    attributes: [
      { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
      { key: 'gen_ai.system', value: { stringValue: 'openai' } },
      { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
      { key: 'gen_ai.response.id', value: { stringValue: `chatcmpl-held-${n}` } },
    ],
  });
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bin-test' } }] },
        scopeSpans: [
          {
            scope: { name: 'bin-test' },
            spans: [
              chat(1),
              chat(2),
              chat(3),
              {
                traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
                spanId: '00f067aa0ba902a0',
                name: 'handle request',
                kind: 2,
                startTimeUnixNano: '1787830000000000000',
                endTimeUnixNano: '1787830009000000000',
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('genai-enrich-relay (the built bin under plain node)', () => {
  let receiver: OtlpReceiver;
  before(async () => {
    assert.ok(existsSync(CLI), `${CLI} is missing: run \`npm run build\` before the tests (CI does)`);
    receiver = await startOtlpReceiver();
  });
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await receiver?.close();
  });

  it('SIGTERM: exits 0 promptly after forwarding every held span as flushed', async () => {
    const relay = runBin(['--listen', '127.0.0.1:0', '--forward', receiver.url, '--forward-protocol', 'http/json']);
    const url = await relay.url;
    assert.equal(await post(url, heldSpans()), 200);
    const stats = (await (await fetch(url.replace('/v1/traces', '/stats'))).json()) as {
      processor: { held: number; received: number };
    };
    assert.deepEqual(
      [stats.processor.received, stats.processor.held],
      [4, 3],
      'the chat spans are held (holdMillis 60 s)',
    );

    const start = Date.now();
    relay.process.kill('SIGTERM');
    const { code } = await relay.exited;
    assert.equal(code, 0, relay.stderr());
    assert.ok(Date.now() - start < 5000, `exited after ${Date.now() - start} ms`);
    assert.equal(relay.stdout(), '', 'nothing on stdout when forwarding');
    assert.match(relay.stderr(), /SIGTERM: flushing 3 held spans/);

    const ids = receiver.spans.map((s) => s.spanId).sort();
    assert.deepEqual(ids, ['00f067aa0ba902a0', '00f067aa0ba902b1', '00f067aa0ba902b2', '00f067aa0ba902b3']);
    for (const span of receiver.spans.filter((s) => s.name === 'chat gpt-4o-mini')) {
      assert.equal(span.attributes['genai_enrich.hold_outcome'], 'flushed');
      assert.equal(span.attributes['gen_ai.provider.name'], 'openai');
      assert.equal(span.attributes['gen_ai.system'], undefined);
    }
  });

  it('without --forward: enriched spans come out on stdout as OTLP JSON lines', async () => {
    const relay = runBin(['--listen', '127.0.0.1:0', '--scheduled-delay-millis', '0']);
    const url = await relay.url;
    assert.match(relay.stderr(), /writing enriched spans to stdout as OTLP JSON lines/);
    // OTLP/gRPC beside it, on a free port too since --listen's is 0.
    assert.match(
      relay.stderr(),
      /listening on http:\/\/127\.0\.0\.1:\d+\/v1\/traces and http:\/\/127\.0\.0\.1:\d+ \(OTLP\/gRPC\)/,
    );
    assert.equal(await post(url, heldSpans()), 200);
    relay.process.kill('SIGINT');
    const { code } = await relay.exited;
    assert.equal(code, 0, relay.stderr());

    const lines = relay
      .stdout()
      .split('\n')
      .filter((line) => line !== '');
    assert.ok(lines.length >= 1);
    const spans = lines.flatMap((line) => decodeTraceRequest(JSON.parse(line)));
    assert.deepEqual(spans.map((s) => s.spanId).sort(), [
      '00f067aa0ba902a0',
      '00f067aa0ba902b1',
      '00f067aa0ba902b2',
      '00f067aa0ba902b3',
    ]);
    const chat = spans.find((s) => s.spanId === '00f067aa0ba902b1')!;
    assert.equal(chat.attributes['gen_ai.provider.name'], 'openai');
    assert.equal(chat.attributes['genai_enrich.hold_outcome'], 'flushed');
    assert.equal(chat.resource['service.name'], 'bin-test');
  });

  it('a second signal exits at once while the shutdown waits for a forward target that never answers', async () => {
    // Accepts connections and never answers, so the shutdown's final export hangs.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const relay = runBin(['--listen', '127.0.0.1:0', '--forward', `http://127.0.0.1:${port}`]);
      const url = await relay.url;
      assert.equal(await post(url, heldSpans()), 200);
      relay.process.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(relay.process.exitCode, null, 'still flushing');
      relay.process.kill('SIGTERM');
      const { code } = await relay.exited;
      assert.equal(code, 128 + 15);
      assert.match(relay.stderr(), /SIGTERM again: exiting now/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('invalid settings: exit 2, every problem on stderr', async () => {
    const relay = runBin(['--listen', 'x:y', '--forward-protocol', 'thrift']);
    const { code } = await relay.exited;
    assert.equal(code, 2);
    assert.match(
      relay.stderr(),
      /invalid configuration: --listen "x:y": port must be 0–65535; --forward-protocol "thrift": expected http\/protobuf, http\/json or grpc/,
    );
    assert.equal(relay.stdout(), '');
  });
});
