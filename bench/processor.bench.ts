/*
 * GenAiEnrichingProcessor against the SDK's BatchSpanProcessor, both in front of the same no-op exporter
 * (calls back SUCCESS at once), on full span lifecycles through the real SDK (`@opentelemetry/sdk-trace-base`
 * 2.x): `tracer.startSpan(name, { attributes })`, `setAttribute` calls as an instrumentation makes them,
 * `end()`. All cases run side by side in one process, interleaved round by round.
 *
 *   (1) BatchSpanProcessor, non-GenAI HTTP spans (10 attributes)          — the baseline
 *   (2) GenAiEnrichingProcessor, the same HTTP spans                      — target ≤ 1.05 × (1)
 *   (3) GenAiEnrichingProcessor, complete GenAI chat spans (15 attributes) — target ≤ 1.5 × (1)
 *   (4) GenAiEnrichingProcessor, GenAI chat spans without usage (13 attributes, a distinct
 *       gen_ai.response.id each): held, then joined by `recordUsage(id, { inputTokens, outputTokens })`
 *       32 spans later, so a few dozen spans are held at any time
 * plus BatchSpanProcessor on the GenAI spans of (3) and (4), so that the cost of the processor can also be
 * read against the same spans (the SDK's own cost grows with the number of attributes), and a peer that
 * users already run, Langfuse's `LangfuseSpanProcessor` (`@langfuse/otel`, its default options, exporting to
 * the same no-op exporter), on the spans of (1), (3) and (4). Langfuse's onEnd finishes each span in a
 * promise (filter, mask, media scan) before its own BatchSpanProcessor takes it, so its timed section
 * also waits until that work is done (one setImmediate after the batch: no I/O is involved).
 *
 * Fairness: every processor is configured alike (maxQueueSize 100 000, maxExportBatchSize 512, delay 5 s).
 * Spans are timed in batches of 500, below maxExportBatchSize, and every processor is flushed after each
 * batch, untimed: so no case exports inside a timed section, and no queue ever holds more than one batch
 * (a queue that grows through a synchronous loop makes every scavenge copy it, which was the main noise).
 * A round is 8 such batches (4 000 spans) per case, cases interleaved, order shuffled each round. The garbage a case
 * makes is collected in its own batches (scavenges), as in production; no GC is forced between rounds,
 * because a forced full GC makes the next rounds 2–5× slower and very noisy. The processor holds for 10
 * minutes and up to 100 000 spans, so nothing expires or is evicted. Response ids are prepared before each
 * batch as flat strings (as JSON.parse produces them).
 *
 * Then the heap kept per held span: N GenAI spans ended without usage, each with its own response id, held
 * by a GenAiEnrichingProcessor, against the same N spans ended and kept in a plain array; the difference is
 * what holding costs beyond the span itself. Target ≤ 1.2 KB per held span.
 *
 * Run: `node --expose-gc --conditions=@genai-enrich/source --import tsx bench/processor.bench.ts`
 * (without --expose-gc it re-executes itself with the flag). About 20 s on 2 cores.
 */
import { spawnSync } from 'node:child_process';
import { SpanKind } from '@opentelemetry/api';
import type { Tracer } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { LangfuseSpanProcessor } from '@langfuse/otel';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';
import type { GenAiEnrichingProcessorOptions } from '@genai-enrich/processor';
import { CHAT_RESPONSE, CHAT_START, HTTP_SCOPE, OPENAI_SCOPE, chatSpan, httpSpan } from './lifecycle-spans.js';
import { NoopExporter } from './noop-exporter.js';
import { machineLine, median, runRounds } from './harness.js';
import type { RoundCase } from './harness.js';

// ── --expose-gc ──────────────────────────────────────────────────────────────────────────────────────

const gc = (globalThis as { gc?: () => void }).gc;
if (typeof gc !== 'function') {
  if (process.env['GENAI_ENRICH_BENCH_REEXEC'] === '1') {
    console.error('processor.bench: global.gc is still missing; run node with --expose-gc');
    process.exit(1);
  }
  console.error('processor.bench: global.gc is missing; re-running with node --expose-gc');
  const child = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, GENAI_ENRICH_BENCH_REEXEC: '1' },
  });
  process.exit(child.status ?? 1);
}
const collect = (): void => {
  gc();
  gc();
};

// ── configuration ────────────────────────────────────────────────────────────────────────────────────

const SPANS_PER_BATCH = 500;
const BATCHES_PER_ROUND = 8;
const ROUNDS = 101;
const WARMUP_ROUNDS = 5;
/** Case (4) calls recordUsage for a span this many spans after ending it. */
const JOIN_LAG = 32;
const HELD_SPANS = 20_000;
const HEAP_REPEATS = 5;

