/*
 * @pydantic/logfire-node 0.18.25 with @genai-enrich/processor, as a user runs them (docs/logfire.md).
 * Run: bash test/logfire/run.sh (from the repository root).
 *
 *   this file (Node 20, root tsx) ─► loopback OpenAI mock, OTLP collectors "ours" and "logfire"
 *        │                                   ▲                  ▲              ▲
 *        └─ spawns, one process per run ─► node --require ./net-guard.cjs --import ./instrumentation.mjs app.mjs
 *                                          (test/logfire/app: plain JavaScript, plain node, only
 *                                          test/logfire/node_modules: packages installed as a user does)
 *
 * The suite is TypeScript run by the root's tsx so that it uses the repository's own OpenAI mock and OTLP
 * decoders unchanged; what is under test, the application, is the fresh user project. Every run ends the
 * process the way an application does (the event loop empties, logfire.shutdown(), SIGTERM, process.exit)
 * and the assertions read what reached the collectors after the process is gone.
 */
import assert from 'node:assert/strict';
import { lstatSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DecodedSpan } from '../helpers/otlp-json.js';
import { assertNoLegacyKeys, inferenceSpans, USAGE } from '../pipelines/assertions.js';
import {
  appSpans,
  assertEverySpanOnce,
  assertOnlyConfiguredHosts,
  assertRecipeDelivered,
  assertUsageEqualsWire,
  consoleAttributes,
  describeExit,
  ESM_RECIPE,
  HOLD_OUTCOME,
  isExportRequest,
  LATE_USAGE,
  SPAN_TYPE,
  spanWithResponseId,
  runFor,
  TOKEN,
  type Run,
} from './checks.js';
import { APP_DIR } from './run-app.js';

