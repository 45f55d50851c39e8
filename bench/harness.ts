/*
 * A tiny benchmark harness: each case runs in timed rounds after a warm-up, interleaved with the other
 * cases of the same file so that machine noise hits all of them alike, and reports the median ns/op.
 * Results are ratios against a baseline measured in the same run, never absolute timings in tests.
 */
import os from 'node:os';

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
    cases.forEach((c, i) => samples[i]!.push(timeRound(c.fn, iterations)));
  }
  if (sink === Symbol.for('never')) console.log(sink);
  return cases.map((c, i) => {
    const sorted = samples[i]!.sort((a, b) => a - b);
    return { name: c.name, nsPerOp: sorted[Math.floor(sorted.length / 2)]! };
  });
}

export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `Node ${process.version}, ${os.cpus().length} × ${cpu}, ${os.platform()} ${os.arch()}`;
}
