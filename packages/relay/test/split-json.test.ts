/*
 * decodeInSlices on OTLP/JSON bodies (split-json.ts) against decodeTraceRequest: a body decoded a piece at a
 * time gives the same spans, in the same order, grouped the same way, written back to the same bytes by the
 * relay's exact encoder. Checked on real SDK spans, on hand-written bodies that put members in every order,
 * spell keys in snake_case or with escapes, and hide quotes and brackets in strings; on bodies that must be
 * refused (same error as the whole decode); and, by fast-check, on arbitrary cuts and byte changes of a
 * valid body, where the sliced decode must agree with the whole one whatever it makes of them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import fc from 'fast-check';
import { OtlpDecodeError, decodeTraceRequest, encodeTraceRequest } from '../src/otlp/index.js';
import type { DecodeResult } from '../src/otlp/index.js';
import { decodeInSlices } from '../src/split-request.js';
import { sdkSpans } from './otlp/sdk-spans.js';

const utf8 = new TextEncoder();
const TRACE_ID = '5b8efff798038103d269b633813fc60c';

/** Both decodes, each as its spans written back, or the error it threw. */
async function both(body: Uint8Array, slice: number): Promise<[string, string]> {
  const show = (result: DecodeResult): string =>
    JSON.stringify({
      rejected: result.rejected,
      message: result.rejectionMessage,
      resources: new Set(result.spans.map((s) => s.resource)).size,
      scopes: new Set(result.spans.map((s) => s.instrumentationScope)).size,
      body: Buffer.from(encodeTraceRequest(result.spans, 'json')).toString(),
    });
  const failure = (error: unknown): string => {
    assert.ok(error instanceof OtlpDecodeError, `only OtlpDecodeError is thrown, got ${String(error)}`);
    return `error: ${error.message}`;
  };
  let whole: string;
  try {
    whole = show(decodeTraceRequest(body, 'json'));
  } catch (error) {
    whole = failure(error);
  }
  let sliced: string;
  try {
    sliced = show(await decodeInSlices(body, slice, 0, 'json'));
  } catch (error) {
    sliced = failure(error);
  }
  return [sliced, whole];
}

async function assertSameAsWhole(body: Uint8Array | string, slice: number): Promise<string> {
  const bytes = typeof body === 'string' ? utf8.encode(body) : body;
  const [sliced, whole] = await both(bytes, slice);
  assert.equal(sliced, whole);
  return whole;
}

function span(n: number, extra = ''): string {
  const id = n.toString(16).padStart(16, '0');
  return `{"traceId":"${TRACE_ID}","spanId":"${id}","name":"span ${n}"${extra},"startTimeUnixNano":"1787822507530918072","endTimeUnixNano":"${1787822508000000000n + BigInt(n)}"}`;
}

