/*
 * The JSON decoder on hand-written bodies: long integer literals, snake_case names, enum names, base64
 * bytes, special doubles, invalid ids (rejected, the rest kept), and wrong types (errors with a field path).
 * Where a plain value loses something (big ints, integral doubles), the exact value is checked through the
 * relay's JSON encoder, which writes it back.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { OtlpDecodeError, decodeTraceRequest } from '../../src/otlp/index.js';
import type { DecodeResult, RelaySpan } from '../../src/otlp/index.js';
import { encodeJsonTraceRequestText } from '../../src/otlp/encode-json.js';
import { quoteLongIntLiterals } from '../../src/otlp/json.js';
import { PARENT_ID, SPAN_ID, TRACE_ID } from './proto.js';

type Json = Record<string, unknown>;

function decodeText(text: string): DecodeResult {
  return decodeTraceRequest(new TextEncoder().encode(text), 'json');
}

function requestText(spans: string[]): string {
  return `{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"scope":{"name":"s"},"spans":[${spans.join(',')}]}]}]}`;
}

function spanJson(extra: Json = {}): Json {
  return {
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    name: 'span',
    startTimeUnixNano: '1787822507530918072',
    endTimeUnixNano: '1787822508000000001',
    ...extra,
  };
}

function only(result: DecodeResult): RelaySpan {
  assert.equal(result.rejected, 0, result.rejectionMessage);
  assert.equal(result.spans.length, 1);
  return result.spans[0];
}

function one(extra: Json = {}): RelaySpan {
  return only(decodeText(requestText([JSON.stringify(spanJson(extra))])));
}

/** The span's attributes as the relay's JSON encoder writes them back: key → AnyValue. */
function written(span: RelaySpan): Record<string, unknown> {
  const request = JSON.parse(encodeJsonTraceRequestText([span]));
  const list = request.resourceSpans[0].scopeSpans[0].spans[0].attributes as Array<{ key: string; value: unknown }>;
  return Object.fromEntries(list.map((kv) => [kv.key, kv.value]));
}

function throwsDecode(text: string, message: RegExp): void {
  assert.throws(
    () => decodeText(text),
    (error: unknown) => {
      assert.ok(error instanceof OtlpDecodeError, `an OtlpDecodeError, got ${String(error)}`);
      assert.match(error.message, message);
      return true;
    },
  );
}