const QUEUE = {
  maxQueueSize: 100_000,
  maxExportBatchSize: 512,
  scheduledDelayMillis: 5000,
  exportTimeoutMillis: 30_000,
};
const PROCESSOR_OPTIONS: GenAiEnrichingProcessorOptions = {
  ...QUEUE,
  holdMillis: 600_000,
  maxHeldSpans: 100_000,
  maxPendingUsage: 100_000,
  maxOpenSpans: 100_000,
};

// ── spans ────────────────────────────────────────────────────────────────────────────────────────────

let nextId = 0;
/** `n` distinct response ids, flat strings as an HTTP client's JSON.parse hands them out. */
function responseIds(n: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(`chatcmpl-${(nextId++).toString(36).padStart(8, '0')}Xq7bT2vLk9`);
  return JSON.parse(JSON.stringify(ids)) as string[];
}

// ── the pipelines ────────────────────────────────────────────────────────────────────────────────────

interface Pipeline {
  exporter: NoopExporter;
  processor: SpanProcessor;
  enriching?: GenAiEnrichingProcessor;
  http: Tracer;
  openai: Tracer;
}

type Kind = 'batch' | 'enriching' | 'langfuse';

function pipeline(kind: Kind): Pipeline {
  const exporter = new NoopExporter();
  const enriching = kind === 'enriching' ? new GenAiEnrichingProcessor(exporter, PROCESSOR_OPTIONS) : undefined;
  const processor =
    enriching ??
    (kind === 'langfuse'
      ? new LangfuseSpanProcessor({
          exporter,
          publicKey: 'pk-bench',
          secretKey: 'sk-bench',
          flushAt: QUEUE.maxExportBatchSize,
        })
      : new BatchSpanProcessor(exporter, QUEUE));
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  return {
    exporter,
    processor,
    enriching,
    http: provider.getTracer(HTTP_SCOPE, '0.200.0'),
    openai: provider.getTracer(OPENAI_SCOPE, '0.200.0'),
  };
}

type Workload = 'http' | 'complete' | 'held';

interface Case extends RoundCase {
  label: string;
  workload: Workload;
  pipe: Pipeline;
  spans: number;
}

