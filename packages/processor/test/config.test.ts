import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_EXPORT_TIMEOUT_MILLIS,
  DEFAULT_HOLD_MILLIS,
  DEFAULT_MAX_EXPORT_BATCH_SIZE,
  DEFAULT_MAX_HELD_SPANS,
  DEFAULT_MAX_OPEN_MILLIS,
  DEFAULT_MAX_QUEUE_SIZE,
  SYSTEM_CLOCK,
  resolveConfig,
  validateConfig,
} from '../src/config.js';
import type { GenAiEnrichingProcessorOptions } from '../src/types.js';
import { exporterPipeline } from './helpers/pipeline.js';

describe('validateConfig', () => {
  it('accepts the default (empty) configuration', () => {
    assert.deepEqual(validateConfig(undefined), []);
    assert.deepEqual(validateConfig({}), []);
  });

  const cases: Array<{ name: string; options: unknown; expected: string[] }> = [
    {
      name: 'negative hold',
      options: { holdMillis: -1 },
      expected: ['holdMillis must be an integer from 0 to 2147483647, got -1'],
    },
    {
      name: 'fractional cap',
      options: { maxHeldSpans: 2.5 },
      expected: ['maxHeldSpans must be an integer from 1 to 9007199254740991, got 2.5'],
    },
    {
      name: 'zero cap',
      options: { maxHeldSpans: 0 },
      expected: ['maxHeldSpans must be an integer from 1 to 9007199254740991, got 0'],
    },
    {
      name: 'string number',
      options: { maxOpenMillis: '600' },
      expected: ['maxOpenMillis must be an integer from 1 to 2147483647, got "600"'],
    },
    {
      name: 'timer overflow',
      options: { scheduledDelayMillis: 2 ** 31 },
      expected: ['scheduledDelayMillis must be an integer from 0 to 2147483647, got 2147483648'],
    },
    {
      name: 'NaN',
      options: { exportTimeoutMillis: NaN },
      expected: ['exportTimeoutMillis must be an integer from 1 to 2147483647, got NaN'],
    },
    {
      name: 'boolean as string',
      options: { keepLegacyAttributes: 'yes' },
      expected: ['keepLegacyAttributes must be a boolean, got "yes"'],
    },
    {
      name: 'span name mode',
      options: { spanNames: 'pretty' },
      expected: ["spanNames must be one of 'fix-templates', 'semconv', 'keep', got \"pretty\""],
    },
    {
      name: 'clock',
      options: { clock: {} },
      expected: ['clock must have now, setTimeout and clearTimeout functions, got an object'],
    },
    { name: 'typo', options: { holdMilis: 5 }, expected: ['unknown option "holdMilis"'] },
    { name: 'not an object', options: 5, expected: ['options must be an object, got 5'] },
    {
      name: 'several at once, each named',
      options: { holdMillis: -1, maxQueueSize: 0, captureLateAttributes: 1 },
      expected: [
        'holdMillis must be an integer from 0 to 2147483647, got -1',
        'maxQueueSize must be an integer from 1 to 9007199254740991, got 0',
        'captureLateAttributes must be a boolean, got 1',
      ],
    },
  ];
  for (const c of cases) {
    it(`reports ${c.name}`, () => {
      assert.deepEqual(validateConfig(c.options as GenAiEnrichingProcessorOptions), c.expected);
    });
  }
});

describe('resolveConfig', () => {
  it('fills every default', () => {
    const c = resolveConfig(undefined);
    assert.equal(c.holdMillis, DEFAULT_HOLD_MILLIS);
    assert.equal(c.maxHeldSpans, DEFAULT_MAX_HELD_SPANS);
    assert.equal(c.maxOpenMillis, DEFAULT_MAX_OPEN_MILLIS);
    assert.equal(c.maxQueueSize, DEFAULT_MAX_QUEUE_SIZE);
    assert.equal(c.maxExportBatchSize, DEFAULT_MAX_EXPORT_BATCH_SIZE);
    assert.equal(c.exportTimeoutMillis, DEFAULT_EXPORT_TIMEOUT_MILLIS);
    assert.equal(c.keepLegacyAttributes, false);
    assert.equal(c.captureLateAttributes, true);
    assert.equal(c.spanNames, 'fix-templates');
    assert.equal(c.clock, SYSTEM_CLOCK);
  });

  it('replaces bad values by defaults and keeps good ones', () => {
    const c = resolveConfig({ holdMillis: -1, maxHeldSpans: 7, spanNames: 'semconv', keepLegacyAttributes: true });
    assert.equal(c.holdMillis, DEFAULT_HOLD_MILLIS);
    assert.equal(c.maxHeldSpans, 7);
    assert.equal(c.spanNames, 'semconv');
    assert.equal(c.keepLegacyAttributes, true);
  });

  it('clamps the export batch size to the queue size, as the SDK does', () => {
    const c = resolveConfig({ maxQueueSize: 100, maxExportBatchSize: 512 });
    assert.equal(c.maxExportBatchSize, 100);
  });
});

describe('user rules (option rules)', () => {
  const rules = {
    rules: [
      { source: 'acme.llm.model', target: 'gen_ai.request.model' },
      { source: 'acme.llm.kind', target: 'gen_ai.operation.name', kind: 'operation' as const },
      { source: 'acme.tokens.in', target: 'gen_ai.usage.input_tokens', kind: 'int' as const },
      { source: 'acme.tokens.out', target: 'gen_ai.usage.output_tokens', kind: 'int' as const },
    ],
  };

  it("an in-house emitter's span is GenAI by its rules, and leaves with the conventions' keys", () => {
    const p = exporterPipeline({ rules });
    p.tracer
      .startSpan('acme complete', {
        attributes: { 'acme.llm.model': 'm-1', 'acme.llm.kind': 'chat', 'acme.tokens.in': 9, 'acme.tokens.out': 2 },
      })
      .end();
    void p.processor.forceFlush();
    const [span] = p.exporter.getFinishedSpans();
    assert.equal(span.attributes['gen_ai.request.model'], 'm-1');
    assert.equal(span.attributes['gen_ai.usage.input_tokens'], 9);
    assert.equal(span.attributes['acme.tokens.in'], undefined);
    assert.equal(span.attributes['genai_enrich.usage_source'], 'telemetry');
  });

  it('bad rules are named by validateConfig and ignored', () => {
    assert.deepEqual(validateConfig({ rules: [{ source: 'a', target: 'b', kind: 'x' as never }] }), [
      'rules: rules[0].kind: expected one of string, int, number, string[], stream, provider, operation, model, json, got "x"',
    ]);
    const p = exporterPipeline({ rules: 'nope' as never });
    p.tracer.startSpan('plain', { attributes: { a: 1 } }).end();
    void p.processor.forceFlush();
    assert.equal(p.exporter.getFinishedSpans().length, 1);
  });
});
