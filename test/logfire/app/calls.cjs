// What the applications of this folder do once their telemetry is set up, and how they end. Shared by
// the ES module and CommonJS apps (an ES module imports CommonJS; the reverse needs Node >= 20.19).
'use strict';
const { writeSync } = require('node:fs');
const { logs } = require('@opentelemetry/api-logs');

const MESSAGES = [{ role: 'user', content: 'Say hello.' }];

async function drain(stream) {
  let id;
  for await (const chunk of stream) id ??= chunk.id;
  return id;
}

/**
 * One request of each kind, in this order (the suite matches spans to the mock's calls by response id).
 * The two chat streams without include_usage carry no usage anywhere, so the processor holds their spans;
 * their response ids are returned.
 */
async function makeCalls(openai) {
  await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES });
  await drain(
    await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
    }),
  );
  await openai.responses.create({ model: 'gpt-4o-mini', input: 'Say hello.' });
  await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'Say hello.' });
  const held = [];
  for (let i = 0; i < 2; i++) {
    held.push(
      await drain(await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES, stream: true })),
    );
  }
  return held;
}

/** A line the suite reads from stdout; written synchronously, so it is there even from an 'exit' listener. */
function say(tag, value) {
  writeSync(1, `${tag} ${JSON.stringify(value)}\n`);
}

/**
 * After the calls: writes one log record through the OpenTelemetry logs API (as a pino or winston bridge
 * does), reports the held response ids, lets the suite hand in late usage for the first one
 * (APP_LATE_USAGE=1, over the IPC channel), optionally flushes as a long-lived app does between requests
 * (APP_FLUSH_FIRST=1: logfire.forceFlush(), then one more span), then ends the way APP_EXIT says:
 *   natural   return: the event loop empties, Logfire's beforeExit hook shuts the SDK down
 *   shutdown  await logfire.shutdown()
 *   signal    say READY and stay alive until the suite sends a signal
 *   exit      process.exit(0), without shutting down
 * The processor's stats are written when the process exits (not when a signal kills it).
 */
async function finish(processor, logfire, held) {
  process.on('exit', () => say('STATS', processor.stats()));
  logs.getLogger('my-app').emit({ body: 'request handled' });
  say('HELD', held);
  if (process.env.APP_LATE_USAGE === '1') {
    const usage = await new Promise((resolve) => process.once('message', resolve));
    processor.recordUsage(held[0], usage);
    process.disconnect();
  }
  if (process.env.APP_FLUSH_FIRST === '1') {
    await logfire.forceFlush();
    logfire.info('shutting down');
  }
  switch (process.env.APP_EXIT ?? 'natural') {
    case 'natural':
      return;
    case 'shutdown':
      await logfire.shutdown();
      return;
    case 'signal':
      say('READY', true);
      setInterval(() => {}, 1000);
      return;
    case 'exit':
      process.exit(0);
  }
}

module.exports = { makeCalls, finish };
