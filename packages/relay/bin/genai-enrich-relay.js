#!/usr/bin/env node
// The genai-enrich-relay command: runs the built CLI (dist/esm/cli.js). In a clone of the repository the
// build is a separate step (`npm ci` runs it through the root `prepare` script).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/esm/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('genai-enrich-relay: dist/esm/cli.js is missing; run `npm run build` first\n');
  process.exit(1);
}
const { main } = await import(cli.href);
await main(process.argv.slice(2));
