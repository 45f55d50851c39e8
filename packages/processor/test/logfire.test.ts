/*
 * Logfire's streamed usage (logfire.ts): which records are stream records, and which held request span a
 * record finds: a sibling (same trace, same parent) with the record's model that started last at or before
 * it, or for a root-level record, a root-level request with the same request_data. Real SDK spans, with
 * explicit start times so that "nearest preceding" is exact.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { ReadableSpan, Span } from '@opentelemetry/sdk-trace-base';
import { ExpiryTimer } from '../src/deadlines.js';
import { HeldSpans, spanKey } from '../src/held-spans.js';
import type { Held } from '../src/held-spans.js';
import { LogfireRequests, isLogfireStreamRecord } from '../src/logfire.js';
import { FakeClock } from './helpers/fake-clock.js';
import { endedSpan, spanSource, startSpan } from './helpers/sdk-spans.js';
import type { SpanSource } from './helpers/sdk-spans.js';

const REQUEST_TEMPLATE = 'Chat Completion with {request_data[model]!r}';
const STREAM_TEMPLATE = 'streaming response from {request_data[model]!r} took {duration:.2f}s';

/** Start times: a second since the epoch plus `micros` microseconds (the last test goes down to nanoseconds). */
const SECOND = 1_700_000_000;
const at = (micros: number): HrTime => [SECOND, micros * 1000];

function requestAttributes(model: string, requestData = `{"model":"${model}","stream":true}`): Attributes {
  return {
    'logfire.msg_template': REQUEST_TEMPLATE,
    'logfire.span_type': 'span',
    request_data: requestData,
    'gen_ai.provider.name': 'openai',
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': model,
  };
}

function recordAttributes(model: string, requestData = `{"model":"${model}","stream":true}`): Attributes {
  return {
    'logfire.msg_template': STREAM_TEMPLATE,
    'logfire.span_type': 'log',
    request_data: requestData,
    duration: 0.8,
    'gen_ai.provider.name': 'openai',
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': model,
    'gen_ai.usage.input_tokens': 40,
    'gen_ai.usage.output_tokens': 9,
  };
}

/** The index with its spans, as HeldSpans would add them. */
function setup() {
  const source = spanSource({ scope: 'logfire' });
  const index = new LogfireRequests();
  const added = new Map<ReadableSpan, Held>();
  const add = (span: ReadableSpan): Held => {
    const held: Held = { span, key: spanKey(span), responseId: undefined };
    index.add(held);
    added.set(span, held);
    return held;
  };
  const request = (model: string, start: number, parent?: Span, requestData?: string): ReadableSpan =>
    endedSpan(source, REQUEST_TEMPLATE, requestAttributes(model, requestData), {
      startTime: at(start),
      ...(parent ? { parent } : {}),
    });
  const record = (model: string, start: number, parent?: Span, requestData?: string): ReadableSpan =>
    endedSpan(source, STREAM_TEMPLATE, recordAttributes(model, requestData), {
      startTime: at(start),
      ...(parent ? { parent } : {}),
    });
  return { source, index, add, added, request, record };
}

function parentSpan(source: SpanSource, name = 'agent run'): Span {
  return startSpan(source, name, {}, { startTime: at(0) });
}

/** The name and start of what findRequest found, to compare without inspecting SDK spans. */
function found(index: LogfireRequests, record: ReadableSpan): string | undefined {
  const held = index.findRequest(record);
  return held === undefined
    ? undefined
    : `${held.span.attributes['gen_ai.request.model']}@${held.span.startTime[1] / 1000}`;
}

describe('isLogfireStreamRecord', () => {
  it('is a log record whose template starts "streaming response from", with usage and no response id', () => {
    assert.equal(isLogfireStreamRecord(recordAttributes('gpt-4o')), true);
  });

  it('is not a span, a record with a response id, another template, or a record without usage', () => {
    assert.equal(isLogfireStreamRecord({ ...recordAttributes('gpt-4o'), 'logfire.span_type': 'span' }), false);
    const { 'logfire.span_type': _type, ...noType } = recordAttributes('gpt-4o');
    assert.equal(isLogfireStreamRecord(noType), false);
    assert.equal(isLogfireStreamRecord({ ...recordAttributes('gpt-4o'), 'gen_ai.response.id': 'chatcmpl-1' }), false);
    assert.equal(
      isLogfireStreamRecord({ ...recordAttributes('gpt-4o'), 'logfire.msg_template': 'streamed {n} chunks' }),
      false,
    );
    assert.equal(isLogfireStreamRecord({ ...recordAttributes('gpt-4o'), 'logfire.msg_template': 42 }), false);
    assert.equal(
      isLogfireStreamRecord({
        ...recordAttributes('gpt-4o'),
        'gen_ai.usage.input_tokens': 0,
        'gen_ai.usage.output_tokens': 0,
      }),
      false,
      'placeholder zeros are no usage',
    );
    const {
      'gen_ai.usage.input_tokens': _in,
      'gen_ai.usage.output_tokens': _out,
      ...noUsage
    } = recordAttributes('gpt-4o');
    assert.equal(isLogfireStreamRecord(noUsage), false);
  });
});