describe('json: integers beyond 2^53', () => {
  it('times written as long number literals keep every nanosecond', () => {
    const text = requestText([
      `{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}","startTimeUnixNano":1787822507530918072,"endTimeUnixNano": 18446744073709551615 ,` +
        `"events":[{"timeUnixNano":1787822507530918073,"name":"e"}]}`,
    ]);
    // JSON.parse alone rounds it to a double, 72 ns off.
    assert.equal(
      BigInt(JSON.parse(text).resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano),
      1787822507530918144n,
    );
    const span = only(decodeText(text));
    assert.deepEqual(span.startTime, [1787822507, 530918072]);
    assert.deepEqual(span.endTime, [18446744073, 709551615]);
    assert.deepEqual(span.events[0].time, [1787822507, 530918073]);
  });

  it('times as strings or short numbers; an intValue beyond 2^53 is the nearest double, its exact value kept beside it', () => {
    const span = one({
      startTimeUnixNano: 1000000001,
      endTimeUnixNano: '18446744073709551615',
      attributes: [
        { key: 'literal', value: { intValue: 1 } },
        { key: 'string', value: { intValue: '-9223372036854775808' } },
        { key: 'max', value: { intValue: '9223372036854775807' } },
        { key: 'minus zero', value: { intValue: -0 } },
      ],
    });
    assert.deepEqual(span.startTime, [1, 1]);
    assert.deepEqual(span.endTime, [18446744073, 709551615]);
    assert.equal(span.attributes['string'], -(2 ** 63));
    assert.equal(span.attributes['max'], 2 ** 63);
    assert.ok(Object.is(span.attributes['minus zero'], 0), 'an int has no -0');
    assert.deepEqual(written(span), {
      literal: { intValue: '1' },
      string: { intValue: '-9223372036854775808' },
      max: { intValue: '9223372036854775807' },
      'minus zero': { intValue: '0' },
    });
    // A literal: quoted before JSON.parse, so its digits survive too.
    const text = requestText([
      JSON.stringify(spanJson()).replace(
        /}$/,
        ',"attributes":[{"key":"big","value":{"intValue":9007199254740993}},{"key":"neg","value":{"intValue": -9007199254740993 }}]}',
      ),
    ]);
    const literal = only(decodeText(text));
    assert.equal(literal.attributes['big'], 2 ** 53);
    assert.deepEqual(written(literal), {
      big: { intValue: '9007199254740993' },
      neg: { intValue: '-9007199254740993' },
    });
  });

  it('quoteLongIntLiterals quotes time and intValue literals of 16+ digits only', () => {
    const cases: Array<[string, string]> = [
      ['{"startTimeUnixNano":1234567890123456}', '{"startTimeUnixNano":"1234567890123456"}'],
      ['{"startTimeUnixNano":123456789012345}', '{"startTimeUnixNano":123456789012345}'], // 15 digits are exact
      ['{"end_time_unix_nano" : 12345678901234567 , "x":1}', '{"end_time_unix_nano" : "12345678901234567" , "x":1}'],
      ['{"timeUnixNano":12345678901234567}', '{"timeUnixNano":"12345678901234567"}'],
      ['{"intValue":12345678901234567}', '{"intValue":"12345678901234567"}'],
      ['{"int_value": -12345678901234567}', '{"int_value": "-12345678901234567"}'],
      ['{"intValue":123456789012345}', '{"intValue":123456789012345}'],
      ['{"doubleValue":12345678901234567}', '{"doubleValue":12345678901234567}'], // a double anyway
      // Inside a string the quote before ':' is escaped, so nothing there matches.
      ['{"s":"{\\"startTimeUnixNano\\":12345678901234567}"}', '{"s":"{\\"startTimeUnixNano\\":12345678901234567}"}'],
      ['{"startTimeUnixNano":12345678901234567.5}', '{"startTimeUnixNano":12345678901234567.5}'],
      ['{"startTimeUnixNano":12345678901234567e3}', '{"startTimeUnixNano":12345678901234567e3}'],
    ];
    for (const [input, expected] of cases) {
      assert.equal(quoteLongIntLiterals(input), expected, input);
      assert.doesNotThrow(() => JSON.parse(quoteLongIntLiterals(input)));
    }
    const unchanged = '{"startTimeUnixNano":"1787822507530918072"}';
    assert.equal(quoteLongIntLiterals(unchanged), unchanged);
  });

  it('an out-of-range uint64 time is an error; an intValue outside int64 is the double the SDK wrote it for', () => {
    throwsDecode(
      requestText([JSON.stringify(spanJson({ endTimeUnixNano: '18446744073709551616' }))]),
      /spans\[0\]\.endTimeUnixNano: expected a uint64 of nanoseconds, got the string "18446744073709551616"$/,
    );
    // JsonTraceSerializer writes 2 ** 63 and 1e300 as intValue: 9223372036854776000 and 1e+300.
    const text = requestText([
      JSON.stringify(spanJson()).replace(
        /}$/,
        ',"attributes":[{"key":"a","value":{"intValue":9223372036854776000}},{"key":"b","value":{"intValue":1e+300}},{"key":"c","value":{"intValue":"-9223372036854775809"}}]}',
      ),
    ]);
    const span = only(decodeText(text));
    assert.deepEqual(span.attributes, { a: 2 ** 63, b: 1e300, c: -(2 ** 63) });
    // Written back as doubles: an intValue outside int64 would be rejected by a strict receiver.
    assert.deepEqual(written(span), {
      a: { doubleValue: 2 ** 63 },
      b: { doubleValue: 1e300 },
      c: { doubleValue: -(2 ** 63) },
    });
    throwsDecode(
      requestText([JSON.stringify(spanJson({ attributes: [{ key: 'i', value: { intValue: '1'.repeat(400) } }] }))]),
      /intValue: expected an integer/,
    );
  });
});

