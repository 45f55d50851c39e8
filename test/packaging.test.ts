/*
 * Proves each publishable package works for a user: `npm pack` it (which builds it; with
 * GENAI_ENRICH_PREBUILT=1, as CI sets after its one build, the dist/ already built is packed as it is),
 * install the tarball in a scratch project, then load it with plain `node` (no tsx) through `require` and `import`, and
 * type-check a consumer against the shipped .d.ts files in both module systems.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** CI builds once (npm ci runs the root prepare); set only when dist/ was built from the current sources. */
const PACK_FLAGS = process.env['GENAI_ENRICH_PREBUILT'] === '1' ? ['--ignore-scripts'] : [];

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const apiVersion = (
  JSON.parse(readFileSync(join(root, 'node_modules', '@opentelemetry', 'api', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

describe('the packages as published', () => {
  let work: string;
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'genai-enrich-pack-'));
    for (const pkg of ['normalizer', 'processor', 'relay']) {
      run(npm, ['pack', '--silent', ...PACK_FLAGS, '--pack-destination', work], join(root, 'packages', pkg));
    }
    const tarballs = readdirSync(work).filter((f) => f.endsWith('.tgz'));
    assert.equal(tarballs.length, 3, 'npm pack produced every tarball');
    writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '0.0.0' }));
    // The processor's peer, @opentelemetry/api, and the relay's dependencies come from npm's cache (filled
    // by npm ci) when they can.
    run(
      npm,
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
        '--ignore-scripts',
        '--prefer-offline',
        ...tarballs.map((t) => join(work, t)),
        `@opentelemetry/api@${apiVersion}`,
      ],
      work,
    );
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  const check = `
    const input = { 'gen_ai.system': 'OpenAI', 'gen_ai.usage.prompt_tokens': '12' };
    const out = m.normalizeAttributes(input);
    if (out['gen_ai.provider.name'] !== 'openai' || out['gen_ai.usage.input_tokens'] !== 12) throw new Error(JSON.stringify(out));
    if (m.formatTemplate('took {d:.2f}s', { d: 1.234 }) !== 'took 1.23s') throw new Error('formatTemplate');
    console.log(typeof m.normalizeSpan);
  `;

  const processorCheck = `
    const exported = [];
    const processor = new p.GenAiEnrichingProcessor({ onStart() {}, onEnd(s) { exported.push(s); }, forceFlush: async () => {}, shutdown: async () => {} });
    if (processor.stats().received !== 0 || typeof p.DEFAULT_HOLD_MILLIS !== 'number') throw new Error('processor');
    console.log(typeof processor.recordUsage);
  `;

  it('loads with require() under plain node', () => {
    const out = run(process.execPath, ['-e', `const m = require('@genai-enrich/normalizer');${check}`], work);
    assert.equal(out.trim(), 'function');
    const out2 = run(process.execPath, ['-e', `const p = require('@genai-enrich/processor');${processorCheck}`], work);
    assert.equal(out2.trim(), 'function');
  });

  it('loads with import under plain node', () => {
    const out = run(
      process.execPath,
      ['--input-type=module', '-e', `import * as m from '@genai-enrich/normalizer';${check}`],
      work,
    );
    assert.equal(out.trim(), 'function');
    const out2 = run(
      process.execPath,
      ['--input-type=module', '-e', `import * as p from '@genai-enrich/processor';${processorCheck}`],
      work,
    );
    assert.equal(out2.trim(), 'function');
  });

  it('ships only built output, sources and the README', () => {
    const manifest = JSON.parse(
      readFileSync(join(work, 'node_modules', '@genai-enrich', 'normalizer', 'package.json'), 'utf8'),
    ) as { exports: Record<string, unknown> };
    assert.ok(manifest.exports['.']);
    for (const pkg of ['processor', 'relay']) {
      const withInternal = JSON.parse(
        readFileSync(join(work, 'node_modules', '@genai-enrich', pkg, 'package.json'), 'utf8'),
      ) as {
        exports: Record<string, unknown>;
      };
      assert.deepEqual(Object.keys(withInternal.exports), ['.', './internal', './package.json'], pkg);
    }
    for (const pkg of ['normalizer', 'processor']) {
      const shipped = readdirSync(join(work, 'node_modules', '@genai-enrich', pkg)).sort();
      assert.deepEqual(shipped, ['README.md', 'dist', 'package.json', 'src'], pkg);
    }
    const relayShipped = readdirSync(join(work, 'node_modules', '@genai-enrich', 'relay')).sort();
    assert.deepEqual(relayShipped, ['README.md', 'bin', 'dist', 'package.json', 'src']);
  });

  it('installs the relay bin, which runs with plain node', () => {
    const bin = join(work, 'node_modules', '.bin', 'genai-enrich-relay');
    const version = run(process.execPath, [bin, '--version'], work).trim();
    assert.equal(
      version,
      (JSON.parse(readFileSync(join(root, 'packages', 'relay', 'package.json'), 'utf8')) as { version: string })
        .version,
    );
    assert.match(run(process.execPath, [bin, '--help'], work), /--forward/);
    const relay = run(
      process.execPath,
      ['--input-type=module', '-e', `import * as r from '@genai-enrich/relay'; console.log(typeof r.startRelay);`],
      work,
    );
    assert.equal(relay.trim(), 'function');
    const relayCjs = run(
      process.execPath,
      ['-e', `console.log(typeof require('@genai-enrich/relay').startRelay)`],
      work,
    );
    assert.equal(relayCjs.trim(), 'function');
  });

  // Not public API, but the relay's own dist loads the processor's internals in both module systems.
  it('loads the ./internal subpaths with require() and import under plain node', () => {
    const probe = (p: string, r: string): string =>
      `console.log(typeof ${p}.PROCESSOR_OPTION_BOUNDS.holdMillis.max, typeof ${r}.parseRelayCommand, ${p}.GenAiEnrichingProcessor, ${r}.startRelay)`;
    const cjs = run(
      process.execPath,
      [
        '-e',
        `const p = require('@genai-enrich/processor/internal'); const r = require('@genai-enrich/relay/internal'); ${probe('p', 'r')}`,
      ],
      work,
    );
    assert.equal(cjs.trim(), 'number function undefined undefined', 'the internals, and nothing of the public index');
    const esm = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import * as p from '@genai-enrich/processor/internal'; import * as r from '@genai-enrich/relay/internal'; ${probe('p', 'r')}`,
      ],
      work,
    );
    assert.equal(esm.trim(), 'number function undefined undefined');
  });

  it('type-checks a consumer in ESM and CommonJS against the shipped .d.ts', () => {
    const processorImports =
      `import { GenAiEnrichingProcessor } from '@genai-enrich/processor';\n` +
      `import type { GenAiEnrichingProcessorStats } from '@genai-enrich/processor';\n`;
    const body = `
      const out: Attributes = normalizeAttributes({ 'gen_ai.system': 'OpenAI' }, { keepLegacyAttributes: false });
      const name: string | undefined = formatTemplate('x', out);
      const usage: UsageCounts | undefined = extractUsage({});
      const processor = new GenAiEnrichingProcessor({ export() {}, shutdown: async () => {} }, { holdMillis: 1000 });
      const stats: GenAiEnrichingProcessorStats = processor.stats();
      export { name, usage, stats };
    `;
    writeFileSync(
      join(work, 'esm.mts'),
      `import { normalizeAttributes, formatTemplate, extractUsage } from '@genai-enrich/normalizer';\n` +
        `import type { Attributes, UsageCounts } from '@genai-enrich/normalizer';\n${processorImports}${body}`,
    );
    writeFileSync(
      join(work, 'cjs.cts'),
      `import { normalizeAttributes, formatTemplate, extractUsage } from '@genai-enrich/normalizer';\n` +
        `import type { Attributes, UsageCounts } from '@genai-enrich/normalizer';\n${processorImports}${body}`,
    );
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: [] },
        files: ['esm.mts', 'cjs.cts'],
      }),
    );
    run(process.execPath, [tsc, '-p', 'tsconfig.json'], work);
  });

  it('type-checks the ./internal subpaths under node16 (exports) and node10 (typesVersions) resolution', () => {
    const internals =
      `import { PROCESSOR_OPTION_BOUNDS, integerRange } from '@genai-enrich/processor/internal';\n` +
      `import { parseRelayCommand } from '@genai-enrich/relay/internal';\n` +
      `import type { RelayCommand } from '@genai-enrich/relay/internal';\n` +
      // The public entry points still resolve beside them (typesVersions maps only the internal path).
      `import { validateConfig } from '@genai-enrich/processor';\n` +
      `import { validateRelayOptions } from '@genai-enrich/relay';\n` +
      `const problems: string[] = [...validateConfig({}), ...validateRelayOptions({})];\n` +
      `const range: string = integerRange(PROCESSOR_OPTION_BOUNDS.holdMillis);\n` +
      `const command: RelayCommand = parseRelayCommand([], {});\n` +
      `export { problems, range, command };\n`;
    writeFileSync(join(work, 'internal-esm.mts'), internals);
    writeFileSync(join(work, 'internal-cjs.cts'), internals);
    writeFileSync(join(work, 'internal-node10.ts'), internals);
    const strict = { strict: true, noEmit: true, types: [] };
    writeFileSync(
      join(work, 'tsconfig.internal.json'),
      JSON.stringify({
        compilerOptions: { ...strict, module: 'NodeNext', moduleResolution: 'NodeNext' },
        files: ['internal-esm.mts', 'internal-cjs.cts'],
      }),
    );
    // node10 is what a CommonJS project without `exports` support resolves with, and what the relay's own
    // CommonJS build uses (scripts/build-package.mjs).
    writeFileSync(
      join(work, 'tsconfig.node10.json'),
      JSON.stringify({
        compilerOptions: { ...strict, target: 'ES2022', module: 'CommonJS', moduleResolution: 'Node10' },
        files: ['internal-node10.ts'],
      }),
    );
    run(process.execPath, [tsc, '-p', 'tsconfig.internal.json'], work);
    run(process.execPath, [tsc, '-p', 'tsconfig.node10.json'], work);
  });
});
