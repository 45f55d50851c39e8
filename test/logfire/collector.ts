// A loopback OTLP/HTTP collector for the Logfire suite. Unlike test/helpers/otlp-receiver.ts it takes every
// signal and both encodings, because Logfire's own exporters send protobuf (exporter-*-otlp-proto) to
// `<baseUrl>/v1/traces`, `/v1/metrics` and `/v1/logs`:
//
//   POST /v1/traces  application/json ──────► test/helpers/otlp-json.ts ─┐
//                    application/x-protobuf ─► the relay's decoder ──────┴─► spans (DecodedSpan)
//   POST /v1/metrics, /v1/logs ─► counted per path (their content is not asserted on)
//   anything else ─► 404, and recorded: a request the suite did not expect is still seen
//
// Every request is recorded with its path, content type and Authorization header, so a test can tell what
// was sent where and with which token.
import { createServer } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { ConditionWaiters } from '../helpers/condition-waiters.js';
import { listenLoopback } from '../helpers/mock-server.js';
import { decodeTraceRequest as decodeJsonSpans, type DecodedSpan } from '../helpers/otlp-json.js';
import { decodeTraceRequest as decodeWireSpans } from '../../packages/relay/src/otlp/index.js';
import type { RelaySpan } from '../../packages/relay/src/otlp/index.js';

export interface CollectedRequest {
  method: string;
  path: string;
  contentType: string;
  authorization: string | undefined;
  /** Spans decoded from this request (traces only). */
  spans: number;
}

export interface Collector {
  /** `http://127.0.0.1:PORT`: Logfire's `advanced.baseUrl` / LOGFIRE_BASE_URL. */
  baseUrl: string;
  /** `http://127.0.0.1:PORT/v1/traces`: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT. */
  tracesUrl: string;
  /** `127.0.0.1:PORT`, as the net guard's allow-list names it. */
  hostPort: string;
  requests: CollectedRequest[];
  spans: DecodedSpan[];
  /** Resolves once `predicate(spans)` holds; rejects after `timeoutMs`. */
  waitFor(predicate: (spans: DecodedSpan[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const nanos = ([seconds, nanoseconds]: readonly [number, number]): bigint =>
  BigInt(seconds) * 1_000_000_000n + BigInt(nanoseconds);

/** The relay's span (the SDK's ReadableSpan shape) as the flat record the JSON decoder gives. */
function fromWire(span: RelaySpan): DecodedSpan {
  const context = span.spanContext();
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? '',
    name: span.name,
    kind: span.kind + 1, // the SDK's SpanKind starts at INTERNAL = 0; OTLP's at UNSPECIFIED = 0
    startTimeUnixNano: nanos(span.startTime),
    endTimeUnixNano: nanos(span.endTime),
    attributes: span.attributes,
    events: span.events.map((e) => ({ name: e.name, timeUnixNano: nanos(e.time), attributes: e.attributes ?? {} })),
    links: span.links.map((l) => ({
      traceId: l.context.traceId,
      spanId: l.context.spanId,
      attributes: l.attributes ?? {},
    })),
    status: { code: span.status.code, message: span.status.message ?? '' },
    resource: span.resource.attributes,
    scope: { name: span.instrumentationScope.name, version: span.instrumentationScope.version ?? '' },
  };
}

export async function startCollector(): Promise<Collector> {
  const requests: CollectedRequest[] = [];
  const spans: DecodedSpan[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const contentType = String(req.headers['content-type'] ?? '');
      const entry: CollectedRequest = {
        method: req.method ?? '',
        path: (req.url ?? '').split('?')[0],
        contentType,
        authorization: req.headers.authorization,
        spans: 0,
      };
      requests.push(entry);
      const json = contentType.startsWith('application/json');
      const answer = (status: number, body = ''): void => {
        res.writeHead(status, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
        res.end(status === 200 && json ? '{}' : body);
      };
      if (entry.method !== 'POST' || !['/v1/traces', '/v1/metrics', '/v1/logs'].includes(entry.path)) {
        answer(404);
        return;
      }
      if (entry.path === '/v1/traces') {
        try {
          let body = Buffer.concat(chunks);
          if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
          const decoded = json
            ? decodeJsonSpans(JSON.parse(body.toString('utf8')))
            : decodeWireSpans(body, 'protobuf').spans.map(fromWire);
          entry.spans = decoded.length;
          spans.push(...decoded);
        } catch (error) {
          answer(400, String(error));
          return;
        }
      }
      // An empty body is a valid Export*ServiceResponse in both encodings ({} for JSON).
      answer(200);
      waiters.wake();
    });
  });
  const { port, close } = await listenLoopback(server);
  const baseUrl = `http://127.0.0.1:${port}`;
  const waiters = new ConditionWaiters(
    spans,
    (timeoutMs) => `collector ${baseUrl}: condition not met within ${timeoutMs} ms (${spans.length} spans)`,
  );
  return {
    baseUrl,
    tracesUrl: `${baseUrl}/v1/traces`,
    hostPort: `127.0.0.1:${port}`,
    requests,
    spans,
    waitFor(predicate, timeoutMs = 5000) {
      return waiters.waitFor(predicate, timeoutMs);
    },
    close,
  };
}
