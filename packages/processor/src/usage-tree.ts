/*
 * Counting each call's usage once per trace. Dashboards sum `gen_ai.usage.*` over a trace's spans; that sum
 * is the bill only if each call's usage sits on one span. Agent, chain and workflow spans (and some SDKs'
 * outer spans) repeat the usage of the calls below them, and two instrumentations of one call make twin
 * spans. Which is which is read from the trace's structure, never from span names:
 *
 *   a span with usage and no response id, whose descendants' counted usage equals its own (input and
 *   output), either all of it or only what is not already inside a nested aggregate (an agent total that
 *   leaves out a sub-agent's calls)
 *       ─► it repeats them: its usage moves to genai_enrich.repeated_usage.*       [descendants]
 *   a span with usage, whose twin (same trace, same response id, same usage) was already counted
 *       ─► the same                                                               [twin]
 *   otherwise ─► its usage counts, and its counted usage adds to its parent's
 * A span with a response id is a provider's answer, never a total over other calls: only the twin rule
 * applies to it (a model call whose tool runs a sub-agent is not its sub-agent's total).
 * A span without usage whose descendants carry GenAI spans is not held for late usage: its usage is below.
 *
 * The tree keeps a node per span that has children not yet accounted for:
 *   started(span)   GenAI span starts (in-process): a node, one more pending child for its parent
 *   leaving(span)   a span is about to be forwarded (its own joins done): it has ended. Without usage it
 *                   leaves at once; with usage and pending children it WAITS, so that its decision sees them
 *   passThrough     a span that is not GenAI ends: only a node with GenAI descendants is touched
 *   a node completes when it has ended and no child is pending ─► decide (if it waited) ─► add its counted
 *   usage and what was below it to its parent's `below`, one fewer pending child there ─► the parent may
 *   complete in turn
 * In the relay there is no onStart: a span joins its parent when it arrives, which works because spans
 * are handed over in end order (children first); a child in a later request than its parent is not seen.
 *
 * Bounded: at most `maxNodes` nodes (beyond it spans are not accounted, counted as `unaccounted`), each
 * expiring `waitMillis` after it was made; a span waiting for descendants leaves at its node's expiry, at
 * flush and at shutdown, decided with what arrived.
 */
import { ATTR_GEN_AI_RESPONSE_ID, hasUsage, readUsage, setAsideRepeatedUsage } from '@genai-enrich/normalizer';
import type { UsageCounts } from '@genai-enrich/normalizer';
import type { DeadlineMap, ExpiryTimer } from './deadlines.js';
import { spanKey } from './held-spans.js';
import { parentKeyOf } from './sdk-compat.js';
import type { ReadableSpanLike } from './types.js';

/** Counted usage, summed over spans. */
interface Totals {
  input: number;
  output: number;
}

interface Node {
  readonly key: string;
  parentKey: string | undefined;
  /** Whether this node is counted in its parent's `pending` (it joined the parent). */
  joined: boolean;
  pending: number;
  ended: boolean;
  readonly below: Totals;
  /** The part of `below` that is not inside a nested aggregate (a descendant whose usage was set aside). */
  readonly local: Totals;
  /** Its usage was set aside as a total over its descendants. */
  aggregate: boolean;
  /** Counted usage of the span itself, once decided. */
  own: Totals | undefined;
  /** The span, when it has usage and waits for its descendants. */
  waiting: ReadableSpanLike | undefined;
}

export interface UsageTreeOptions {
  /** How long a node may wait for its subtree (the processor: maxOpenMillis + holdMillis). */
  waitMillis: number;
  maxNodes: number;
  /** false: decide nothing, move nothing (the spans still flow through unchanged). */
  countOnce: boolean;
}

const ZERO: Totals = Object.freeze({ input: 0, output: 0 });

export class UsageTree {
  /** `repeatedDescendants`, `repeatedTwins`: spans whose usage was set aside; `unaccounted`: spans not tracked (full). */
  readonly counts = { repeatedDescendants: 0, repeatedTwins: 0, unaccounted: 0 };
  private readonly _nodes: DeadlineMap<string, Node>;
  /** Counted usage by trace id + response id, for twins. */
  private readonly _calls: DeadlineMap<string, Totals>;
  private readonly _options: UsageTreeOptions;
  private readonly _leave: (span: ReadableSpanLike) => void;
  private _waiting = 0;

  /** `leave` forwards a span that waited; it must not throw. */
  constructor(timer: ExpiryTimer, options: UsageTreeOptions, leave: (span: ReadableSpanLike) => void) {
    this._options = options;
    this._leave = leave;
    this._nodes = timer.map(options.waitMillis, (node: Node) => this._expire(node));
    this._calls = timer.map(options.waitMillis, () => {});
  }

  /** Spans waiting for their descendants now. */
  get waiting(): number {
    return this._waiting;
  }

  /**
   * Whether GenAI spans below this one carried usage or are still pending: then it is no call waiting for
   * late usage (an embeddings root over its batches, a wrapper over its provider call).
   */
  hasGenAiBelow(span: ReadableSpanLike): boolean {
    if (this._nodes.size === 0) return false;
    const node = this._nodes.get(spanKey(span));
    return node !== undefined && (node.pending > 0 || positive(node.below));
  }

  /** A GenAI span started: it will report to its parent before the parent decides. */
  started(span: ReadableSpanLike): void {
    if (!this._options.countOnce) return;
    const node = this._node(spanKey(span));
    if (node !== undefined && !node.joined) this._join(node, parentKeyOf(span));
  }

