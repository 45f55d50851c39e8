// installUsageTap: globalThis.fetch taps the configured and known provider hosts, passes every other
// request through, and is undone by the function it returns.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { KNOWN_PROVIDER_HOSTS, installUsageTap, isUsageTap } from '../../src/index.js';
import { startProviderServer } from './provider-server.js';
import type { ProviderServer } from './provider-server.js';
import { RecordingSink } from './recording-sink.js';

const CHAT = JSON.stringify({
  id: 'chatcmpl-I1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [],
  usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
});

const Sink = RecordingSink;

describe('installUsageTap', () => {
  let tapped: ProviderServer;
  let other: ProviderServer;
  const answer = () => ({ contentType: 'application/json', pieces: [new TextEncoder().encode(CHAT)] });

  before(async () => {
    [tapped, other] = await Promise.all([startProviderServer(answer), startProviderServer(answer)]);
  });
  after(() => Promise.all([tapped.close(), other.close()]));

  it('taps the hosts it is given, passes the rest through, and restores fetch', async () => {
    const original = globalThis.fetch;
    const sink = new Sink();
    const uninstall = installUsageTap(sink.processor, { hosts: [new URL(tapped.url).host] });
    try {
      assert.notEqual(globalThis.fetch, original);
      assert.ok(isUsageTap(globalThis.fetch));
      await (await fetch(tapped.url + '/v1/chat/completions', { method: 'POST', body: '{}' })).text();
      assert.equal(sink.reports.length, 1);
      await (await fetch(other.url + '/v1/chat/completions', { method: 'POST', body: '{}' })).text();
      assert.equal(sink.reports.length, 1, 'a host that is not configured is not tapped');
    } finally {
      uninstall();
    }
    assert.equal(globalThis.fetch, original);
    await (await fetch(tapped.url + '/v1/chat/completions', { method: 'POST', body: '{}' })).text();
    assert.equal(sink.reports.length, 1, 'nothing is tapped after uninstall');
  });

  it('a host name without a port matches every port; a leading dot matches subdomains', async () => {
    const sink = new Sink();
    const uninstall = installUsageTap(sink.processor, { hosts: ['127.0.0.1'] });
    try {
      await (await fetch(tapped.url + '/v1/chat/completions', { method: 'POST', body: '{}' })).text();
      await (await fetch(other.url + '/v1/chat/completions', { method: 'POST', body: '{}' })).text();
      assert.equal(sink.reports.length, 2);
    } finally {
      uninstall();
    }
    assert.ok(KNOWN_PROVIDER_HOSTS.includes('api.openai.com'));
    assert.ok(KNOWN_PROVIDER_HOSTS.includes('api.anthropic.com'));
    assert.ok(KNOWN_PROVIDER_HOSTS.includes('.openai.azure.com'));
    assert.ok(KNOWN_PROVIDER_HOSTS.includes('.googleapis.com'), 'Gemini API and Vertex AI, regional hosts too');
    assert.ok(KNOWN_PROVIDER_HOSTS.includes('.amazonaws.com'), 'bedrock-runtime.<region>.amazonaws.com');
  });

  it('installs once: a second install warns and changes nothing', () => {
    const warnings: string[] = [];
    diag.setLogger(
      { warn: (m: string) => warnings.push(m), error() {}, info() {}, debug() {}, verbose() {} },
      DiagLogLevel.WARN,
    );
    const first = installUsageTap(new Sink().processor);
    const installed = globalThis.fetch;
    const second = installUsageTap(new Sink().processor);
    assert.equal(globalThis.fetch, installed);
    assert.equal(warnings.length, 1);
    second();
    assert.equal(globalThis.fetch, installed, 'the no-op uninstall of the refused install leaves the first in place');
    first();
    assert.ok(!isUsageTap(globalThis.fetch));
    diag.disable();
  });

  it('a wrapper installed after the tap keeps working after uninstall, with the tap passing through', async () => {
    const original = globalThis.fetch;
    const sink = new Sink();
    const uninstall = installUsageTap(sink.processor, { hosts: [new URL(tapped.url).host] });
    const underneath = globalThis.fetch;
    let wrapped = 0;
    globalThis.fetch = (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
      wrapped++;
      return underneath(input, init);
    };
    uninstall();
    try {
      await (await fetch(tapped.url + '/v1/chat/completions', { method: 'POST', body: '{}' })).text();
      assert.equal(wrapped, 1);
      assert.equal(sink.reports.length, 0);
    } finally {
      globalThis.fetch = original;
    }
  });
});
