/*
 * What holding costs when usage never comes, at any bound: every span is held, then leaves without usage,
 * by expiry (holdMillis passes) or by eviction (maxHeldSpans reached). Cost per span must not grow with
 * the number of spans held.
 *
 *   (0) BatchSpanProcessor alone, the same GenAI chat spans without usage — the baseline
 *   (E) GenAiEnrichingProcessor → BatchSpanProcessor, steady state with B spans held: holdMillis = B ms
 *       and the clock moves 1 ms per span, so each new span is held and the oldest expires
 *   (V) GenAiEnrichingProcessor → BatchSpanProcessor, maxHeldSpans = B, nothing expires: each new span
 *       evicts the oldest
 *   (E1), (V1) the same, with every chat span a child of one long-running agent span (one trace, one
 *       parent: the shape of an agent making many model calls), where per-trace or per-parent indexes grow
 * for B = 1 000, 100 000 and 1 000 000 held spans.
 *
 * Each bound runs in a process of its own, so that what one bound leaves in the heap and the JIT does not
 * colour the next. Time is a fake clock driven by the bench (its timer fires synchronously when the clock passes it), so
 * expiry happens inside the timed loop, span by span, as it would under a steady load. Each pipeline is
 * filled to its bound untimed first; then rounds of 500 spans per case, cases interleaved and shuffled
 * (bench/harness.ts), the downstream BatchSpanProcessor flushed untimed after each batch.
 *
 * Run: `npm run bench:expiry` (node --max-old-space-size=6144: a million held spans take about 2 GB).
 */
import { spawnSync } from 'node:child_process';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import type { Attributes, Context, Tracer } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';
import type { Clock } from '@genai-enrich/processor/internal';
import { machineLine, runRounds } from './harness.js';
import type { RoundCase } from './harness.js';

const BOUNDS = (process.env['BENCH_EXPIRY_BOUNDS'] ?? '1000,100000,1000000').split(',').map(Number);
/** Set in the child process that measures one bound. */
const ONE_BOUND = process.env['BENCH_EXPIRY_ONE_BOUND'];
const SPANS_PER_BATCH = 500;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 31);
const QUEUE = {
  maxQueueSize: 10_000,
  maxExportBatchSize: 512,
  scheduledDelayMillis: 5000,
  exportTimeoutMillis: 30_000,
};

class NoopExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.exported += spans.length;
    resultCallback({ code: ExportResultCode.SUCCESS });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
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

function makeCase(label: string, mode: 'baseline' | 'expiry' | 'eviction', bound: number, oneParent = false): Case {
  const exporter = new NoopExporter();
  const batch = new BatchSpanProcessor(exporter, QUEUE);
  const clock = new SteppedClock();
  const processor =
    mode === 'baseline'
      ? undefined
      : new GenAiEnrichingProcessor(batch, {
          clock,
          holdMillis: mode === 'expiry' ? bound : 2 ** 31 - 1,
          maxHeldSpans: mode === 'eviction' ? bound : 2 * bound,
          maxOpenSpans: 10 * SPANS_PER_BATCH,
          maxOpenMillis: 2 ** 31 - 1,
        });
  const tracer = new BasicTracerProvider({ spanProcessors: [processor ?? batch] }).getTracer(
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

async function measure(bound: number): Promise<string[]> {
  const rows: string[] = [];
  const cases = [
    makeCase('(0)', 'baseline', bound),
    makeCase('(E)', 'expiry', bound),
    makeCase('(V)', 'eviction', bound),
    makeCase('(E1)', 'expiry', bound, true),
    makeCase('(V1)', 'eviction', bound, true),
  ];
  for (const c of cases) await fill(c);
  const results = await runRounds(cases, { opsPerBatch: SPANS_PER_BATCH, rounds: ROUNDS, warmupRounds: 3 });
  const base = results[0].nsPerOp;
  for (const c of cases) {
    const s = c.processor?.stats();
    const left = s === undefined ? 0 : c.label.startsWith('(E') ? s.expired : s.evicted;
    if (
      s !== undefined &&
      (s.errors !== 0 || s.held < c.bound - 1 || s.forwarded + s.held !== c.spans || left !== s.forwarded)
    ) {
      throw new Error(`${c.name}: every span beyond the bound should have left by ${c.label}: ${JSON.stringify(s)}`);
    }
    if (c.exporter.exported !== c.spans - (s?.held ?? 0))
      throw new Error(`${c.name}: ${c.exporter.exported} exported of ${c.spans}`);
  }
  results.forEach((r, i) => {
    const label = cases[i].label;
    rows.push(
      `| ${bound.toLocaleString('en')} | ${label} ${r.name} | ${(r.nsPerOp / 1000).toFixed(2)} | ${(r.nsPerOp / base).toFixed(2)} |`,
    );
  });
  for (const c of cases) await c.processor?.shutdown();
  return rows;
}

if (ONE_BOUND !== undefined) {
  process.stdout.write(JSON.stringify(await measure(Number(ONE_BOUND))) + '\n');
} else {
  console.log(machineLine());
  const t0 = Date.now();
  const rows: string[] = [];
  for (const bound of BOUNDS) {
    const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      env: { ...process.env, BENCH_EXPIRY_ONE_BOUND: String(bound) },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 20,
    });
    if (child.status !== 0)
      throw new Error(`bound ${bound}: the child process failed (${child.status ?? child.signal})`);
    rows.push(...(JSON.parse(child.stdout.trim().split('\n').pop()!) as string[]));
  }
  console.log(
    `\n### Held spans that never get usage: µs per span (start → end → held → leaves), median of ${ROUNDS} rounds of ${SPANS_PER_BATCH}\n`,
  );
  console.log('| spans held | case | µs/span | × (0) at the same bound |');
  console.log('|---:|---|---:|---:|');
  for (const row of rows) console.log(row);
  console.log(`\n(${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
