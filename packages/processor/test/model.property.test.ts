/*
 * A model test: random interleavings of span starts and ends, late usage from every source (HTTP usage tap
 * reports by response id and by the span active at the request included), time passing, forceFlush and
 * shutdown, against the real SDK and a fake clock. 10⁴ runs in CI (FC_PROCESSOR_RUNS);
 * `FC_PROCESSOR_RUNS=100000 npm test` runs 10⁵.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Span } from '@opentelemetry/api';
import { tapSinkOf } from '../src/tap/sink.js';
import { pipeline } from './helpers/pipeline.js';

const RUNS = Number(process.env['FC_PROCESSOR_RUNS'] ?? 10_000);
const MAX_HELD = 3;
const MAX_PENDING = 4;
/** Tap usage: all counts, input/output only (adds nothing to a span with usage: superseded), a detail only. */
const TAP_USAGE = {
  full: { inputTokens: 11, outputTokens: 4, cacheReadInputTokens: 2 },
  counts: { inputTokens: 11, outputTokens: 4 },
  detail: { cacheReadInputTokens: 2 },
};

type Action =
  | { t: 'start'; kind: 'plain' | 'inference' | 'tool'; withId: boolean }
  | { t: 'end'; pick: number; usage: boolean }
  | { t: 'late'; pick: number }
  | { t: 'record'; pick: number }
  | { t: 'carrier'; pick: number }
  | { t: 'tap'; pick: number; by: 'id' | 'span' | 'both' | 'none'; usage: keyof typeof TAP_USAGE }
  | { t: 'advance'; ms: number }
  | { t: 'flush' }
  | { t: 'shutdown' };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('start' as const),
      kind: fc.constantFrom('plain' as const, 'inference' as const, 'tool' as const),
      withId: fc.boolean(),
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('end' as const), pick: fc.nat(), usage: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('late' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('record' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('carrier' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('tap' as const),
      pick: fc.nat(),
      by: fc.constantFrom('id' as const, 'span' as const, 'both' as const, 'none' as const),
      usage: fc.constantFrom('full' as const, 'counts' as const, 'detail' as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 1500 }) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'shutdown' as const }) },
);

describe('GenAiEnrichingProcessor (model)', () => {
  it('forwards every ended span exactly once, stays bounded and balanced, holds nothing after shutdown', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 10, maxLength: 60, size: 'max' }), async (actions) => {
        const p = pipeline({
          holdMillis: 1000,
          maxOpenMillis: 3000,
          maxHeldSpans: MAX_HELD,
          maxPendingUsage: MAX_PENDING,
        });
        const spans: Array<{ span: Span; id: string; ended: boolean }> = [];
        const endedBeforeShutdown = new Set<string>();
        let shutDown = false;
        let n = 0;
        const check = () => {
          const s = p.processor.stats();
          assert.ok(s.held <= MAX_HELD, `held ${s.held}`);
          assert.equal(s.received, s.forwarded + s.held + s.awaitingDescendants);
          assert.equal(s.holds, s.joined + s.expired + s.evicted + s.flushed + s.held);
          assert.equal(s.tapReports, s.tapUsed + s.tapSuperseded + s.tapUnmatched + s.tapPending, JSON.stringify(s));
          // Reports wait by key (maxPendingUsage) or with a span that is still open (one each).
          assert.ok(s.tapPending <= MAX_PENDING + s.open, `tapPending ${s.tapPending}`);
        };
        const noteEnded = () => {
          for (const entry of spans) {
            if (!entry.ended && !entry.span.isRecording()) {
              entry.ended = true;
              if (!shutDown) endedBeforeShutdown.add(entry.span.spanContext().spanId);
            }
          }
        };
        for (const a of actions) {
          switch (a.t) {
            case 'start': {
              const id = `resp_${n++}`;
              const attributes =
                a.kind === 'plain'
                  ? { 'http.route': '/x' }
                  : a.kind === 'tool'
                    ? { 'gen_ai.operation.name': 'execute_tool' }
                    : {
                        'gen_ai.operation.name': 'chat',
                        'gen_ai.request.model': 'm',
                        ...(a.withId ? { 'gen_ai.response.id': id } : {}),
                      };
              spans.push({ span: p.tracer.startSpan('s', { attributes }), id, ended: false });
              break;
            }
            case 'end': {
              const entry = spans[a.pick % Math.max(1, spans.length)];
              if (entry === undefined) break;
              if (a.usage)
                entry.span.setAttributes({ 'gen_ai.usage.input_tokens': 3, 'gen_ai.usage.output_tokens': 1 });
              entry.span.end();
              break;
            }
            case 'late': {
              const entry = spans[a.pick % Math.max(1, spans.length)];
              entry?.span.setAttribute('gen_ai.usage.input_tokens', 7);
              break;
            }
            case 'record': {
              const entry = spans[a.pick % Math.max(1, spans.length)];
              if (entry !== undefined) p.processor.recordUsage(entry.id, { inputTokens: 9, outputTokens: 2 });
              break;
            }
            case 'carrier': {
              const entry = spans[a.pick % Math.max(1, spans.length)];
              if (entry === undefined) break;
              const carrier = p.tracer.startSpan('carrier', {
                attributes: {
                  'gen_ai.operation.name': 'chat',
                  'gen_ai.response.id': entry.id,
                  'gen_ai.usage.input_tokens': 5,
                  'gen_ai.usage.output_tokens': 1,
                },
              });
              spans.push({ span: carrier, id: `carrier_${n++}`, ended: false });
              carrier.end();
              break;
            }
            case 'tap': {
              // What the HTTP usage tap hands the processor: the response id read off the wire and/or the
              // span that was active when the request was made (its key, and the span object itself).
              const entry = spans[a.pick % Math.max(1, spans.length)];
              if (entry === undefined) break;
              const ctx = entry.span.spanContext();
              const bySpan = a.by === 'span' || a.by === 'both';
              tapSinkOf(
                p.processor,
                'test',
              )({
                responseId: a.by === 'id' || a.by === 'both' ? entry.id : undefined,
                spanKey: bySpan ? ctx.traceId + ctx.spanId : undefined,
                model: 'm-2024',
                usage: TAP_USAGE[a.usage],
                totalTokens: 15,
                ...(bySpan ? { activeSpan: entry.span } : {}),
              });
              break;
            }
            case 'advance':
              p.clock.advance(a.ms);
              break;
            case 'flush':
              await p.processor.forceFlush();
              break;
            case 'shutdown':
              noteEnded();
              shutDown = true;
              await p.processor.shutdown();
              assert.equal(p.processor.stats().held, 0);
              break;
          }
          noteEnded();
          check();
        }
        noteEnded();
        shutDown = true;
        await p.processor.shutdown();
        assert.equal(p.processor.stats().held, 0, 'nothing is held after shutdown');
        assert.equal(p.processor.stats().tapPending, 0, 'no tap report waits after shutdown');
        const counts = p.next.counts();
        for (const id of endedBeforeShutdown)
          assert.equal(counts.get(id), 1, `span ${id} forwarded ${counts.get(id) ?? 0} times`);
        for (const [id, c] of counts) assert.ok(endedBeforeShutdown.has(id) && c === 1, `unexpected forward of ${id}`);
      }),
      { numRuns: RUNS },
    );
  });
});
