/*
 * Logfire's streamed usage. Logfire (Python) does not put a stream's usage on the request span: it writes a
 * log record, "streaming response from {…} took {…}s", when the stream ends. The record is a sibling of the
 * request span (same trace, same parent), carries the usage and the request model, and no response id.
 * With no enclosing span, Logfire starts the record in a trace of its own; then it repeats the request's
 * `request_data`, and that is what finds the request span.
 *
 *   held Logfire span (has logfire.msg_template) ─► indexed by trace/parent, and when root-level by request_data
 *   stream record ends ─► findRequest(record):
 *       held siblings with the record's model ─► the one that started last, at or before the record
 *       none, and the record is root-level ───► the same among root-level requests with its request_data
 *
 * Only Logfire spans are indexed: the request span a record completes is always Logfire's own.
 */
import {
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_LOGFIRE_MSG_TEMPLATE,
  ATTR_LOGFIRE_REQUEST_DATA,
  ATTR_LOGFIRE_SPAN_TYPE,
  hasUsage,
} from '@genai-enrich/normalizer';
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { Held, HeldIndex } from './held-spans.js';
import { parentSpanIdOf } from './sdk-compat.js';
import type { ReadableSpanLike } from './types.js';

const STREAM_RECORD_TEMPLATE_PREFIX = 'streaming response from ';

/** Whether the span is Logfire's end-of-stream record with usage (and no response id to join by). */
export function isLogfireStreamRecord(attributes: Attributes): boolean {
  if (attributes[ATTR_LOGFIRE_SPAN_TYPE] !== 'log' || attributes[ATTR_GEN_AI_RESPONSE_ID] !== undefined) return false;
  const template = attributes[ATTR_LOGFIRE_MSG_TEMPLATE];
  return typeof template === 'string' && template.startsWith(STREAM_RECORD_TEMPLATE_PREFIX) && hasUsage(attributes);
}

/** What a held Logfire span is found by, read when it was held. */
interface Entry {
  readonly held: Held;
  readonly siblingKey: string;
  readonly requestKey: string | undefined;
  readonly model: unknown;
  readonly start: HrTime;
}

/** The held Logfire request spans, indexed for {@link LogfireRequests.findRequest}. */
export class LogfireRequests implements HeldIndex {
  private readonly _entries = new Map<Held, Entry>();
  private readonly _bySibling = new Map<string, Set<Entry>>();
  private readonly _byRequest = new Map<string, Set<Entry>>();

  add(held: Held): void {
    const attributes = held.span.attributes;
    if (attributes[ATTR_LOGFIRE_MSG_TEMPLATE] === undefined) return;
    const requestData = attributes[ATTR_LOGFIRE_REQUEST_DATA];
    const entry: Entry = {
      held,
      siblingKey: siblingKey(held.span),
      requestKey: parentSpanIdOf(held.span) === undefined && typeof requestData === 'string' ? requestData : undefined,
      model: attributes[ATTR_GEN_AI_REQUEST_MODEL],
      start: held.span.startTime ?? NO_TIME,
    };
    this._entries.set(held, entry);
    addTo(this._bySibling, entry.siblingKey, entry);
    if (entry.requestKey !== undefined) addTo(this._byRequest, entry.requestKey, entry);
  }

  remove(held: Held): void {
    const entry = this._entries.get(held);
    if (entry === undefined) return;
    this._entries.delete(held);
    removeFrom(this._bySibling, entry.siblingKey, entry);
    if (entry.requestKey !== undefined) removeFrom(this._byRequest, entry.requestKey, entry);
  }

  /** The held request span a stream record completes (see the header), or undefined. */
  findRequest(record: ReadableSpanLike): Held | undefined {
    const sibling = nearestPreceding(this._bySibling.get(siblingKey(record)), record);
    if (sibling !== undefined || parentSpanIdOf(record) !== undefined) return sibling;
    const requestData = record.attributes[ATTR_LOGFIRE_REQUEST_DATA];
    return typeof requestData === 'string' ? nearestPreceding(this._byRequest.get(requestData), record) : undefined;
  }
}

function siblingKey(span: ReadableSpanLike): string {
  return span.spanContext().traceId + '/' + (parentSpanIdOf(span) ?? '');
}

const NO_TIME: HrTime = [0, 0];

/**
 * Orders two start times exactly: seconds, then nanoseconds. (As one double of nanoseconds since the epoch
 * they would tie within 256 ns.)
 */
function compareTime(a: HrTime, b: HrTime): number {
  return a[0] - b[0] || a[1] - b[1];
}

/** The candidate with the record's model that started last, at or before the record. */
function nearestPreceding(candidates: ReadonlySet<Entry> | undefined, record: ReadableSpanLike): Held | undefined {
  if (candidates === undefined) return undefined;
  const model = record.attributes[ATTR_GEN_AI_REQUEST_MODEL];
  const start = record.startTime ?? NO_TIME;
  let best: Entry | undefined;
  for (const entry of candidates) {
    if (entry.model !== model || compareTime(entry.start, start) > 0) continue;
    if (best === undefined || compareTime(entry.start, best.start) >= 0) best = entry;
  }
  return best?.held;
}

function addTo(index: Map<string, Set<Entry>>, key: string, entry: Entry): void {
  const set = index.get(key);
  if (set === undefined) index.set(key, new Set([entry]));
  else set.add(entry);
}

function removeFrom(index: Map<string, Set<Entry>>, key: string, entry: Entry): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(entry);
  if (set.size === 0) index.delete(key);
}
