/*
 * What holding costs when usage never comes, at any bound: every span is held, then leaves without usage,
 * by expiry (holdMillis passes) or by eviction (maxHeldSpans reached). Cost per span must not grow with
 * the number of spans held.
 *
 *   (0) BatchSpanProcessor alone, the same GenAI chat spans without usage — the baseline
 *   (K) BatchSpanProcessor behind a ring of the last B spans: what keeping B spans alive costs by itself
 *       (the garbage collector's and the caches' share), with no lookup, timer or index at all
 *   (E) GenAiEnrichingProcessor → BatchSpanProcessor, steady state with B spans held: holdMillis = B ms
 *       and the clock moves 1 ms per span, so each new span is held and the oldest expires
 *   (V) GenAiEnrichingProcessor → BatchSpanProcessor, maxHeldSpans = B, nothing expires: each new span
 *       evicts the oldest
 *   (E1), (V1) the same, with every chat span a child of one long-running agent span (one trace, one
 *       parent: the shape of an agent making many model calls), where per-trace or per-parent indexes grow
 * for B = 1 000, 100 000 and 1 000 000 held spans.
 *
 * Each case runs in a process of its own beside the baseline (0), for each bound: a process holds one case's
 * B spans only, so the heap and the JIT of one case do not colour another, and the ratio to (0) is taken in
 * the same run. Time is a fake clock driven by the bench (its timer fires synchronously when the clock
 * passes it), so expiry happens inside the timed loop, span by span, as it would under a steady load. Each
 * pipeline is filled to its bound untimed first; then rounds of 500 spans per case, the two cases
 * interleaved and shuffled (bench/harness.ts), the downstream BatchSpanProcessor flushed untimed after each.
 *
 * Run: `npm run bench:expiry` (node --max-old-space-size=6144: a million held spans take about 2 GB).
 */
import { spawnSync } from 'node:child_process';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import type { Attributes, Context, Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';
import type { Clock } from '@genai-enrich/processor/internal';
import { NoopExporter } from './noop-exporter.js';
import { machineLine, runRounds } from './harness.js';
import type { RoundCase } from './harness.js';

const BOUNDS = (process.env['BENCH_EXPIRY_BOUNDS'] ?? '1000,100000,1000000').split(',').map(Number);
/** Set in the child process that measures one case at one bound: `<bound>:<case label>`. */
const ONE_CASE = process.env['BENCH_EXPIRY_ONE_CASE'];
/** The cases beside the baseline: label, mode, and whether every span is a child of one open parent. */
const CASES: ReadonlyArray<readonly [string, Mode, boolean]> = [
  ['(K)', 'keep', false],
  ['(E)', 'expiry', false],
  ['(V)', 'eviction', false],
  ['(E1)', 'expiry', true],
  ['(V1)', 'eviction', true],
];
const SPANS_PER_BATCH = 500;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 31);
const QUEUE = {
  maxQueueSize: 10_000,
  maxExportBatchSize: 512,
  scheduledDelayMillis: 5000,
  exportTimeoutMillis: 30_000,
};

/** Keeps a reference to the last `size` spans in a ring, then hands each span on. */
class KeepLast implements SpanProcessor {
  private readonly _ring: unknown[];
  private _at = 0;
  constructor(
    size: number,
    private readonly _next: SpanProcessor,
  ) {
    this._ring = new Array<unknown>(size);
  }
  onStart(span: Span, context: Context): void {
    this._next.onStart(span, context);
  }
  onEnd(span: ReadableSpan): void {
    this._ring[this._at] = span;
    this._at = (this._at + 1) % this._ring.length;
    this._next.onEnd(span);
  }
  forceFlush(): Promise<void> {
    return this._next.forceFlush();
  }
  shutdown(): Promise<void> {
    return this._next.shutdown();
  }
}

/** Time moves only through `tick`; the one pending timer fires inside `tick` when it is due. */
class SteppedClock implements Clock {
  private _now = 0;
  private _timer: { due: number; callback: () => void; unref(): void } | undefined;
  now(): number {
    return this._now;
  }
  setTimeout(callback: () => void, ms: number): { unref(): void } {
    this._timer = { due: this._now + ms, callback, unref: () => {} };
    return this._timer;
  }
  clearTimeout(handle: unknown): void {
    if (handle === this._timer) this._timer = undefined;
  }
  tick(ms: number): void {
    this._now += ms;
    const timer = this._timer;
    if (timer !== undefined && timer.due <= this._now) {
      this._timer = undefined;
      timer.callback();
    }
  }
}

const CHAT: Attributes = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.request.model': 'gpt-4o',
  'gen_ai.request.max_tokens': 512,
  'server.address': 'api.openai.com',
  'server.port': 443,
};

function chatSpan(tracer: Tracer, parent: Context): void {
  tracer.startSpan('chat gpt-4o', { kind: SpanKind.CLIENT, attributes: CHAT }, parent).end();
}

interface Case extends RoundCase {
  label: string;
  bound: number;
  exporter: NoopExporter;
  processor: GenAiEnrichingProcessor | undefined;
  spans: number;
}

