// How a tap finds its processor: a sink registered for the processor object, never a public method.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import type { GenAiEnrichingProcessor } from '../../src/GenAiEnrichingProcessor.js';
import { usageTapFetch } from '../../src/index.js';
import { registerTapSink, tapSinkOf } from '../../src/tap/sink.js';
import type { TapReport } from '../../src/types.js';
import { pipeline } from '../helpers/pipeline.js';

const CHAT = JSON.stringify({
  id: 'chatcmpl-S1',
  model: 'm',
  choices: [],
  usage: { prompt_tokens: 3, completion_tokens: 2 },
});
const provider = async (): Promise<Response> => new Response(CHAT, { headers: { 'content-type': 'application/json' } });

function captureWarnings(): string[] {
  const warnings: string[] = [];
  diag.setLogger(
    { error: () => {}, warn: (m: string) => warnings.push(m), info: () => {}, debug: () => {}, verbose: () => {} },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  return warnings;
}

describe('tap sinks', () => {
  it('a GenAiEnrichingProcessor registers itself: its tap sink joins the report to the held span', () => {
    const p = pipeline();
    const span = p.tracer.startSpan('chat', {
      attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.response.id': 'chatcmpl-S1' },
    });
    span.end();
    assert.equal(p.processor.stats().held, 1);
    tapSinkOf(
      p.processor,
      'test',
    )({
      responseId: 'chatcmpl-S1',
      spanKey: undefined,
      model: 'm',
      usage: { inputTokens: 3, outputTokens: 2 },
      totalTokens: 5,
    });
    assert.equal(p.processor.stats().tapUsed, 1);
    assert.equal(p.next.ended[0]?.attributes['gen_ai.usage.input_tokens'], 3);
    assert.equal(
      Object.keys(p.processor).some((k) => /tap/i.test(k) && typeof (p.processor as never)[k] === 'function'),
      false,
    );
  });

  it('a registered sink of its own gets what the tap reads', async () => {
    const reports: TapReport[] = [];
    const owner = {};
    registerTapSink(owner, (report) => reports.push(report));
    await (
      await usageTapFetch(owner as GenAiEnrichingProcessor, { fetch: provider })('http://x.test/v1/chat/completions', {
        method: 'POST',
        body: '{}',
      })
    ).text();
    assert.equal(reports.length, 1);
    assert.equal(reports[0]?.responseId, 'chatcmpl-S1');
  });

  it('anything else: one warning, and a tap that passes the request through and reports nothing', async () => {
    const warnings = captureWarnings();
    try {
      const tap = usageTapFetch({} as GenAiEnrichingProcessor, { fetch: provider });
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /usageTapFetch: the first argument is not a GenAiEnrichingProcessor/);
      const body = await (await tap('http://x.test/v1/chat/completions', { method: 'POST', body: '{}' })).text();
      assert.equal(body, CHAT);
    } finally {
      diag.disable();
    }
  });
});
