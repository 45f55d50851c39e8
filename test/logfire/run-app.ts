// Starts one application of test/logfire/app as a child process, the way a user runs it (plain `node`,
// the project's own node_modules, a preloaded instrumentation file), with the net guard preloaded first,
// and collects what it said and what it tried to reach. Bounded: a child still running after `timeoutMs`
// is killed and the run fails.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), 'app');

/** One line of the net guard's log (app/net-guard.cjs). */
export interface NetEntry {
  kind: 'connect' | 'lookup';
  host: string;
  port?: number;
  allowed: boolean;
}

export interface AppRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The response ids of the held chat streams (the app's `HELD` line). */
  held: string[];
  /** `processor.stats()` when the process exited (the app's `STATS` line). */
  stats: Record<string, number> | undefined;
  net: NetEntry[];
}

export interface AppOptions {
  /** The node arguments before the main file, e.g. `['--import', './instrumentation.mjs']`. */
  preload: string[];
  main: string;
  /** The app's environment on top of PATH alone: nothing of the caller's LOGFIRE_* or OTEL_* leaks in. */
  env: Record<string, string>;
  /** `host:port` pairs the net guard lets through. */
  allow: string[];
  /** Called with the held response ids; what it resolves to is sent to the app over IPC (APP_LATE_USAGE=1). */
  lateUsage?: (held: string[]) => Promise<unknown>;
  /** Send this signal once the app says READY (APP_EXIT=signal). */
  signal?: NodeJS.Signals;
  timeoutMs?: number;
}

function lineValue(stdout: string, tag: string): unknown {
  const line = stdout.split('\n').find((l) => l.startsWith(`${tag} `));
  return line === undefined ? undefined : JSON.parse(line.slice(tag.length + 1));
}

export async function runApp(options: AppOptions): Promise<AppRun> {
  const dir = mkdtempSync(join(tmpdir(), 'logfire-net-'));
  const netLog = join(dir, 'net.jsonl');
  try {
    const child = spawn(process.execPath, ['--require', './net-guard.cjs', ...options.preload, options.main], {
      cwd: APP_DIR,
      env: {
        PATH: process.env.PATH ?? '',
        NET_GUARD_LOG: netLog,
        NET_GUARD_ALLOW: options.allow.join(','),
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe', ...(options.lateUsage !== undefined ? ['ipc' as const] : [])],
    });
    let stdout = '';
    let stderr = '';
    let sentUsage = false;
    let signalled = false;
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (options.lateUsage !== undefined && !sentUsage) {
        const held = lineValue(stdout, 'HELD') as string[] | undefined;
        if (held !== undefined) {
          sentUsage = true;
          options.lateUsage(held).then(
            (usage) => child.send(usage as object),
            (error: unknown) => {
              stderr += `\nthe suite could not hand in late usage: ${String(error)}`;
              child.kill('SIGKILL');
            },
          );
        }
      }
      if (options.signal !== undefined && !signalled && lineValue(stdout, 'READY') === true) {
        signalled = true;
        child.kill(options.signal);
      }
    });
    const timeoutMs = options.timeoutMs ?? 20_000;
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new Error(`${options.main} still running after ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`),
        );
      }, timeoutMs);
      child.on('error', reject);
      child.on('close', (c, s) => {
        clearTimeout(timer);
        resolve([c, s]);
      });
    });
    let net: NetEntry[] = [];
    try {
      net = readFileSync(netLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as NetEntry);
    } catch {
      // No connection and no lookup at all: the guard never wrote.
    }
    return {
      code,
      signal,
      stdout,
      stderr,
      held: (lineValue(stdout, 'HELD') as string[] | undefined) ?? [],
      stats: lineValue(stdout, 'STATS') as Record<string, number> | undefined,
      net,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
