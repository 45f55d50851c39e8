// Types for parse-prometheus-text-format 1.1.1 (it ships none): what the relay's /metrics tests read.
declare module 'parse-prometheus-text-format' {
  export interface PrometheusSample {
    /** The sample's value as written (counters, gauges, untyped). */
    value?: string;
    labels?: Record<string, string>;
    /** Histograms without labels: buckets by `le`, and the sum and count. */
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  export interface PrometheusFamily {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: PrometheusSample[];
  }
  export default function parsePrometheusTextFormat(text: string): PrometheusFamily[];
}
