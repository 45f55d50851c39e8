/*
 * A tiny benchmark harness: each case runs in timed rounds after a warm-up, interleaved with the other
 * cases of the same file so that machine noise hits all of them alike, and reports the median ns/op.
 * Results are ratios against a baseline measured in the same run, never absolute timings in tests.
 */
import os from 'node:os';
import type { Attributes } from '@opentelemetry/api';

export interface BenchCase {
  name: string;
  fn: () => unknown;
}

export interface BenchResult {
  name: string;
  nsPerOp: number;
}

// Keeps results alive so the JIT cannot drop the work.
let sink: unknown;

function timeRound(fn: () => unknown, iterations: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink = fn();
  return Number(process.hrtime.bigint() - start) / iterations;
}

export function runBench(cases: BenchCase[], opts: { iterations?: number; rounds?: number } = {}): BenchResult[] {
  const iterations = opts.iterations ?? 200_000;
  const rounds = opts.rounds ?? 15;
  for (const c of cases) timeRound(c.fn, iterations); // warm-up
  const samples = cases.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    cases.forEach((c, i) => samples[i].push(timeRound(c.fn, iterations)));
  }
  if (sink === Symbol.for('never')) console.log(sink);
  return cases.map((c, i) => {
    const sorted = samples[i].sort((a, b) => a - b);
    return { name: c.name, nsPerOp: sorted[Math.floor(sorted.length / 2)] };
  });
}

export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `Node ${process.version}, ${os.cpus().length} × ${cpu}, ${os.platform()} ${os.arch()}`;
}

/**
 * A case for {@link runRounds}: `run` does `opsPerBatch` operations and is the only timed part (when it
 * returns a promise, the time until it settles counts too); `before` and `after` (which may be async, e.g. to flush a queue) run untimed around each batch.
 */
export interface RoundCase {
  name: string;
  before?: () => unknown;
  run: () => unknown;
  after?: () => unknown;
}

export interface RoundResult extends BenchResult {
  /** ns/op of every timed round, in the order they ran. */
  samples: number[];
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Like {@link runBench}, for work that needs untimed (possibly async) set-up and clean-up around each
 * timed batch, e.g. flushing a queue so that it never grows beyond one batch. A round of a case is
 * `batches` timed batches (their times add up); cases are interleaved round by round, in an order
 * shuffled afresh each round (seeded, so runs are repeatable), so that neither a case's position in the
 * round nor the case run just before it is the same every time. Reports the median ns/op over the
 * timed rounds.
 */
export async function runRounds(
  cases: RoundCase[],
  opts: { opsPerBatch: number; batches?: number; rounds?: number; warmupRounds?: number },
): Promise<RoundResult[]> {
  const batches = opts.batches ?? 1;
  const rounds = opts.rounds ?? 15;
  const warmupRounds = opts.warmupRounds ?? 3;
  const samples = cases.map(() => [] as number[]);
  const order = cases.map((_, i) => i);
  let seed = 0x9e3779b9;
  const random = (n: number): number => {
    // xorshift32: a fixed sequence, only to vary the order.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  for (let r = 0; r < warmupRounds + rounds; r++) {
    for (let k = order.length - 1; k > 0; k--) {
      const j = random(k + 1);
      [order[k], order[j]] = [order[j], order[k]];
    }
    for (const i of order) {
      const c = cases[i];
      let ns = 0;
      for (let b = 0; b < batches; b++) {
        await c.before?.();
        const start = process.hrtime.bigint();
        sink = c.run();
        // A case whose work finishes in promises returns one; waiting for it is part of its time.
        if (sink instanceof Promise) sink = await sink;
        ns += Number(process.hrtime.bigint() - start);
        await c.after?.();
      }
      if (r >= warmupRounds) samples[i].push(ns / (opts.opsPerBatch * batches));
    }
  }
  if (sink === Symbol.for('never')) console.log(sink);
  return cases.map((c, i) => ({ name: c.name, nsPerOp: median(samples[i]), samples: samples[i] }));
}

/**
 * A complete OpenAI chat span as the Python OTel instrumentation writes it, with legacy keys
 * (gen_ai.system, prompt/completion tokens): the relay normalizes it and holds none. `i` varies the ids
 * and counts, so spans are not all alike.
 */
export function legacyChatAttributes(i: number): Attributes {
  return {
    'gen_ai.system': 'openai',
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.request.temperature': 0.2,
    'gen_ai.request.max_tokens': 600,
    'gen_ai.response.id': `chatcmpl-${i.toString(36).padStart(29, 'x')}`,
    'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
    'gen_ai.response.finish_reasons': ['stop'],
    'gen_ai.usage.prompt_tokens': 1000 + i,
    'gen_ai.usage.completion_tokens': 50 + (i % 100),
    'gen_ai.usage.cache_read_input_tokens': 512,
    'gen_ai.openai.response.service_tier': 'default',
    'server.address': 'api.openai.com',
    'server.port': 443,
    'http.response.status_code': 200,
  };
}
