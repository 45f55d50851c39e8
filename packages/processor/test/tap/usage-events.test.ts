// UsageEvents on its own: what each endpoint's parsed events mean, without any framing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EVENT_FINAL, EVENT_NOTHING, EVENT_USAGE_SEEN, UsageEvents } from '../../src/tap/usage-events.js';
import type { TapFinding } from '../../src/tap/usage-parser.js';

describe('UsageEvents', () => {
  it('Anthropic: message_start and message_delta merge field by field; message_stop after a delta is final', () => {
    const events = new UsageEvents('anthropic.messages');
    const start = {
      type: 'message_start',
      message: {
        id: 'msg_1',
        model: 'claude-x',
        usage: { input_tokens: 40, output_tokens: 1, cache_read_input_tokens: 1024 },
      },
    };
    assert.equal(events.onEvent(start, true), EVENT_NOTHING);
    assert.equal(events.onEvent({ type: 'message_stop' }, false), EVENT_NOTHING, 'no delta yet: no finding');
    assert.equal(events.onEvent({ type: 'message_delta', usage: { output_tokens: 9 } }, false), EVENT_USAGE_SEEN);
    assert.equal(events.onEvent({ type: 'message_stop' }, false), EVENT_FINAL);
    assert.deepEqual(events.finding, {
      responseId: 'msg_1',
      model: 'claude-x',
      usage: { inputTokens: 1064, outputTokens: 9, cacheReadInputTokens: 1024 },
      totalTokens: undefined,
      adjusted: ['input+cache_read'],
    });
  });

  it('chat: the last usage wins, its id before the first; [DONE] or the end makes the finding', () => {
    const events = new UsageEvents('openai.chat');
    events.onEvent({ id: 'chatcmpl-1', model: 'gpt-a', usage: null }, true);
    assert.equal(events.usageSeen, false);
    assert.equal(
      events.onEvent({ model: 'gpt-b', usage: { prompt_tokens: 1, completion_tokens: 2 } }, false),
      EVENT_USAGE_SEEN,
    );
    events.onEvent({ id: 'chatcmpl-2', usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } }, false);
    assert.equal(events.finding, undefined);
    events.endOfEvents();
    assert.deepEqual(events.finding, {
      responseId: 'chatcmpl-2',
      model: 'gpt-a',
      usage: { inputTokens: 3, outputTokens: 4 },
      totalTokens: 7,
    });
  });

  it('Responses: only a terminal event with usage is final; embeddings bodies have no id', () => {
    const responses = new UsageEvents('openai.responses');
    const usage = { input_tokens: 5, output_tokens: 6 };
    assert.equal(
      responses.onEvent({ type: 'response.created', response: { id: 'resp_1', model: 'm' } }, true),
      EVENT_NOTHING,
    );
    assert.equal(responses.onEvent({ type: 'response.completed', response: {} }, false), EVENT_NOTHING);
    responses.endOfEvents();
    assert.equal(responses.finding, undefined, 'the end of the stream makes no Responses finding');
    assert.equal(responses.onEvent({ type: 'response.completed', response: { usage } }, false), EVENT_FINAL);
    // (TypeScript narrowed the field to undefined by the assertion above; the call changed it.)
    const found = responses.finding as TapFinding | undefined;
    assert.equal(found?.responseId, 'resp_1');

    const embeddings = new UsageEvents('openai.embeddings');
    embeddings.onBody({ id: 'ignored', model: 'text-embedding-3-small', usage: { prompt_tokens: 8, total_tokens: 8 } });
    assert.deepEqual(embeddings.finding, {
      responseId: undefined,
      model: 'text-embedding-3-small',
      usage: { inputTokens: 8 },
      totalTokens: 8,
    });
  });
});
