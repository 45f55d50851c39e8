// Runs every *.test.ts under packages/*/test and test/ with node:test through tsx, as fast as the machine
// allows without changing what any test sees:
//
//   every test file ─┬─ sets process-wide state (a global provider, context manager or diag logger, a
//                    │  patched globalThis.fetch, registered instrumentations)? ─► a process of its own
//                    ├─ known to be slow (SLOW below) ─────────────────────────────► a process of its own
//                    └─ otherwise ─► one shared process per package (test/helpers counts as one): each
//                                    file is imported in turn, so its suites still run one after another
//   processes ─► node --test, cores + 1 at a time (tests wait on sockets and child processes), slowest first
//
// Sharing saves a tsx start-up (about half a second of CPU) per file. Extra arguments pass through
// (e.g. `npm test -- --test-name-pattern=formatTemplate`). docs/testing.md has the timings.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Files that take seconds on their own: each gets its own process, and they start first. Slowest first. */
const SLOW = [
  'test/packaging.test.ts',
  'packages/relay/test/otlp/roundtrip.property.test.ts',
  'packages/relay/test/budget.property.test.ts',
  'packages/relay/test/crash.test.ts',
  'packages/relay/test/faults.test.ts',
  'test/demo.test.ts',
  'packages/processor/test/model.property.test.ts',
  'test/pipelines/',
  'test/relay-bin.test.ts',
];

/** What marks a file as changing state that every test in its process would share. */
const PROCESS_WIDE =
  /setGlobal(?:ContextManager|TracerProvider|MeterProvider|Propagator)|diag\.setLogger|globalThis\.fetch\s*=|registerInstrumentations|\.register\(\)/;

function collect(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

const files = [];
for (const pkg of readdirSync(join(root, 'packages'))) collect(join(root, 'packages', pkg, 'test'), files);
collect(join(root, 'test'), files);
files.sort();

const slowRank = (file) => {
  const i = SLOW.findIndex((prefix) => file.startsWith(prefix));
  return i < 0 ? SLOW.length : i;
};
const alone = [];
const groups = new Map();
for (const file of files) {
  if (slowRank(file) < SLOW.length || PROCESS_WIDE.test(readFileSync(join(root, file), 'utf8'))) {
    alone.push(file);
    continue;
  }
  // packages/<name>/… by package; test/<dir>/… by folder (a file directly in test/ is a group of one).
  const group = file
    .split('/')
    .slice(0, 2)
    .join('-')
    .replace(/\.test\.ts$/, '');
  groups.set(group, [...(groups.get(group) ?? []), file]);
}
alone.sort((a, b) => slowRank(a) - slowRank(b) || a.localeCompare(b));

// One entry file per group, importing its files in order. They live in .tmp/ (ignored by git).
// A folder per run, so that two runs in one checkout do not rewrite each other's entry files.
mkdirSync(join(root, '.tmp'), { recursive: true });
const groupDir = mkdtempSync(join(root, '.tmp', 'test-groups-'));
const entries = [];
for (const [group, members] of groups) {
  const entry = join(groupDir, `${group}.test.mjs`);
  const imports = members.map((file) => `await import(${JSON.stringify(relative(dirname(entry), join(root, file)))});`);
  writeFileSync(
    entry,
    `// ${members.length} test files of ${group}, in one process (scripts/run-tests.mjs).\n${imports.join('\n')}\n`,
  );
  entries.push(relative(root, entry));
}

const ordered = [
  ...alone.filter((f) => slowRank(f) < SLOW.length),
  ...entries,
  ...alone.filter((f) => slowRank(f) >= SLOW.length),
];
const concurrency = availableParallelism() + 1;
const args = [
  '--conditions=@genai-enrich/source',
  '--import',
  'tsx',
  '--test',
  `--test-concurrency=${concurrency}`,
  ...process.argv.slice(2),
  ...ordered,
];
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
rmSync(groupDir, { recursive: true, force: true });
process.exit(result.status ?? 1);
