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
 *   a span with usage beside a sibling already counted (same parent, same usage, overlapping in time), one
 *   of the two with a response id and the other without: two instrumentations of one call, one of which
 *   writes no response id (OpenInference's Anthropic span beside the Anthropic SDK's own)
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
 * are handed over in end order (children first). A parent can still come in an earlier request than its
 * children (LangSmith's exporter sends in run order). So there, a span with usage and no response id whose
 * operation names it a total (chain, invoke_agent, invoke_workflow, an AI SDK outer span) and whose
 * descendants seen so far do not explain its usage waits up to `graceMillis` [awaitingDescendants]: it
 * leaves as soon as what arrived below equals its usage (a repeat), or at the deadline, counted. The name
 * only decides whether to wait; what it is decides the trace. A GenAI span without usage that arrives before
 * its children (a step between an agent and its calls), and any span whose node completed, is remembered for
 * `graceMillis` (its parent's key only), so that children arriving later still pass their usage up through it. A span that is not GenAI is not
 * remembered: its GenAI children arriving after it are counted below it no further.
 *
 * Bounded: at most `maxNodes` nodes, `maxNodes` counted calls (for twins) and `maxNodes` remembered spans
 * (beyond them spans are not accounted, counted as `unaccounted`), each expiring `waitMillis` after it was
 * made (remembered spans: `graceMillis`); a span waiting for descendants leaves at its node's expiry, at
 * flush and at shutdown, decided with what arrived.
 */
import type { Attributes } from '@opentelemetry/api';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  hasUsage,
  setAsideRepeatedUsage,
} from '@genai-enrich/normalizer';
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
  /** It waits for descendants that may come in a later request (the relay): see the header. */
  grace: boolean;
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
  /** How long a possible total waits for descendants in a later request, where there is no onStart (holdMillis). */
  graceMillis: number;
}

/** Operations whose usage is often a total over the calls below them: a hint to wait for those calls, never a verdict. */
const TOTAL_OPERATIONS: ReadonlySet<unknown> = new Set(['chain', 'invoke_agent', 'invoke_workflow']);
/** The AI SDK's operation id; after normalization only its outer spans lack gen_ai.operation.name. */
const ATTR_AI_OPERATION_ID = 'ai.operationId';

const ZERO: Totals = Object.freeze({ input: 0, output: 0 });

export class UsageTree {
  /** `repeatedDescendants`, `repeatedTwins`: spans whose usage was set aside; `unaccounted`: spans not tracked (full). */
  readonly counts = { repeatedDescendants: 0, repeatedTwins: 0, unaccounted: 0 };
  private readonly _nodes: DeadlineMap<string, Node>;
  /** Counted usage by trace id + response id, for twins. */
  private readonly _calls: DeadlineMap<string, Totals>;
  /** Counted calls by trace + parent + usage, for a twin without a response id. */
  private readonly _siblings: DeadlineMap<string, CountedSibling>;
  /** Spans waiting for descendants in a later request (the relay), by key. */
  private readonly _grace: DeadlineMap<string, Node>;
  /** Relay only: GenAI spans without usage that left before any child arrived, by key: their parent's key. */
  private readonly _left: DeadlineMap<string, string | undefined>;
  /** onStart has been seen: spans are followed from their start, so no grace is needed. */
  private _seenStarts = false;
  private readonly _options: UsageTreeOptions;
  private readonly _leave: (span: ReadableSpanLike) => void;
  private _waiting = 0;

  /** `leave` forwards a span that waited; it must not throw. */
  constructor(timer: ExpiryTimer, options: UsageTreeOptions, leave: (span: ReadableSpanLike) => void) {
    this._options = options;
    this._leave = leave;
    this._nodes = timer.map(options.waitMillis, (node: Node) => this._expire(node));
    this._calls = timer.map(options.waitMillis, () => {});
    this._siblings = timer.map(options.waitMillis, () => {});
    this._left = timer.map(options.graceMillis, () => {});
    // Out of the map already. Children still pending keep it waiting, as any parent waits for its children.
    this._grace = timer.map(options.graceMillis, (node: Node) => {
      node.grace = false;
      if (node.waiting !== undefined && node.pending === 0) this._release(node);
    });
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
    this._seenStarts = true;
    // A root needs a node only once a child starts below it (the child's join makes it).
    const parentKey = parentKeyOf(span);
    if (parentKey === undefined) return;
    const node = this._node(spanKey(span));
    if (node !== undefined && !node.joined) this._join(node, parentKey);
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
      if (!withUsage) {
        if (!this._seenStarts) this._remember(key, parentKeyOf(span));
        return false;
      }
      // In process, a root with no node had no child: only a twin can repeat it.
      if (this._seenStarts && parentKeyOf(span) === undefined) {
        const attributes = span.attributes;
        this._isTwin(span, usageOf(attributes), isAnswer(attributes), undefined);
        return false;
      }
      node = this._node(key);
      if (node === undefined) return false;
    }
    if (!node.joined) this._join(node, parentKeyOf(span));
    node.ended = true;
    const grace = withUsage && !this._seenStarts && this._mayRepeatLater(span, node);
    if (withUsage && (node.pending > 0 || grace)) {
      node.waiting = span;
      this._waiting++;
      if (grace) {
        node.grace = true;
        this._grace.set(key, node);
      }
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

  /** Relay only: a possible total (by its operation; no response id) whose usage what arrived below does not explain yet. */
  private _mayRepeatLater(span: ReadableSpanLike, node: Node): boolean {
    const attributes = span.attributes;
    const responseId = attributes[ATTR_GEN_AI_RESPONSE_ID];
    if (typeof responseId === 'string' && responseId.length > 0) return false;
    const operation = attributes[ATTR_GEN_AI_OPERATION_NAME];
    const hinted =
      operation === undefined ? typeof attributes[ATTR_AI_OPERATION_ID] === 'string' : TOTAL_OPERATIONS.has(operation);
    return hinted && !repeats(usageOf(attributes), node);
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
      grace: false,
      own: undefined,
      waiting: undefined,
    };
    this._nodes.set(key, node);
    return node;
  }

