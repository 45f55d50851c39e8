/*
 * Table-driven tests of normalizeAttributes against the attribute sets real emitters write.
 *
 * Fixtures live in test/fixtures/emitters/*.ts, one module per emitter; each case names the emitter,
 * its version and the source file it was read from, and carries the expected output written by hand
 * from the mapping rules and the semconv reference. For every case this file checks:
 *   - normalizeAttributes(input) deep-equals `expected`, and does not mutate `input`;
 *   - idempotency: normalizeAttributes(out) deep-equals `out`;
 *   - `expectedKeepLegacy` (when given) for { keepLegacyAttributes: true }, and that output's idempotency;
 *   - `expectedSpanName` (Logfire cases) through normalizeSpan.
 * Cases marked `bug` assert the correct behaviour and fail until the source is fixed; cases marked `todo`
 * document a gap in the rules and run as node:test todos.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeAttributes, normalizeSpan } from '../src/index.js';
import type { EmitterCase } from './fixtures/emitters/case.js';
import { openllmetryJsCases } from './fixtures/emitters/openllmetry-js.js';
import { openllmetryPyCases } from './fixtures/emitters/openllmetry-py.js';
import { logfireCases } from './fixtures/emitters/logfire.js';
import { litellmCases } from './fixtures/emitters/litellm.js';
import { otelOpenAICases } from './fixtures/emitters/otel-openai.js';
import { openinferenceCases } from './fixtures/emitters/openinference.js';
import { vercelCases } from './fixtures/emitters/vercel.js';

function caseTitle(c: EmitterCase): string {
  return c.bug === undefined ? c.name : `${c.name} [known bug]`;
}

/** deepStrictEqual that keeps the generated diff and puts the known-bug note in front of it. */
function assertEqualNoting(actual: unknown, expected: unknown, note: string | undefined): void {
  try {
    assert.deepStrictEqual(actual, expected);
  } catch (error) {
    if (note !== undefined && error instanceof Error) error.message = `Known bug: ${note}\n${error.message}`;
    throw error;
  }
}

function todoOption(todo: string | undefined): { todo?: string } {
  return todo === undefined ? {} : { todo };
}

function runCases(group: string, cases: readonly EmitterCase[]): void {
  describe(group, () => {
    for (const c of cases) {
      describe(`${c.emitter}: ${caseTitle(c)}`, () => {
        it(`normalizes the attributes (${c.source})`, todoOption(c.todo), () => {
          const before = structuredClone(c.input);
          const out = normalizeAttributes(c.input, undefined, c.scope);
          assertEqualNoting(out, c.expected, c.bug);
          assert.deepStrictEqual(c.input, before, 'normalizeAttributes must not mutate its input');
        });

        it('is idempotent', todoOption(c.todo), () => {
          const out = normalizeAttributes(c.input, undefined, c.scope);
          assert.deepStrictEqual(normalizeAttributes(out, undefined, c.scope), out);
        });

        const keepLegacy = c.expectedKeepLegacy;
        if (keepLegacy !== undefined) {
          it(
            'keepLegacyAttributes: true keeps the mapped legacy keys beside the canonical ones',
            todoOption(c.todo),
            () => {
              const out = normalizeAttributes(c.input, { keepLegacyAttributes: true }, c.scope);
              assertEqualNoting(out, keepLegacy, c.bug);
              assert.deepStrictEqual(normalizeAttributes(out, { keepLegacyAttributes: true }, c.scope), out);
            },
          );
        }

        const expectedName = c.expectedSpanName;
        if (expectedName !== undefined) {
          it(`normalizeSpan renames "${c.spanName}" to "${expectedName}"`, () => {
            const span = normalizeSpan({ name: c.spanName, attributes: c.input, instrumentationScope: c.scope });
            assert.equal(span.name, expectedName);
            // The template is already in logfire.msg_template, so the attributes are the normalized ones.
            assert.deepStrictEqual(span.attributes, c.expected);
          });
        }
      });
    }
  });
}

runCases('OpenLLMetry JS (traceloop/openllmetry-js)', openllmetryJsCases);
runCases('OpenLLMetry Python (traceloop/openllmetry)', openllmetryPyCases);
runCases('Pydantic Logfire', logfireCases);
runCases('LiteLLM OpenTelemetry callback', litellmCases);
runCases('OpenTelemetry OpenAI instrumentations (Python openai-v2, JS instrumentation-openai)', otelOpenAICases);
runCases('OpenInference', openinferenceCases);
runCases('Vercel AI SDK', vercelCases);