describe('@pydantic/logfire-node 0.18.25 + @genai-enrich/processor (packed), Node 20', () => {
  it('is installed as a user installs it: pinned versions, copies not links, one @opentelemetry/api', (t) => {
    assert.equal(process.versions.node.split('.')[0], '20');
    const fromApp = createRequire(join(APP_DIR, 'app.cjs'));
    // The package.json of the package directory `name` resolves into (an exports map may hide the file).
    const version = (req: NodeJS.Require, name: string): string => {
      const path = req.resolve(name);
      const dir = path.slice(0, path.lastIndexOf(`node_modules/${name}/`) + `node_modules/${name}`.length);
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    };
    const at = (req: NodeJS.Require, name: string): NodeJS.Require => createRequire(req.resolve(name));
    const logfireNode = at(fromApp, '@pydantic/logfire-node');
    const sdkNode = at(logfireNode, '@opentelemetry/sdk-node');
    const auto = at(logfireNode, '@opentelemetry/auto-instrumentations-node');
    const versions = {
      '@pydantic/logfire-node': version(fromApp, '@pydantic/logfire-node'),
      logfire: version(logfireNode, 'logfire'),
      '@opentelemetry/sdk-node': version(logfireNode, '@opentelemetry/sdk-node'),
      '@opentelemetry/sdk-trace-node': version(sdkNode, '@opentelemetry/sdk-trace-node'),
      '@opentelemetry/sdk-trace-base': version(logfireNode, '@opentelemetry/sdk-trace-base'),
      '@opentelemetry/auto-instrumentations-node': version(logfireNode, '@opentelemetry/auto-instrumentations-node'),
      '@opentelemetry/instrumentation-openai': version(auto, '@opentelemetry/instrumentation-openai'),
      '@opentelemetry/exporter-trace-otlp-http': version(fromApp, '@opentelemetry/exporter-trace-otlp-http'),
      '@opentelemetry/api': version(fromApp, '@opentelemetry/api'),
      openai: version(fromApp, 'openai'),
      '@genai-enrich/processor': version(fromApp, '@genai-enrich/processor'),
    };
    t.diagnostic(JSON.stringify(versions));
    assert.equal(versions['@pydantic/logfire-node'], '0.18.25');
    assert.equal(versions.openai, '6.49.0');
    assert.match(versions['@opentelemetry/sdk-trace-base'], /^2\./);
    for (const name of ['@genai-enrich/processor', '@genai-enrich/normalizer']) {
      const dir = join(APP_DIR, '..', 'node_modules', name);
      assert.ok(!lstatSync(dir).isSymbolicLink(), `${name} is installed from its tarball, not linked`);
    }
    const api = fromApp.resolve('@opentelemetry/api');
    assert.equal(at(fromApp, '@genai-enrich/processor').resolve('@opentelemetry/api'), api);
    assert.equal(sdkNode.resolve('@opentelemetry/api'), api);
    assert.ok(api.startsWith(join(APP_DIR, '..', 'node_modules')), `resolved inside test/logfire: ${api}`);
  });

  describe('the recipe, ES module app, processor.fetch, ended by an empty event loop', () => {
    const run = runFor({ ...ESM_RECIPE, token: true });

    it('exits cleanly', () => assert.equal(run().app.code, 0, describeExit(run())));
    it('sends nothing anywhere but the mock and our collector, with LOGFIRE_TOKEN set', () => {
      assertOnlyConfiguredHosts(run());
    });
    it('delivers every span once, usage equal to the wire, the trace counted once, held spans flushed', () => {
      assertRecipeDelivered(run());
    });
  });

  describe('the recipe, CommonJS app, installUsageTap, ended by await logfire.shutdown()', () => {
    const run = runFor({
      preload: ['--require', './instrumentation.cjs'],
      main: 'app.cjs',
      env: { APP_EXIT: 'shutdown' },
    });

    it('exits cleanly', () => assert.equal(run().app.code, 0, describeExit(run())));
    it('sends nothing anywhere but the mock and our collector', () => assertOnlyConfiguredHosts(run()));
    it('delivers every span once, usage equal to the wire, the trace counted once, held spans flushed', () => {
      assertRecipeDelivered(run());
    });
  });

  describe('the recipe, ended by SIGTERM (Logfire shuts down, then re-raises the signal)', () => {
    const run = runFor({ ...ESM_RECIPE, env: { APP_EXIT: 'signal' }, signal: 'SIGTERM' });

    it('dies of the signal, as a process without a SIGTERM handler does', () => {
      assert.equal(run().app.signal, 'SIGTERM', describeExit(run()));
    });
    it('delivers every span once, held spans flushed', () => {
      assertOnlyConfiguredHosts(run());
      assertRecipeDelivered(run());
    });
  });

  describe('the recipe in a long-lived app: logfire.forceFlush() between requests, later logfire.shutdown()', () => {
    const run = runFor({ ...ESM_RECIPE, env: { APP_FLUSH_FIRST: '1', APP_EXIT: 'shutdown' } });

    it('forceFlush() releases the held spans; the span made after it leaves at shutdown', () => {
      assert.equal(run().app.code, 0, describeExit(run()));
      assertOnlyConfiguredHosts(run());
      assert.equal(run().ours.spans.filter((s) => s.name === 'shutting down').length, 1);
      assertRecipeDelivered(run(), { exportRequests: true, more: 1 });
    });

    it("our exporter's request at shutdown arrives as one span of its own (see isExportRequest)", () => {
      const requests = run().ours.spans.filter((s) => isExportRequest(run(), s));
      assert.deepEqual(
        requests.map((s) => [s.parentSpanId, s.attributes['url.full']]),
        [['', run().ours.tracesUrl]],
      );
    });
  });

  describe('the recipe, ended by process.exit() or SIGINT without logfire.shutdown()', () => {
    const exited = runFor({ ...ESM_RECIPE, env: { APP_EXIT: 'exit' } });
    const interrupted = runFor({ ...ESM_RECIPE, env: { APP_EXIT: 'signal' }, signal: 'SIGINT' });

    it('process.exit() loses every span: it skips beforeExit, and nothing had been exported yet', () => {
      assert.equal(exited().app.code, 0, describeExit(exited()));
      const stats = exited().app.stats;
      assert.ok(stats !== undefined, describeExit(exited()));
      assert.equal(stats.received, 1 + 2 * exited().mock.calls.length);
      assert.equal(stats.held, 2);
      assert.deepEqual(exited().ours.spans, []);
    });

    it('SIGINT (Ctrl-C) loses every span: Logfire installs no SIGINT handler', () => {
      assert.equal(interrupted().app.signal, 'SIGINT', describeExit(interrupted()));
      assert.equal(interrupted().mock.calls.length, 6);
      assert.deepEqual(interrupted().ours.spans, []);
    });
  });

  describe("without the recipe, Logfire's export on (LOGFIRE_TOKEN set): every span goes out twice", () => {
    const run = runFor({
      preload: ['--import', './instrumentation-logfire-exports.mjs'],
      main: 'app-logfire-exports.mjs',
      token: true,
      lateUsage: true,
      env: {
        APP_EXIT: 'shutdown',
        // Logfire's BatchSpanProcessor reads it (5 s by default): its copy leaves before the late usage.
        OTEL_BSP_SCHEDULE_DELAY: '100',
        // Logfire's console exporter too: a SimpleSpanProcessor, which writes each span as it ends.
        LOGFIRE_CONSOLE: 'true',
      },
    });

    const real = (r: Run): DecodedSpan[] => r.logfire.spans.filter((s) => s.attributes[SPAN_TYPE] !== 'pending_span');
    const pending = (r: Run): DecodedSpan[] =>
      r.logfire.spans.filter((s) => s.attributes[SPAN_TYPE] === 'pending_span');

    it('exits cleanly, and sends only to the two collectors, with the token to Logfire', () => {
      assert.equal(run().app.code, 0, describeExit(run()));
      const allowed = new Set([new URL(run().mock.baseURL).host, run().ours.hostPort, run().logfire.hostPort]);
      assert.deepEqual(
        run().app.net.filter((e) => e.kind !== 'connect' || !allowed.has(`${e.host}:${String(e.port)}`)),
        [],
      );
      assert.deepEqual(
        new Set(run().logfire.requests.map((r) => r.path)),
        new Set(['/v1/traces', '/v1/metrics', '/v1/logs']),
      );
      for (const r of run().logfire.requests) {
        assert.equal(r.authorization, TOKEN);
        assert.equal(r.contentType, 'application/x-protobuf');
      }
    });

    it('our copy: every span once, the late usage joined to the held span', () => {
      assertEverySpanOnce(run(), { exportRequests: true });
      const [late, flushed] = run().app.held;
      const joined = spanWithResponseId(run().ours.spans, late);
      assert.equal(joined.attributes[USAGE.input], LATE_USAGE.inputTokens);
      assert.equal(joined.attributes[USAGE.output], LATE_USAGE.outputTokens);
      assert.equal(joined.attributes[USAGE.source], 'record_usage');
      assert.equal(joined.attributes[HOLD_OUTCOME], 'joined');
      const never = spanWithResponseId(run().ours.spans, flushed);
      assert.equal(never.attributes[HOLD_OUTCOME], 'flushed');
      assertUsageEqualsWire(
        run().ours.spans,
        run().mock.calls.filter((c) => c.usage !== undefined),
      );
    });

    it("the exporters' own requests during logfire.shutdown() arrive as spans, in both copies", () => {
      // See isExportRequest: Logfire's first export left mid-run (OTEL_BSP_SCHEDULE_DELAY), so its exporter
      // loaded an instrumented `request`; by shutdown, suppression is off.
      for (const spans of [run().ours.spans, real(run())]) {
        const requests = spans.filter((s) => isExportRequest(run(), s));
        assert.ok(requests.length > 0);
        for (const r of requests) assert.equal(r.parentSpanId, '', 'a root span: the context API was disabled');
      }
    });

    it("Logfire's copy: the same span ids, each once, plus one pending span per span", () => {
      const ours = appSpans(run(), run().ours.spans)
        .map((s) => s.spanId)
        .sort();
      const theirs = real(run()).map((s) => s.spanId);
      assert.deepEqual(
        appSpans(run(), real(run()))
          .map((s) => s.spanId)
          .sort(),
        ours,
        'every span reached both',
      );
      assert.equal(new Set(theirs).size, theirs.length);
      // PendingSpanProcessor's zero-duration record of each span's start, parented to that span, made
      // in onStart and handed to Logfire's exporter only: start attributes, not normalized, no usage.
      assert.deepEqual(
        pending(run())
          .map((s) => s.parentSpanId)
          .sort(),
        [...theirs].sort(),
      );
      for (const p of pending(run())) {
        assert.equal(p.startTimeUnixNano, p.endTimeUnixNano);
        assert.deepEqual(
          Object.keys(p.attributes).filter((k) => k.startsWith('gen_ai.usage.') || k.startsWith('genai_enrich.')),
          [],
        );
      }
      assert.ok(
        pending(run()).some((p) => p.attributes['gen_ai.system'] === 'openai'),
        'the pending copies of chat spans keep the legacy gen_ai.system',
      );
    });

    it("Logfire's copy of a span that left at once: what ours carries, normalized and tapped", () => {
      const theirs = new Map(real(run()).map((s) => [s.spanId, s]));
      const held = new Set(run().app.held);
      const mine = appSpans(run(), run().ours.spans);
      let compared = 0;
      for (const span of mine) {
        if (held.has(span.attributes['gen_ai.response.id'] as string)) continue;
        assert.deepEqual(theirs.get(span.spanId)?.attributes, span.attributes, `"${span.name}" ${span.spanId}`);
        compared++;
      }
      assert.equal(compared, mine.length - 2);
      for (const span of real(run())) assertNoLegacyKeys(span);
    });

    it("Logfire's console copy, written as each span ends: normalized (onEnding), nothing our onEnd adds", () => {
      // Logfire's processors come before ours, so their onEnd runs first. The span is already normalized
      // there: SDK 2.12 calls every processor's onEnding before any onEnd. What the processor writes in
      // onEnd (usage_source, the tap's counts) is not there yet; Logfire's batched copy above has it only
      // because that copy is serialized later, from the same span object.
      const printed = consoleAttributes(run().app.stdout);
      const spans = inferenceSpans(run().ours.spans);
      assert.equal(spans.length, 6);
      let tapped = 0;
      for (const span of spans) {
        const text = printed.get(span.spanId);
        assert.ok(text !== undefined, `the console printed ${span.spanId}`);
        assert.match(text, /'gen_ai\.provider\.name': 'openai'/);
        assert.doesNotMatch(text, /'gen_ai\.system'/);
        assert.doesNotMatch(text, /genai_enrich\./);
        assert.ok(span.attributes[USAGE.source] !== undefined || span.attributes[HOLD_OUTCOME] !== undefined);
        // Counts the tap filled in (the instrumentation records input and output only) are not there yet.
        if (span.attributes[USAGE.source] === 'telemetry+http_tap') {
          tapped++;
          assert.doesNotMatch(text, /gen_ai\.usage\.(cache_read|reasoning)/);
        }
      }
      assert.ok(tapped > 0, 'a span whose counts the tap completed was compared');
    });

    it("Logfire's copy of a held span: neither the usage joined later nor how the hold ended", () => {
      const theirs = new Map(real(run()).map((s) => [s.spanId, s]));
      for (const id of run().app.held) {
        const ours = spanWithResponseId(run().ours.spans, id);
        const copy = theirs.get(ours.spanId);
        assert.ok(copy !== undefined);
        const added = Object.keys(ours.attributes).filter((k) => !(k in copy.attributes));
        const expected =
          id === run().app.held[0]
            ? [USAGE.input, USAGE.output, USAGE.source, HOLD_OUTCOME]
            : [HOLD_OUTCOME, USAGE.missing];
        assert.deepEqual(added.sort(), [...expected].sort(), `what only our copy of ${id} carries`);
        for (const k of Object.keys(copy.attributes)) assert.deepEqual(copy.attributes[k], ours.attributes[k], k);
      }
    });
  });

  describe('without the recipe and without a token: Logfire sends nothing, the SDK default logs exporter tries localhost:4318', () => {
    const run = runFor({
      preload: ['--import', './instrumentation-logfire-exports.mjs'],
      main: 'app-logfire-exports.mjs',
    });

    it('delivers every span once through our processor', () => {
      assert.equal(run().app.code, 0, describeExit(run()));
      assertRecipeDelivered(run());
      assert.deepEqual(run().logfire.requests, []);
    });

    it("sends the app's log record to http://localhost:4318/v1/logs, which nobody configured (refused here)", () => {
      const allowed = new Set([new URL(run().mock.baseURL).host, run().ours.hostPort]);
      const elsewhere = run().app.net.filter((e) => !allowed.has(`${e.host}:${String(e.port)}`));
      assert.deepEqual(
        elsewhere.map(({ kind, host, port, allowed: ok }) => ({ kind, host, port, allowed: ok })),
        [{ kind: 'connect', host: 'localhost', port: 4318, allowed: false }],
      );
    });
  });

  describe('an ES module app with the CommonJS recipe preloaded (no loader hook)', () => {
    const run = runFor({ preload: ['--require', './instrumentation.cjs'], main: 'no-hook.mjs' });

    it('makes the call, but the openai client is not instrumented, and nothing says so', () => {
      assert.equal(run().app.code, 0, describeExit(run()));
      assert.equal(run().app.stderr, '');
      assert.equal(run().mock.calls.length, 1);
      assert.ok(run().ours.spans.length > 0, 'the HTTP client span (undici) still arrives');
      const genAi = run().ours.spans.filter((s) => Object.keys(s.attributes).some((k) => k.startsWith('gen_ai.')));
      assert.deepEqual(genAi, []);
    });
  });
});
