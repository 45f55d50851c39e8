/*
 * What a span costs in memory, estimated cheaply enough to do for every span the relay receives: the
 * lengths of its name, attribute keys, strings, byte arrays and arrays, plus a fixed cost per span, per
 * attribute and per event or link for the objects that hold them.
 *
 *   estimateSpanBytes(span) ─► held-spans.ts: held spans bounded by bytes (maxHeldBytes)
 *                          └─► the relay: the bytes of spans it has accepted and not yet exported
 *
 * Why an estimate and not a measurement: V8 does not say what one object graph costs, and walking it with a
 * serializer would cost as much as exporting the span. The constants were fitted to the heap growth of
 * decoded OTLP spans (the relay's) on Node 20, so that the estimate is close to, and not below, what the
 * span retains; bench/span-size.bench.ts measures it (docs/benchmarks.md, "Held bytes"). Strings count one
 * byte per character (V8 keeps Latin-1 strings so; other strings take two, which the per-attribute cost
 * only partly covers).
 */
import type { ReadableSpanLike } from './types.js';

/** The span object, its context, times, status and the arrays it keeps, before any attribute. */
export const SPAN_BASE_BYTES = 700;
/** One attribute (or kvlist entry): its slot in the attributes object and the key and value headers. */
export const ENTRY_BYTES = 56;
/** One event or link: its object, time or context, and its attributes object. */
export const ITEM_BYTES = 120;
/** A number, boolean or other primitive value. */
const PRIMITIVE_BYTES = 8;
/** A string value's header (a key is usually shared between spans, a value seldom). */
const STRING_BYTES = 16;
/** An array element's slot. */
const SLOT_BYTES = 16;
/** How deep values are followed (the relay's decoder stops at 64 levels of arrays and kvlists). */
const MAX_DEPTH = 64;

/** The estimated bytes `span` keeps alive: see the header. Never throws; a malformed span is its base cost. */
export function estimateSpanBytes(span: ReadableSpanLike): number {
  let bytes = SPAN_BASE_BYTES;
  try {
    bytes += stringBytes(span.name);
    bytes += entriesBytes(span.attributes, 0);
    const events = span.events;
    if (Array.isArray(events)) {
      for (const event of events) {
        bytes += ITEM_BYTES + stringBytes(event?.name) + entriesBytes(event?.attributes, 0);
      }
    }
    const links = span.links;
    if (Array.isArray(links)) {
      for (const link of links) bytes += ITEM_BYTES + entriesBytes(link?.attributes, 0);
    }
  } catch {
    // A getter that throws: count what was read.
  }
  return bytes;
}

function stringBytes(value: unknown): number {
  return typeof value === 'string' ? value.length : 0;
}

function entriesBytes(attributes: unknown, depth: number): number {
  if (attributes === null || typeof attributes !== 'object') return 0;
  let bytes = 0;
  const record = attributes as Record<string, unknown>;
  for (const key in record) {
    if (!Object.prototype.hasOwnProperty.call(record, key)) continue;
    bytes += ENTRY_BYTES + key.length + valueBytes(record[key], depth + 1);
  }
  return bytes;
}

/** An attribute value as the SDK or the relay's decoder holds it: primitives, arrays, bytes, kvlists. */
function valueBytes(value: unknown, depth: number): number {
  if (typeof value === 'string') return STRING_BYTES + value.length;
  if (value === null || typeof value !== 'object') return PRIMITIVE_BYTES;
  if (depth > MAX_DEPTH) return PRIMITIVE_BYTES;
  if (ArrayBuffer.isView(value)) return value.byteLength + ENTRY_BYTES;
  if (Array.isArray(value)) {
    let bytes = ENTRY_BYTES;
    for (const element of value) bytes += SLOT_BYTES + valueBytes(element, depth + 1);
    return bytes;
  }
  return ENTRY_BYTES + entriesBytes(value, depth);
}