describe('decodeInSlices on OTLP/JSON', () => {
  it('gives what decodeTraceRequest gives on real SDK spans, at every slice size', async () => {
    const spans = Array.from({ length: 5 }, () => sdkSpans()).flat();
    const body = JsonTraceSerializer.serializeRequest(spans)!;
    for (const slice of [1, 2, 3, 7, 16, spans.length - 1, spans.length, spans.length + 1]) {
      await assertSameAsWhole(body, slice);
    }
  });

  it('keeps every other member, in any order and spelling, in every piece', async () => {
    const spans = Array.from({ length: 12 }, (_, i) =>
      span(i + 1, i === 4 ? ',"attributes":[{"key":"q\\"}]{[","value":{"stringValue":"a \\\\\\" ]} \\\\"}}]' : ''),
    );
    const body = ` \n{ "unknown" : [ {"x": "}]"} ], "resource_spans" : [ {
      "scope_spans": [ { "spans": [ ${spans.slice(0, 7).join(' , ')} ],
                         "scope": { "name": "scope", "version": "1.0" }, "schema_url": "https://schema/1" },
                       { "sp\\u0061ns": [ ${spans.slice(7).join(',')} ], "scope": { "name": "other" } } ],
      "resource": { "attributes": [ { "key": "service.name", "value": { "stringValue": "svc" } } ] },
      "schemaUrl": "https://resource-schema/1" } ] } \n`;
    for (const slice of [1, 2, 4, 5, 7, 11, 12]) await assertSameAsWhole(body, slice);
    const sliced = await decodeInSlices(utf8.encode(body), 4, 0, 'json');
    assert.equal(sliced.spans.length, 12);
    assert.equal(sliced.spans[0].instrumentationScope.name, 'scope');
    assert.equal(sliced.spans[0].instrumentationScope.schemaUrl, 'https://schema/1');
    assert.equal(sliced.spans[11].instrumentationScope.name, 'other');
    assert.equal(sliced.spans[0].resource.attributes['service.name'], 'svc');
    assert.equal(sliced.spans[4].attributes['q"}]{['], 'a \\" ]} \\');
  });

  it('counts rejected spans as the whole decode does', async () => {
    const bad = span(0); // an all-zero span id: rejected, the rest kept
    const body = `{"resourceSpans":[{"scopeSpans":[{"spans":[${[span(1), bad, span(2), span(3), bad, span(4)].join(',')}]}]}]}`;
    await assertSameAsWhole(body, 2);
    assert.equal((await decodeInSlices(utf8.encode(body), 2, 0, 'json')).rejected, 2);
    // The first rejected span is named where it is in the whole request, not in its piece.
    const scopes = (...lists: string[][]): string => lists.map((l) => `{"spans":[${l.join(',')}]}`).join(',');
    const later = `{"resourceSpans":[{"scopeSpans":[${scopes([span(5)], [span(6)])}]},{"scopeSpans":[${scopes([], [span(7)], [span(8), span(9), bad, span(10)])}]}]}`;
    for (const slice of [1, 2, 3, 4]) await assertSameAsWhole(later, slice);
    assert.match(
      (await decodeInSlices(utf8.encode(later), 2, 0, 'json')).rejectionMessage!,
      /^1 invalid span rejected: resourceSpans\[1\]\.scopeSpans\[2\]\.spans\[2\]: /,
    );
  });

  it('a body that must be refused throws what decodeTraceRequest throws', async () => {
    const good = `{"resourceSpans":[{"scopeSpans":[{"spans":[${span(1)},${span(2)},${span(3)}]}]}]}`;
    const cases = [
      good.slice(0, -3), // truncated
      good + ' x', // text after the request
      good.replace('{"resourceSpans"', '{"other":[1,,2],"resourceSpans"'), // invalid where nothing is decoded
      good.replace('"spans":[', '"spans":[1,'), // a span that is not an object
      good.replace(`${span(2)},`, `${span(2).slice(0, -1)},`), // a span that does not close
      good.replace('"scopeSpans":[{', '"scopeSpans":[{"spans":[],'), // "spans" twice: the whole decode keeps the last
    ];
    for (const body of cases) {
      const outcome = await assertSameAsWhole(body, 1);
      if (!body.includes('"spans":[],')) assert.match(outcome, /^error: json: /, body);
    }
  });

  it('agrees with the whole decode on arbitrary cuts and changes of a valid body (fast-check)', async () => {
    const spans = Array.from({ length: 2 }, () => sdkSpans()).flat();
    const body = JsonTraceSerializer.serializeRequest(spans)!;
    const interesting = [0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x20, 0x30, 0x6e];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat({ max: body.length - 1 }), byte: fc.constantFrom(...interesting) }), {
          maxLength: 3,
        }),
        fc.option(fc.nat({ max: body.length }), { nil: undefined }),
        fc.integer({ min: 1, max: 9 }),
        async (changes, cut, slice) => {
          const changed = Buffer.from(body.subarray(0, cut ?? body.length));
          for (const { at, byte } of changes) if (at < changed.length) changed[at] = byte;
          const [sliced, whole] = await both(changed, slice);
          assert.equal(sliced, whole);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('leaves small bodies to decodeTraceRequest (under 1 MiB by default)', async () => {
    const body = JsonTraceSerializer.serializeRequest(sdkSpans())!;
    const sliced = await decodeInSlices(body, 1, undefined, 'json');
    assert.deepEqual(
      encodeTraceRequest(sliced.spans, 'json'),
      encodeTraceRequest(decodeTraceRequest(body, 'json').spans, 'json'),
    );
  });
});
