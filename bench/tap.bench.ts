/*
 * The HTTP usage tap on a 10 MB streamed body: Node's fetch reading the body from a loopback server, plain
 * (the baseline) and through `processor.fetch`, in one run, rounds interleaved, median of each. Target:
 * the tap ≤ 1.10× plain fetch.
 *
 * Six bodies, as a provider sends them:
 *   - chat completions SSE with include_usage: ~50 000 small chunks (each with `"usage":null`), then the
 *     usage-only chunk and [DONE];
 *   - Responses SSE: text deltas, then a `response.completed` event that repeats the whole output (one line
 *     of about 5 MB, far past the tap's buffer, so its usage is found by the constant-memory scanner);
 *   - Gemini streamGenerateContent, as SSE (alt=sse) and as a JSON array (pretty-printed elements), usage
 *     on the last chunk;
 *   - Bedrock ConverseStream and InvokeModelWithResponseStream (Claude), AWS event streams: contentBlockDelta
 *     frames then `metadata`; `chunk` frames of base64 Anthropic events, the last with the invocation metrics.
 * The server writes each body in 64 KiB pieces; the client reads with a reader loop and counts bytes.
 * Also measured, without the network: the parser alone on the same pieces, per 10 MB.
 *
 * Run: `npm run bench:tap`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { BedrockEventStreamParser, UsageStreamParser } from '@genai-enrich/processor/internal';
import type { ReadableSpanLike } from '@genai-enrich/processor';
import type { TapBodyReader } from '@genai-enrich/processor/internal';
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

function geminiChunk(i: number, last: boolean, count: number): unknown {
  return {
    candidates: [
      {
        content: { parts: [{ text: `token ${i} ` }], role: 'model' },
        index: 0,
        ...(last ? { finishReason: 'STOP' } : {}),
      },
    ],
    ...(last
      ? {
          usageMetadata: {
            promptTokenCount: 1200,
            candidatesTokenCount: count,
            thoughtsTokenCount: 64,
            totalTokenCount: 1264 + count,
          },
        }
      : {}),
    modelVersion: 'gemini-2.5-flash',
    responseId: 'B3nchGemini0123456789ab',
  };
}

/** Gemini chunks written by `write` until 10 MB, the last with its usage. */
function geminiBody(write: (chunk: unknown, i: number) => string, open = '', close = ''): Buffer {
  const parts: string[] = [open];
  let size = 0;
  let i = 0;
  for (; size < TARGET_BYTES; i++) {
    const text = write(geminiChunk(i, false, 0), i);
    parts.push(text);
    size += text.length;
  }
  parts.push(write(geminiChunk(i, true, i + 1), i), close);
  return Buffer.from(parts.join(''));
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const frame = (type: string, payload: unknown): Uint8Array =>
  codec.encode({
    headers: {
      ':event-type': { type: 'string', value: type },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    body: fromUtf8(JSON.stringify(payload)),
  });

/** Event-stream frames made by `next` until 10 MB, then `last`. */
function eventStreamBody(next: (i: number) => Uint8Array, last: (count: number) => Uint8Array): Buffer {
  const frames: Uint8Array[] = [];
  let size = 0;
  let i = 0;
  for (; size < TARGET_BYTES; i++) {
    const f = next(i);
    frames.push(f);
    size += f.length;
  }
  frames.push(last(i));
  return Buffer.concat(frames);
}

const base64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64');

interface Body {
  name: string;
  path: string;
  contentType: string;
  body: Buffer;
  /** The tap's reader of this body, for the parser-alone column. */
  reader: () => TapBodyReader;
}

const BODIES: Body[] = [
  {
    name: 'chat completions SSE',
    path: '/v1/chat/completions',
    contentType: 'text/event-stream',
    body: chatBody(),
    reader: () => new UsageStreamParser('openai.chat', 'sse'),
  },
  {
    name: 'Responses SSE',
    path: '/v1/responses',
    contentType: 'text/event-stream',
    body: responsesBody(),
    reader: () => new UsageStreamParser('openai.responses', 'sse'),
  },
  {
    name: 'Gemini SSE',
    path: '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
    contentType: 'text/event-stream',
    body: geminiBody((c) => `data: ${JSON.stringify(c)}\r\n\r\n`),
    reader: () => new UsageStreamParser('gemini.generate_content', 'sse'),
  },
  {
    name: 'Gemini JSON array',
    path: '/v1beta/models/gemini-2.5-flash:streamGenerateContent',
    contentType: 'application/json; charset=UTF-8',
    body: geminiBody((c, i) => (i === 0 ? '' : '\n,\r\n') + JSON.stringify(c, null, 2), '[', '\n]'),
    reader: () => new UsageStreamParser('gemini.generate_content', 'json'),
  },
  {
    name: 'Bedrock ConverseStream',
    path: '/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream',
    contentType: 'application/vnd.amazon.eventstream',
    body: eventStreamBody(
      (i) => frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: `token ${i} ` } }),
      (count) =>
        frame('metadata', {
          usage: { inputTokens: 12, outputTokens: count, totalTokens: 1036 + count, cacheReadInputTokens: 1024 },
          metrics: { latencyMs: 900 },
        }),
    ),
    reader: () => new BedrockEventStreamParser('converse', 64 * 1024),
  },
  {
    name: 'Bedrock InvokeModel stream',
    path: '/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream',
    contentType: 'application/vnd.amazon.eventstream',
    body: eventStreamBody(
      (i) =>
        frame('chunk', {
          bytes: base64({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `token ${i} ` } }),
        }),
      (count) =>
        frame('chunk', {
          bytes: base64({
            type: 'message_stop',
            'amazon-bedrock-invocationMetrics': {
              inputTokenCount: 12,
              outputTokenCount: count,
              invocationLatency: 900,
              firstByteLatency: 100,
              cacheReadInputTokenCount: 1024,
              cacheWriteInputTokenCount: 0,
            },
          }),
        }),
    ),
    reader: () => new BedrockEventStreamParser('invoke', 64 * 1024),
  },
];

const server = createServer((req, res) => {
  const b = BODIES.find((x) => x.path === req.url)!;
  const body = b.body;
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': b.contentType });
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

console.log(`# HTTP usage tap, 10 MB streamed bodies (${machineLine()})\n`);
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
    const parser = b.reader();
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