  /** Relay only: a span without usage left with no child seen yet; children may still come (see the header). */
  private _remember(key: string, parentKey: string | undefined): void {
    if (this._left.size >= this._options.maxNodes) {
      this.counts.unaccounted++;
      return;
    }
    this._left.set(key, parentKey);
  }

  private _join(node: Node, parentKey: string | undefined): void {
    node.joined = true;
    node.parentKey = parentKey;
    if (parentKey === undefined) return;
    const parent = this._nodes.get(parentKey) ?? this._revive(parentKey) ?? this._node(parentKey);
    if (parent === undefined) node.parentKey = undefined;
    else parent.pending++;
  }

  /** A remembered span gets a node again, ended, joined to its parent: its late children complete it. */
  private _revive(key: string): Node | undefined {
    // Kept until it expires: each late child revives it, however many come and whenever they come.
    if (!this._left.has(key)) return undefined;
    const parentKey = this._left.get(key);
    const node = this._node(key);
    if (node === undefined) return undefined;
    node.ended = true;
    this._join(node, parentKey);
    return node;
  }

  /** Counted or set aside: see the header. */
  private _decide(node: Node, span: ReadableSpanLike): void {
    const attributes = span.attributes;
    const usage = usageOf(attributes);
    const answer = isAnswer(attributes);
    if (!answer && repeats(usage, node)) {
      setAsideRepeatedUsage(attributes, 'descendants');
      this.counts.repeatedDescendants++;
      node.own = ZERO;
      node.aggregate = true;
      return;
    }
    node.own = this._isTwin(span, usage, answer, node.parentKey) ? ZERO : usage;
  }

  /** A second span of a call already counted (see the header): its usage is set aside. */
  private _isTwin(span: ReadableSpanLike, usage: Totals, answer: boolean, parentKey: string | undefined): boolean {
    const attributes = span.attributes;
    let twin = false;
    if (answer) {
      const call = span.spanContext().traceId + '/' + (attributes[ATTR_GEN_AI_RESPONSE_ID] as string);
      const counted = this._calls.get(call);
      if (counted !== undefined) twin = same(usage, counted);
      else if (this._calls.size < this._options.maxNodes) this._calls.set(call, usage);
      else this.counts.unaccounted++;
    }
    if (!twin && parentKey !== undefined) twin = this._siblingTwin(parentKey, span, usage, answer);
    if (!twin) return false;
    setAsideRepeatedUsage(attributes, 'twin');
    this.counts.repeatedTwins++;
    return true;
  }

  /** A sibling with the same usage, overlapping in time, exactly one of the two with a response id (see the header). */
  private _siblingTwin(parentKey: string, span: ReadableSpanLike, usage: Totals, answer: boolean): boolean {
    if (!positive(usage)) return false;
    const key = `${parentKey}/${usage.input}/${usage.output}`;
    const start = millis(span.startTime);
    const end = millis(span.endTime);
    const sibling = this._siblings.get(key);
    if (sibling === undefined) {
      if (this._siblings.size < this._options.maxNodes) this._siblings.set(key, { answer, start, end });
      return false;
    }
    return sibling.answer !== answer && sibling.start < end && start < sibling.end;
  }

  private _complete(node: Node): void {
    this._nodes.take(node.key);
    // Relay: more children of it may still come in later requests.
    if (!this._seenStarts) this._remember(node.key, node.parentKey);
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
      if (parent.waiting === undefined) this._complete(parent);
      // A span in grace waits on until what is below explains its usage, or its deadline.
      else if (!parent.grace || repeats(usageOf(parent.waiting.attributes), parent)) this._release(parent);
    }
  }

  /** A waiting span leaves: decided with what is below it now, then forwarded. */
  private _release(node: Node): void {
    const span = node.waiting!;
    node.waiting = undefined;
    if (node.grace) {
      node.grace = false;
      this._grace.take(node.key);
    }
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
      if (node.grace) this._grace.take(node.key);
      this._waiting--;
      this._decide(node, span);
      this._leave(span);
    }
    this._addToParent(node);
  }
}

interface CountedSibling {
  /** It had a response id. */
  answer: boolean;
  start: number;
  end: number;
}

function millis(time: readonly [number, number]): number {
  return time[0] * 1000 + time[1] / 1e6;
}

/** The counts the rule compares, as the normalizer leaves them (numbers). */
function usageOf(attributes: Attributes): Totals {
  const input = attributes[ATTR_GEN_AI_USAGE_INPUT_TOKENS];
  const output = attributes[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS];
  return { input: typeof input === 'number' ? input : 0, output: typeof output === 'number' ? output : 0 };
}

/** It has a response id: a provider's answer. */
function isAnswer(attributes: Attributes): boolean {
  const responseId = attributes[ATTR_GEN_AI_RESPONSE_ID];
  return typeof responseId === 'string' && responseId.length > 0;
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
