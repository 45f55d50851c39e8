// sdk-compat.ts: the parent span id and the scope, read from SDK 2.x/3.x names or SDK 1.x names.
// Real 2.x spans here; the real 1.x SDK runs in test/sdk1.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { parentSpanIdOf, scopeOf } from '../src/sdk-compat.js';
import type { ReadableSpanLike } from '../src/types.js';
import { spanSource } from './helpers/sdk-spans.js';

describe('sdk-compat', () => {
  it('reads SDK 2.x spans: parentSpanContext and instrumentationScope', () => {
    const { tracer, exporter } = spanSource({ scope: '@opentelemetry/instrumentation-openai', scopeVersion: '0.21.0' });
    const parent = tracer.startSpan('parent');
    tracer.startSpan('child', {}, trace.setSpan(ROOT_CONTEXT, parent)).end();
    parent.end();
    const [child, root] = exporter.getFinishedSpans() as unknown as ReadableSpanLike[];
    assert.equal(parentSpanIdOf(child), parent.spanContext().spanId);
    assert.equal(parentSpanIdOf(root), undefined);
    assert.deepEqual(
      { ...scopeOf(child) },
      { name: '@opentelemetry/instrumentation-openai', version: '0.21.0', schemaUrl: undefined },
    );
  });

  it('reads the SDK 1.x names: parentSpanId and instrumentationLibrary', () => {
    const { tracer, exporter } = spanSource();
    tracer.startSpan('s').end();
    const [two] = exporter.getFinishedSpans() as unknown as ReadableSpanLike[];
    // A 1.x span has these fields in place of parentSpanContext and instrumentationScope.
    const one = {
      ...two,
      spanContext: two.spanContext,
      parentSpanContext: undefined,
      instrumentationScope: undefined,
      parentSpanId: 'b7ad6b7169203331',
      instrumentationLibrary: { name: 'openinference', version: '1.0.0' },
    } as ReadableSpanLike;
    assert.equal(parentSpanIdOf(one), 'b7ad6b7169203331');
    assert.equal(scopeOf(one)?.name, 'openinference');
    assert.equal(parentSpanIdOf({ ...one, parentSpanId: '' }), undefined, 'an empty parent id is a root span');
  });
});
