// Decodes an OTLP/JSON ExportMetricsServiceRequest into flat data points that tests can assert on, and sums
// them. Tolerant as otlp-json.ts is: int64 as numbers or strings, enums as integers or names. Only what the
// metrics tests read: histograms, sums and gauges.
import type { Attributes } from '@opentelemetry/api';
import { keyValues } from './otlp-json.js';

export interface DecodedMetricPoint {
  /** The metric's name, unit and kind (`histogram`, `sum` or `gauge`). */
  name: string;
  unit: string;
  kind: 'histogram' | 'sum' | 'gauge';
  /** The instrumentation scope (the meter's name). */
  scope: string;
  resource: Attributes;
  attributes: Attributes;
  /** A sum's or gauge's value; a histogram's sum. */
  value: number;
  /** Histograms: the count and the buckets. */
  count: number;
  bucketCounts: number[];
  explicitBounds: number[];
  /** Sums: monotonic or not. */
  isMonotonic: boolean;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function obj(v: Json | undefined): JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
}

function arr(v: Json | undefined): Json[] {
  return Array.isArray(v) ? v : [];
}

function num(v: Json | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return 0;
}

export function decodeMetricsRequest(body: unknown): DecodedMetricPoint[] {
  const out: DecodedMetricPoint[] = [];
  for (const rm of arr(obj(body as Json)['resourceMetrics'])) {
    const resource = keyValues(arr(obj(obj(rm)['resource'])['attributes']));
    for (const sm of arr(obj(rm)['scopeMetrics'])) {
      const scope = String(obj(obj(sm)['scope'])['name'] ?? '');
      for (const m of arr(obj(sm)['metrics'])) {
        const metric = obj(m);
        const base = { name: String(metric['name'] ?? ''), unit: String(metric['unit'] ?? ''), scope, resource };
        if ('histogram' in metric) {
          for (const p of arr(obj(metric['histogram'])['dataPoints'])) {
            const point = obj(p);
            out.push({
              ...base,
              kind: 'histogram',
              attributes: keyValues(arr(point['attributes'])),
              value: num(point['sum']),
              count: num(point['count']),
              bucketCounts: arr(point['bucketCounts']).map(num),
              explicitBounds: arr(point['explicitBounds']).map(num),
              isMonotonic: false,
            });
          }
        }
        for (const kind of ['sum', 'gauge'] as const) {
          if (!(kind in metric)) continue;
          const data = obj(metric[kind]);
          for (const p of arr(data['dataPoints'])) {
            const point = obj(p);
            out.push({
              ...base,
              kind,
              attributes: keyValues(arr(point['attributes'])),
              value: 'asDouble' in point ? num(point['asDouble']) : num(point['asInt']),
              count: 0,
              bucketCounts: [],
              explicitBounds: [],
              isMonotonic: data['isMonotonic'] === true,
            });
          }
        }
      }
    }
  }
  return out;
}

/**
 * The points of the last export that carried metric `name` (cumulative temporality: the last export holds
 * every total), optionally only those whose attributes match `where`.
 */
export function latestPoints(
  requests: readonly DecodedMetricPoint[][],
  name: string,
  where: Attributes = {},
): DecodedMetricPoint[] {
  for (let i = requests.length - 1; i >= 0; i--) {
    const points = requests[i].filter((p) => p.name === name);
    if (points.length > 0) return points.filter((p) => matches(p.attributes, where));
  }
  return [];
}

/** Sums the points' values (histograms: their sums) by the value of attribute `key`. */
export function sumBy(points: readonly DecodedMetricPoint[], key: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of points) {
    const k = String(p.attributes[key]);
    out.set(k, (out.get(k) ?? 0) + p.value);
  }
  return out;
}

function matches(attributes: Attributes, where: Attributes): boolean {
  for (const [k, v] of Object.entries(where)) if (attributes[k] !== v) return false;
  return true;
}
