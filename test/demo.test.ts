// `npm run demo` is the README's main job: it must run on a clean clone and say what it fixed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { startOtlpReceiver } from './helpers/otlp-receiver.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function runDemo(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@genai-enrich/source', '--import', 'tsx', 'examples/demo.ts', ...args],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run demo', () => {
  it('runs the calls through the processor, prints before/after per span and the stats, and exits 0', async () => {
    const { code, stdout, stderr } = await runDemo([]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /openai chat stream, reader stops early/);
    assert.match(stdout, /before {2}never ended: the SDK would never export it/);
    assert.match(stdout, /ended by the watchdog after \d+ ms, and exported/);
    assert.match(stdout, /gen_ai\.system → gen_ai\.provider\.name/);
    assert.match(stdout, /provider value: openai\.chat → openai/);
    assert.match(stdout, /usage joined from sibling_record/);
    assert.match(
      stdout,
      /usage joined from telemetry\+http_tap/,
      'the tap filled the cache count OTel contrib does not record',
    );
    assert.match(stdout, /name: Chat Completion with \{request_data\[model\]!r\} → Chat Completion with 'gpt-4o-mini'/);
    assert.match(stdout, /invariant received = forwarded \+ held \+ awaitingDescendants: holds/);
    assert.match(
      stdout,
      /usage repeats the provider-call span below: kept as genai_enrich\.repeated_usage\.\*, so the trace counts it once/,
      "the AI SDK's outer spans repeat their provider call",
    );
    assert.match(stdout, /usageRepeated\s+2\n/);
    const received = /received\s+(\d+)/.exec(stdout);
    const forwarded = /forwarded\s+(\d+)/.exec(stdout);
    assert.ok(received !== null && forwarded !== null);
    assert.equal(received[1], forwarded[1]);
    // The README shows this output as the demo's real output: it must stay exactly that.
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const block = /```text\n(genai-enrich demo[\s\S]*?)```/.exec(readme);
    assert.ok(block !== null, 'the README has the demo output block');
    assert.equal(block[1], stdout, 'README.md shows what npm run demo prints');
  });

  describe('--otlp', () => {
    let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
    after(() => receiver?.close());

    it('sends the enriched spans to the OTLP endpoint', async () => {
      receiver = await startOtlpReceiver();
      const base = receiver.url.replace(/\/v1\/traces$/, '');
      const { code, stdout, stderr } = await runDemo(['--otlp', base]);
      assert.equal(code, 0, stderr);
      const sent = /sent (\d+) enriched spans to (\S+)/.exec(stdout);
      assert.ok(sent !== null, stdout);
      assert.equal(sent[2], receiver.url);
      assert.equal(receiver.spans.length, Number(sent[1]));
      const ids = new Set(receiver.spans.map((s) => s.spanId));
      assert.equal(ids.size, receiver.spans.length, 'each span once');
      for (const s of receiver.spans) assert.equal(s.attributes['gen_ai.system'], undefined);
      assert.ok(receiver.spans.some((s) => s.attributes['genai_enrich.force_ended'] === true));
    });

    it('rejects a malformed URL with a clear message', async () => {
      const { code, stderr } = await runDemo(['--otlp', 'not a url']);
      assert.equal(code, 2);
      assert.match(stderr, /--otlp: not a URL/);
    });
  });
});
