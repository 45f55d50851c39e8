/*
 * Counting usage once per trace (usage-tree.ts), through the processor on the real SDK with a fake clock:
 * aggregates over descendants, twins, non-GenAI spans in between, a parent that waits for a held child,
 * the relay's way (spans handed over ended, no onStart), the option, and a property over random trees.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import type { Attributes, Span } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { pipeline } from './helpers/pipeline.js';
import type { Pipeline } from './helpers/pipeline.js';
import { spanSource } from './helpers/sdk-spans.js';

const IN = 'gen_ai.usage.input_tokens';
const OUT = 'gen_ai.usage.output_tokens';

const agent = (usage?: [number, number]): Attributes => ({
  'gen_ai.operation.name': 'invoke_agent',
  'gen_ai.agent.name': 'planner',
  ...(usage !== undefined ? { [IN]: usage[0], [OUT]: usage[1] } : {}),
});
const chat = (usage?: [number, number], id?: string): Attributes => ({
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.request.model': 'gpt-4o-mini',
  ...(id !== undefined ? { 'gen_ai.response.id': id } : {}),
  ...(usage !== undefined ? { [IN]: usage[0], [OUT]: usage[1] } : {}),
});

function start(p: Pipeline, name: string, attributes: Attributes, parent?: Span): Span {
  const ctx = parent === undefined ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, parent);
  return p.tracer.startSpan(name, { attributes }, ctx);
}

function forwarded(p: Pipeline, span: Span): ReadableSpan {
  const out = p.next.ended.find((s) => s.spanContext().spanId === span.spanContext().spanId);
  assert.ok(out !== undefined, 'forwarded');
  return out;
}

function sum(p: Pipeline, key: string): number {
  return p.next.ended.reduce((n, s) => n + (typeof s.attributes[key] === 'number' ? s.attributes[key] : 0), 0);
}

function assertBalanced(p: Pipeline): void {
  const s = p.processor.stats();
  assert.equal(s.received, s.forwarded + s.held + s.awaitingDescendants, JSON.stringify(s));
  for (const [id, n] of p.next.counts()) assert.equal(n, 1, `span ${id} forwarded ${n} times`);
}

describe('counting usage once per trace', () => {
  it('an agent span whose usage is the sum of its model calls sets it aside; the trace sums to the bill', () => {
    const p = pipeline();
    const a = start(p, 'invoke_agent planner', agent());
    start(p, 'chat 1', chat([10, 4]), a).end();
    const tool = start(p, 'execute_tool search', { 'gen_ai.operation.name': 'execute_tool' }, a);
    tool.end();
    start(p, 'chat 2', chat([20, 6]), a).end();
    a.setAttributes({ [IN]: 30, [OUT]: 10 });
    a.end();
    const out = forwarded(p, a);
    assert.equal(out.attributes[IN], undefined);
    assert.equal(out.attributes['genai_enrich.repeated_usage.input_tokens'], 30);
    assert.equal(out.attributes['genai_enrich.repeated_usage.output_tokens'], 10);
    assert.equal(out.attributes['genai_enrich.usage_repeats'], 'descendants');
    assert.equal(sum(p, IN), 30);
    assert.equal(sum(p, OUT), 10);
    assert.equal(p.processor.stats().usageRepeated, 1);
    assertBalanced(p);
  });

  it('nests: a workflow over two agents over model calls keeps only the calls', () => {
    const p = pipeline();
    const wf = start(p, 'workflow', { 'gen_ai.operation.name': 'invoke_workflow' });
    for (const [i, calls] of [
      [
        1,
        [
          [5, 1],
          [7, 2],
        ],
      ],
      [2, [[11, 3]]],
    ] as const) {
      const a = start(p, `agent ${i}`, agent(), wf);
      let inSum = 0;
      let outSum = 0;
      for (const [input, output] of calls) {
        start(p, 'chat', chat([input, output]), a).end();
        inSum += input;
        outSum += output;
      }
      a.setAttributes({ [IN]: inSum, [OUT]: outSum });
      a.end();
    }
    wf.setAttributes({ [IN]: 23, [OUT]: 6 });
    wf.end();
    assert.equal(sum(p, IN), 23);
    assert.equal(sum(p, OUT), 6);
    assert.equal(p.processor.stats().usageRepeated, 3);
    assertBalanced(p);
  });

  it("an agent whose total leaves out a sub-agent's calls (run from its tool) is still a repeat: it equals what is below outside the nested total", () => {
    // As @ai-sdk/otel 1.0.185 reports a ToolLoopAgent whose tool runs another agent (test/aisdk7).
    const p = pipeline();
    const planner = start(p, 'invoke_agent planner', agent());
    start(p, 'chat', chat([30, 6], 'c1'), planner).end();
    const tool = start(p, 'execute_tool research', { 'gen_ai.operation.name': 'execute_tool' }, planner);
    const sub = start(p, 'invoke_agent forecaster', agent(), tool);
    start(p, 'chat', chat([40, 7], 'c2'), sub).end();
    sub.setAttributes({ [IN]: 40, [OUT]: 7 });
    sub.end();
    tool.end();
    start(p, 'chat', chat([50, 8], 'c3'), planner).end();
    planner.setAttributes({ [IN]: 80, [OUT]: 14 });
    planner.end();
    assert.equal(sum(p, IN), 120, 'the bill: 30 + 40 + 50');
    assert.equal(sum(p, OUT), 21);
    assert.equal(forwarded(p, planner).attributes['genai_enrich.repeated_usage.input_tokens'], 80);
    assert.equal(forwarded(p, sub).attributes['genai_enrich.repeated_usage.input_tokens'], 40);
    assert.equal(p.processor.stats().usageRepeated, 2);
    assertBalanced(p);
  });

  it('a model call (it has a response id) is never a total over the spans below it, even when the numbers match', () => {
    const p = pipeline();
    const call = start(p, 'ai.generateText.doGenerate', chat(undefined, 'chatcmpl-outer'));
    const sub = start(p, 'invoke_agent', agent(), call);
    start(p, 'chat', chat([40, 7], 'chatcmpl-inner'), sub).end();
    sub.end();
    call.setAttributes({ [IN]: 40, [OUT]: 7 });
    call.end();
    assert.equal(forwarded(p, call).attributes[IN], 40, 'its own call, counted');
    assert.equal(sum(p, IN), 80);
    assert.equal(p.processor.stats().usageRepeated, 0);
  });

  it('a model-call span without usage over GenAI spans that carry it (an embeddings root over its batches) is not held', () => {
    const p = pipeline();
    const root = start(p, 'embeddings text-embedding-3-small', {
      'gen_ai.operation.name': 'embeddings',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'text-embedding-3-small',
    });
    for (const n of [3, 4]) {
      start(p, 'embeddings', { ...chat([n, 0], `emb-${n}`), 'gen_ai.operation.name': 'embeddings' }, root).end();
    }
    root.end();
    const out = forwarded(p, root);
    assert.equal(out.attributes['genai_enrich.hold_outcome'], undefined);
    assert.equal(out.attributes['genai_enrich.usage_missing'], undefined);
    assert.equal(p.processor.stats().holds, 0);
    assert.equal(sum(p, IN), 7);
    assertBalanced(p);
  });

  it('usage that does not equal what is below stays where it is (nothing is guessed)', () => {
    const p = pipeline();
    const a = start(p, 'invoke_agent', agent());
    start(p, 'chat', chat([10, 4]), a).end();
    a.setAttributes({ [IN]: 50, [OUT]: 9 });
    a.end();
    assert.equal(forwarded(p, a).attributes[IN], 50);
    assert.equal(p.processor.stats().usageRepeated, 0);
  });

  it('twins: a second span of the same call (same trace, response id and usage) sets its usage aside', () => {
    const p = pipeline();
    const root = start(p, 'request', {});
    const first = start(p, 'anthropic.messages', chat([42, 17], 'msg_1'), root);
    first.end();
    const second = start(p, 'chat claude', chat([42, 17], 'msg_1'), root);
    second.end();
    root.end();
    assert.equal(forwarded(p, first).attributes[IN], 42);
    assert.equal(forwarded(p, second).attributes['genai_enrich.usage_repeats'], 'twin');
    assert.equal(sum(p, IN), 42);
  });

  it('twins without a shared response id: siblings with the same usage, overlapping in time, one with a response id and one without', () => {
    const p = pipeline();
    const root = start(p, 'request', {});
    const sdk = start(p, 'anthropic.messages.create', chat(undefined, 'msg_1'), root);
    const oi = start(p, 'Anthropic Messages', chat(undefined), root);
    sdk.setAttributes({ [IN]: 42, [OUT]: 17 });
    oi.setAttributes({ [IN]: 42, [OUT]: 17 });
    sdk.end();
    oi.end();
    // Two calls: both with a response id, and one that ends before the next starts.
    const a = start(p, 'chat', chat([42, 17], 'msg_2'), root);
    const b = start(p, 'chat', chat([42, 17], 'msg_3'), root);
    a.end();
    b.end();
    // After the SDK's span ended: the same usage, no response id, but not at the same time.
    const later = sdk as unknown as { endTime: [number, number] };
    const after: [number, number] = [later.endTime[0] + 1, later.endTime[1]];
    const c = p.tracer.startSpan(
      'chat',
      { attributes: chat([42, 17]), startTime: after },
      trace.setSpan(ROOT_CONTEXT, root),
    );
    c.end([after[0] + 1, after[1]]);
    root.end();
    assert.equal(forwarded(p, oi).attributes['genai_enrich.usage_repeats'], 'twin');
    assert.equal(sum(p, IN), 42 * 4, 'sdk, a, b and c each count once');
    assert.equal(p.processor.stats().usageRepeated, 1);
    assertBalanced(p);
  });

  it('a span that is not GenAI between an agent and its calls does not break the chain', () => {
    const p = pipeline();
    const a = start(p, 'invoke_agent', agent());
    const http = start(p, 'POST /tools/run', { 'http.request.method': 'POST' }, a);
    start(p, 'chat', chat([8, 3]), http).end();
    http.end();
    a.setAttributes({ [IN]: 8, [OUT]: 3 });
    a.end();
    assert.equal(forwarded(p, a).attributes['genai_enrich.usage_repeats'], 'descendants');
    assert.equal(sum(p, IN), 8);
    assertBalanced(p);
  });

  it('an agent that ends while a model call below it still waits for usage waits too, then decides', () => {
    const p = pipeline({ holdMillis: 1000 });
    const a = start(p, 'invoke_agent', agent());
    start(p, 'chat', chat(undefined, 'chatcmpl-late'), a).end(); // held: no usage yet
    a.setAttributes({ [IN]: 12, [OUT]: 5 });
    a.end();
    let s = p.processor.stats();
    assert.equal(s.held, 1);
    assert.equal(s.awaitingDescendants, 1, 'the agent waits for the held call');
    assertBalanced(p);
    p.processor.recordUsage('chatcmpl-late', { inputTokens: 12, outputTokens: 5 });
    s = p.processor.stats();
    assert.equal(s.awaitingDescendants, 0);
    assert.equal(forwarded(p, a).attributes['genai_enrich.usage_repeats'], 'descendants');
    assert.equal(sum(p, IN), 12);
    assertBalanced(p);
  });

  it('a waiting agent leaves at flush, decided with what arrived', async () => {
    const p = pipeline();
    const a = start(p, 'invoke_agent', agent());
    const open = start(p, 'chat', chat(), a); // never ends before the flush
    a.setAttributes({ [IN]: 3, [OUT]: 1 });
    a.end();
    assert.equal(p.processor.stats().awaitingDescendants, 1);
    await p.processor.forceFlush();
    assert.equal(forwarded(p, a).attributes[IN], 3, 'nothing below it counted: its usage stays');
    open.end();
    assertBalanced(p);
  });

  it('countUsageOnce: false keeps aggregate usage in place', () => {
    const p = pipeline({ countUsageOnce: false });
    const a = start(p, 'invoke_agent', agent());
    start(p, 'chat', chat([10, 4]), a).end();
    a.setAttributes({ [IN]: 10, [OUT]: 4 });
    a.end();
    assert.equal(forwarded(p, a).attributes[IN], 10);
    assert.equal(sum(p, IN), 20);
  });

  it("the relay's way: spans handed over ended, without onStart, children first", () => {
    const p = pipeline();
    const source = spanSource(); // another provider: the processor sees only onEnd
    const a = source.tracer.startSpan('invoke_agent', { attributes: agent([30, 10]) });
    const ctx = trace.setSpan(ROOT_CONTEXT, a);
    const c1 = source.tracer.startSpan('chat', { attributes: chat([10, 4]) }, ctx);
    const c2 = source.tracer.startSpan('chat', { attributes: chat([20, 6]) }, ctx);
    c1.end();
    c2.end();
    a.end();
    for (const s of source.exporter.getFinishedSpans()) p.processor.onEnd(s);
    assert.equal(sum(p, IN), 30);
    assert.equal(p.processor.stats().usageRepeated, 1);
    assertBalanced(p);
  });

  it("the relay's way, parents first (an earlier request than their children): a possible total waits for them, then is set aside", () => {
    const p = pipeline({ holdMillis: 5000 });
    const source = spanSource();
    const chain = source.tracer.startSpan('RunnableSequence', {
      attributes: { 'gen_ai.operation.name': 'chain', [IN]: 30, [OUT]: 10 },
    });
    const ctx = trace.setSpan(ROOT_CONTEXT, chain);
    const c1 = source.tracer.startSpan('chat', { attributes: chat([10, 4]) }, ctx);
    const c2 = source.tracer.startSpan('chat', { attributes: chat([20, 6]) }, ctx);
    c1.end();
    c2.end();
    chain.end();
    const [s1, s2, parent] = source.exporter.getFinishedSpans();
    p.processor.onEnd(parent);
    assert.equal(p.processor.stats().awaitingDescendants, 1, 'a chain with usage waits for what may come below');
    p.processor.onEnd(s1);
    assert.equal(p.processor.stats().awaitingDescendants, 1, '10/4 below does not explain 30/10 yet');
    p.processor.onEnd(s2);
    assert.equal(p.processor.stats().awaitingDescendants, 0);
    assert.equal(forwarded(p, chain).attributes['genai_enrich.usage_repeats'], 'descendants');
    assert.equal(sum(p, IN), 30);
    assertBalanced(p);
  });

  it("the relay's way: a possible total that nothing below explains leaves after holdMillis, counted; spans without the hint never wait", () => {
    const p = pipeline({ holdMillis: 5000 });
    const source = spanSource();
    const chain = source.tracer.startSpan('RunnableSequence', {
      attributes: { 'gen_ai.operation.name': 'chain', [IN]: 7, [OUT]: 1 },
    });
    chain.end();
    const plain = source.tracer.startSpan('tool', { attributes: { 'gen_ai.operation.name': 'execute_tool', [IN]: 3 } });
    plain.end();
    const [c, t] = source.exporter.getFinishedSpans();
    p.processor.onEnd(c);
    p.processor.onEnd(t);
    assert.equal(p.processor.stats().awaitingDescendants, 1);
    assert.equal(forwarded(p, plain).attributes[IN], 3, 'no hint: it leaves at once');
    p.clock.advance(4999);
    assert.equal(p.processor.stats().awaitingDescendants, 1);
    p.clock.advance(1);
    assert.equal(p.processor.stats().awaitingDescendants, 0);
    assert.equal(forwarded(p, chain).attributes[IN], 7, 'its usage is its own: counted');
    assertBalanced(p);
  });

  it('a parent in another process (remote) is not waited for', () => {
    const p = pipeline();
    const remote = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    p.tracer.startSpan('chat', { attributes: chat([4, 2]) }, remote).end();
    assert.equal(p.processor.stats().received, p.processor.stats().forwarded);
  });
});

// A random tree: leaves are model calls with usage; inner spans are agents whose usage is the sum below
// them, none, or a number of their own; some inner spans are not GenAI at all.
interface Tree {
  kind: 'call' | 'agent' | 'plain';
  usage: [number, number];
  aggregate: 'sum' | 'none' | 'own';
  children: Tree[];
}

const tree: fc.Arbitrary<Tree> = fc.letrec<{ node: Tree }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({
      kind: fc.constant('call' as const),
      usage: fc.tuple(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 100 })),
      aggregate: fc.constant('none' as const),
      children: fc.constant([] as Tree[]),
    }),
    fc.record({
      kind: fc.constantFrom('agent' as const, 'plain' as const),
      usage: fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 1000 })),
      aggregate: fc.constantFrom('sum' as const, 'none' as const, 'own' as const),
      children: fc.array(tie('node'), { maxLength: 3 }),
    }),
  ),
})).node;

interface Opened {
  node: Tree;
  span: Span;
  children: Opened[];
}

type StartFn = (name: string, attributes: Attributes, parent: Span | undefined) => Span;

/** Starts every span of the tree, parents before children (as spans start). */
function open(node: Tree, parent: Span | undefined, startFn: StartFn): Opened {
  const attrs: Attributes =
    node.kind === 'call' ? chat(node.usage) : node.kind === 'agent' ? agent() : { 'http.route': '/x' };
  const span = startFn(node.kind, attrs, parent);
  return { node, span, children: node.children.map((c) => open(c, span, startFn)) };
}

