// The calls every app makes, in order: one of each kind, each awaited (streams read to their end).
'use strict';

const MESSAGES = [{ role: 'user', content: 'Say hello.' }];

/** @param {import('openai').OpenAI} client */
async function makeCalls(client) {
  await client.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES });
  const chat = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: MESSAGES,
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const _chunk of chat);
  await client.responses.create({ model: 'gpt-4o-mini', input: 'Say hello.' });
  const responses = await client.responses.create({ model: 'gpt-4o-mini', input: 'Say hello.', stream: true });
  for await (const _event of responses);
}

module.exports = { makeCalls, CALLS: ['chat', 'chat-stream', 'responses', 'responses-stream'] };
