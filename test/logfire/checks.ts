// The runs of the Logfire suite and what it asserts about them (logfire.suite.ts). A run is one application
// process of test/logfire/app with a fresh loopback OpenAI mock and two OTLP collectors around it:
//   "ours"     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, where GenAiEnrichingProcessor exports
//   "logfire"  LOGFIRE_BASE_URL, where Logfire's own exporters send when they send at all
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { startOpenAiMock, type MockCall, type MockUsage, type OpenAiMock } from '../helpers/openai-mock.js';
import type { DecodedSpan } from '../helpers/otlp-json.js';
import {
  assertCanonicalProvider,
  assertNoLegacyKeys,
  inferenceSpans,
  USAGE,
  usageSum,
} from '../pipelines/assertions.js';
import { startCollector, type Collector } from './collector.js';
import { runApp, type AppOptions, type AppRun } from './run-app.js';

export const TOKEN = 'logfire-test-token';
export const HOLD_OUTCOME = 'genai_enrich.hold_outcome';
export const SPAN_TYPE = 'logfire.span_type';
/** The recipe as an ES module application loads it. */
export const ESM_RECIPE = { preload: ['--import', './instrumentation.mjs'], main: 'app.mjs' };
/** Usage handed in late for the first held stream, as an application that learns it afterwards would. */
export const LATE_USAGE = { inputTokens: 11, outputTokens: 5 };

export interface Run {
  app: AppRun;
  mock: OpenAiMock;
  /** Where GenAiEnrichingProcessor exports (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). */
  ours: Collector;
  /** LOGFIRE_BASE_URL: where Logfire's own exporters send, when they send at all. */
  logfire: Collector;
}

export interface RunOptions extends Pick<AppOptions, 'preload' | 'main' | 'signal'> {
  env?: Record<string, string>;
  /** Set LOGFIRE_TOKEN (and LOGFIRE_BASE_URL to the "logfire" collector), as a Logfire user has it. */
  token?: boolean;
  /** Hand in LATE_USAGE for the first held stream once Logfire's collector has that span. */
  lateUsage?: boolean;
}

async function startRun(options: RunOptions): Promise<Run> {
  const [mock, ours, logfire] = await Promise.all([startOpenAiMock(), startCollector(), startCollector()]);
  const app = await runApp({
    preload: options.preload,
    main: options.main,
    signal: options.signal,
    allow: [new URL(mock.baseURL).host, ours.hostPort, logfire.hostPort],
    env: {
      OPENAI_BASE_URL: mock.baseURL,
      OPENAI_API_KEY: 'test-key',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: ours.tracesUrl,
      // Even where the token is absent, any request for Logfire's service would land here, not leave.
      LOGFIRE_BASE_URL: logfire.baseUrl,
      ...(options.token === true ? { LOGFIRE_TOKEN: TOKEN } : {}),
      ...(options.lateUsage === true ? { APP_LATE_USAGE: '1' } : {}),
      ...options.env,
    },
    lateUsage:
      options.lateUsage === true
        ? async (held) => {
            await logfire.waitFor((spans) => spans.some((s) => s.attributes['gen_ai.response.id'] === held[0]));
            return LATE_USAGE;
          }
        : undefined,
  });
  return { app, mock, ours, logfire };
}

async function closeRun(run: Run | undefined): Promise<void> {
  if (run === undefined) return;
  await Promise.all([run.mock.close(), run.ours.close(), run.logfire.close()]);
}

/** Makes the run before the tests of the enclosing `describe` and closes it after them. */
export function runFor(options: RunOptions): () => Run {
  let run: Run | undefined;
  before(async () => {
    run = await startRun(options);
  });
  after(() => closeRun(run));
  return () => {
    assert.ok(run !== undefined, 'the run was made');
    return run;
  };
}

export function describeExit(run: Run): string {
  return `exit code ${String(run.app.code)}, signal ${String(run.app.signal)}\nstderr:\n${run.app.stderr}`;
}