/** Resolves once the promises queued by the batch have run (Langfuse finishes each span in one). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function makeCase(label: string, name: string, workload: Workload, kind: Kind): Case {
  const pipe = pipeline(kind);
  let ids: string[] = [];
  const c: Case = {
    label,
    name,
    workload,
    pipe,
    spans: 0,
    before: () => {
      ids = workload === 'http' ? [] : responseIds(SPANS_PER_BATCH);
    },
    run: undefined as never,
    after: () => pipe.processor.forceFlush(),
  };
  const n = SPANS_PER_BATCH;
  if (workload === 'http') {
    c.run = () => {
      for (let i = 0; i < n; i++) httpSpan(pipe.http);
      c.spans += n;
    };
  } else if (workload === 'complete' || kind !== 'enriching') {
    const withUsage = workload === 'complete';
    c.run = () => {
      for (let i = 0; i < n; i++) chatSpan(pipe.openai, ids[i], withUsage);
      c.spans += n;
    };
  } else {
    const processor = pipe.enriching!;
    c.run = () => {
      for (let i = 0; i < n; i++) {
        chatSpan(pipe.openai, ids[i], false);
        if (i >= JOIN_LAG) processor.recordUsage(ids[i - JOIN_LAG], { inputTokens: 24, outputTokens: 2 });
      }
      for (let i = Math.max(0, n - JOIN_LAG); i < n; i++)
        processor.recordUsage(ids[i], { inputTokens: 24, outputTokens: 2 });
      c.spans += n;
    };
  }
  if (kind === 'langfuse') {
    const run = c.run;
    c.run = () => {
      run();
      return settle();
    };
  }
  return c;
}

// ── sanity: the cases do what they claim ─────────────────────────────────────────────────────────────

async function sanityCheck(): Promise<void> {
  const exported: ReadableSpan[] = [];
  const exporter: SpanExporter = {
    export: (spans, cb) => {
      exported.push(...spans);
      cb({ code: ExportResultCode.SUCCESS });
    },
    shutdown: () => Promise.resolve(),
  };
  const processor = new GenAiEnrichingProcessor(exporter, PROCESSOR_OPTIONS);
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const [complete, held] = responseIds(2);
  httpSpan(provider.getTracer(HTTP_SCOPE));
  chatSpan(provider.getTracer(OPENAI_SCOPE), complete, true);
  chatSpan(provider.getTracer(OPENAI_SCOPE), held, false);
  const fail = (what: string): never => {
    throw new Error(`processor.bench sanity check: ${what}`);
  };
  if (processor.stats().held !== 1) fail('the span without usage is not held');
  processor.recordUsage(held, { inputTokens: 24, outputTokens: 2 });
  await processor.forceFlush();
  const s = processor.stats();
  if (exported.length !== 3 || s.joined !== 1 || s.held !== 0 || s.errors !== 0)
    fail(`unexpected stats ${JSON.stringify(s)}`);
  const [h, c, j] = exported as [ReadableSpan, ReadableSpan, ReadableSpan];
  if (Object.keys(h.attributes).length !== 10 || Object.keys(h.attributes).some((k) => k.startsWith('genai_enrich.'))) {
    fail('the HTTP span was changed');
  }
  if (Object.keys(c.attributes).length !== 16 || c.attributes['genai_enrich.usage_source'] !== 'telemetry') {
    fail(`the complete span is not as expected: ${JSON.stringify(c.attributes)}`);
  }
  if (j.attributes['genai_enrich.hold_outcome'] !== 'joined' || j.attributes['gen_ai.usage.input_tokens'] !== 24) {
    fail(`the held span was not joined: ${JSON.stringify(j.attributes)}`);
  }
  await processor.shutdown();
}

// ── heap per held span ───────────────────────────────────────────────────────────────────────────────

function heapUsed(): number {
  collect();
  return process.memoryUsage().heapUsed;
}

/** Bytes per span kept by N chat spans without usage, ended and retained in a plain array. */
function heapInArray(n: number): number {
  const tracer = new BasicTracerProvider().getTracer(OPENAI_SCOPE, '0.200.0');
  const before = heapUsed();
  const kept: unknown[] = new Array(n);
  let ids: string[] | undefined = responseIds(n);
  for (let i = 0; i < n; i++) {
    const span = tracer.startSpan('chat gpt-4o', { kind: SpanKind.CLIENT, attributes: CHAT_START });
    span.setAttribute('gen_ai.response.id', ids[i]);
    for (const [k, v] of CHAT_RESPONSE) span.setAttribute(k, v);
    span.end();
    kept[i] = span;
  }
  ids = undefined;
  const after = heapUsed();
  if (kept.length !== n) throw new Error('unreachable');
  return (after - before) / n;
}

/** Bytes per span kept by N chat spans without usage, held by a GenAiEnrichingProcessor. */
async function heapHeld(n: number): Promise<number> {
  const processor = new GenAiEnrichingProcessor(new NoopExporter(), PROCESSOR_OPTIONS);
  const tracer = new BasicTracerProvider({ spanProcessors: [processor] }).getTracer(OPENAI_SCOPE, '0.200.0');
  const before = heapUsed();
  let ids: string[] | undefined = responseIds(n);
  for (let i = 0; i < n; i++) chatSpan(tracer, ids[i], false);
  ids = undefined;
  const after = heapUsed();
  const s = processor.stats();
  if (s.held !== n || s.forwarded !== 0) throw new Error(`expected ${n} held spans, got ${JSON.stringify(s)}`);
  await processor.shutdown(); // clears its timer, which would otherwise keep the held spans alive
  return (after - before) / n;
}

// ── main ─────────────────────────────────────────────────────────────────────────────────────────────

const t0 = Date.now();
console.log(machineLine());
await sanityCheck();

const cases: Case[] = [
  makeCase('(1)', 'BatchSpanProcessor, HTTP spans (baseline)', 'http', 'batch'),
  makeCase('(2)', 'GenAiEnrichingProcessor, HTTP spans', 'http', 'enriching'),
  makeCase('(3)', 'GenAiEnrichingProcessor, complete GenAI spans', 'complete', 'enriching'),
  makeCase('(4)', 'GenAiEnrichingProcessor, GenAI spans held, joined by recordUsage', 'held', 'enriching'),
  makeCase('(1c)', 'BatchSpanProcessor, the GenAI spans of (3)', 'complete', 'batch'),
  makeCase('(1h)', 'BatchSpanProcessor, the GenAI spans of (4)', 'held', 'batch'),
  makeCase('(L)', 'LangfuseSpanProcessor, the HTTP spans of (1)', 'http', 'langfuse'),
  makeCase('(Lc)', 'LangfuseSpanProcessor, the GenAI spans of (3)', 'complete', 'langfuse'),
  makeCase('(Lh)', 'LangfuseSpanProcessor, the GenAI spans of (4)', 'held', 'langfuse'),
];
const results = await runRounds(cases, {
  opsPerBatch: SPANS_PER_BATCH,
  batches: BATCHES_PER_ROUND,
  rounds: ROUNDS,
  warmupRounds: WARMUP_ROUNDS,
});

