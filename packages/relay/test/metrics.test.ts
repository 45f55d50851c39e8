// The relay with --metrics (issue 16): Python emitters' exports (test/fixtures/python) go through a real relay
// forwarding http/json to the loopback receiver. GET /metrics, parsed by parse-prometheus-text-format, agrees
// with GET /stats field by field; at shutdown the relay exports its metrics over OTLP to the receiver's
// /v1/metrics, where the token histogram sums, per model, to what the fixtures billed:
//
//   logfire-chat-stream-include-usage   gpt-4o-mini 1536 in, 96 out   usage joined late from the stream record
//   logfire-responses-stream            o4-mini 2210 in, 1187 out     the same
//   langsmith-chain-prompt-llm          gpt-4o-mini 42 in, 17 out     the chain repeats it: counted once
//   otel-openai-v2-chat-stream          gpt-4o-mini 1184 in, 64 out   not here: openai-v2 records its own
//                                                                    metrics in its process (skipScopes)
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { PrometheusFamily } from 'parse-prometheus-text-format';
import {
  METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
  PROCESSOR_METRIC_PREFIX,
  STATS_METRICS,
} from '@genai-enrich/processor';
import { RELAY_METRICS, RELAY_METRIC_PREFIX } from '@genai-enrich/relay';
import type { RelayStats } from '@genai-enrich/relay';
import { latestPoints } from '../../../test/helpers/otlp-metrics.js';
import { testServers } from './relay-kit.js';

const FIXTURES = new URL('../../../test/fixtures/python/', import.meta.url);
const FILES = [
  'logfire-chat-stream-include-usage.json',
  'logfire-responses-stream.json',
  'langsmith-chain-prompt-llm.json',
  'otel-openai-v2-chat-stream.json',
];
/** What the fixtures billed, by request model, without the openai-v2 call (see the header). */
const BILL = { 'gpt-4o-mini': { input: 1536 + 42, output: 96 + 17 }, 'o4-mini': { input: 2210, output: 1187 } };

const { relayTo, jsonReceiver } = testServers();

function fixtureBody(file: string): { body: string; spans: number } {
  const { resourceSpans } = JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')) as {
    resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[] }> }>;
  };
  const spans = resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).length;
  return { body: JSON.stringify({ resourceSpans }), spans };
}

/** A counter's or gauge's one value, by its Prometheus name (and labels). */
function valueOf(families: readonly PrometheusFamily[], name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  assert.ok(family !== undefined, `/metrics has ${name}`);
  const sample = family.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  assert.ok(sample?.value !== undefined, `${name} ${JSON.stringify(labels)}`);
  return Number(sample.value);
}

/** The Prometheus name of a self-metric (prometheus-text.ts): dots to underscores, units, `_total`. */
function promName(name: string, kind: 'counter' | 'gauge', unit: string): string {
  let out = name.replace(/\./g, '_');
  if (unit === 'By' && !out.endsWith('_bytes')) out += '_bytes';
  return kind === 'counter' ? out + '_total' : out;
}

describe('relay --metrics: GET /metrics and OTLP metrics', () => {
  it('GET /metrics agrees with GET /stats; the OTLP export at shutdown sums to the bill', async () => {
    const receiver = await jsonReceiver();
    const relay = await relayTo(receiver.url, {
      forwardProtocol: 'http/json',
      metrics: true,
      metricsIntervalMillis: 3_600_000,
    });
    let spans = 0;
    for (const file of FILES) {
      const { body, spans: n } = fixtureBody(file);
      const answer = await fetch(relay.address.tracesUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(answer.status, 200, file);
      spans += n;
    }
    await receiver.waitFor((received) => received.length >= spans, 5000);

    const scrape = await fetch(`${relay.address.url}/metrics`, { signal: AbortSignal.timeout(5000) });
    assert.equal(scrape.status, 200);
    assert.match(scrape.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusTextFormat(await scrape.text());
    const stats = (await (await fetch(`${relay.address.url}/stats`)).json()) as RelayStats;

    for (const m of STATS_METRICS) {
      const name = promName(PROCESSOR_METRIC_PREFIX + m.name, m.kind, m.unit);
      assert.equal(valueOf(families, name), stats.processor[m.field], `${name} = processor.${m.field}`);
    }
    assert.equal(stats.processor.received, spans);
    // The /stats request came after the scrape: one more request, and one more 200 (the scrape's own).
    for (const m of RELAY_METRICS) {
      const name = promName(RELAY_METRIC_PREFIX + m.name, m.kind, m.unit);
      const expected = m.field === 'requests' ? stats.relay.requests - 1 : stats.relay[m.field];
      assert.equal(valueOf(families, name), expected, `${name} = relay.${m.field}`);
    }
    const responses = 'genai_enrich_relay_http_responses_total';
    assert.equal(valueOf(families, responses, { http_response_status_code: '200' }), stats.relay.responses['200'] - 1);
    for (const name of ['gen_ai_client_token_usage', 'gen_ai_client_operation_duration_seconds']) {
      assert.equal(families.find((f) => f.name === name)?.type, 'HISTOGRAM', name);
    }

    await relay.close();
    await receiver.waitForMetrics((exports) => exports.length > 0, 5000);
    const tokens = latestPoints(receiver.metrics, METRIC_GEN_AI_CLIENT_TOKEN_USAGE);
    const sums: Record<string, { input: number; output: number }> = {};
    for (const p of tokens) {
      const model = String(p.attributes['gen_ai.request.model']);
      sums[model] ??= { input: 0, output: 0 };
      sums[model][p.attributes['gen_ai.token.type'] as 'input' | 'output'] += p.value;
    }
    assert.deepEqual(sums, BILL);
    const calls = latestPoints(receiver.metrics, METRIC_GEN_AI_CLIENT_OPERATION_DURATION);
    assert.equal(
      calls.reduce((n, p) => n + p.count, 0),
      3,
      'two Logfire request spans and the ChatOpenAI span; not the stream records, the chain or the template',
    );
    const resource = tokens[0].resource;
    assert.equal(resource['service.name'], 'genai-enrich-relay');
    const received = latestPoints(receiver.metrics, PROCESSOR_METRIC_PREFIX + 'spans.received');
    assert.equal(received[0]?.value, spans);
  });

  it('the README lists every relay metric with its /stats field', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Metrics: `GET /metrics` and OTLP'), readme.indexOf('## Scaling'));
    for (const m of RELAY_METRICS) {
      const [area, what] = m.name.split('.');
      const row = section
        .split('\n')
        .find((line) => line.includes(`\`${m.name}\``) || (line.includes(`\`${area}.`) && line.includes(`.${what}\``)));
      assert.ok(row !== undefined, `a row for ${m.name}`);
      assert.ok(row.includes(`\`${m.field}\``) && row.includes(`\`${m.unit}\``), `${m.name}: ${m.field}, ${m.unit}`);
    }
  });

  it('without --metrics, GET /metrics is 404 and says how to turn them on', async () => {
    const relay = await relayTo(undefined, { output: { write: () => true } });
    const answer = await fetch(`${relay.address.url}/metrics`, { signal: AbortSignal.timeout(5000) });
    assert.equal(answer.status, 404);
    assert.match(await answer.text(), /--metrics true/);
  });
});
