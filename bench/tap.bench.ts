/*
 * The HTTP usage tap on a 10 MB streamed body: Node's fetch reading the body from a loopback server, plain
 * (the baseline) and through `processor.fetch`, in one run, rounds interleaved, median of each. Target:
 * the tap ≤ 1.10× plain fetch.
 *
 * Two bodies, as a provider sends them:
 *   - chat completions SSE with include_usage: ~50 000 small chunks (each with `"usage":null`), then the
 *     usage-only chunk and [DONE];
 *   - Responses SSE: text deltas, then a `response.completed` event that repeats the whole output (one line
 *     of about 5 MB, far past the tap's buffer, so its usage is found by the constant-memory scanner).
 * The server writes each body in 64 KiB pieces; the client reads with a reader loop and counts bytes.
 * Also measured, without the network: the parser alone on the same pieces, per 10 MB.
 *
 * Run: `npm run bench:tap`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';
import { UsageStreamParser } from '@genai-enrich/processor/internal';
import type { ReadableSpanLike } from '@genai-enrich/processor';
import type { TapEndpoint } from '@genai-enrich/processor/internal';
import { machineLine } from './harness.js';

const TARGET_BYTES = 10 * 1024 * 1024;
const PIECE = 64 * 1024;
const ROUNDS = Number(process.env['TAP_BENCH_ROUNDS'] ?? 41);

function chatBody(): Buffer {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < TARGET_BYTES; i++) {
    const chunk = {
      id: 'chatcmpl-B3nchM4rkXq1V9s0T2u4w6y8z',
      object: 'chat.completion.chunk',
      created: 1_763_800_000,
      model: 'gpt-4o-mini-2024-07-18',
      system_fingerprint: 'fp_0123456789',
      choices: [{ index: 0, delta: { content: `token ${i} ` }, logprobs: null, finish_reason: null }],
      usage: null,
    };
    const line = `data: ${JSON.stringify(chunk)}\n\n`;
    parts.push(line);
    size += line.length;
  }
  const usage = {
    id: 'chatcmpl-B3nchM4rkXq1V9s0T2u4w6y8z',
    object: 'chat.completion.chunk',
    created: 1_763_800_000,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [],
    usage: { prompt_tokens: 1200, completion_tokens: parts.length, total_tokens: 1200 + parts.length },
  };
  parts.push(`data: ${JSON.stringify(usage)}\n\n`, 'data: [DONE]\n\n');
  return Buffer.from(parts.join(''));
}

function responsesBody(): Buffer {
  const parts: string[] = [];
  const text: string[] = [];
  let size = 0;
  const response = (status: string, output: unknown[], usage: unknown) => ({
    id: 'resp_B3nch',
    object: 'response',
    created_at: 1_763_800_000,
    model: 'gpt-4o-mini-2024-07-18',
    status,
    output,
    usage,
  });
  parts.push(
    `event: response.created\ndata: ${JSON.stringify({ type: 'response.created', sequence_number: 0, response: response('in_progress', [], null) })}\n\n`,
  );
  // The deltas and the completed event's copy of their text together make up the body.
  for (let i = 1; size < TARGET_BYTES; i++) {
    const delta = `token ${i} `;
    text.push(delta);
    size += delta.length;
    const event = {
      type: 'response.output_text.delta',
      sequence_number: i,
      item_id: 'msg_B3nch',
      output_index: 0,
      content_index: 0,
      delta,
      logprobs: [],
    };
    const line = `event: response.output_text.delta\ndata: ${JSON.stringify(event)}\n\n`;
    parts.push(line);
    size += line.length;
  }
  const output = [
    {
      id: 'msg_B3nch',
      type: 'message',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: text.join(''), annotations: [] }],
    },
  ];
  const usage = {
    input_tokens: 1200,
    input_tokens_details: { cached_tokens: 1024 },
    output_tokens: text.length,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 1200 + text.length,
  };
  parts.push(
    `event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', sequence_number: text.length + 1, response: response('completed', output, usage) })}\n\n`,
  );
  return Buffer.from(parts.join(''));
}

const BODIES: { name: string; path: string; endpoint: TapEndpoint; body: Buffer }[] = [
  { name: 'chat completions SSE', path: '/v1/chat/completions', endpoint: 'openai.chat', body: chatBody() },
  { name: 'Responses SSE', path: '/v1/responses', endpoint: 'openai.responses', body: responsesBody() },
];

const server = createServer((req, res) => {
  const body = BODIES.find((b) => b.path === req.url)!.body;
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let at = 0;
    const write = (): void => {
      while (at < body.length) {
        const ok = res.write(body.subarray(at, at + PIECE));
        at += PIECE;
        if (!ok) {
          res.once('drain', write);
          return;
        }
      }
      res.end();
    };
    write();
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

let reports = 0;
const processor = new GenAiEnrichingProcessor({
  onStart() {},
  onEnd(_span: ReadableSpanLike) {},
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
});
const tapped = processor.fetch;

async function readThrough(fetchFn: typeof fetch, path: string): Promise<number> {
  const response = await fetchFn(base + path, { method: 'POST', body: '{}' });
  const reader = response.body!.getReader();
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return bytes;
    bytes += value.length;
  }
}

async function timeOnce(fetchFn: typeof fetch, path: string, expected: number): Promise<number> {
  const start = process.hrtime.bigint();
  const bytes = await readThrough(fetchFn, path);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (bytes !== expected) throw new Error(`read ${bytes} bytes, expected ${expected}`);
  return ms;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`# HTTP usage tap, 10 MB SSE bodies (${machineLine()})\n`);
console.log(
  '| body | plain fetch ms | through the tap ms | × plain (medians) | × plain (median of paired rounds) | parser alone ms |',
);
console.log('|---|---:|---:|---:|---:|---:|');
for (const b of BODIES) {
  for (let i = 0; i < 3; i++) {
    await timeOnce(fetch, b.path, b.body.length);
    await timeOnce(tapped, b.path, b.body.length);
  }
  const before = processor.stats().tapReports;
  const plain: number[] = [];
  const tap: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which goes first, so drift hits both alike.
    if (r % 2 === 0) {
      plain.push(await timeOnce(fetch, b.path, b.body.length));
      tap.push(await timeOnce(tapped, b.path, b.body.length));
    } else {
      tap.push(await timeOnce(tapped, b.path, b.body.length));
      plain.push(await timeOnce(fetch, b.path, b.body.length));
    }
  }
  reports += processor.stats().tapReports - before;
  if (processor.stats().tapReports - before !== ROUNDS) throw new Error(`${b.name}: expected a tap report per read`);
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < b.body.length; at += PIECE) pieces.push(b.body.subarray(at, at + PIECE));
  const parserRuns: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    const parser = new UsageStreamParser(b.endpoint, 'sse');
    for (const p of pieces) parser.push(p);
    if (parser.end() === undefined && parser.finding === undefined)
      throw new Error(`${b.name}: the parser found no usage`);
    parserRuns.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const p = median(plain);
  const t = median(tap);
  // Each round reads the body both ways back to back: the ratio within a round cancels slow drift.
  const paired = median(tap.map((x, i) => x / plain[i]));
  console.log(
    `| ${b.name} (${(b.body.length / 1024 / 1024).toFixed(1)} MB) | ${p.toFixed(1)} | ${t.toFixed(1)} | ${(t / p).toFixed(2)} | ${paired.toFixed(2)} | ${median(parserRuns).toFixed(1)} |`,
  );
}
console.log(`\n${reports} tap reports, one per read through the tap; ${ROUNDS} rounds, median.`);
server.close();
await processor.shutdown();