/**
 * Ends the tree: each span after all its children, siblings in an order drawn from `order`; an agent gets
 * its usage as it ends. Returns the usage the subtree counts (what a correct processor must leave summed).
 */
function close(o: Opened, order: readonly number[]): [number, number] {
  return closed(o, order).total;
}

interface Closed {
  /** What the subtree counts. */
  total: [number, number];
  /** What it counts outside nested totals (the span's own count included). */
  local: [number, number];
  /** The span's usage was a total over what is below. */
  aggregate: boolean;
}

function closed(o: Opened, order: readonly number[]): Closed {
  const below: [number, number] = [0, 0];
  const local: [number, number] = [0, 0];
  const idx = o.children.map((_, i) => i);
  idx.sort((a, b) => (order[a % Math.max(1, order.length)] ?? a) - (order[b % Math.max(1, order.length)] ?? b));
  for (const i of idx) {
    const child = closed(o.children[i], order);
    below[0] += child.total[0];
    below[1] += child.total[1];
    if (!child.aggregate) {
      local[0] += child.local[0];
      local[1] += child.local[1];
    }
  }
  const { node, span } = o;
  let counted: [number, number] = [0, 0];
  let aggregate = false;
  if (node.kind === 'call') counted = node.usage;
  if (node.kind === 'agent' && node.aggregate === 'sum' && (below[0] > 0 || below[1] > 0)) {
    span.setAttributes({ [IN]: below[0], [OUT]: below[1] });
    aggregate = true;
  }
  if (node.kind === 'agent' && node.aggregate === 'own') {
    span.setAttributes({ [IN]: node.usage[0], [OUT]: node.usage[1] });
    // Its own number counts, unless it happens to equal what is below it, all of it or all outside nested
    // totals (then it reads as a total).
    const equals = (t: [number, number]): boolean =>
      (t[0] > 0 || t[1] > 0) && t[0] === node.usage[0] && t[1] === node.usage[1];
    if (equals(below) || equals(local)) aggregate = true;
    else counted = node.usage;
  }
  span.end();
  return {
    total: [counted[0] + below[0], counted[1] + below[1]],
    local: [counted[0] + local[0], counted[1] + local[1]],
    aggregate,
  };
}

