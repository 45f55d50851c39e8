// An ES module application with the CommonJS recipe preloaded, so no ES module loader hook:
//   node --require ./instrumentation.cjs no-hook.mjs
// `import OpenAI from 'openai'` loads the client's ES module build, which require-in-the-middle never sees.
import { writeSync } from 'node:fs';
import OpenAI from 'openai';
import { processor } from './instrumentation.cjs';

const openai = new OpenAI({ fetch: processor.fetch, maxRetries: 0 });
await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello.' }] });
process.on('exit', () => writeSync(1, `STATS ${JSON.stringify(processor.stats())}\n`));
