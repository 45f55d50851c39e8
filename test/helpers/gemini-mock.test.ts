/*
 * Drives the loopback Gemini mock with the real `@google/genai` client (the Gemini API and Vertex AI's express
 * mode): generateContent, and generateContentStream, which parses the SSE stream chunk by chunk; the JSON-array
 * stream, which the client never asks for, is parsed here as a whole array. Every usage the client reads is the
 * one the mock recorded as billed.
 */
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { GoogleGenAI } from '@google/genai';
import type { GenerateContentResponseUsageMetadata } from '@google/genai';
import { GEMINI_MOCK_REPLY_TEXT, geminiMockBill, geminiMockUsageMetadata, startGeminiMock } from './gemini-mock.js';
import type { GeminiMock, GeminiMockUsage, GeminiWireResponse } from './gemini-mock.js';
import { pollUntil as waitFor } from './condition-waiters.js';

async function mockFor(t: TestContext): Promise<GeminiMock> {
  const mock = await startGeminiMock({ chunkDelayMs: 1 });
  t.after(() => mock.close());
  return mock;
}

function clientFor(mock: GeminiMock, vertexai = false): GoogleGenAI {
  return new GoogleGenAI({
    apiKey: 'test-key',
    vertexai,
    httpOptions: { baseUrl: mock.baseURL, retryOptions: { attempts: 1 } },
  });
}

/** The counts the client reads for a billed usage (the per-modality details aside). */
function clientUsage(u: GeminiMockUsage): Partial<GenerateContentResponseUsageMetadata> {
  return countsOf(geminiMockUsageMetadata(u));
}

function countsOf(
  usage: GenerateContentResponseUsageMetadata | undefined,
): Partial<GenerateContentResponseUsageMetadata> {
  const { promptTokensDetails: _p, cacheTokensDetails: _c, ...counts } = usage ?? {};
  return counts;
}

describe('gemini mock with @google/genai', () => {
  for (const vertexai of [false, true]) {
    const api = vertexai ? 'vertex' : 'gemini';
    it(`${api}: generateContent, one response with the billed usage`, async (t) => {
      const mock = await mockFor(t);
      const response = await clientFor(mock, vertexai).models.generateContent({
        model: 'gemini-2.5-flash',
        contents: 'hi',
      });
      assert.equal(response.text, GEMINI_MOCK_REPLY_TEXT);
      const call = mock.calls[0];
      assert.equal(call.api, api);
      assert.equal(call.format, 'json');
      assert.equal(call.completed, true);
      assert.equal(response.responseId, call.responseId);
      assert.equal(response.modelVersion, 'gemini-2.5-flash');
      assert.deepEqual(countsOf(response.usageMetadata), clientUsage(call.usage!));
    });

    it(`${api}: generateContentStream (SSE), usage on the last chunk only`, async (t) => {
      const mock = await mockFor(t);
      const stream = await clientFor(mock, vertexai).models.generateContentStream({
        model: 'gemini-2.5-pro',
        contents: 'hi',
      });
      let text = '';
      const usages: Array<GenerateContentResponseUsageMetadata | undefined> = [];
      for await (const chunk of stream) {
        text += chunk.text ?? '';
        usages.push(chunk.usageMetadata);
      }
      assert.equal(text, GEMINI_MOCK_REPLY_TEXT);
      const call = mock.calls[0];
      assert.equal(call.format, 'sse');
      await waitFor(() => call.completed);
      assert.equal(usages.length, 5);
      assert.deepEqual(usages.slice(0, -1), [undefined, undefined, undefined, undefined]);
      assert.deepEqual(countsOf(usages.at(-1)), clientUsage(call.usage!));
    });
  }

  it('counts tool results apart: a functionResponse in the request adds toolUsePromptTokenCount', async (t) => {
    const mock = await mockFor(t);
    const response = await clientFor(mock).models.generateContent({
      model: 'gemini-2.5-flash',
      contents: [
        { role: 'user', parts: [{ text: 'weather in Paris?' }] },
        { role: 'model', parts: [{ functionCall: { name: 'weather', args: { city: 'Paris' } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'weather', response: { temperature: 21 } } }] },
      ],
    });
    const u = mock.calls[0].usage!;
    assert.equal(u.toolUse, 24);
    assert.equal(response.usageMetadata?.toolUsePromptTokenCount, 24);
    assert.deepEqual(geminiMockBill(u), {
      inputTokens: u.prompt + 24,
      outputTokens: u.candidates + u.thoughts,
      cacheReadInputTokens: 512,
      reasoningOutputTokens: u.thoughts,
      totalTokens: response.usageMetadata?.totalTokenCount,
    });
  });

  it('streamGenerateContent without alt=sse: a JSON array of responses', async (t) => {
    const mock = await mockFor(t);
    const res = await fetch(`${mock.baseURL}/v1beta/models/gemini-2.5-flash:streamGenerateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
    });
    const chunks = (await res.json()) as GeminiWireResponse[];
    const call = mock.calls[0];
    assert.equal(call.format, 'array');
    assert.equal(chunks.map((c) => c.candidates?.[0].content?.parts?.[0].text).join(''), GEMINI_MOCK_REPLY_TEXT);
    assert.deepEqual(countsOf(chunks.at(-1)?.usageMetadata), clientUsage(call.usage!));
  });

  it('answers a bad request or an unknown path as the API does, and records no call', async (t) => {
    const mock = await mockFor(t);
    const bad = await fetch(`${mock.baseURL}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      body: '{}',
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), {
      error: {
        code: 400,
        message: '* GenerateContentRequest.contents: contents is not specified',
        status: 'INVALID_ARGUMENT',
      },
    });
    const res = await fetch(`${mock.baseURL}/v1beta/models/gemini-2.5-flash:countTokens`, { method: 'POST' });
    assert.equal(res.status, 404);
    assert.deepEqual(mock.calls, []);
  });

  it('a client that stops reading leaves the call incomplete, without usage', async (t) => {
    const mock = await mockFor(t);
    const stream = await clientFor(mock).models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi' });
    for await (const _ of stream) break;
    const call = mock.calls[0];
    await waitFor(() => !call.completed && call.usage === undefined);
    assert.equal(call.usage, undefined);
  });
});
