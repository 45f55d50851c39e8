/*
 * Agent traces through GenAiEnrichingProcessor against BatchSpanProcessor, same spans, same run, all in
 * front of the same no-op exporter, through the real SDK (`@opentelemetry/sdk-trace-base` 2.x).
 *
 * One trace is three levels of aggregates, usage on every level, each total the sum of what is below it:
 *
 *   invoke_workflow                       total of both agents
 *     invoke_agent  × 2                   total of its chain and its own call
 *       chain                             total of its two calls
 *         chat × 2                        a model call each (response id, usage)
 *       execute_tool                      no usage
 *       chat                              a model call
 *
 * 13 spans, ended innermost first as instrumentations end them. Cases:
 *   (1) BatchSpanProcessor                                   — the baseline
 *   (2) GenAiEnrichingProcessor, countUsageOnce: true        — the rule: 3 aggregates per agent subtree set aside
 *   (3) GenAiEnrichingProcessor, countUsageOnce: false       — the same processor without the rule
 * Timed in batches of 40 traces (520 spans), every processor flushed after each batch, untimed; rounds
 * interleaved in a shuffled order (bench/harness.ts). Before timing, (2) is checked once on an in-memory
 * exporter: each trace sums to its calls' usage and five spans per trace are set aside.
 *
 * Then the heap kept per open trace: N (20 000) traces whose workflow span is still open (everything below it ended),
 * through (2) and through (3); the difference is what the rule keeps while a trace is open.
 *
 * Run: `npm run bench:agents` (about 20 s on 2 cores).
 */
import { spawnSync } from 'node:child_process';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Span, Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { GenAiEnrichingProcessor } from '@genai-enrich/processor';
import { NoopExporter } from './noop-exporter.js';
import { machineLine, median, runRounds } from './harness.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (typeof gc !== 'function') {
  if (process.env['GENAI_ENRICH_BENCH_REEXEC'] === '1') {
    console.error('processor-agents.bench: global.gc is still missing; run node with --expose-gc');
    process.exit(1);
  }
  const child = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, GENAI_ENRICH_BENCH_REEXEC: '1' },
  });
  process.exit(child.status ?? 1);
}

const TRACES_PER_BATCH = 40;
const SPANS_PER_TRACE = 13;
const ROUNDS = 41;
const OPEN_TRACES = 20_000;
const HEAP_REPEATS = 5;
const QUEUE = { maxQueueSize: 100_000, maxExportBatchSize: 512, scheduledDelayMillis: 5000 };
const OPTIONS = { ...QUEUE, holdMillis: 600_000, maxHeldSpans: 100_000, maxOpenSpans: 100_000 };

let nextCall = 0;

function child(tracer: Tracer, name: string, parent: Span, attributes: Record<string, string | number>): Span {
  return tracer.startSpan(name, { attributes }, trace.setSpan(ROOT_CONTEXT, parent));
}

/** One model call, ended; returns its usage. */
function chat(tracer: Tracer, parent: Span): [number, number] {
  const n = nextCall++;
  const usage: [number, number] = [100 + (n % 97), 10 + (n % 13)];
  const span = child(tracer, 'chat gpt-4o', parent, {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o',
  });
  span.setAttribute('gen_ai.response.id', `chatcmpl-${n.toString(36).padStart(10, '0')}`);
  span.setAttribute('gen_ai.response.model', 'gpt-4o-2024-08-06');
  span.setAttribute('gen_ai.usage.input_tokens', usage[0]);
  span.setAttribute('gen_ai.usage.output_tokens', usage[1]);
  span.end();
  return usage;
}

function total(span: Span, parts: Array<[number, number]>): [number, number] {
  const sum: [number, number] = [0, 0];
  for (const [i, o] of parts) {
    sum[0] += i;
    sum[1] += o;
  }
  span.setAttribute('gen_ai.usage.input_tokens', sum[0]);
  span.setAttribute('gen_ai.usage.output_tokens', sum[1]);
  return sum;
}

/** One agent trace (see the header); the workflow span is left open when `leaveOpen`. Returns the bill. */
function agentTrace(tracer: Tracer, leaveOpen = false): { bill: [number, number]; root: Span } {
  const root = tracer.startSpan('invoke_workflow', { attributes: { 'gen_ai.operation.name': 'invoke_workflow' } });
  const agents: Array<[number, number]> = [];
  for (let a = 0; a < 2; a++) {
    const agent = child(tracer, 'invoke_agent', root, { 'gen_ai.operation.name': 'invoke_agent' });
    const chain = child(tracer, 'chain', agent, { 'gen_ai.operation.name': 'chain' });
    const chainTotal = total(chain, [chat(tracer, chain), chat(tracer, chain)]);
    chain.end();
    child(tracer, 'execute_tool search', agent, { 'gen_ai.operation.name': 'execute_tool' }).end();
    agents.push(total(agent, [chainTotal, chat(tracer, agent)]));
    agent.end();
  }
  const bill = total(root, agents);
  if (!leaveOpen) root.end();
  return { bill, root };
}

type Kind = 'batch' | 'once' | 'kept';

