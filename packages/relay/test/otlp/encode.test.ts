/*
 * The relay's encoders on hand-built cases: when an exact value is written and when the plain one is (the
 * attribute still holds the value it was decoded with, or not), repeated keys, the resource as decoded, scopes
 * kept apart by identity, lone surrogates in JSON, and int64 bit patterns. Outputs are read through JSON.parse
 * (readable) and through protobuf bytes compared with a hand-built body (proto.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { encodeJsonTraceRequestText } from '../../src/otlp/encode-json.js';
import { encodeProtobufTraceRequest } from '../../src/otlp/encode-protobuf.js';
import { decodeTraceRequest } from '../../src/otlp/index.js';
import type { RelaySpan } from '../../src/otlp/index.js';
import { bytes, double, fixed32, fixed64, hex, keyValue, msg, request, spanBody, str, sub, varint } from './proto.js';
import { SPAN_ID, TRACE_ID } from './proto.js';

type Json = Record<string, unknown>;

function decodeJson(body: Json): RelaySpan[] {
  const result = decodeTraceRequest(new TextEncoder().encode(JSON.stringify(body)), 'json');
  assert.equal(result.rejected, 0, result.rejectionMessage);
  return result.spans;
}

function spanJson(attributes: unknown[], spanId = SPAN_ID): Json {
  return {
    traceId: TRACE_ID,
    spanId,
    name: 'span',
    startTimeUnixNano: '1',
    endTimeUnixNano: '2',
    attributes,
  };
}

function oneSpan(attributes: unknown[]): RelaySpan {
  const spans = decodeJson({
    resourceSpans: [{ scopeSpans: [{ scope: { name: 's' }, spans: [spanJson(attributes)] }] }],
  });
  return spans[0];
}

/** The relay's JSON encoding of the spans, parsed. */
function written(spans: RelaySpan[]): { resourceSpans: Array<Json & { scopeSpans: Array<Json & { spans: Json[] }> }> } {
  return JSON.parse(encodeJsonTraceRequestText(spans));
}

function writtenAttributes(span: RelaySpan): Record<string, unknown> {
  const list = written([span]).resourceSpans[0].scopeSpans[0].spans[0]['attributes'] as Array<{
    key: string;
    value: unknown;
  }>;
  return Object.fromEntries(list.map((kv) => [kv.key, kv.value]));
}

describe('relay encoders: exact values', () => {
  it('an exact value is written while the attribute holds the value it was decoded with', () => {
    const span = oneSpan([
      { key: 'd', value: { doubleValue: 1 } },
      { key: 'i', value: { intValue: '9007199254740993' } },
      { key: 'list', value: { arrayValue: { values: [{ doubleValue: 1 }, { doubleValue: 2.5 }] } } },
      { key: 'kv', value: { kvlistValue: { values: [{ key: 'n', value: { doubleValue: 3 } }] } } },
    ]);
    assert.deepEqual(writtenAttributes(span), {
      d: { doubleValue: 1 },
      i: { intValue: '9007199254740993' },
      list: { arrayValue: { values: [{ doubleValue: 1 }, { doubleValue: 2.5 }] } },
      kv: { kvlistValue: { values: [{ key: 'n', value: { doubleValue: 3 } }] } },
    });
    const attributes = span.attributes as Record<string, unknown>;
    attributes['d'] = 2; // rewritten: the plain value
    attributes['i'] = 7;
    attributes['list'] = [1, 2.5]; // an equal but new array is a new value
    attributes['kv'] = { n: 3 };
    assert.deepEqual(writtenAttributes(span), {
      d: { intValue: '2' },
      i: { intValue: '7' },
      list: { arrayValue: { values: [{ intValue: '1' }, { doubleValue: 2.5 }] } },
      kv: { kvlistValue: { values: [{ key: 'n', value: { intValue: '3' } }] } },
    });
    attributes['d'] = 1; // the decoded value again
    assert.deepEqual(writtenAttributes(span)['d'], { doubleValue: 1 });
  });

  it('a replaced attribute map keeps the exact values of the keys it carries over; new keys are plain', () => {
    const span = oneSpan([
      { key: 'd', value: { doubleValue: 1 } },
      { key: 'gen_ai.request.top_k', value: { intValue: '40' } },
    ]);
    const writable = span as { attributes: Record<string, unknown> };
    writable.attributes = { ...span.attributes, 'gen_ai.request.frequency_penalty': 1, added: 1 };
    assert.deepEqual(writtenAttributes(span), {
      d: { doubleValue: 1 },
      'gen_ai.request.top_k': { intValue: '40' }, // received there as an int: kept
      'gen_ai.request.frequency_penalty': { doubleValue: 1 }, // written by enrichment under a double-typed key
      added: { intValue: '1' },
    });
  });

  it('a repeated key keeps its last value, exact or plain', () => {
    for (const [first, second, expected] of [
      [double(4, 1), varint(3, 1), { intValue: '1' }],
      [varint(3, 1), double(4, 1), { doubleValue: 1 }],
    ] as const) {
      const body = request(spanBody(sub(9, keyValue('k', first)), sub(9, keyValue('k', second))));
      const span = decodeTraceRequest(body, 'protobuf').spans[0];
      assert.deepEqual(writtenAttributes(span), { k: expected });
    }
  });

  it('int64 and double bit patterns: protobuf bytes as a hand-built body has them', () => {
    const values = [
      varint(3, -1),
      varint(3, -(2n ** 63n)),
      varint(3, 2n ** 63n - 1n),
      varint(3, 2n ** 32n),
      varint(3, -(2n ** 32n) - 1n),
      double(4, -0),
      double(4, 2 ** 63),
      double(4, NaN),
      double(4, -Infinity),
    ];
    const spans = decodeTraceRequest(
      request(...values.map((v, i) => spanBody(sub(9, keyValue(`a${i}`, v))))),
      'protobuf',
    ).spans;
    // Each span as the relay writes it (fields in the SDK's order and with its defaults), the value as sent;
    // the resource with its dropped count, 0 included, as the SDK writes it.
    const canonical = values.map((v, i) =>
      msg(
        bytes(1, hex(TRACE_ID)),
        bytes(2, hex(SPAN_ID)),
        str(5, 'span'),
        varint(6, 1),
        fixed64(7, 1787822507530918072n),
        fixed64(8, 1787822508000000001n),
        sub(9, keyValue(`a${i}`, v)),
        varint(10, 0),
        varint(12, 0),
        varint(14, 0),
        sub(15, varint(3, 0)),
        fixed32(16, 0x101),
      ),
    );
    const expected = sub(
      1,
      sub(1, sub(1, keyValue('service.name', str(1, 'svc'))), varint(2, 0)),
      sub(2, sub(1, str(1, 'scope')), ...canonical.map((span) => sub(2, span))),
    );
    assert.equal(Buffer.from(encodeProtobufTraceRequest(spans)).toString('hex'), Buffer.from(expected).toString('hex'));
    const json = written(spans).resourceSpans[0].scopeSpans[0].spans.map(
      (s) => (s['attributes'] as Json[])[0]['value'],
    );
    assert.deepEqual(json, [
      { intValue: '-1' },
      { intValue: '-9223372036854775808' },
      { intValue: '9223372036854775807' },
      { intValue: '4294967296' },
      { intValue: '-4294967297' },
      { doubleValue: -0 },
      { doubleValue: 2 ** 63 },
      { doubleValue: 'NaN' },
      { doubleValue: '-Infinity' },
    ]);
    assert.ok(Object.is((json[5] as { doubleValue: number }).doubleValue, -0));
  });
});

