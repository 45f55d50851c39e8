// Builds the workspace package in the current directory to dual ESM + CommonJS, each with .d.ts files.
// Each package's `build` and `prepack` scripts run it, so `npm pack` always ships fresh output.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const cwd = process.cwd();
const dist = join(cwd, 'dist');

rmSync(dist, { recursive: true, force: true });
for (const [format, moduleFlags, type] of [
  ['esm', ['--module', 'NodeNext', '--moduleResolution', 'NodeNext'], 'module'],
  ['cjs', ['--module', 'CommonJS', '--moduleResolution', 'Node10'], 'commonjs'],
]) {
  const out = join(dist, format);
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', ...moduleFlags, '--outDir', out], {
    stdio: 'inherit',
    cwd,
  });
  // The packages are "type": "module"; this marker makes Node read dist/cjs/*.js as CommonJS.
  writeFileSync(join(out, 'package.json'), JSON.stringify({ type }) + '\n');
}