describe('LogfireRequests', () => {
  it('finds the held sibling with the record model that started last at or before the record', () => {
    const { source, add, request, record, index } = setup();
    const root = parentSpan(source);
    add(request('gpt-4o', 100, root));
    add(request('gpt-5', 200, root));
    add(request('gpt-4o', 300, root));
    add(request('gpt-4o', 500, root)); // starts after the records below
    assert.equal(found(index, record('gpt-4o', 400, root)), 'gpt-4o@300', 'the nearest preceding one, not the newest');
    assert.equal(found(index, record('gpt-4o', 250, root)), 'gpt-4o@100');
    assert.equal(found(index, record('gpt-4o', 300, root)), 'gpt-4o@300', 'at the same instant counts as preceding');
    assert.equal(found(index, record('gpt-5', 400, root)), 'gpt-5@200', 'the model decides among siblings');
    assert.equal(found(index, record('gpt-4o', 50, root)), undefined, 'no request started before it');
    assert.equal(found(index, record('gpt-4.1', 400, root)), undefined, 'no sibling with its model');
  });

  it('orders by start time, not by the order the requests were held in', () => {
    const { source, add, request, record, index } = setup();
    const root = parentSpan(source);
    // A long stream that started first ends (and is held) last.
    add(request('gpt-4o', 300, root));
    add(request('gpt-4o', 100, root));
    assert.equal(found(index, record('gpt-4o', 400, root)), 'gpt-4o@300');
    assert.equal(found(index, record('gpt-4o', 200, root)), 'gpt-4o@100');
  });

  it('does not find a request under another parent or in another trace', () => {
    const { source, add, request, record, index } = setup();
    const root = parentSpan(source, 'root');
    const other = startSpan(source, 'other parent', {}, { parent: root, startTime: at(0) });
    add(request('gpt-4o', 100, root));
    assert.equal(found(index, record('gpt-4o', 200, other)), undefined, 'a cousin is not a sibling');
    const otherTrace = parentSpan(source, 'another trace');
    assert.equal(found(index, record('gpt-4o', 200, otherTrace)), undefined);
    assert.equal(found(index, record('gpt-4o', 200, root)), 'gpt-4o@100');
  });

  it('a root-level record finds the root-level request with the same request_data (the record has a trace of its own)', () => {
    const { add, request, record, index } = setup();
    const a = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a"}],"stream":true}';
    const b = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"b"}],"stream":true}';
    const requestA = request('gpt-4o-mini', 100, undefined, a);
    add(requestA);
    add(request('gpt-4o-mini', 200, undefined, b));
    const recordA = record('gpt-4o-mini', 300, undefined, a);
    assert.notEqual(recordA.spanContext().traceId, requestA.spanContext().traceId);
    assert.equal(found(index, recordA), 'gpt-4o-mini@100');
    assert.equal(found(index, record('gpt-4o-mini', 300, undefined, b)), 'gpt-4o-mini@200');
    assert.equal(found(index, record('gpt-4o-mini', 300, undefined, '{"other":true}')), undefined);
    assert.equal(found(index, record('gpt-4o-mini', 50, undefined, a)), undefined, 'started after the record');
    assert.equal(found(index, record('gpt-4o', 300, undefined, a)), undefined, 'the model must match too');
  });

  it('a root-level record without request_data finds nothing beyond its siblings', () => {
    const { add, request, source, index } = setup();
    add(request('gpt-4o-mini', 100));
    const { request_data: _data, ...attributes } = recordAttributes('gpt-4o-mini');
    const record = endedSpan(source, STREAM_TEMPLATE, attributes, { startTime: at(300) });
    assert.equal(found(index, record), undefined);
  });

  it('a record inside a span is never matched by request_data', () => {
    const { source, add, request, record, index } = setup();
    const data = '{"model":"gpt-4o-mini","stream":true}';
    add(request('gpt-4o-mini', 100, undefined, data));
    const job = parentSpan(source, 'job');
    assert.equal(found(index, record('gpt-4o-mini', 300, job, data)), undefined);
  });

  it('a request inside a span is not indexed by request_data', () => {
    const { source, add, request, record, index } = setup();
    const data = '{"model":"gpt-4o-mini","stream":true}';
    const job = parentSpan(source, 'job');
    add(request('gpt-4o-mini', 100, job, data));
    assert.equal(found(index, record('gpt-4o-mini', 300, undefined, data)), undefined);
    assert.equal(found(index, record('gpt-4o-mini', 300, job, data)), 'gpt-4o-mini@100', 'it is found as a sibling');
  });

  it('does not index a span without logfire.msg_template', () => {
    const { source, add, record, index } = setup();
    const root = parentSpan(source);
    const { 'logfire.msg_template': _t, ...plain } = requestAttributes('gpt-4o');
    add(endedSpan(source, 'chat gpt-4o', plain, { parent: root, startTime: at(100) }));
    add(endedSpan(source, 'chat gpt-4o', plain, { startTime: at(100) }));
    assert.equal(found(index, record('gpt-4o', 200, root)), undefined);
    assert.equal(found(index, record('gpt-4o', 200, undefined, plain['request_data'] as string)), undefined);
  });

  it('remove() takes a request out of both indexes and leaves the others', () => {
    const { source, add, request, record, index, added } = setup();
    const root = parentSpan(source);
    const first = request('gpt-4o', 100, root);
    const second = request('gpt-4o', 200, root);
    add(first);
    add(second);
    index.remove(added.get(second)!);
    assert.equal(found(index, record('gpt-4o', 300, root)), 'gpt-4o@100');
    index.remove(added.get(second)!); // twice: no-op
    index.remove({ span: second, key: spanKey(second), responseId: undefined }); // never added: no-op
    assert.equal(found(index, record('gpt-4o', 300, root)), 'gpt-4o@100');
    index.remove(added.get(first)!);
    assert.equal(found(index, record('gpt-4o', 300, root)), undefined);
    // The same span added again is found again (the emptied sets were dropped, not poisoned).
    add(first);
    assert.equal(found(index, record('gpt-4o', 300, root)), 'gpt-4o@100');

    const data = '{"model":"gpt-4o","stream":true}';
    const rootLevel = request('gpt-4o', 100, undefined, data);
    add(rootLevel);
    assert.equal(found(index, record('gpt-4o', 300, undefined, data)), 'gpt-4o@100');
    index.remove(added.get(rootLevel)!);
    assert.equal(found(index, record('gpt-4o', 300, undefined, data)), undefined);

    // Nothing is left behind: an index that kept empty sets per trace would grow with every trace.
    index.remove(added.get(first)!);
    for (const field of ['_entries', '_bySibling', '_byRequest']) {
      assert.equal((Reflect.get(index, field) as Map<unknown, unknown>).size, 0, `${field} is empty`);
    }
  });

  it('as an index of HeldSpans: a released request is no longer found', () => {
    const source = spanSource({ scope: 'logfire' });
    const clock = new FakeClock(0);
    const index = new LogfireRequests();
    const forwarded: string[] = [];
    const held = new HeldSpans(
      new ExpiryTimer(clock, () => {}),
      { holdMillis: 100, maxHeldSpans: 10, maxHeldBytes: 1 << 20 },
      (span) => forwarded.push(span.name),
      [index],
    );
    const root = parentSpan(source);
    const request = endedSpan(source, REQUEST_TEMPLATE, requestAttributes('gpt-4o'), {
      parent: root,
      startTime: at(100),
    });
    held.hold(request, undefined);
    const record = endedSpan(source, STREAM_TEMPLATE, recordAttributes('gpt-4o'), { parent: root, startTime: at(200) });
    const target = index.findRequest(record);
    assert.ok(target !== undefined && target.span === request, 'the held request is found');
    held.release(target, 'joined');
    assert.equal(index.findRequest(record), undefined);
    held.hold(request, undefined);
    clock.advance(100);
    assert.deepEqual(forwarded, [REQUEST_TEMPLATE, REQUEST_TEMPLATE]);
    assert.equal(index.findRequest(record), undefined, 'expiry removes it too');
  });

  it('orders requests that started less than 256 ns apart by their start time (a double of nanoseconds would tie them)', () => {
    const { source, add, index } = setup();
    const root = parentSpan(source);
    const before = endedSpan(source, REQUEST_TEMPLATE, requestAttributes('gpt-4o'), {
      parent: root,
      startTime: [SECOND, 100],
    });
    const after = endedSpan(source, REQUEST_TEMPLATE, requestAttributes('gpt-4o'), {
      parent: root,
      startTime: [SECOND, 500],
    });
    add(before);
    add(after);
    const record = endedSpan(source, STREAM_TEMPLATE, recordAttributes('gpt-4o'), {
      parent: root,
      startTime: [SECOND, 400],
    });
    assert.ok(index.findRequest(record)?.span === before, 'the request that started after the record was found');
  });
});