  /**
   * A GenAI span is about to leave, its own joins done. Returns true when it waits for its descendants
   * (the tree forwards it later); false when the caller forwards it now.
   */
  leaving(span: ReadableSpanLike): boolean {
    if (!this._options.countOnce) return false;
    const key = spanKey(span);
    const withUsage = hasUsage(span.attributes);
    // A span without a node has no descendants waiting on it: without usage it adds nothing.
    let node = this._nodes.get(key);
    if (node === undefined) {
      if (!withUsage) return false;
      node = this._node(key);
      if (node === undefined) return false;
    }
    if (!node.joined) this._join(node, parentKeyOf(span));
    node.ended = true;
    if (withUsage && node.pending > 0) {
      node.waiting = span;
      this._waiting++;
      return true;
    }
    if (withUsage) this._decide(node, span);
    if (node.pending === 0) this._complete(node);
    return false;
  }

  /** A span that is not GenAI ended: it may stand between a GenAI span and its GenAI descendants. */
  passThrough(span: ReadableSpanLike): void {
    if (this._nodes.size === 0) return;
    const node = this._nodes.get(spanKey(span));
    if (node === undefined) return;
    if (!node.joined) this._join(node, parentKeyOf(span));
    node.ended = true;
    if (node.pending === 0) this._complete(node);
  }

  /** Flush and shutdown: every waiting span leaves now, decided with what arrived. */
  releaseAll(): void {
    for (const node of this._nodes.values()) {
      if (node.waiting !== undefined) this._release(node);
    }
  }

  private _node(key: string): Node | undefined {
    const existing = this._nodes.get(key);
    if (existing !== undefined) return existing;
    if (this._nodes.size >= this._options.maxNodes) {
      this.counts.unaccounted++;
      return undefined;
    }
    const node: Node = {
      key,
      parentKey: undefined,
      joined: false,
      pending: 0,
      ended: false,
      below: { input: 0, output: 0 },
      local: { input: 0, output: 0 },
      aggregate: false,
      own: undefined,
      waiting: undefined,
    };
    this._nodes.set(key, node);
    return node;
  }

  private _join(node: Node, parentKey: string | undefined): void {
    node.joined = true;
    node.parentKey = parentKey;
    if (parentKey === undefined) return;
    const parent = this._node(parentKey);
    if (parent === undefined) node.parentKey = undefined;
    else parent.pending++;
  }

  /** Counted or set aside: see the header. */
  private _decide(node: Node, span: ReadableSpanLike): void {
    const attributes = span.attributes;
    const usage = totals(readUsage(attributes));
    const responseId = attributes[ATTR_GEN_AI_RESPONSE_ID];
    const answer = typeof responseId === 'string' && responseId.length > 0;
    if (!answer && repeats(usage, node)) {
      setAsideRepeatedUsage(attributes, 'descendants');
      this.counts.repeatedDescendants++;
      node.own = ZERO;
      node.aggregate = true;
      return;
    }
    if (answer) {
      const call = span.spanContext().traceId + '/' + responseId;
      const twin = this._calls.get(call);
      if (twin !== undefined && same(usage, twin)) {
        setAsideRepeatedUsage(attributes, 'twin');
        this.counts.repeatedTwins++;
        node.own = ZERO;
        return;
      }
      if (twin === undefined) this._calls.set(call, usage);
    }
    node.own = usage;
  }

  private _complete(node: Node): void {
    this._nodes.take(node.key);
    this._addToParent(node);
  }

  /** What the node counts, and what was below it, goes to its parent, which may complete in turn. */
  private _addToParent(node: Node): void {
    const parentKey = node.parentKey;
    if (parentKey === undefined) return;
    const parent = this._nodes.get(parentKey);
    if (parent === undefined) return;
    const own = node.own ?? ZERO;
    parent.below.input += own.input + node.below.input;
    parent.below.output += own.output + node.below.output;
    if (!node.aggregate) {
      parent.local.input += own.input + node.local.input;
      parent.local.output += own.output + node.local.output;
    }
    parent.pending--;
    if (parent.ended && parent.pending === 0) {
      if (parent.waiting !== undefined) this._release(parent);
      else this._complete(parent);
    }
  }

  /** A waiting span leaves: decided with what is below it now, then forwarded. */
  private _release(node: Node): void {
    const span = node.waiting!;
    node.waiting = undefined;
    this._waiting--;
    this._decide(node, span);
    this._leave(span);
    if (node.pending === 0 && this._nodes.get(node.key) === node) this._complete(node);
  }

  /** Out of the map already: a waiting span leaves as it stands, and the node reports to its parent. */
  private _expire(node: Node): void {
    if (node.waiting !== undefined) {
      const span = node.waiting;
      node.waiting = undefined;
      this._waiting--;
      this._decide(node, span);
      this._leave(span);
    }
    this._addToParent(node);
  }
}

function totals(usage: UsageCounts): Totals {
  return { input: usage.inputTokens ?? 0, output: usage.outputTokens ?? 0 };
}

/** The span's usage is the total of what its descendants counted: all of it, or all outside nested aggregates. */
function repeats(usage: Totals, node: Node): boolean {
  return (positive(node.below) && same(usage, node.below)) || (positive(node.local) && same(usage, node.local));
}

function positive(t: Totals): boolean {
  return t.input > 0 || t.output > 0;
}

function same(a: Totals, b: Totals): boolean {
  return a.input === b.input && a.output === b.output;
}
