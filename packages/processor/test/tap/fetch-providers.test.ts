// usageTapFetch on Gemini's and Bedrock's wire formats, over a real loopback server and Node's fetch: the
// application reads the server's bytes exactly, however they are cut; the report names the call as the
// instrumentations do (Bedrock: the request id and the URL's model); a signed AWS request reaches the server
// byte for byte as signed; a cancelled stream reports nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tapEndpoint } from '../../src/tap/fetch.js';
import { usageTapFetch } from '../../src/index.js';
import type { TapReport } from '../../src/types.js';
import {
  bedrockConverseJson,
  bedrockFinding,
  converseStream,
  geminiArray,
  geminiJson,
  geminiSse,
  invokeStream,
} from './gemini-bedrock-fixtures.js';
import { startProviderServer, splitAt } from './provider-server.js';
import type { Answer, ProviderServer } from './provider-server.js';
import { RecordingSink } from './recording-sink.js';

const EVENTSTREAM = 'application/vnd.amazon.eventstream';
const MODEL_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const MODEL_PATH = encodeURIComponent(MODEL_ID);
const REQUEST_ID = '5d7f3c2e-9b1a-4c6d-8e2f-0a1b2c3d4e5f';

interface Case {
  name: string;
  path: string;
  contentType: string;
  headers?: Record<string, string>;
  body: Uint8Array;
  /** Where to cut besides every 7th byte (frame and event edges). */
  expected: Partial<TapReport> | undefined;
}

const gemini = (f: ReturnType<typeof geminiSse>) => ({
  responseId: f.expected!.responseId,
  model: f.expected!.model,
  usage: f.expected!.usage,
  totalTokens: f.expected!.totalTokens,
  adjusted: f.expected!.adjusted,
});

const bedrock = (total: boolean): Partial<TapReport> => ({
  ...bedrockFinding(undefined, total),
  responseId: REQUEST_ID,
  model: MODEL_ID,
});

const CASES: Case[] = [
  {
    name: 'Gemini streamGenerateContent?alt=sse',
    path: '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
    contentType: 'text/event-stream',
    body: geminiSse().body,
    expected: { ...gemini(geminiSse()), streamed: true },
  },
  {
    name: 'Gemini streamGenerateContent as a JSON array',
    path: '/v1beta/models/gemini-2.5-flash:streamGenerateContent',
    contentType: 'application/json; charset=UTF-8',
    body: geminiArray().body,
    expected: { ...gemini(geminiArray()), streamed: true },
  },
  {
    name: 'Vertex AI generateContent',
    path: '/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent',
    contentType: 'application/json',
    body: geminiJson().body,
    expected: { ...gemini(geminiJson()), streamed: false },
  },
  {
    name: 'Bedrock ConverseStream',
    path: `/model/${MODEL_PATH}/converse-stream`,
    contentType: EVENTSTREAM,
    headers: { 'x-amzn-requestid': REQUEST_ID },
    body: converseStream().body,
    expected: { ...bedrock(true), streamed: true },
  },
  {
    name: 'Bedrock InvokeModelWithResponseStream',
    path: `/model/${MODEL_PATH}/invoke-with-response-stream`,
    contentType: EVENTSTREAM,
    headers: { 'x-amzn-requestid': REQUEST_ID },
    body: invokeStream().body,
    expected: { ...bedrock(false), streamed: true },
  },
  {
    name: 'Bedrock Converse (JSON body, no count headers)',
    path: `/model/${MODEL_PATH}/converse`,
    contentType: 'application/json',
    headers: { 'x-amzn-requestid': REQUEST_ID },
    body: bedrockConverseJson().body,
    expected: { ...bedrock(true), streamed: false },
  },
  {
    name: 'Bedrock InvokeModel (the count headers)',
    path: `/model/${MODEL_PATH}/invoke`,
    contentType: 'application/json',
    headers: {
      'x-amzn-requestid': REQUEST_ID,
      'x-amzn-bedrock-input-token-count': '11',
      'x-amzn-bedrock-output-token-count': '52',
      'x-amzn-bedrock-cache-read-input-token-count': '1184',
      'x-amzn-bedrock-cache-write-input-token-count': '64',
    },
    body: new TextEncoder().encode('{"generation":"Llama answers in its own shape","stop_reason":"stop"}'),
    expected: { ...bedrock(false), streamed: false },
  },
];

