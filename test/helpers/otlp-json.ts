// Decodes an OTLP/JSON ExportTraceServiceRequest into flat span records that tests can assert on.
// Tolerant the way a receiver must be: ids in hex (what the OTLP/JSON spec and the JS exporter use),
// int64 as numbers or strings, enums as integers or names.
import type { Attributes, AttributeValue } from '@opentelemetry/api';

export interface DecodedEvent {
  name: string;
  timeUnixNano: bigint;
  attributes: Attributes;
}

export interface DecodedLink {
  traceId: string;
  spanId: string;
  attributes: Attributes;
}

export interface DecodedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attributes;
  events: DecodedEvent[];
  links: DecodedLink[];
  status: { code: number; message: string };
  resource: Attributes;
  scope: { name: string; version: string };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const STATUS_NAMES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };
const KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};

function obj(v: Json | undefined): JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
}

function arr(v: Json | undefined): Json[] {
  return Array.isArray(v) ? v : [];
}

function str(v: Json | undefined): string {
  return typeof v === 'string' ? v : '';
}

function nanos(v: Json | undefined): bigint {
  if (typeof v === 'string' && /^\d+$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.trunc(v));
  return 0n;
}

function enumValue(v: Json | undefined, names: Record<string, number>): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return names[v] ?? 0;
  return 0;
}

/** An AnyValue as an attribute value. kvlists and bytes have no attribute form; they become JSON strings. */
export function anyValue(v: Json | undefined): AttributeValue | undefined {
  const o = obj(v);
  if ('stringValue' in o) return str(o['stringValue']);
  if ('boolValue' in o) return o['boolValue'] === true;
  if ('intValue' in o) return Number(o['intValue']);
  if ('doubleValue' in o) return Number(o['doubleValue']);
  if ('arrayValue' in o) {
    const values = arr(obj(o['arrayValue'])['values']).map(anyValue);
    return values as AttributeValue;
  }
  if ('kvlistValue' in o) return JSON.stringify(keyValues(arr(obj(o['kvlistValue'])['values'])));
  if ('bytesValue' in o) return str(o['bytesValue']);
  return undefined;
}

export function keyValues(list: Json[]): Attributes {
  const out: Attributes = {};
  for (const kv of list) {
    const o = obj(kv);
    const key = str(o['key']);
    Object.defineProperty(out, key, {
      value: anyValue(o['value']),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

export function decodeTraceRequest(body: unknown): DecodedSpan[] {
  const out: DecodedSpan[] = [];
  for (const rs of arr(obj(body as Json)['resourceSpans'])) {
    const resource = keyValues(arr(obj(obj(rs)['resource'])['attributes']));
    for (const ss of arr(obj(rs)['scopeSpans'])) {
      const scopeJson = obj(obj(ss)['scope']);
      const scope = { name: str(scopeJson['name']), version: str(scopeJson['version']) };
      for (const s of arr(obj(ss)['spans'])) {
        const span = obj(s);
        const status = obj(span['status']);
        out.push({
          traceId: str(span['traceId']),
          spanId: str(span['spanId']),
          parentSpanId: str(span['parentSpanId']),
          name: str(span['name']),
          kind: enumValue(span['kind'], KIND_NAMES),
          startTimeUnixNano: nanos(span['startTimeUnixNano']),
          endTimeUnixNano: nanos(span['endTimeUnixNano']),
          attributes: keyValues(arr(span['attributes'])),
          events: arr(span['events']).map((e) => ({
            name: str(obj(e)['name']),
            timeUnixNano: nanos(obj(e)['timeUnixNano']),
            attributes: keyValues(arr(obj(e)['attributes'])),
          })),
          links: arr(span['links']).map((l) => ({
            traceId: str(obj(l)['traceId']),
            spanId: str(obj(l)['spanId']),
            attributes: keyValues(arr(obj(l)['attributes'])),
          })),
          status: { code: enumValue(status['code'], STATUS_NAMES), message: str(status['message']) },
          resource,
          scope,
        });
      }
    }
  }
  return out;
}
