/*
 * Hostile and broken bodies: every prefix of a valid body, random bytes, valid bodies with random damage,
 * and random JSON. Each either decodes or throws an OtlpDecodeError, never anything else, and never hangs
 * (each run finishing is the proof). `FC_NUM_RUNS` raises the number of runs (1000 by default).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { OtlpDecodeError, decodeTraceRequest } from '../../src/otlp/index.js';
import type { OtlpFormat } from '../../src/otlp/index.js';
import { request, spanBody, sub, unknownFields, keyValue, str, varint, double, bytes } from './proto.js';
import { sdkSpans } from './sdk-spans.js';

const NUM_RUNS = Number(process.env['FC_NUM_RUNS'] ?? 1000);

/** Decodes, and fails the test unless the outcome is a result or an OtlpDecodeError. */
function decodeOrDecodeError(body: Uint8Array, format: OtlpFormat): 'decoded' | 'error' {
  try {
    const result = decodeTraceRequest(body, format);
    assert.ok(Array.isArray(result.spans));
    assert.ok(Number.isInteger(result.rejected) && result.rejected >= 0);
    return 'decoded';
  } catch (error) {
    if (error instanceof OtlpDecodeError) {
      assert.match(error.message, format === 'json' ? /^json: / : /^protobuf: /);
      return 'error';
    }
    throw error;
  }
}

const spans = sdkSpans();
const valid = {
  protobuf: ProtobufTraceSerializer.serializeRequest(spans)!,
  json: JsonTraceSerializer.serializeRequest(spans)!,
};
// Hand-built: kvlists, bytes, nested arrays, unknown fields and groups, which the SDK body lacks.
const handBuilt = request(
  spanBody(
    unknownFields(),
    sub(9, keyValue('kv', sub(6, sub(1, keyValue('a', sub(5, sub(1, varint(3, -1)), sub(1, double(4, 1.5)))))))),
    sub(9, keyValue('b', bytes(7, Uint8Array.of(1, 2, 3)))),
    sub(11, str(2, 'event'), unknownFields()),
  ),
);

describe('truncated bodies', () => {
  for (const format of ['protobuf', 'json'] as const) {
    it(`every prefix of a valid ${format} body decodes or is an OtlpDecodeError`, () => {
      const body = valid[format];
      let errors = 0;
      for (let length = 0; length < body.length; length++) {
        if (decodeOrDecodeError(body.subarray(0, length), format) === 'error') errors++;
      }
      assert.ok(errors > 0);
      assert.equal(decodeOrDecodeError(body, format), 'decoded');
    });
  }

  it('every prefix of a hand-built protobuf body with kvlists, bytes and groups', () => {
    for (let length = 0; length <= handBuilt.length; length++)
      decodeOrDecodeError(handBuilt.subarray(0, length), 'protobuf');
  });
});

describe('random input', () => {
  it('random bytes, as protobuf and as JSON', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (body) => {
        decodeOrDecodeError(body, 'protobuf');
        decodeOrDecodeError(body, 'json');
      }),
      { numRuns: NUM_RUNS },
    );
  });

  /** A valid body with a few bytes overwritten, inserted or removed: it gets past the first tags. */
  const damaged = (base: Uint8Array): fc.Arbitrary<Uint8Array> =>
    fc
      .array(
        fc.record({
          at: fc.nat(base.length),
          kind: fc.constantFrom('set', 'insert', 'delete'),
          byte: fc.integer({ min: 0, max: 255 }),
        }),
        { minLength: 1, maxLength: 4 },
      )
      .map((edits) => {
        const out = Array.from(base);
        for (const { at, kind, byte } of edits) {
          const i = Math.min(at, out.length);
          if (kind === 'set' && i < out.length) out[i] = byte;
          else if (kind === 'insert') out.splice(i, 0, byte);
          else out.splice(i, 1);
        }
        return Uint8Array.from(out);
      });

  for (const [name, base] of [
    ['an SDK protobuf body', valid.protobuf],
    ['a hand-built protobuf body', handBuilt],
  ] as const) {
    it(`${name} with random damage`, () => {
      fc.assert(
        fc.property(damaged(base), (body) => {
          decodeOrDecodeError(body, 'protobuf');
        }),
        { numRuns: NUM_RUNS },
      );
    });
  }

  it('an SDK JSON body with random damage', () => {
    fc.assert(
      fc.property(damaged(valid.json), (body) => {
        decodeOrDecodeError(body, 'json');
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('random JSON values, and random values in place of each part of a valid request', () => {
    const text = new TextDecoder().decode(valid.json);
    const template = JSON.parse(text) as unknown;
    // Every path in the template, so that a random value can replace any one of them.
    const paths: Array<Array<string | number>> = [];
    const walk = (value: unknown, path: Array<string | number>): void => {
      paths.push(path);
      if (value !== null && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) walk(v, [...path, Array.isArray(value) ? Number(k) : k]);
      }
    };
    walk(template, []);
    const replace = (path: Array<string | number>, value: unknown): unknown => {
      const copy = structuredClone(template) as Record<string | number, unknown>;
      if (path.length === 0) return value;
      let node = copy;
      for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
      node[path[path.length - 1]] = value;
      return copy;
    };
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(paths.length - 1), (value, pathIndex) => {
        decodeOrDecodeError(new TextEncoder().encode(JSON.stringify(value)), 'json');
        decodeOrDecodeError(new TextEncoder().encode(JSON.stringify(replace(paths[pathIndex], value))), 'json');
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a 1 MB attribute and 100 000 tiny unknown fields decode quickly', () => {
    const unknown = varint(999, 1);
    const manyUnknown = new Uint8Array(unknown.length * 100_000);
    for (let i = 0; i < 100_000; i++) manyUnknown.set(unknown, i * unknown.length);
    const big = request(spanBody(sub(9, keyValue('big', str(1, 'x'.repeat(1 << 20)))), manyUnknown));
    const start = performance.now();
    const result = decodeTraceRequest(big, 'protobuf');
    assert.equal((result.spans[0].attributes['big'] as string).length, 1 << 20);
    assert.ok(performance.now() - start < 2000);
  });
});
