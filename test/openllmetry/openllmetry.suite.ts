/*
 * OpenLLMetry's own SDK (`@traceloop/node-server-sdk` 0.27.0, `traceloop.initialize`) with genai-enrich, as
 * a user runs it: the apps in app/ are plain Node programs (CommonJS and ESM) resolving their packages from
 * this project's node_modules, with our packages installed from `npm pack` tarballs (run.sh). This file is
 * the harness, run from the repository root with tsx: the loopback OpenAI mock, the loopback OTLP receiver
 * our processor exports to, and a trap where Traceloop's own exporter and prompt sync would go.
 *
 *   app (child process, exits as a script does) ──► openai client ──► OpenAI mock (127.0.0.1)
 *        traceloop.initialize ─► Traceloop's processor ─► its exporter ─► trap (must see nothing, with the recipe)
 *                              └► GenAiEnrichingProcessor ─► OTLP/HTTP ─► receiver (what we assert on)
 *
 * Run: bash test/openllmetry/run.sh (from the repository root).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { decodeTraceRequest } from '@genai-enrich/relay';
import { startOpenAiMock, type MockCall, type OpenAiMock } from '../helpers/openai-mock.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import type { DecodedSpan } from '../helpers/otlp-json.js';

const appDir = fileURLToPath(new URL('./app/', import.meta.url));
const IN = 'gen_ai.usage.input_tokens';
const OUT = 'gen_ai.usage.output_tokens';
const CACHE = 'gen_ai.usage.cache_read.input_tokens';
const REASONING = 'gen_ai.usage.reasoning.output_tokens';

/** Where Traceloop would send its own copy and poll its prompt registry: records every request. */
interface Trap {
  baseUrl: string;
  requests: Array<{ method: string; path: string; spanIds: string[]; unreleased: string[] }>;
  close(): Promise<void>;
}