/** The one inference span with this `gen_ai.response.id`. */
export function spanWithResponseId(spans: readonly DecodedSpan[], responseId: string): DecodedSpan {
  const found = inferenceSpans(spans).filter((s) => s.attributes['gen_ai.response.id'] === responseId);
  assert.equal(found.length, 1, `one inference span with response id ${responseId}`);
  return found[0];
}

/** The span a mock call's usage belongs on: by response id, or (embeddings carry none) by operation. */
function spanFor(spans: readonly DecodedSpan[], call: MockCall): DecodedSpan {
  if (call.responseId !== '') return spanWithResponseId(spans, call.responseId);
  const found = inferenceSpans(spans).filter((s) => s.attributes['gen_ai.operation.name'] === 'embeddings');
  assert.equal(found.length, 1, `one embeddings span`);
  return found[0];
}

const WIRE_FIELDS: readonly (readonly [keyof typeof USAGE, keyof MockUsage])[] = [
  ['input', 'inputTokens'],
  ['output', 'outputTokens'],
  ['cacheRead', 'cacheReadInputTokens'],
  ['reasoning', 'reasoningOutputTokens'],
];

/**
 * Every count the mock put on the wire is on the call's span (the tap fills what the instrumentation
 * drops: `@opentelemetry/instrumentation-openai` 0.21 records input and output only), zero counts at most
 * as 0. Read from the mock's record of each call, so a change of the mock's numbers changes nothing here.
 */
export function assertUsageEqualsWire(spans: readonly DecodedSpan[], calls: readonly MockCall[]): void {
  for (const call of calls) {
    const span = spanFor(spans, call);
    const wire = call.usage;
    assert.ok(wire !== undefined);
    for (const [field, wireKey] of WIRE_FIELDS) {
      const sent: number = wire[wireKey];
      const got = span.attributes[USAGE[field]];
      if (sent > 0) assert.equal(got, sent, `${call.endpoint} ${call.responseId}: ${USAGE[field]}`);
      else assert.ok(got === undefined || got === 0, `${call.endpoint}: ${USAGE[field]} is ${String(got)}, wire 0`);
    }
    const detailsOnWire = wire.cacheReadInputTokens > 0 || wire.reasoningOutputTokens > 0;
    assert.equal(span.attributes[USAGE.source], detailsOnWire ? 'telemetry+http_tap' : 'telemetry');
    assert.equal(span.attributes[USAGE.missing], undefined);
  }
}

/**
 * A span of an exporter's own request to one of the collectors (instrumentation-http). Exporters suppress
 * tracing around their requests, but logfire.shutdown() disables the global context API (and with it the
 * suppression) before it flushes, and an `http` loaded as an ES module while the instrumentation was enabled
 * stays instrumented after `disable()` (docs/logfire.md, "Findings").
 */
export function isExportRequest(run: Run, span: DecodedSpan): boolean {
  const url = span.attributes['url.full'];
  return (
    span.scope.name === '@opentelemetry/instrumentation-http' &&
    typeof url === 'string' &&
    [run.ours.baseUrl, run.logfire.baseUrl].some(
      (base) => /^\/v1\/(traces|logs|metrics)$/.test(url.slice(base.length)) && url.startsWith(base),
    )
  );
}

/** The spans the application made: the Logfire span around the calls, and each request's two spans. */
export function appSpans(run: Run, spans: readonly DecodedSpan[]): DecodedSpan[] {
  return spans.filter((s) => !isExportRequest(run, s));
}

/**
 * Each span id once, and all of them: the Logfire span around the calls, per request the openai
 * instrumentation's span and the undici HTTP client span, and `more` the app made. Spans of the exporters'
 * own requests are allowed only where `exportRequests` says so (see isExportRequest). Where the process
 * lived to write the processor's stats (not when a signal ended it), also: every span received was
 * forwarded, and arrived.
 */