describe('json: names, enums, ids, values', () => {
  it('accepts the original snake_case field names', () => {
    const text = JSON.stringify({
      resource_spans: [
        {
          resource: {
            attributes: [{ key: 'service.name', value: { string_value: 'svc' } }],
            dropped_attributes_count: 0,
          },
          schema_url: 'https://r',
          scope_spans: [
            {
              scope: { name: 'scope', version: '1', dropped_attributes_count: 0 },
              schema_url: 'https://s',
              spans: [
                {
                  trace_id: TRACE_ID,
                  span_id: SPAN_ID,
                  parent_span_id: PARENT_ID,
                  trace_state: 'k=v',
                  name: 'snake',
                  start_time_unix_nano: '5',
                  end_time_unix_nano: '7',
                  attributes: [
                    { key: 'i', value: { int_value: '3' } },
                    { key: 'd', value: { double_value: 1.5 } },
                    { key: 'b', value: { bool_value: true } },
                    { key: 'a', value: { array_value: { values: [{ string_value: 'x' }] } } },
                    { key: 'kv', value: { kvlist_value: { values: [{ key: 'k', value: { bytes_value: 'AQI=' } }] } } },
                  ],
                  dropped_attributes_count: 1,
                  events: [{ time_unix_nano: '6', name: 'e', dropped_attributes_count: 2 }],
                  dropped_events_count: 3,
                  links: [{ trace_id: TRACE_ID, span_id: PARENT_ID, trace_state: 'l=1', dropped_attributes_count: 4 }],
                  dropped_links_count: 5,
                },
              ],
            },
          ],
        },
      ],
    });
    const span = only(decodeText(text));
    assert.equal(span.name, 'snake');
    assert.equal(span.spanContext().traceState?.serialize(), 'k=v');
    assert.equal(span.parentSpanContext?.spanId, PARENT_ID);
    assert.deepEqual(
      [span.startTime, span.endTime],
      [
        [0, 5],
        [0, 7],
      ],
    );
    assert.deepEqual(span.attributes, { i: 3, d: 1.5, b: true, a: ['x'], kv: { k: Uint8Array.of(1, 2) } });
    assert.deepEqual([span.droppedAttributesCount, span.droppedEventsCount, span.droppedLinksCount], [1, 3, 5]);
    assert.deepEqual(span.events, [{ name: 'e', attributes: {}, time: [0, 6], droppedAttributesCount: 2 }]);
    assert.equal(span.links[0].context.traceState?.serialize(), 'l=1');
    assert.equal(span.links[0].droppedAttributesCount, 4);
    assert.deepEqual(span.instrumentationScope, { name: 'scope', version: '1', schemaUrl: 'https://s' });
    assert.equal(span.resource.schemaUrl, 'https://r');
    assert.deepEqual(span.resource.attributes, { 'service.name': 'svc' });
  });

  it('enums as integers, names or decimal strings; an unknown name is an error', () => {
    assert.equal(one({ kind: 3 }).kind, SpanKind.CLIENT);
    assert.equal(one({ kind: 'SPAN_KIND_CONSUMER' }).kind, SpanKind.CONSUMER);
    assert.equal(one({ kind: '2' }).kind, SpanKind.SERVER);
    assert.equal(one({ kind: 'SPAN_KIND_UNSPECIFIED' }).kind, SpanKind.INTERNAL);
    assert.deepEqual(one({ status: { code: 'STATUS_CODE_ERROR', message: 'm' } }).status, {
      code: SpanStatusCode.ERROR,
      message: 'm',
    });
    assert.deepEqual(one({ status: { code: 1 } }).status, { code: SpanStatusCode.OK });
    throwsDecode(
      requestText([JSON.stringify(spanJson({ kind: 'SERVER' }))]),
      /spans\[0\]\.kind: expected an integer or a SpanKind name, got the string "SERVER"$/,
    );
    throwsDecode(
      requestText([JSON.stringify(spanJson({ status: { code: 1.5 } }))]),
      /spans\[0\]\.status\.code: expected an integer or a StatusCode name, got the number 1.5$/,
    );
  });

  it('bytesValue in base64, standard or URL-safe, padded or not; anything else is an error', () => {
    const value = (bytesValue: string): unknown =>
      one({ attributes: [{ key: 'b', value: { bytesValue } }] }).attributes['b'];
    assert.deepEqual(value('AAEC/w=='), Uint8Array.of(0, 1, 2, 255));
    assert.deepEqual(value('AAEC_w'), Uint8Array.of(0, 1, 2, 255));
    assert.deepEqual(value('AAEC/w'), Uint8Array.of(0, 1, 2, 255));
    assert.deepEqual(value(''), new Uint8Array(0));
    for (const bad of ['A', '!!!!', 'AA=A', 'AAE=C']) {
      throwsDecode(
        requestText([JSON.stringify(spanJson({ attributes: [{ key: 'b', value: { bytesValue: bad } }] }))]),
        /attributes\[0\]\.value\.bytesValue: expected base64/,
      );
    }
  });

  it('doubleValue as a number, "NaN", "Infinity", "-Infinity" or a decimal string', () => {
    const attributes = one({
      attributes: [
        { key: 'n', value: { doubleValue: 'NaN' } },
        { key: 'p', value: { doubleValue: 'Infinity' } },
        { key: 'm', value: { doubleValue: '-Infinity' } },
        { key: 's', value: { doubleValue: '2.5' } },
        { key: 'x', value: { doubleValue: 1e300 } },
      ],
    }).attributes;
    assert.deepEqual(attributes, { n: NaN, p: Infinity, m: -Infinity, s: 2.5, x: 1e300 });
    // Integral doubles and -0 stay doubles: `1`, `2.0` and `"3"` in doubleValue, -0.0.
    const integral = one({
      attributes: [
        { key: 'one', value: { doubleValue: 1 } },
        { key: 'two', value: { doubleValue: '2.0' } },
        { key: 'zero', value: { doubleValue: 0 } },
        { key: 'minus zero', value: { doubleValue: '-0' } }, // JSON.stringify would write -0 as 0
        { key: 'list', value: { arrayValue: { values: [{ doubleValue: 1 }, { doubleValue: 2.5 }] } } },
      ],
    });
    assert.deepEqual(integral.attributes, { one: 1, two: 2, zero: 0, 'minus zero': -0, list: [1, 2.5] });
    assert.deepEqual(written(integral), {
      one: { doubleValue: 1 },
      two: { doubleValue: 2 },
      zero: { doubleValue: 0 },
      'minus zero': { doubleValue: -0 },
      list: { arrayValue: { values: [{ doubleValue: 1 }, { doubleValue: 2.5 }] } },
    });
    assert.match(encodeJsonTraceRequestText([integral]), /"key":"minus zero","value":\{"doubleValue":-0\.0\}/);
    throwsDecode(
      requestText([JSON.stringify(spanJson({ attributes: [{ key: 'd', value: { doubleValue: 'nan' } }] }))]),
      /doubleValue: expected a number/,
    );
  });

  it('ids are case-insensitive hex, lowercased; flags, trace state and parent as in protobuf', () => {
    const span = one({
      traceId: TRACE_ID.toUpperCase(),
      spanId: SPAN_ID.toUpperCase(),
      parentSpanId: PARENT_ID,
      flags: 0x301,
      traceState: 'a=b',
    });
    assert.deepEqual(span.spanContext().traceId, TRACE_ID);
    assert.deepEqual(span.spanContext().spanId, SPAN_ID);
    assert.deepEqual(span.parentSpanContext, {
      traceId: TRACE_ID,
      spanId: PARENT_ID,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    assert.equal(one({}).spanContext().traceFlags, TraceFlags.SAMPLED);
    assert.equal(one({ flags: 256 }).spanContext().traceFlags, TraceFlags.SAMPLED);
    assert.equal(one({ flags: 0x102 }).spanContext().traceFlags, 0x02);
    assert.equal(one({ parentSpanId: '' }).parentSpanContext, undefined);
    assert.equal(one({ parentSpanId: '0000000000000000' }).parentSpanContext, undefined);
  });

  it('invalid ids reject the span (counted, with a message), the other spans are kept', () => {
    const result = decodeText(
      requestText([
        JSON.stringify(spanJson({ name: 'good 1' })),
        JSON.stringify(spanJson({ traceId: undefined })),
        JSON.stringify(spanJson({ spanId: '' })),
        JSON.stringify(spanJson({ traceId: TRACE_ID.slice(2) })),
        JSON.stringify(spanJson({ traceId: '0'.repeat(32) })),
        JSON.stringify(spanJson({ parentSpanId: 'abcd' })),
        JSON.stringify(spanJson({ name: 'good 2' })),
      ]),
    );
    assert.deepEqual(
      result.spans.map((s) => s.name),
      ['good 1', 'good 2'],
    );
    assert.equal(result.rejected, 5);
    assert.equal(
      result.rejectionMessage,
      '5 invalid spans rejected: resourceSpans[0].scopeSpans[0].spans[1]: traceId is 0 bytes, expected 16 (and 4 more)',
    );
  });

  it('an id that is not hex rejects its span only, as a wrong-length id does in protobuf; not a string is an error', () => {
    const result = decodeText(
      requestText([
        JSON.stringify(spanJson({ name: 'good 1' })),
        JSON.stringify(spanJson({ traceId: 'CvdlGRbNQ92ESOshHIAxnA==' })),
        JSON.stringify(spanJson({ spanId: 'abc' })),
        JSON.stringify(spanJson({ parentSpanId: 'not hex!' })),
        JSON.stringify(spanJson({ links: [{ traceId: TRACE_ID, spanId: 'zz' }] })),
        JSON.stringify(spanJson({ name: 'good 2', links: [{ traceId: 'abcd', spanId: '' }] })),
      ]),
    );
    assert.deepEqual(
      result.spans.map((s) => s.name),
      ['good 1', 'good 2'],
    );
    assert.equal(result.rejected, 4);
    assert.equal(
      result.rejectionMessage,
      '4 invalid spans rejected: resourceSpans[0].scopeSpans[0].spans[1]: traceId "CvdlGRbNQ92ESOshHIAxnA==" is not ' +
        'an even number of hex digits (OTLP/JSON ids are hex, not base64) (and 3 more)',
    );
    // Link ids of any length are kept, as in protobuf.
    assert.equal(result.spans[1].links[0].context.traceId, 'abcd');
    for (const [field, message] of [
      ['spanId', /spans\[0\]\.spanId: expected a hex string, got the number 7$/],
      ['parentSpanId', /spans\[0\]\.parentSpanId: expected a hex string, got an object$/],
    ] as const) {
      throwsDecode(requestText([JSON.stringify(spanJson({ [field]: field === 'spanId' ? 7 : {} }))]), message);
    }
    throwsDecode(
      requestText([JSON.stringify(spanJson({ links: [{ traceId: [] }] }))]),
      /spans\[0\]\.links\[0\]\.traceId: expected a hex string, got an array$/,
    );
  });

  it('null is the default, unknown keys are ignored, a byte order mark is dropped', () => {
    const span = only(
      decodeText(
        '\uFEFF' +
          requestText([
            JSON.stringify(
              spanJson({
                parentSpanId: null,
                kind: null,
                attributes: null,
                events: null,
                status: null,
                futureField: { x: [1] },
                flags: null,
              }),
            ),
          ]),
      ),
    );
    assert.equal(span.parentSpanContext, undefined);
    assert.equal(span.kind, SpanKind.INTERNAL);
    assert.deepEqual(span.attributes, {});
    assert.deepEqual(span.status, { code: SpanStatusCode.UNSET });
    assert.deepEqual(decodeText('{}'), { spans: [], rejected: 0 });
    assert.deepEqual(decodeText('{"resourceSpans":[]}'), { spans: [], rejected: 0 });
  });

  it('kvlists nest 64 deep; 65 is an error', () => {
    const nested = (depth: number): Json => {
      let value: Json = { stringValue: 'deep' };
      for (let i = 1; i < depth; i++) value = { kvlistValue: { values: [{ key: 'k', value }] } };
      return value;
    };
    let value: unknown = one({ attributes: [{ key: 'd', value: nested(64) }] }).attributes['d'];
    for (let i = 1; i < 64; i++) value = (value as Record<string, unknown>)['k'];
    assert.equal(value, 'deep');
    throwsDecode(
      requestText([JSON.stringify(spanJson({ attributes: [{ key: 'd', value: nested(65) }] }))]),
      /AnyValue nested deeper than 64$/,
    );
  });
});

describe('json: malformed bodies are OtlpDecodeErrors with a field path', () => {
  const span = (extra: Json): string => requestText([JSON.stringify(spanJson(extra))]);
  const cases: Array<[string, string, RegExp]> = [
    ['not JSON', '{"resourceSpans":[', /^json: /],
    ['an empty body', '', /^json: /],
    ['a top-level array', '[]', /^json: expected an ExportTraceServiceRequest object, got an array$/],
    ['resourceSpans not an array', '{"resourceSpans":{}}', /^json: resourceSpans: expected an array, got an object$/],
    [
      'a ResourceSpans that is a number',
      '{"resourceSpans":[5]}',
      /^json: resourceSpans\[0\]: expected a ResourceSpans object, got the number 5$/,
    ],
    [
      'a string span',
      requestText(['"span"']),
      /^json: resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]: expected a Span object/,
    ],
    ['a numeric name', span({ name: 5 }), /spans\[0\]\.name: expected a string, got the number 5$/],
    [
      'attributes as an object',
      span({ attributes: { k: 'v' } }),
      /spans\[0\]\.attributes: expected an array, got an object$/,
    ],
    [
      'a fractional time',
      span({ startTimeUnixNano: 1.5 }),
      /spans\[0\]\.startTimeUnixNano: expected a uint64 of nanoseconds, got the number 1.5$/,
    ],
    ['a negative time', span({ startTimeUnixNano: '-1' }), /startTimeUnixNano: expected a uint64 of nanoseconds/],
    [
      'a negative count',
      span({ droppedAttributesCount: -1 }),
      /spans\[0\]\.droppedAttributesCount: expected a uint32, got the number -1$/,
    ],
    ['a count over uint32', span({ droppedLinksCount: 2 ** 32 }), /droppedLinksCount: expected a uint32/],
    [
      'a bool as a string',
      span({ attributes: [{ key: 'b', value: { boolValue: 'true' } }] }),
      /attributes\[0\]\.value\.boolValue: expected a boolean/,
    ],
    [
      'a fractional intValue',
      span({ attributes: [{ key: 'i', value: { intValue: 1.5 } }] }),
      /attributes\[0\]\.value\.intValue: expected an integer, got the number 1.5$/,
    ],
    [
      'a KeyValue that is a string',
      span({ attributes: ['k=v'] }),
      /attributes\[0\]: expected a KeyValue object, got the string "k=v"$/,
    ],
    [
      'an AnyValue that is a string',
      span({ attributes: [{ key: 'k', value: 'v' }] }),
      /attributes\[0\]\.value: expected an AnyValue object/,
    ],
    [
      'a bad value deep in a kvlist in an array',
      span({
        attributes: [
          {
            key: 'k',
            value: { arrayValue: { values: [{ kvlistValue: { values: [{ key: 'x', value: { stringValue: 1 } }] } }] } },
          },
        ],
      }),
      /attributes\[0\]\.value\.arrayValue\.values\[0\]\.kvlistValue\.values\[0\]\.value\.stringValue: expected a string, got the number 1$/,
    ],
    [
      'a bad event time',
      span({ events: [{ name: 'e', timeUnixNano: 'soon' }] }),
      /spans\[0\]\.events\[0\]\.timeUnixNano: expected a uint64/,
    ],
    ['status as a string', span({ status: 'ERROR' }), /spans\[0\]\.status: expected an object/],
    [
      'a bad scope name',
      '{"resourceSpans":[{"scopeSpans":[{"scope":{"name":1}}]}]}',
      /^json: resourceSpans\[0\]\.scopeSpans\[0\]\.scope\.name: expected a string/,
    ],
    [
      'a bad resource attribute',
      '{"resourceSpans":[{"resource":{"attributes":[1]}}]}',
      /^json: resourceSpans\[0\]\.resource\.attributes\[0\]: expected a KeyValue object/,
    ],
    ['deeply nested arrays', '{"resourceSpans":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}', /^json: /],
  ];
  for (const [what, text, message] of cases) {
    it(what, () => throwsDecode(text, message));
  }
});