describe('tapEndpoint: Gemini, Vertex AI and Bedrock paths', () => {
  it('knows each API by its path on any host, and nothing else', () => {
    const cases: Array<[string, string | undefined]> = [
      ['/v1beta/models/gemini-2.5-flash:generateContent', 'gemini.generate_content'],
      ['/v1beta/models/gemini-2.5-flash:streamGenerateContent', 'gemini.generate_content'],
      ['/v1/publishers/google/models/gemini-2.5-pro:streamGenerateContent', 'gemini.generate_content'],
      ['/v1/projects/p/locations/l/publishers/anthropic/models/claude-sonnet-4-5:rawPredict', 'anthropic.messages'],
      [
        '/v1/projects/p/locations/l/publishers/anthropic/models/claude-sonnet-4-5:streamRawPredict',
        'anthropic.messages',
      ],
      ['/v1/projects/p/locations/l/publishers/google/models/x:rawPredict', undefined],
      ['/v1beta/models/gemini-2.5-flash:countTokens', undefined],
      ['/v1beta/models/text-embedding-004:embedContent', undefined],
      [`/model/${MODEL_PATH}/converse`, 'bedrock.converse'],
      [`/model/${MODEL_PATH}/converse-stream`, 'bedrock.converse'],
      [`/model/${MODEL_PATH}/invoke`, 'bedrock.invoke'],
      [`/model/${MODEL_PATH}/invoke-with-response-stream`, 'bedrock.invoke'],
      ['/gateway/model/amazon.nova-lite-v1%3A0/converse', 'bedrock.converse'],
      ['/models/x/converse', undefined],
      ['/converse', undefined],
      ['/model/converse', undefined],
    ];
    for (const [path, endpoint] of cases) assert.equal(tapEndpoint({ pathname: path }, 'POST'), endpoint, path);
    assert.equal(tapEndpoint({ pathname: `/model/${MODEL_PATH}/converse` }, 'GET'), undefined);
  });
});

describe('usageTapFetch: Gemini and Bedrock', () => {
  let server: ProviderServer;
  let answer: (path: string, body: string) => Answer;
  before(async () => {
    server = await startProviderServer((path, body) => answer(path, body));
  });
  after(() => server.close());

  for (const c of CASES) {
    it(`${c.name}: the application reads the server's bytes exactly, the report has the wire's usage`, async () => {
      const cuts = Array.from({ length: Math.floor(c.body.length / 7) }, (_, i) => (i + 1) * 7);
      for (const pieces of [[c.body], splitAt(c.body, cuts)]) {
        answer = () => ({ contentType: c.contentType, headers: c.headers, pieces, delayMs: 0 });
        const sink = new RecordingSink();
        const response = await usageTapFetch(sink.processor)(server.url + c.path, { method: 'POST', body: '{}' });
        assert.deepEqual(new Uint8Array(await response.arrayBuffer()), c.body);
        assert.equal(sink.reports.length, 1);
        const { spanKey: _key, ...report } = sink.reports[0];
        assert.deepEqual(report, c.expected);
      }
    });
  }

  it('a SigV4-signed AWS request reaches the server exactly as signed, headers and body', async () => {
    const f = converseStream();
    answer = () => ({ contentType: EVENTSTREAM, headers: { 'x-amzn-requestid': REQUEST_ID }, pieces: [f.body] });
    const body = new TextEncoder().encode('{"messages":[{"role":"user","content":[{"text":"Grüß dich"}]}]}');
    const signed = {
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/bedrock/aws4_request, ' +
        'SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
      'content-type': 'application/json',
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      'x-amz-date': '20260101T000000Z',
      'x-amz-user-agent': 'aws-sdk-js/3.1178.0',
    };
    // As the AWS SDK's FetchHttpHandler calls fetch: one Request object, no init.
    const request = new Request(server.url + `/model/${MODEL_PATH}/converse-stream`, {
      method: 'POST',
      headers: signed,
      body,
    });
    const sink = new RecordingSink();
    const response = await usageTapFetch(sink.processor)(request);
    await response.arrayBuffer();
    const received = server.received.at(-1)!;
    for (const [name, value] of Object.entries(signed)) assert.equal(received.headers[name], value, name);
    assert.deepEqual(received.bodyBytes, body);
    assert.equal(received.path, `/model/${MODEL_PATH}/converse-stream`);
    assert.equal(sink.reports[0]?.responseId, REQUEST_ID);
  });

  it('a Bedrock stream the application cancels reports nothing', async () => {
    const f = converseStream();
    answer = () => ({
      contentType: EVENTSTREAM,
      pieces: splitAt(f.body, [f.frameEnds[0], f.frameEnds[2]]),
      delayMs: 20,
    });
    const sink = new RecordingSink();
    const response = await usageTapFetch(sink.processor)(server.url + `/model/${MODEL_PATH}/converse-stream`, {
      method: 'POST',
      body: '{}',
    });
    const reader = response.body!.getReader();
    assert.equal((await reader.read()).done, false);
    await reader.cancel();
    await server.received.at(-1)!.done;
    assert.deepEqual(sink.reports, []);
  });

  it('InvokeModel with count headers and a body the application never finishes: nothing', async () => {
    const c = CASES.find((x) => x.name.startsWith('Bedrock InvokeModel ('))!;
    answer = () => ({
      contentType: c.contentType,
      headers: c.headers,
      pieces: [c.body.subarray(0, 10), c.body.subarray(10)],
      delayMs: 30,
    });
    const sink = new RecordingSink();
    const response = await usageTapFetch(sink.processor)(server.url + c.path, { method: 'POST', body: '{}' });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    assert.deepEqual(sink.reports, []);
  });
});