export function assertEverySpanOnce(run: Run, { exportRequests = false, more = 0 } = {}): void {
  const ids = run.ours.spans.map((s) => s.spanId);
  assert.equal(new Set(ids).size, ids.length, 'a span id arrived twice');
  const made = 1 + 2 * run.mock.calls.length + more;
  assert.equal(appSpans(run, run.ours.spans).length, made, 'every span the app made arrived');
  if (!exportRequests)
    assert.deepEqual(
      run.ours.spans.filter((s) => isExportRequest(run, s)),
      [],
    );
  const stats = run.app.stats;
  if (run.app.signal !== null) return;
  assert.ok(stats !== undefined, `the app reported its stats\n${describeExit(run)}`);
  assert.equal(stats.received, stats.forwarded, 'received = forwarded: nothing still held at exit');
  assert.equal(stats.held, 0);
  assert.equal(stats.errors, 0);
  assert.equal(ids.length, stats.forwarded, 'every forwarded span reached the collector');
}

/** What the recipe delivers, whichever way the application ended. */
export function assertRecipeDelivered(run: Run, options: { exportRequests?: boolean; more?: number } = {}): void {
  assertEverySpanOnce(run, options);
  const spans = run.ours.spans;
  const withUsage = run.mock.calls.filter((c) => c.usage !== undefined);
  assert.equal(withUsage.length, 4, 'chat, chat stream with include_usage, responses, embeddings');
  assertUsageEqualsWire(spans, withUsage);

  // One trace (the Logfire span around the calls): its usage is the wire's, counted once.
  const root = spans.find((s) => s.name === 'handle request');
  assert.ok(root !== undefined && root.parentSpanId === '' && root.scope.name === 'logfire');
  const trace = spans.filter((s) => s.traceId === root.traceId);
  assert.equal(trace.length, 1 + 2 * run.mock.calls.length, 'every request made its spans inside that trace');
  const total = (key: 'inputTokens' | 'outputTokens'): number => withUsage.reduce((n, c) => n + c.usage![key], 0);
  assert.equal(usageSum(trace, USAGE.input), total('inputTokens'));
  assert.equal(usageSum(trace, USAGE.output), total('outputTokens'));

  // The two streams without include_usage: nothing on the wire, held, and flushed by the shutdown.
  assert.equal(run.app.held.length, 2);
  for (const id of run.app.held) {
    assert.equal(run.mock.calls.find((c) => c.responseId === id)?.usage, undefined);
    const span = spanWithResponseId(spans, id);
    assert.equal(span.attributes[HOLD_OUTCOME], 'flushed');
    assert.equal(span.attributes[USAGE.missing], true);
    assert.equal(span.attributes[USAGE.input], undefined);
  }
  if (run.app.stats !== undefined) assert.equal(run.app.stats.flushed, 2);

  for (const span of spans) {
    assertNoLegacyKeys(span);
    if (Object.keys(span.attributes).some((k) => k.startsWith('gen_ai.'))) assertCanonicalProvider(span);
    assert.equal(span.attributes[SPAN_TYPE] === 'pending_span', false, 'Logfire pending spans never reach us');
  }
}

/** Every connection went to the mock or "ours", none elsewhere; no name was looked up; Logfire got nothing. */
export function assertOnlyConfiguredHosts(run: Run): void {
  const allowed = new Set([new URL(run.mock.baseURL).host, run.ours.hostPort]);
  const elsewhere = run.app.net.filter((e) => e.kind !== 'connect' || !allowed.has(`${e.host}:${String(e.port)}`));
  assert.deepEqual(elsewhere, [], 'connections or lookups the test did not configure');
  assert.ok(
    run.app.net.some((e) => e.port === Number(new URL(run.ours.tracesUrl).port)),
    'the export went out',
  );
  assert.deepEqual(run.logfire.requests, [], "nothing for Logfire's service");
}

/**
 * What Logfire's console exporter printed, by span id: for each span a header line (`Logfire info <name>`),
 * its attributes (util.inspect), then its metadata, which names the span id.
 */
export function consoleAttributes(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const block of stdout.split(/^Logfire \w+ .*$/m).slice(1)) {
    const lines = block.split('\n').slice(1);
    const end = lines[0]?.endsWith('}') === true ? 0 : lines.indexOf('}');
    const id = /^ {2}id: '([0-9a-f]{16})',$/m.exec(block)?.[1];
    if (id !== undefined && end >= 0) out.set(id, lines.slice(0, end + 1).join('\n'));
  }
  return out;
}
