// A CommonJS application as a user writes it, run with the recipe preloaded:
//   node --require ./instrumentation.cjs app.cjs
// The usage tap is installed on globalThis.fetch for the provider's host (installUsageTap), before the
// client is created: the openai client takes its fetch when it is constructed.
'use strict';
const logfire = require('@pydantic/logfire-node');
const { installUsageTap } = require('@genai-enrich/processor');
const { processor } = require('./instrumentation.cjs');
const { finish, makeCalls } = require('./calls.cjs');

installUsageTap(processor, { hosts: [new URL(process.env.OPENAI_BASE_URL).host] });
const OpenAI = require('openai');

async function main() {
  const openai = new OpenAI({ maxRetries: 0 });
  const held = await logfire.span('handle request', { callback: () => makeCalls(openai) });
  await finish(processor, logfire, held);
}
main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
