/*
 * Exact values through a real relay, checked by an OTLP codec the relay shares nothing with: protobuf's own
 * Python runtime and the opentelemetry-proto messages (python/otlp_codec.py).
 *
 *   otlp_codec.py generate ─ random ExportTraceServiceRequests, as protobuf and as OTLP/JSON
 *     ─ POST ─► startRelay (protobuf or JSON in) ─ forwards (http/protobuf or http/json) ─► loopback receiver
 *     ─ raw bodies ─► otlp_codec.py check: protobuf's parser, or its strict proto3 JSON parser (json_format),
 *                     and a field-by-field comparison with what was sent
 *
 * All four combinations, and OTLP/gRPC in and out (the same protobuf messages, through a raw @grpc/grpc-js
 * client and a loopback gRPC receiver that keeps each message). The requests carry every AnyValue type, integral doubles, ±0, NaN, ±Infinity, ints
 * near ±2^53 and ±2^63, scopes that differ only in attributes, and GenAI spans whose enrichment is checked
 * beside their exact random attributes; eight are small and one is over 1 MiB (thousands of spans in many
 * ResourceSpans and ScopeSpans). The seed is fixed (GENAI_ENRICH_CODEC_SEED picks another).
 *
 * The Python packages come as wheels on disk (/opt/pypi/files, or GENAI_ENRICH_PYPI_WHEELS): the first run
 * makes a venv under node_modules/.cache and installs them offline; later runs reuse it. Without python3 or
 * the wheels the tests are skipped, saying why.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { startRelay } from '@genai-enrich/relay';
import type { ForwardProtocol } from '@genai-enrich/relay';
import { rawClient, startGrpcReceiver } from '../grpc-kit.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CODEC = fileURLToPath(new URL('./python/otlp_codec.py', import.meta.url));
const WHEELS = process.env['GENAI_ENRICH_PYPI_WHEELS'] ?? '/opt/pypi/files';
const VENV = join(ROOT, 'node_modules', '.cache', 'genai-enrich', 'otlp-python');
const SEED = Number(process.env['GENAI_ENRICH_CODEC_SEED'] ?? 20261205);
const REQUESTS = 8;

/** The venv's python, made on first use; or why the tests cannot run here. */
async function pythonCodec(): Promise<{ python: string } | { skip: string }> {
  const python = join(VENV, 'bin', 'python');
  if (existsSync(python)) return { python };
  const wheels = existsSync(WHEELS) ? readdirSync(WHEELS) : [];
  for (const prefix of ['protobuf-', 'opentelemetry_proto-']) {
    if (!wheels.some((name) => name.startsWith(prefix) && name.endsWith('.whl')))
      return { skip: `no ${prefix}*.whl in ${WHEELS} (set GENAI_ENRICH_PYPI_WHEELS to a folder of wheels)` };
  }
  try {
    await run('python3', ['--version']);
  } catch {
    return { skip: 'python3 is not installed' };
  }
  // Built beside its final place and renamed, so a run that dies half-way leaves nothing that looks usable.
  mkdirSync(join(VENV, '..'), { recursive: true });
  const building = `${VENV}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  await run('python3', ['-m', 'venv', building], { timeout: 120_000 });
  await run(
    join(building, 'bin', 'pip'),
    ['install', '--quiet', '--no-index', '--find-links', WHEELS, 'protobuf', 'opentelemetry-proto'],
    { timeout: 180_000 },
  );
  try {
    renameSync(building, VENV);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another run got there first
  }
  return { python };
}

/** A loopback OTLP/gRPC receiver that keeps every message as it arrived. */
async function grpcReceiver(): Promise<{ url: string; bodies: Buffer[]; close(): Promise<void> }> {
  const receiver = await startGrpcReceiver();
  return { url: receiver.url, bodies: receiver.messages, close: () => receiver.close() };
}

/** A loopback OTLP/HTTP receiver that keeps every request body as it arrived (gunzipped). */
async function rawReceiver(): Promise<{ url: string; bodies: Buffer[]; close(): Promise<void> }> {
  const bodies: Buffer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      bodies.push(req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body);
      const json = String(req.headers['content-type']).startsWith('application/json');
      res
        .writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' })
        .end(json ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Generated {
  requests: Array<{ protobuf: string; json: string; spans: number }>;
  spans: number;
  genai: number;
}

interface Report {
  spans: number;
  sent: number;
  requests: number;
  problems: string[];
}

const codec = await pythonCodec();
const skip = 'skip' in codec ? `independent codec unavailable: ${codec.skip}` : false;

describe(`exact values through the relay, checked by protobuf's Python codec (seed ${SEED})`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'genai-enrich-codec-'));
  let generated: Generated;

  after(() => rmSync(dir, { recursive: true, force: true }));
  before(async () => {
    if ('skip' in codec) return;
    const { stdout } = await run(codec.python, [CODEC, 'generate', String(SEED), String(REQUESTS), dir], {
      timeout: 60_000,
    });
    generated = JSON.parse(stdout) as Generated;
  });

  const combinations: Array<['protobuf' | 'json' | 'grpc', ForwardProtocol]> = [
    ['protobuf', 'http/protobuf'],
    ['protobuf', 'http/json'],
    ['json', 'http/protobuf'],
    ['json', 'http/json'],
    ['grpc', 'http/protobuf'],
    ['json', 'grpc'],
    ['grpc', 'grpc'],
  ];
  for (const [input, forwardProtocol] of combinations) {
    it(
      `${input} in, ${forwardProtocol} out: every span forwarded once, every value exact, scopes as sent`,
      { skip },
      async () => {
        if ('skip' in codec) return;
        assert.ok(generated.spans > 1000 && generated.genai > 0, `a real sample: ${generated.spans} spans`);
        const receiver = forwardProtocol === 'grpc' ? await grpcReceiver() : await rawReceiver();
        const relay = await startRelay({
          listen: '127.0.0.1:0',
          forward: receiver.url,
          forwardProtocol,
          scheduledDelayMillis: 10,
        });
        try {
          if (input === 'grpc') {
            const client = rawClient(relay.address.grpcUrl!);
            for (const request of generated.requests) {
              const result = await client.send(readFileSync(request.protobuf));
              assert.equal(result.code, 0, result.details);
              assert.equal(result.response!.length, 0, 'no partial success: nothing rejected');
            }
            client.close();
          } else {
            for (const request of generated.requests) {
              const response = await fetch(relay.address.tracesUrl, {
                method: 'POST',
                headers: { 'content-type': input === 'json' ? 'application/json' : 'application/x-protobuf' },
                body: readFileSync(request[input]),
              });
              const body = Buffer.from(await response.arrayBuffer());
              assert.equal(response.status, 200, body.toString());
              // No partial success: nothing rejected.
              assert.equal(body.toString(), input === 'json' ? '{}' : '');
            }
          }
        } finally {
          await relay.close(); // forwards everything, then waits for the exports
          await receiver.close();
        }
        const files = receiver.bodies.map((body, i) => {
          const file = join(dir, `forwarded-${input}-${forwardProtocol.replace('/', '-')}-${i}`);
          writeFileSync(file, body);
          return file;
        });
        const format = forwardProtocol === 'http/json' ? 'json' : 'protobuf';
        const { stdout } = await run(codec.python, [CODEC, 'check', dir, format, ...files], { timeout: 60_000 });
        const report = JSON.parse(stdout) as Report;
        assert.deepEqual(report.problems, []);
        assert.equal(report.spans, generated.spans);
        assert.equal(report.sent, generated.spans);
        assert.ok(report.requests >= 1);
      },
    );
  }
});
