/*
 * OpenTelemetry metrics as the Prometheus text exposition format (version 0.0.4), for `GET /metrics`. Names
 * follow the OpenTelemetry-to-Prometheus compatibility rules, as the Collector's Prometheus exporter writes
 * them:
 *
 *   name     every character outside [a-zA-Z0-9_:] becomes `_`  gen_ai.client.token.usage ─► gen_ai_client_token_usage
 *   unit     s ─► _seconds, ms ─► _milliseconds, By ─► _bytes; annotations such as {token} add nothing
 *   counter  (a monotonic sum) ─► `_total`, TYPE counter; an up-down counter or a gauge ─► TYPE gauge
 *   histogram ─► `_bucket{le="…"}` (cumulative, up to le="+Inf"), `_sum`, `_count`
 *   labels   attribute keys sanitized as names (gen_ai.token.type ─► gen_ai_token_type); values escaped
 *
 * Metrics that end with the same name (from two meters) are written as one family, HELP and TYPE once.
 */
import type { Attributes } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';

/** The content type of the text format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const UNIT_SUFFIXES: Readonly<Record<string, string>> = { s: 'seconds', ms: 'milliseconds', By: 'bytes' };

interface Family {
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  samples: string[];
}

/** The text of every metric in `metrics`, families in the order they first appear. */
export function toPrometheusText(metrics: ResourceMetrics): string {
  const families = new Map<string, Family>();
  for (const scope of metrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      const type = familyType(metric);
      const name = prometheusName(metric.descriptor.name, metric.descriptor.unit, type === 'counter');
      let family = families.get(name);
      if (family === undefined) {
        family = { type, help: metric.descriptor.description, samples: [] };
        families.set(name, family);
      }
      if (family.type !== type) continue; // one name, two kinds: the first one's points are kept
      writeSamples(family.samples, name, metric);
    }
  }
  let out = '';
  for (const [name, family] of families) {
    if (family.help !== '') out += `# HELP ${name} ${escapeHelp(family.help)}\n`;
    out += `# TYPE ${name} ${family.type}\n`;
    for (const sample of family.samples) out += sample;
  }
  return out;
}

function familyType(metric: MetricData): Family['type'] {
  if (metric.dataPointType === DataPointType.HISTOGRAM) return 'histogram';
  if (metric.dataPointType === DataPointType.SUM && metric.isMonotonic) return 'counter';
  return 'gauge';
}

/** The Prometheus name of an OpenTelemetry metric (see the header). */
export function prometheusName(name: string, unit: string, counter: boolean): string {
  let out = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  if (/^[0-9]/.test(out)) out = '_' + out;
  const suffix = UNIT_SUFFIXES[unit];
  if (suffix !== undefined && !out.endsWith('_' + suffix)) out += '_' + suffix;
  if (counter && !out.endsWith('_total')) out += '_total';
  return out;
}

function writeSamples(samples: string[], name: string, metric: MetricData): void {
  if (metric.dataPointType !== DataPointType.HISTOGRAM) {
    for (const point of metric.dataPoints) samples.push(sample(name, labels(point.attributes), point.value as number));
    return;
  }
  for (const point of metric.dataPoints) {
    const value = point.value;
    const base = labels(point.attributes);
    const { boundaries, counts } = value.buckets;
    let cumulative = 0;
    for (let i = 0; i < boundaries.length; i++) {
      cumulative += counts[i] ?? 0;
      samples.push(sample(`${name}_bucket`, withLe(base, formatNumber(boundaries[i])), cumulative));
    }
    samples.push(sample(`${name}_bucket`, withLe(base, '+Inf'), value.count));
    samples.push(sample(`${name}_sum`, base, value.sum ?? 0));
    samples.push(sample(`${name}_count`, base, value.count));
  }
}

function sample(name: string, labelText: string, value: number): string {
  return `${name}${labelText === '' ? '' : `{${labelText}}`} ${formatNumber(value)}\n`;
}

function withLe(base: string, le: string): string {
  return `${base}${base === '' ? '' : ','}le="${le}"`;
}

function labels(attributes: Attributes): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? JSON.stringify(value) : String(value);
    parts.push(`${labelName(key)}="${escapeLabelValue(text)}"`);
  }
  return parts.join(',');
}

function labelName(key: string): string {
  const out = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(out) ? '_' + out : out;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatNumber(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