function pipeline(kind: Kind): { processor: SpanProcessor; tracer: Tracer } {
  const exporter = new NoopExporter();
  const processor =
    kind === 'batch'
      ? new BatchSpanProcessor(exporter, QUEUE)
      : new GenAiEnrichingProcessor(exporter, { ...OPTIONS, countUsageOnce: kind === 'once' });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  return { processor, tracer: provider.getTracer('agents', '1.0.0') };
}

const heapCase = process.env['GENAI_ENRICH_BENCH_HEAP'] as Kind | undefined;
if (heapCase !== undefined) {
  console.log(`heap ${await heapPerOpenTrace(heapCase)}`);
  process.exit(0);
}

// ── the rule does what it should, on these traces ────────────────────────────────────────────────────

{
  const exporter = new InMemorySpanExporter();
  const processor = new GenAiEnrichingProcessor(exporter, { ...OPTIONS, scheduledDelayMillis: 0 });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('agents');
  const bill: [number, number] = [0, 0];
  for (let t = 0; t < 10; t++) {
    const b = agentTrace(tracer).bill;
    bill[0] += b[0];
    bill[1] += b[1];
  }
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  const sum = (key: string): number => spans.reduce((n, s) => n + ((s.attributes[key] as number | undefined) ?? 0), 0);
  const s = processor.stats();
  if (
    spans.length !== 10 * SPANS_PER_TRACE ||
    sum('gen_ai.usage.input_tokens') !== bill[0] ||
    sum('gen_ai.usage.output_tokens') !== bill[1] ||
    s.usageRepeated !== 10 * 5
  ) {
    console.error('processor-agents.bench: the rule did not count usage once', { spans: spans.length, bill, s });
    process.exit(1);
  }
  await provider.shutdown();
}

// ── cost per span ────────────────────────────────────────────────────────────────────────────────────

console.log(machineLine());
const t0 = Date.now();
const pipelines = { batch: pipeline('batch'), once: pipeline('once'), kept: pipeline('kept') };
const labels: Record<Kind, string> = {
  batch: '(1) BatchSpanProcessor',
  once: '(2) GenAiEnrichingProcessor, countUsageOnce: true',
  kept: '(3) GenAiEnrichingProcessor, countUsageOnce: false',
};
const results = await runRounds(
  (Object.keys(pipelines) as Kind[]).map((kind) => ({
    name: kind,
    run: () => {
      for (let t = 0; t < TRACES_PER_BATCH; t++) agentTrace(pipelines[kind].tracer);
    },
    after: () => pipelines[kind].processor.forceFlush(),
  })),
  { opsPerBatch: TRACES_PER_BATCH * SPANS_PER_TRACE, rounds: ROUNDS, warmupRounds: 5 },
);
const base = results.find((r) => r.name === 'batch')!.nsPerOp;
console.log('\n| case | µs/span | × (1) |');
console.log('|---|---:|---:|');
for (const r of results) {
  console.log(`| ${labels[r.name as Kind]} | ${(r.nsPerOp / 1000).toFixed(2)} | ${(r.nsPerOp / base).toFixed(2)} |`);
}

// ── heap kept per open trace ─────────────────────────────────────────────────────────────────────────

async function heapPerOpenTrace(kind: Kind): Promise<number> {
  const p = pipeline(kind);
  await p.processor.forceFlush();
  gc!();
  gc!();
  const before = process.memoryUsage().heapUsed;
  const roots: Span[] = [];
  for (let t = 0; t < OPEN_TRACES; t++) roots.push(agentTrace(p.tracer, true).root);
  await p.processor.forceFlush(); // the ended spans leave; the open roots (and what the rule keeps) stay
  gc!();
  gc!();
  const after = process.memoryUsage().heapUsed;
  for (const root of roots) root.end();
  await p.processor.shutdown();
  return (after - before) / OPEN_TRACES;
}

// Each measurement in a fresh process, so that no earlier case's garbage or timers are in the way.
function measureInChild(kind: Kind): number {
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    encoding: 'utf8',
    env: { ...process.env, GENAI_ENRICH_BENCH_REEXEC: '1', GENAI_ENRICH_BENCH_HEAP: kind },
  });
  const bytes = Number(/^heap (-?[\d.]+)$/m.exec(child.stdout)?.[1]);
  if (child.status !== 0 || !Number.isFinite(bytes)) {
    console.error(child.stdout, child.stderr);
    process.exit(1);
  }
  return bytes;
}

const once: number[] = [];
const kept: number[] = [];
for (let r = 0; r < HEAP_REPEATS; r++) {
  once.push(measureInChild('once'));
  kept.push(measureInChild('kept'));
}
console.log(`\nheap per open trace (${OPEN_TRACES} open workflows, medians of ${HEAP_REPEATS} runs):`);
console.log('| kept by | bytes/open trace |');
console.log('|---|---:|');
console.log(`| (3) countUsageOnce: false (the open root span, the SDK's own) | ${median(kept).toFixed(0)} |`);
console.log(`| (2) countUsageOnce: true | ${median(once).toFixed(0)} |`);
console.log(`| the rule's state, (2) − (3) | ${(median(once) - median(kept)).toFixed(0)} |`);
console.log(`\n(${((Date.now() - t0) / 1000).toFixed(1)} s)`);