async function startTrap(): Promise<Trap> {
  const requests: Trap['requests'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let spanIds: string[] = [];
      let unreleased: string[] = [];
      if (req.url?.endsWith('/v1/traces')) {
        const decoded = decodeTraceRequest(new Uint8Array(Buffer.concat(chunks)), 'protobuf');
        spanIds = decoded.spans.map((s) => s.spanContext().spanId);
        // Spans our processor had not released yet when Traceloop's exporter serialized them.
        unreleased = decoded.spans
          .filter(
            (s) =>
              s.attributes['gen_ai.operation.name'] !== undefined && !('genai_enrich.usage_source' in s.attributes),
          )
          .map((s) => s.spanContext().spanId);
      }
      requests.push({ method: req.method ?? '', path: req.url ?? '', spanIds, unreleased });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.unref();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/traceloop`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface AppRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runApp(file: string, env: Record<string, string>): Promise<AppRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], {
      cwd: appDir,
      // Nothing of the harness (tsx, conditions) leaks into the app: it runs as a user's script.
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Scenario {
  run: AppRun;
  mock: OpenAiMock;
  receiver: OtlpReceiver;
  trap: Trap;
}

async function scenario(file: string, env: Record<string, string> = {}): Promise<Scenario> {
  const mock = await startOpenAiMock();
  const receiver = await startOtlpReceiver();
  const trap = await startTrap();
  const run = await runApp(file, {
    OPENAI_BASE_URL: mock.baseURL,
    OTLP_URL: receiver.url,
    TRACELOOP_BASE_URL: trap.baseUrl,
    ...env,
  });
  return { run, mock, receiver, trap };
}

async function close(s: Scenario | undefined): Promise<void> {
  if (s === undefined) return;
  await s.mock.close();
  await s.receiver.close();
  await s.trap.close();
}

function inference(spans: readonly DecodedSpan[]): DecodedSpan[] {
  return spans.filter((s) =>
    ['chat', 'text_completion', 'embeddings'].includes(String(s.attributes['gen_ai.operation.name'])),
  );
}

function spanFor(s: Scenario, call: MockCall): DecodedSpan {
  const found = inference(s.receiver.spans).filter((span) => span.attributes['gen_ai.response.id'] === call.responseId);
  assert.equal(
    found.length,
    1,
    `one inference span for ${call.endpoint}${call.stream ? ' stream' : ''} (${call.responseId})`,
  );
  return found[0];
}

function assertEachSpanOnce(s: Scenario): void {
  const ids = s.receiver.spans.map((span) => span.spanId);
  assert.equal(new Set(ids).size, ids.length, 'each span id arrives once');
}

/** Every count the mock sent is on the call's span, and the trace's sums are the bill. */
function assertBill(s: Scenario): void {
  assert.equal(s.mock.calls.length, 4, 'the app made its four calls');
  for (const call of s.mock.calls) {
    const span = spanFor(s, call);
    const u = call.usage!;
    assert.equal(span.attributes[IN], u.inputTokens, `${span.name} ${IN}`);
    assert.equal(span.attributes[OUT], u.outputTokens, `${span.name} ${OUT}`);
    assert.equal(span.attributes[CACHE], u.cacheReadInputTokens, `${span.name} ${CACHE}`);
    assert.equal(span.attributes[REASONING], u.reasoningOutputTokens, `${span.name} ${REASONING}`);
  }
  const sum = (key: string): number =>
    s.receiver.spans.reduce((n, span) => n + (typeof span.attributes[key] === 'number' ? span.attributes[key] : 0), 0);
  assert.equal(
    sum(IN),
    s.mock.calls.reduce((n, c) => n + c.usage!.inputTokens, 0),
    'input counted once per call',
  );
  assert.equal(
    sum(OUT),
    s.mock.calls.reduce((n, c) => n + c.usage!.outputTokens, 0),
    'output counted once per call',
  );
}

const chatStream = (s: Scenario): MockCall => s.mock.calls.find((c) => c.endpoint === 'chat' && c.stream)!;

for (const file of ['recipe.cjs', 'recipe.mjs']) {
  describe(`OpenLLMetry ${file.endsWith('.mjs') ? '(ESM, instrumentModules)' : '(CommonJS)'}: the recipe with the usage tap`, () => {
    let s: Scenario;
    before(async () => {
      s = await scenario(file, { TAP: '1' });
    });
    after(() => close(s));

    it('the app starts, makes its calls and exits 0 with nothing more to do', () => {
      assert.equal(s.run.code, 0, s.run.stderr);
    });

    it('sends nothing anywhere but the configured receiver: no copy to Traceloop, no prompt sync', () => {
      assert.deepEqual(s.trap.requests, []);
      assertEachSpanOnce(s);
    });

    it("every call's span arrives once, flushed as the script ends, with the provider's usage", () => {
      assertBill(s);
    });

    it("the stream's enrichTokens estimate gives way to the provider's numbers, and is kept, named as an estimate", () => {
      const span = spanFor(s, chatStream(s));
      assert.equal(span.attributes['genai_enrich.usage_source'], 'http_tap');
      const kept = JSON.parse(String(span.attributes['genai_enrich.telemetry_usage'])) as Record<string, unknown>;
      assert.equal(kept['reason'], 'provider_disagreed');
      assert.match(String(kept['estimate']), /enrichTokens/);
      assert.notEqual(kept[IN], chatStream(s).usage!.inputTokens, 'telemetry had an estimate, not the bill');
    });
  });
}

describe('OpenLLMetry (CommonJS): the recipe without the tap', () => {
  let s: Scenario;
  before(async () => {
    s = await scenario('recipe.cjs');
  });
  after(() => close(s));

  it('exports every span once, to the receiver only', () => {
    assert.equal(s.run.code, 0, s.run.stderr);
    assert.deepEqual(s.trap.requests, []);
    assertEachSpanOnce(s);
  });

  it('a plain chat carries the bill; a stream carries enrichTokens estimate, which the span cannot tell apart', () => {
    const chat = s.mock.calls.find((c) => c.endpoint === 'chat' && !c.stream)!;
    assert.equal(spanFor(s, chat).attributes[IN], chat.usage!.inputTokens);
    const stream = spanFor(s, chatStream(s));
    assert.equal(stream.attributes['genai_enrich.usage_source'], 'telemetry');
    const estimate = [stream.attributes[IN], stream.attributes[OUT]];
    const bill = [chatStream(s).usage!.inputTokens, chatStream(s).usage!.outputTokens];
    assert.notDeepEqual(estimate, bill, 'a js-tiktoken estimate, not what the provider billed');
  });
});

describe('OpenLLMetry (ESM) without instrumentModules', () => {
  let s: Scenario;
  before(async () => {
    s = await scenario('esm-without-modules.mjs');
  });
  after(() => close(s));

  it('instruments nothing, and says nothing about it', () => {
    assert.equal(s.run.code, 0, s.run.stderr);
    assert.equal(s.mock.calls.length, 4, 'the calls were made');
    assert.deepEqual(inference(s.receiver.spans), [], 'no span for any of them');
    assert.equal(s.run.stderr + s.run.stdout, '', 'no warning');
  });
});

describe("the README's old snippet: traceloop.initialize({ appName, processor })", () => {
  let crashed: Scenario | undefined;
  let doubled: Scenario | undefined;
  after(async () => {
    await close(crashed);
    await close(doubled);
  });

  it('crashes at start-up when the prompt registry cannot be reached (its default is on)', async () => {
    // A base URL that refuses connections, as api.traceloop.com does without network access.
    crashed = await scenario('old-snippet.cjs', { TRACELOOP_BASE_URL: 'http://127.0.0.1:9/traceloop' });
    assert.notEqual(crashed.run.code, 0, 'the unhandled rejection of the prompt sync ends the process');
    assert.match(crashed.run.stderr, /fetch failed|ECONNREFUSED/, crashed.run.stderr);
    assert.doesNotMatch(crashed.run.stderr, /APIConnectionError/, 'not the openai calls: they go to the mock');
  });

  it("with the sync off, Traceloop's exporter sends its own copy of every span: each span id arrives twice", async () => {
    doubled = await scenario('old-snippet.cjs', { TRACELOOP_SYNC_ENABLED: 'false' });
    assert.equal(doubled.run.code, 0, doubled.run.stderr);
    const copies = new Set(doubled.trap.requests.flatMap((r) => r.spanIds));
    const ours = doubled.receiver.spans.map((span) => span.spanId);
    assert.ok(ours.length > 0);
    assert.ok(
      ours.every((id) => copies.has(id)),
      'every span our processor forwarded also went to Traceloop',
    );
    assert.ok(
      doubled.trap.requests.every((r) => r.path === '/traceloop/v1/traces'),
      'to the Traceloop base URL',
    );
    // Both exporters serialize the same span objects: Traceloop's copy of a span our processor still held
    // (the Responses stream, whose usage OpenLLMetry drops) went out before it was released and marked.
    const early = new Set(doubled.trap.requests.flatMap((r) => r.unreleased));
    assert.ok(early.size > 0, "Traceloop's copy of a held span left before it was released");
    for (const span of doubled.receiver.spans.filter((x) => early.has(x.spanId))) {
      assert.notEqual(span.attributes['genai_enrich.hold_outcome'], undefined, 'our copy says how it was released');
    }
  });
});
