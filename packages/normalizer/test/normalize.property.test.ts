import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isNormalized, normalizeAttributes } from '../src/normalize.js';
import { MAPPING_RULES } from '../src/rules.js';
import type { Attributes, AttributeValue } from '../src/types.js';

const NUM_RUNS = Number(process.env['FC_NUM_RUNS'] ?? 2000);

const knownKeys = [
  ...new Set(MAPPING_RULES.flatMap((r) => [r.source, r.target])),
  'ai.operationId',
  'operation.name',
  'openinference.span.kind',
  'traceloop.span.kind',
  'traceloop.entity.name',
  'session.id',
  'response_data',
  'gen_ai.usage.raw',
  '__proto__',
  'constructor',
];

const key = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...knownKeys) }, { weight: 1, arbitrary: fc.string() });

const value: fc.Arbitrary<AttributeValue | undefined> = fc.oneof(
  fc.string(),
  fc.constantFrom(
    'True',
    'False',
    'OpenAI',
    'openai.chat',
    'az.ai.openai',
    'anthropic',
    'acompletion',
    'completion',
    '["stop"]',
    '[',
    '12',
    ' 7 ',
    '-3',
    '1e3',
    'NaN',
    'ai.streamText',
    'ai.streamText.doStream',
    'LLM',
    'llm',
    'Embedding',
    'AGENT',
    'tool',
    'workflow',
    'task',
    '{"usage":{"prompt_tokens":3,"completion_tokens":1}}',
    '{"input_tokens":2,"cache_read_input_tokens":9}',
  ),
  fc.integer({ min: -5, max: 1_000_000 }),
  fc.double(),
  fc.boolean(),
  fc.array(fc.oneof(fc.string(), fc.constant(null))),
  fc.array(fc.oneof(fc.integer(), fc.constant(undefined))),
  fc.array(fc.boolean()),
  fc.constant(undefined),
);

const attributes: fc.Arbitrary<Attributes> = fc.array(fc.tuple(key, value), { maxLength: 24 }).map((pairs) => {
  const out: Attributes = {};
  for (const [k, v] of pairs)
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
});

function isValidAttributeValue(v: unknown): boolean {
  if (v === undefined) return true; // the SDK ignores undefined values; they are passed through as given
  const t = typeof v;
  if (t === 'string' || t === 'number' || t === 'boolean') return true;
  if (!Array.isArray(v)) return false;
  let kind: string | undefined;
  for (const item of v) {
    if (item === null || item === undefined) continue;
    const it = typeof item;
    if (it !== 'string' && it !== 'number' && it !== 'boolean') return false;
    if (kind !== undefined && kind !== it) return false;
    kind = it;
  }
  return true;
}

describe('normalizeAttributes (properties)', () => {
  it('never throws, and every output value is a valid attribute value', () => {
    fc.assert(
      fc.property(attributes, fc.boolean(), (attrs, keepLegacy) => {
        const out = normalizeAttributes(attrs, { keepLegacyAttributes: keepLegacy });
        for (const k of Object.keys(out)) assert.ok(isValidAttributeValue(out[k]), `${k}=${String(out[k])}`);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(attributes, fc.boolean(), (attrs, keepLegacy) => {
        const once = normalizeAttributes(attrs, { keepLegacyAttributes: keepLegacy });
        const twice = normalizeAttributes(once, { keepLegacyAttributes: keepLegacy });
        assert.deepStrictEqual(twice, once);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('isNormalized(x) implies normalizeAttributes(x) deep-equals x, and holds for every output', () => {
    fc.assert(
      fc.property(attributes, (attrs) => {
        if (isNormalized(attrs)) assert.deepStrictEqual(normalizeAttributes(attrs), attrs);
        const out = normalizeAttributes(attrs);
        // An output is canonical except where a malformed canonical value was kept as it was.
        if (!isNormalized(out)) assert.deepStrictEqual(normalizeAttributes(out), out);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('never mutates its input', () => {
    fc.assert(
      fc.property(attributes, (attrs) => {
        const before = Object.entries(attrs);
        normalizeAttributes(attrs);
        assert.deepStrictEqual(Object.entries(attrs), before);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a canonical key that is present keeps a value derived from itself alone', () => {
    const canonicalKeys = [...new Set(MAPPING_RULES.map((r) => r.target))];
    fc.assert(
      fc.property(attributes, fc.constantFrom(...canonicalKeys), value, (attrs, canonicalKey, canonicalValue) => {
        if (canonicalValue === undefined) return;
        const withCanonical: Attributes = { ...attrs };
        Object.defineProperty(withCanonical, canonicalKey, {
          value: canonicalValue,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        const alone = normalizeAttributes({ [canonicalKey]: canonicalValue })[canonicalKey];
        const together = normalizeAttributes(withCanonical)[canonicalKey];
        // Input and total tokens are the canonical values another key can change: the Anthropic cache fix
        // adds the cache to input, and to a total that was computed from the cache-less input.
        if (
          (canonicalKey === 'gen_ai.usage.input_tokens' || canonicalKey === 'gen_ai.usage.total_tokens') &&
          typeof together === 'number' &&
          typeof alone === 'number' &&
          !Object.is(together, alone)
        ) {
          assert.ok(together >= alone);
          return;
        }
        assert.deepStrictEqual(together, alone);
      }),
      {
        numRuns: NUM_RUNS,
        // Found by CI: an Anthropic span whose total was computed from the cache-less input.
        examples: [
          [
            {
              'gen_ai.system': 'anthropic',
              'gen_ai.usage.cache_read_input_tokens': 9,
              'gen_ai.usage.input_tokens': 2,
              'gen_ai.usage.output_tokens': 1,
            },
            'gen_ai.usage.total_tokens',
            3,
          ],
          [{}, 'gen_ai.usage.total_tokens', Number.NaN],
        ],
      },
    );
  });

  it('leaves keys outside the GenAI namespaces untouched', () => {
    const plain = fc
      .string()
      .filter((k) => !/^(gen_ai\.|llm\.|ai\.|openinference\.|response_data$|__proto__$)/.test(k));
    fc.assert(
      fc.property(attributes, plain, value, (attrs, k, v) => {
        const input: Attributes = { ...attrs };
        Object.defineProperty(input, k, { value: v, enumerable: true, writable: true, configurable: true });
        const out = normalizeAttributes(input);
        assert.ok(Object.prototype.hasOwnProperty.call(out, k));
        assert.equal(out[k], v);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
