// A real OTLP/HTTP receiver on loopback, for traces and metrics: what a Collector would see from the exporters.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { ConditionWaiters } from './condition-waiters.js';
import { decodeTraceRequest, type DecodedSpan } from './otlp-json.js';
import { decodeMetricsRequest, type DecodedMetricPoint } from './otlp-metrics.js';

export interface OtlpReceiver {
  /** e.g. `http://127.0.0.1:PORT/v1/traces`, for `new OTLPTraceExporter({ url })`. */
  url: string;
  /** e.g. `http://127.0.0.1:PORT/v1/metrics`, for `new OTLPMetricExporter({ url })`. */
  metricsUrl: string;
  spans: DecodedSpan[];
  /** The data points of each metrics export, in arrival order. */
  metrics: DecodedMetricPoint[][];
  requests: number;
  /** Resolves once `predicate(spans)` holds; rejects after `timeoutMs`. */
  waitFor(predicate: (spans: DecodedSpan[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Resolves once `predicate(metrics)` holds; rejects after `timeoutMs`. */
  waitForMetrics(predicate: (metrics: DecodedMetricPoint[][]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: DecodedSpan[] = [];
  const waiters = new ConditionWaiters(
    spans,
    (timeoutMs) => `OTLP receiver: condition not met within ${timeoutMs} ms (${spans.length} spans received)`,
  );
  const metrics: DecodedMetricPoint[][] = [];
  const metricWaiters = new ConditionWaiters(
    metrics,
    (timeoutMs) => `OTLP receiver: metrics condition not met within ${timeoutMs} ms (${metrics.length} exports)`,
  );
  let requests = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || (req.url !== '/v1/traces' && req.url !== '/v1/metrics')) {
        res.writeHead(404).end();
        return;
      }
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
        // The tests only use the JSON exporter; a protobuf body here is a set-up mistake worth failing on.
        res.writeHead(415, { 'content-type': 'text/plain' }).end('this receiver decodes application/json only');
        return;
      }
      try {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const json: unknown = JSON.parse(body.toString('utf8'));
        if (req.url === '/v1/metrics') metrics.push(decodeMetricsRequest(json));
        else spans.push(...decodeTraceRequest(json));
        requests++;
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      waiters.wake();
      metricWaiters.wake();
    });
  });
  server.unref();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    metricsUrl: `http://127.0.0.1:${port}/v1/metrics`,
    spans,
    metrics,
    get requests() {
      return requests;
    },
    waitFor(predicate, timeoutMs = 5000) {
      return waiters.waitFor(predicate, timeoutMs);
    },
    waitForMetrics(predicate, timeoutMs = 5000) {
      return metricWaiters.waitFor(predicate, timeoutMs);
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
