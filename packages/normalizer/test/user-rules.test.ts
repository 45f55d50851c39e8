/*
 * User rules (user-rules.ts): validation names every bad rule and field; rules map an in-house emitter's
 * keys and values into the conventions' keys, read as their kind, never over a key the span has, and the
 * built-in rules then normalize what they wrote; the normalizer stays idempotent with them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  UserRulesError,
  compileUserRules,
  normalizeAttributes,
  normalizeSpan,
  isSpanNormalized,
} from '../src/index.js';

/** An in-house emitter, as the README's example writes it. */
const ACME = compileUserRules({
  rules: [
    { source: 'acme.llm.vendor', target: 'gen_ai.provider.name', kind: 'provider', values: { oai: 'openai' } },
    { source: 'acme.llm.model', target: 'gen_ai.request.model', kind: 'model' },
    { source: 'acme.llm.kind', target: 'gen_ai.operation.name', kind: 'operation', values: { complete: 'chat' } },
    { source: 'acme.tokens.in', target: 'gen_ai.usage.input_tokens', kind: 'int' },
    { source: 'acme.tokens.out', target: 'gen_ai.usage.output_tokens', kind: 'int' },
  ],
});

describe('user rules', () => {
  it('map an in-house emitter into the conventions, then the built-in rules normalize the values', () => {
    const out = normalizeAttributes(
      {
        'acme.llm.vendor': 'oai',
        'acme.llm.model': 'gpt-4o',
        'acme.llm.kind': 'complete',
        'acme.tokens.in': '120',
        'acme.tokens.out': 7,
        'acme.request.id': 'r-1',
      },
      { rules: ACME },
    );
    assert.deepEqual(out, {
      'acme.request.id': 'r-1',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.operation.name': 'chat',
      'gen_ai.usage.input_tokens': 120,
      'gen_ai.usage.output_tokens': 7,
    });
  });

  it('never overwrite a key the span has; an unreadable value stays where it was; keepLegacyAttributes keeps sources', () => {
    const out = normalizeAttributes(
      { 'gen_ai.request.model': 'canonical', 'acme.llm.model': 'mine', 'acme.tokens.in': 'lots' },
      { rules: ACME },
    );
    assert.equal(out['gen_ai.request.model'], 'canonical');
    assert.equal(out['acme.tokens.in'], 'lots');
    assert.equal(out['gen_ai.usage.input_tokens'], undefined);
    const kept = normalizeAttributes({ 'acme.tokens.in': 3 }, { rules: ACME, keepLegacyAttributes: true });
    assert.deepEqual(kept, { 'acme.tokens.in': 3, 'gen_ai.usage.input_tokens': 3 });
  });

  it('a span with a rule source is not already normalized', () => {
    const span = { name: 'acme call', attributes: { 'acme.llm.model': 'x' } };
    assert.equal(isSpanNormalized(span), true, 'without the rules: nothing to do');
    assert.equal(isSpanNormalized(span, { rules: ACME }), false);
    assert.equal(normalizeSpan(span, { rules: ACME }).attributes['gen_ai.request.model'], 'x');
  });

  it('validation names every bad rule and field', () => {
    assert.throws(
      () =>
        compileUserRules({
          rules: [
            { source: 'a', target: 'gen_ai.request.model' },
            { source: '', target: 'x' },
            { source: 'b', target: 'y', kind: 'code', values: { q: 1 }, run: 'rm -rf' },
            'nope',
            { source: 'c', target: 'c' },
          ],
        }),
      (error: unknown) => {
        assert.ok(error instanceof UserRulesError);
        assert.deepEqual(error.problems, [
          'rules[1].source: expected an attribute key (a non-empty string of at most 255 characters)',
          'rules[2].run: unknown field',
          'rules[2].kind: expected one of string, int, number, string[], stream, provider, operation, model, json, got "code"',
          'rules[2].values.q: expected a string, got 1',
          'rules[3]: expected an object with source and target',
          'rules[4]: source and target are the same key',
        ]);
        return true;
      },
    );
    assert.throws(() => compileUserRules('rules.yaml'), /expected \{ "rules": \[ … \] \}/);
    assert.equal(compileUserRules([{ source: 'a', target: 'b' }]).rules.length, 1, 'the array alone is fine');
  });

  it('normalizing twice gives what normalizing once gave, and never throws (fast-check)', () => {
    const keys = [
      'acme.llm.vendor',
      'acme.llm.model',
      'acme.tokens.in',
      'gen_ai.request.model',
      'gen_ai.usage.input_tokens',
      '__proto__',
    ];
    const attrs = fc.dictionary(
      fc.oneof(fc.constantFrom(...keys), fc.string()),
      fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constantFrom('oai', '12')),
    );
    fc.assert(
      fc.property(attrs, (a) => {
        const once = normalizeAttributes(a, { rules: ACME });
        assert.deepEqual(normalizeAttributes(once, { rules: ACME }), once);
      }),
      { numRuns: 1000 },
    );
  });
});