/** Relay: a possible total (here every agent) waits holdMillis for descendants that could come later; then the bill. */
function assertBillOnceWaited(p: Pipeline, bill: [number, number]): void {
  assertBalanced(p);
  p.clock.advance(60_000);
  assert.equal(p.processor.stats().awaitingDescendants, 0);
  assert.equal(sum(p, IN), bill[0]);
  assert.equal(sum(p, OUT), bill[1]);
  assertBalanced(p);
}

describe('counting usage once (property)', () => {
  it('in process, over random trees and end orders: the trace sums to the bill, every span leaves once', () => {
    fc.assert(
      fc.property(tree, fc.array(fc.nat(), { maxLength: 8 }), (t, order) => {
        const p = pipeline();
        const bill = close(
          open(t, undefined, (name, attrs, up) => start(p, name, attrs, up)),
          order,
        );
        assert.equal(sum(p, IN), bill[0]);
        assert.equal(sum(p, OUT), bill[1]);
        const s = p.processor.stats();
        assert.equal(s.awaitingDescendants, 0);
        assert.equal(s.received, s.forwarded);
        assertBalanced(p);
      }),
      { numRuns: Number(process.env['FC_TREE_RUNS'] ?? 500) },
    );
  });

  it("the relay's way (onEnd only, end order, random request boundaries): the same bill", () => {
    fc.assert(
      fc.property(tree, fc.array(fc.nat(), { maxLength: 8 }), fc.nat({ max: 5 }), (t, order, cut) => {
        const source = spanSource();
        const startFn: StartFn = (name, attrs, up) =>
          source.tracer.startSpan(
            name,
            { attributes: attrs },
            up === undefined ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, up),
          );
        const bill = close(open(t, undefined, startFn), order);
        const p = pipeline();
        // Requests of `cut + 1` spans each, in end order, as the relay hands them over.
        const ended = source.exporter.getFinishedSpans();
        for (let i = 0; i < ended.length; i += cut + 1)
          for (const s of ended.slice(i, i + cut + 1)) p.processor.onEnd(s);
        assertBillOnceWaited(p, bill);
      }),
      { numRuns: Number(process.env['FC_TREE_RUNS'] ?? 300) },
    );
  });

  it("the relay's way with requests in any order (a parent may come before its children): the same bill once the waits are over", () => {
    fc.assert(
      fc.property(
        tree,
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.nat({ max: 5 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (t, order, cut, shuffle) => {
          const source = spanSource();
          const startFn: StartFn = (name, attrs, up) =>
            source.tracer.startSpan(
              name,
              // Spans in between are GenAI here (steps): one that is not GenAI is not remembered (see usage-tree.ts).
              { attributes: name === 'plain' ? { 'gen_ai.operation.name': 'agent_step' } : attrs },
              up === undefined ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, up),
            );
          const bill = close(open(t, undefined, startFn), order);
          const p = pipeline();
          const ended = source.exporter.getFinishedSpans();
          const requests: ReadableSpan[][] = [];
          for (let i = 0; i < ended.length; i += cut + 1) requests.push(ended.slice(i, i + cut + 1));
          // Requests in a drawn order; each in end order inside, as the relay hands a request over.
          const keyed = requests.map((r, i) => ({ r, k: shuffle[i % Math.max(1, shuffle.length)] ?? i }));
          keyed.sort((a, b) => a.k - b.k);
          for (const { r } of keyed) for (const s of r) p.processor.onEnd(s);
          assertBillOnceWaited(p, bill);
        },
      ),
      { numRuns: Number(process.env['FC_TREE_RUNS'] ?? 300) },
    );
  });
});
