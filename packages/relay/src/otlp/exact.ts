/*
 * Exact AnyValues beside plain attribute values.
 *
 * The decoders give every attribute a plain JS value (so that the processor and the normalizer read numbers
 * as numbers), and a JS number cannot say everything an AnyValue says. Where it loses something, the decoder
 * also keeps the exact value in a side record, and the encoders (encode-protobuf.ts, encode-json.ts) write
 * that instead of the plain value, as long as the attribute still holds the same plain value:
 *
 *   AnyValue as received            plain JS value           side record          written back as
 *   int_value within ±2^53          number                   —                    int_value (exact)
 *   int_value beyond ±2^53          nearest number           ExactInt64 (bits)    int_value, every bit
 *   double_value, not integral      number (NaN, ±Inf too)   —                    double_value
 *   double_value −0                 −0                       —                    double_value −0
 *   double_value, integral (2.0)    number 2                 ExactDouble          double_value 2.0
 *   array/kvlist holding any above  array / plain object     the same shape with  each element as received
 *                                                            exact leaves
 *
 * A plain number is written as int_value when it is an integer within int64 (and not −0), as double_value
 * otherwise; so only integral doubles and big ints need a record, and most attribute maps have none.
 *
 * Records live in a WeakMap keyed by the attribute map as decoded (span, event, link and scope attributes)
 * and by the Resource: nothing is added to the objects the processor sees, and a record goes away with its
 * map. A span's map may be replaced by the processor (normalization copies it), so a span keeps the map it
 * was decoded with (RelaySpanImpl.decodedAttributes) to find its record, and a record entry is used only
 * while the attribute still holds the very value it was recorded with (`Object.is`; the same array or object
 * for lists). A key the processor renamed or rewrote is written from its plain value.
 */
import type { Resource } from '@opentelemetry/resources';

/** A double_value that is an integer (2.0, 1e300): a plain number would be written back as int_value. */
export class ExactDouble {
  constructor(readonly value: number) {}
}

/** An int_value beyond ±2^53, as its 64 bits (two's complement), which no JS number holds. */
export class ExactInt64 {
  constructor(
    readonly lo: number,
    readonly hi: number,
  ) {}

  /** From a decimal string within int64 (checked by the caller). */
  static fromBigInt(value: bigint): ExactInt64 {
    const bits = BigInt.asUintN(64, value);
    return new ExactInt64(Number(bits & 0xffffffffn), Number(bits >> 32n));
  }

  /** The signed decimal, as proto3 JSON writes an int64. */
  toDecimal(): string {
    return BigInt.asIntN(64, (BigInt(this.hi) << 32n) | BigInt(this.lo)).toString();
  }
}

/** One attribute's plain value as decoded and its exact counterpart (a tree with Exact* leaves). */
export interface ExactEntry {
  readonly plain: unknown;
  readonly exact: unknown;
}

/** The exact values of one attribute map, by key; only keys whose plain value loses something. */
export type ExactRecord = Map<string, ExactEntry>;

const records = new WeakMap<object, ExactRecord>();

/** Adds (or, with `exact` undefined, removes) the entry for `key`; returns the record, created on demand. */
export function noteExact(
  record: ExactRecord | undefined,
  key: string,
  plain: unknown,
  exact: unknown,
): ExactRecord | undefined {
  if (exact === undefined) {
    // A repeated key keeps its last value: a later plain value must not be written as an earlier exact one.
    record?.delete(key);
    return record;
  }
  if (record === undefined) record = new Map();
  record.set(key, { plain, exact });
  return record;
}

/** Attaches a finished record to the attribute map it describes (nothing when there is none). */
export function attachExact(attributes: object, record: ExactRecord | undefined): void {
  if (record !== undefined && record.size > 0) records.set(attributes, record);
}

/** The record of an attribute map as decoded, if it has one. */
export function exactRecordOf(attributes: object | undefined): ExactRecord | undefined {
  return attributes === undefined ? undefined : records.get(attributes);
}

/** What the Resource object does not keep: its attributes as decoded (empty AnyValues included) and the dropped count. */
export interface DecodedResource {
  readonly attributes: Record<string, unknown>;
  readonly droppedAttributesCount: number;
}

const resources = new WeakMap<Resource, DecodedResource>();

export function attachDecodedResource(resource: Resource, decoded: DecodedResource): void {
  resources.set(resource, decoded);
}

/** The resource as decoded, or undefined for a Resource the decoders did not make. */
export function decodedResourceOf(resource: Resource): DecodedResource | undefined {
  return resources.get(resource);
}

/** Whether a decoded double needs a record: an integer other than −0 (which a plain number writes as int_value). */
export function isIntegralDouble(value: number): boolean {
  return Number.isInteger(value) && !Object.is(value, -0);
}