type Mode = 'baseline' | 'keep' | 'expiry' | 'eviction';

function makeCase(label: string, mode: Mode, bound: number, oneParent = false): Case {
  const exporter = new NoopExporter();
  const batch = new BatchSpanProcessor(exporter, QUEUE);
  const clock = new SteppedClock();
  const processor =
    mode === 'baseline' || mode === 'keep'
      ? undefined
      : new GenAiEnrichingProcessor(batch, {
          clock,
          holdMillis: mode === 'expiry' ? bound : 2 ** 31 - 1,
          maxHeldSpans: mode === 'eviction' ? bound : 2 * bound,
          maxOpenSpans: 10 * SPANS_PER_BATCH,
          maxOpenMillis: 2 ** 31 - 1,
        });
  const first = processor ?? (mode === 'keep' ? new KeepLast(bound, batch) : batch);
  const tracer = new BasicTracerProvider({ spanProcessors: [first] }).getTracer(
    '@opentelemetry/instrumentation-openai',
  );
  const parent = oneParent ? trace.setSpan(ROOT_CONTEXT, tracer.startSpan('invoke_agent')) : ROOT_CONTEXT;
  const c: Case = {
    label,
    bound,
    exporter,
    processor,
    spans: 0,
    name:
      mode === 'baseline'
        ? 'BatchSpanProcessor (baseline)'
        : mode === 'keep'
          ? 'BatchSpanProcessor, the last B spans kept alive'
          : `GenAiEnrichingProcessor, ${mode}${oneParent ? ', all in one trace under one parent' : ''}`,
    run: () => {
      for (let i = 0; i < SPANS_PER_BATCH; i++) {
        chatSpan(tracer, parent);
        clock.tick(1);
      }
      c.spans += SPANS_PER_BATCH;
    },
    after: () => batch.forceFlush(),
  };
  return c;
}

async function fill(c: Case): Promise<void> {
  while (c.spans < c.bound + SPANS_PER_BATCH) {
    c.run();
    await c.after!();
  }
}

/** One case at one bound beside the baseline, in this process: the two table rows' numbers. */
async function measure(bound: number, label: string): Promise<{ name: string; ns: number; baseNs: number }> {
  const [, mode, oneParent] = CASES.find(([l]) => l === label)!;
  const cases = [makeCase('(0)', 'baseline', bound), makeCase(label, mode, bound, oneParent)];
  for (const c of cases) await fill(c);
  const results = await runRounds(cases, { opsPerBatch: SPANS_PER_BATCH, rounds: ROUNDS, warmupRounds: 3 });
  for (const c of cases) {
    const s = c.processor?.stats();
    const left = s === undefined ? 0 : c.label.startsWith('(E') ? s.expired : s.evicted;
    if (
      s !== undefined &&
      (s.errors !== 0 || s.held < c.bound - 1 || s.forwarded + s.held !== c.spans || left !== s.forwarded)
    ) {
      throw new Error(`${c.name}: every span beyond the bound should have left by ${c.label}: ${JSON.stringify(s)}`);
    }
    if (c.exporter.exported !== c.spans - (s?.held ?? 0)) {
      throw new Error(`${c.name}: ${c.exporter.exported} exported of ${c.spans}`);
    }
  }
  for (const c of cases) await c.processor?.shutdown();
  return { name: cases[1].name, ns: results[1].nsPerOp, baseNs: results[0].nsPerOp };
}

if (ONE_CASE !== undefined) {
  const [bound, label] = ONE_CASE.split(':');
  process.stdout.write(JSON.stringify(await measure(Number(bound), label)) + '\n');
} else {
  console.log(machineLine());
  const t0 = Date.now();
  const rows: string[] = [];
  const us = (ns: number): string => (ns / 1000).toFixed(2);
  for (const bound of BOUNDS) {
    let keptNs = NaN;
    for (const [label] of CASES) {
      const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
        env: { ...process.env, BENCH_EXPIRY_ONE_CASE: `${bound}:${label}` },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 20,
      });
      if (child.status !== 0)
        throw new Error(`${label} at ${bound}: the child failed (${child.status ?? child.signal})`);
      const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as { name: string; ns: number; baseNs: number };
      if (label === '(K)') keptNs = r.ns / r.baseNs;
      const vsKept = label === '(K)' ? '1.00' : (r.ns / r.baseNs / keptNs).toFixed(2);
      rows.push(
        `| ${bound.toLocaleString('en')} | ${label} ${r.name} | ${us(r.ns)} | ${us(r.baseNs)} | ` +
          `${(r.ns / r.baseNs).toFixed(2)} | ${vsKept} |`,
      );
    }
  }
  console.log(
    `\n### Held spans that never get usage: µs per span (start → end → held → leaves), ` +
      `median of ${ROUNDS} rounds of ${SPANS_PER_BATCH}\n`,
  );
  console.log('| spans held | case | µs/span | (0) µs/span, same run | × (0) | × (K) |');
  console.log('|---:|---|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
  console.log(`\n(${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