describe('relay encoders: structure', () => {
  it('two scopes that differ only in attributes stay two ScopeSpans; the resource keeps empty values and its dropped count', () => {
    const spans = decodeJson({
      resourceSpans: [
        {
          resource: {
            attributes: [
              { key: 'empty', value: {} },
              { key: 'n', value: { doubleValue: 2 } },
            ],
            droppedAttributesCount: 3,
          },
          scopeSpans: [
            {
              scope: { name: 's', version: '1', attributes: [{ key: 'a', value: { intValue: '1' } }] },
              spans: [spanJson([])],
            },
            {
              scope: { name: 's', version: '1', attributes: [{ key: 'a', value: { intValue: '2' } }] },
              spans: [spanJson([], 'b7ad6b7169203332')],
            },
          ],
        },
      ],
    });
    const json = written(spans);
    assert.deepEqual(json.resourceSpans[0]['resource'], {
      attributes: [
        { key: 'empty', value: {} },
        { key: 'n', value: { doubleValue: 2 } },
      ],
      droppedAttributesCount: 3,
    });
    assert.deepEqual(
      json.resourceSpans[0].scopeSpans.map((s) => s['scope']),
      [
        { name: 's', version: '1', attributes: [{ key: 'a', value: { intValue: '1' } }] },
        { name: 's', version: '1', attributes: [{ key: 'a', value: { intValue: '2' } }] },
      ],
    );
    const viaProtobuf = decodeTraceRequest(encodeProtobufTraceRequest(spans), 'protobuf').spans;
    assert.notEqual(viaProtobuf[0].instrumentationScope, viaProtobuf[1].instrumentationScope);
    assert.deepEqual(written(viaProtobuf), json);
  });

  it('a Resource the decoders did not make is written from its own attributes', () => {
    const [span] = decodeJson({ resourceSpans: [{ scopeSpans: [{ scope: { name: 's' }, spans: [spanJson([])] }] }] });
    (span as { resource: unknown }).resource = resourceFromAttributes({ 'service.name': 'x' });
    assert.deepEqual(written([span]).resourceSpans[0]['resource'], {
      attributes: [{ key: 'service.name', value: { stringValue: 'x' } }],
      droppedAttributesCount: 0,
    });
  });

  it('JSON: a lone surrogate (only JSON can bring one in) becomes U+FFFD, so the output is valid UTF-8', () => {
    const span = oneSpan([{ key: 'k', value: { stringValue: 'a\ud800b' } }]);
    (span as { name: string }).name = 'x\udc00';
    const text = encodeJsonTraceRequestText([span]);
    assert.doesNotMatch(text, /\\ud[89a-f]/i);
    const parsed = JSON.parse(text);
    assert.equal(parsed.resourceSpans[0].scopeSpans[0].spans[0].name, 'x\ufffd');
    assert.deepEqual(writtenAttributes(span), { k: { stringValue: 'a\ufffdb' } });
    // A string that only looks like an escape is left alone.
    const lookalike = oneSpan([{ key: 'k', value: { stringValue: '\\ud800 and 😀' } }]);
    assert.deepEqual(writtenAttributes(lookalike), { k: { stringValue: '\\ud800 and 😀' } });
  });
});
