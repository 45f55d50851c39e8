/*
 * Every TypeScript snippet in the READMEs and docs compiles as written (scripts/check-readme-snippets.mjs):
 * the root's snippets here; those tagged for a project (```ts openllmetry) in that project's suite, whose
 * run.sh must call the checker, so that no snippet goes unchecked.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const checker = join(root, 'scripts', 'check-readme-snippets.mjs');

function run(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [checker, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('README and docs snippets', () => {
  it('the snippets checked at the root compile', () => {
    const listed = run(['--list']);
    assert.equal(listed.status, 0, listed.out);
    assert.ok(listed.out.trim().split('\n').length >= 5, `the root has its snippets: ${listed.out}`);
    const r = run([]);
    assert.equal(r.status, 0, r.out);
  });

  it('every project a snippet is tagged for exists and checks its snippets', () => {
    const tags = new Set<string>();
    const docs = readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`);
    for (const file of [
      'README.md',
      'packages/processor/README.md',
      'packages/normalizer/README.md',
      'packages/relay/README.md',
      ...docs,
    ]) {
      for (const m of readFileSync(join(root, file), 'utf8').matchAll(/^```(?:ts|typescript)[ \t]+([^\n]*)$/gm)) {
        for (const word of m[1].trim().split(/\s+/)) if (word !== 'cjs' && word.length > 0) tags.add(word);
      }
    }
    for (const tag of tags) {
      const runSh = join(root, 'test', tag, 'run.sh');
      assert.ok(existsSync(runSh), `snippets tagged "${tag}" need test/${tag}/run.sh`);
      assert.match(
        readFileSync(runSh, 'utf8'),
        /check-readme-snippets\.mjs"? --project test\//,
        `test/${tag}/run.sh checks its snippets`,
      );
      assert.match(
        readFileSync(join(root, '.ci', 'run'), 'utf8'),
        new RegExp(`test/${tag}/run\\.sh`),
        `CI runs test/${tag}`,
      );
    }
  });
});