// Nothing may have been dropped, expired, evicted or left unexported.
for (const c of cases) {
  const s = c.pipe.enriching?.stats();
  // Langfuse's default filter exports only GenAI spans: it drops the HTTP spans by design.
  const expected = c.label === '(L)' ? 0 : c.spans;
  if (c.pipe.exporter.exported !== expected)
    throw new Error(`${c.name}: ${c.spans} spans, ${c.pipe.exporter.exported} exported`);
  if (s !== undefined && (s.errors || s.queueDropped || s.expired || s.evicted || s.flushed || s.held)) {
    throw new Error(`${c.name}: unexpected stats ${JSON.stringify(s)}`);
  }
  if (s !== undefined && c.workload === 'held' && s.joined !== c.spans)
    throw new Error(`${c.name}: ${s.joined} of ${c.spans} joined`);
}

const ns = new Map(cases.map((c, i) => [c.label, results[i]]));
const base = ns.get('(1)')!.nsPerOp;
const sameSpans: Record<string, string> = {
  '(2)': '(1)',
  '(3)': '(1c)',
  '(4)': '(1h)',
  '(L)': '(1)',
  '(Lc)': '(1c)',
  '(Lh)': '(1h)',
};
const targets: Record<string, number> = { '(2)': 1.05, '(3)': 1.5 };
const us = (x: number): string => (x / 1000).toFixed(2);
const spread = (samples: number[]): string => {
  const s = [...samples].sort((a, b) => a - b);
  return `${us(s[Math.floor(s.length / 4)])}–${us(s[Math.floor((3 * s.length) / 4)])}`;
};

console.log(
  `\n### Span lifecycle (startSpan → setAttribute… → end → processor → no-op exporter), ` +
    `median of ${ROUNDS} rounds of ${BATCHES_PER_ROUND} × ${SPANS_PER_BATCH} spans\n`,
);
console.log('| case | µs/span | IQR µs/span | × (1) | × BatchSpanProcessor on the same spans | target × (1) |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const c of cases) {
  const r = ns.get(c.label)!;
  const same = sameSpans[c.label];
  const sameRatio = same === undefined ? '' : (r.nsPerOp / ns.get(same)!.nsPerOp).toFixed(2);
  const target = targets[c.label];
  const targetCell = target === undefined ? '' : `≤ ${target.toFixed(2)} ${r.nsPerOp / base <= target ? '✅' : '❌'}`;
  const ratio = (r.nsPerOp / base).toFixed(2);
  console.log(
    `| ${c.label} ${c.name} | ${us(r.nsPerOp)} | ${spread(r.samples)} | ${ratio} | ${sameRatio} | ${targetCell} |`,
  );
}

// Heap: warm both paths up, then alternate, median of HEAP_REPEATS.
heapInArray(2000);
await heapHeld(2000);
const inArray: number[] = [];
const held: number[] = [];
for (let r = 0; r < HEAP_REPEATS; r++) {
  if (r % 2 === 0) {
    inArray.push(heapInArray(HELD_SPANS));
    held.push(await heapHeld(HELD_SPANS));
  } else {
    held.push(await heapHeld(HELD_SPANS));
    inArray.push(heapInArray(HELD_SPANS));
  }
}
const beyond = held.map((h, i) => h - inArray[i]);
console.log(
  `\n### Heap per span, ${HELD_SPANS} GenAI spans ended without usage (heapUsed after gc, median of ${HEAP_REPEATS})\n`,
);
console.log('| kept by | bytes/span | beyond the span itself | target |');
console.log('|---|---:|---:|---:|');
console.log(`| a plain array (the span itself) | ${median(inArray).toFixed(0)} | | |`);
const beyondCell =
  `${median(beyond).toFixed(0)} (${(median(beyond) / 1024).toFixed(2)} KB; ` +
  `runs: ${beyond.map((b) => b.toFixed(0)).join(', ')})`;
const heapTarget = `≤ 1.2 KB ${median(beyond) <= 1.2 * 1024 ? '✅' : '❌'}`;
console.log(`| GenAiEnrichingProcessor (held) | ${median(held).toFixed(0)} | ${beyondCell} | ${heapTarget} |`);
console.log(`\n(${((Date.now() - t0) / 1000).toFixed(1)} s)`);
