// Type-checks the TypeScript snippets of the repository's READMEs and docs, as written: a user copies them.
//
//   README.md, packages/*/README.md, docs/*.md ─► every ```ts block ─► a module file each ─► tsc --noEmit
//
// The words after `ts` in a block's info string say where it is checked:
//   ```ts                 here, with the root's node_modules (the workspace packages resolve to their sources)
//   ```ts <project>       in test/<project>, which has the packages the snippet imports (OpenLLMetry, Logfire,
//                         SDK 1.x): that project's run.sh calls this script with `--project test/<project>`
//   ```ts … cjs           a CommonJS module (`require`), written as a .cts file; otherwise an ES module (.mts)
// Errors are reported at the README's own line numbers. Exit code 1 when a snippet does not compile.
//
//   node scripts/check-readme-snippets.mjs [--project test/<name>] [--list]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { project: { type: 'string' }, list: { type: 'boolean' } } });
const project = values.project === undefined ? undefined : values.project.replace(/^test\//, '').replace(/\/$/, '');

/** The markdown files whose snippets are checked. */
function markdownFiles() {
  const files = ['README.md'];
  for (const pkg of readdirSync(join(root, 'packages'))) {
    if (existsSync(join(root, 'packages', pkg, 'README.md'))) files.push(`packages/${pkg}/README.md`);
  }
  for (const doc of readdirSync(join(root, 'docs'))) if (doc.endsWith('.md')) files.push(`docs/${doc}`);
  return files;
}

/** Every ```ts block: its file, the line its code starts on, its project (or undefined), CJS or not, the code. */
function snippets() {
  const out = [];
  for (const file of markdownFiles()) {
    const lines = readFileSync(join(root, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = /^```(ts|typescript)\b(.*)$/.exec(lines[i]);
      if (open === null) continue;
      const words = open[2].trim().split(/\s+/).filter(Boolean);
      const start = i + 1;
      let end = start;
      while (end < lines.length && !lines[end].startsWith('```')) end++;
      out.push({
        file,
        line: start + 1,
        project: words.find((w) => w !== 'cjs'),
        cjs: words.includes('cjs'),
        code: lines.slice(start, end).join('\n'),
      });
      i = end;
    }
  }
  return out;
}

const mine = snippets().filter((s) => s.project === project);
if (values.list) {
  for (const s of mine) console.log(`${s.file}:${s.line}${s.cjs ? ' (cjs)' : ''}`);
  process.exit(0);
}

const home = project === undefined ? root : join(root, 'test', project);
const dir = join(home, '.tmp-snippets');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const where = new Map();
mine.forEach((s, n) => {
  const name = `${s.file.replace(/[/.]/g, '_')}_${s.line}.${s.cjs ? 'cts' : 'mts'}`;
  writeFileSync(join(dir, name), s.code + '\n');
  where.set(name, s);
  void n;
});
writeFileSync(
  join(dir, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2022', 'DOM'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      // A project need not install @types/node for its snippets: the root's serve.
      typeRoots: [join(home, 'node_modules', '@types'), join(root, 'node_modules', '@types')],
      ...(project === undefined ? { customConditions: ['@genai-enrich/source'] } : {}),
    },
    include: ['*.mts', '*.cts'],
  }),
);
if (mine.length === 0) {
  console.log(`no snippets for ${project === undefined ? 'the root' : `test/${project}`}`);
  process.exit(0);
}
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', dir], { cwd: home, encoding: 'utf8', stdio: 'pipe' });
  console.log(`${mine.length} snippets compile (${project === undefined ? 'root' : `test/${project}`})`);
  rmSync(dir, { recursive: true, force: true });
} catch (error) {
  const output = String(error.stdout ?? '') + String(error.stderr ?? '');
  // "name.mts(3,7): error TS…" → "README.md:114: error TS…"
  const mapped = output.replace(/^(?:.*[\\/])?([\w.-]+\.[mc]ts)\((\d+),(\d+)\)/gm, (all, name, line) => {
    const s = where.get(name);
    return s === undefined ? all : `${s.file}:${s.line + Number(line) - 1}`;
  });
  console.error(mapped.trim());
  console.error(`\nsnippets that do not compile (checked in ${relative(root, dir) || '.'})`);
  process.exit(1);
}
