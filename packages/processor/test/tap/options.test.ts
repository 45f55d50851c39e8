// The usage tap's options are checked like the processor's: a bad one is named with its value in one
// diag.warn and replaced by its default, never silently, and the tap keeps working.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { DEFAULT_TAP_MAX_BUFFER_BYTES, installUsageTap, usageTapFetch } from '../../src/index.js';
import { RecordingSink } from './recording-sink.js';
import { resolveTapOptions, validateTapOptions } from '../../src/tap/options.js';

// A non-streamed chat completion: the tap reads its id and usage.
const CHAT = JSON.stringify({
  id: 'chatcmpl-O1',
  model: 'gpt-4o-mini',
  choices: [],
  usage: { prompt_tokens: 3, completion_tokens: 2 },
});

/** A sink that keeps what the tap reports. */
function sink(): RecordingSink {
  return new RecordingSink();
}

/** A provider that answers every request with one chat completion, without a server. */
const provider = async (): Promise<Response> => new Response(CHAT, { headers: { 'content-type': 'application/json' } });

function captureWarnings(): string[] {
  const warnings: string[] = [];
  diag.setLogger(
    { warn: (m: string) => warnings.push(m), error() {}, info() {}, debug() {}, verbose() {} },
    DiagLogLevel.WARN,
  );
  return warnings;
}

afterEach(() => diag.disable());

describe('validateTapOptions', () => {
  it('accepts no options, empty options and good ones', () => {
    assert.deepEqual(validateTapOptions('usageTapFetch', undefined), []);
    assert.deepEqual(validateTapOptions('usageTapFetch', null), []);
    assert.deepEqual(
      validateTapOptions('usageTapFetch', { fetch: provider, includeUsage: true, maxBufferBytes: 1024 }),
      [],
    );
    assert.deepEqual(validateTapOptions('installUsageTap', { hosts: ['localhost:4000'], maxBufferBytes: 2 ** 30 }), []);
  });

  const cases: Array<{
    name: string;
    owner: 'usageTapFetch' | 'installUsageTap';
    options: unknown;
    expected: string[];
  }> = [
    {
      name: 'a buffer below 1 KiB',
      owner: 'usageTapFetch',
      options: { maxBufferBytes: 1023 },
      expected: ['maxBufferBytes must be an integer from 1024 to 1073741824, got 1023'],
    },
    {
      name: 'a buffer above 1 GiB',
      owner: 'installUsageTap',
      options: { maxBufferBytes: 2 ** 30 + 1 },
      expected: ['maxBufferBytes must be an integer from 1024 to 1073741824, got 1073741825'],
    },
    {
      name: 'a fractional buffer',
      owner: 'usageTapFetch',
      options: { maxBufferBytes: 2048.5 },
      expected: ['maxBufferBytes must be an integer from 1024 to 1073741824, got 2048.5'],
    },
    {
      name: 'a buffer as a string',
      owner: 'usageTapFetch',
      options: { maxBufferBytes: '64KiB' },
      expected: ['maxBufferBytes must be an integer from 1024 to 1073741824, got "64KiB"'],
    },
    {
      name: 'includeUsage as a string',
      owner: 'usageTapFetch',
      options: { includeUsage: 'yes' },
      expected: ['includeUsage must be a boolean, got "yes"'],
    },
    {
      name: 'a fetch that is not a function',
      owner: 'usageTapFetch',
      options: { fetch: {} },
      expected: ['fetch must be a function, got an object'],
    },
    {
      name: 'hosts as a string',
      owner: 'installUsageTap',
      options: { hosts: 'localhost:4000' },
      expected: ['hosts must be an array of strings, got "localhost:4000"'],
    },
    {
      name: 'a bad host entry',
      owner: 'installUsageTap',
      options: { hosts: ['ok', 5, ''] },
      expected: ['hosts[1] must be a non-empty string, got 5', 'hosts[2] must be a non-empty string, got ""'],
    },
    {
      name: 'fetch given to installUsageTap',
      owner: 'installUsageTap',
      options: { fetch: provider },
      expected: ['unknown option "fetch"'],
    },
    {
      name: 'hosts given to usageTapFetch',
      owner: 'usageTapFetch',
      options: { hosts: [] },
      expected: ['unknown option "hosts"'],
    },
    { name: 'a typo', owner: 'usageTapFetch', options: { maxBuffer: 4096 }, expected: ['unknown option "maxBuffer"'] },
    { name: 'not an object', owner: 'usageTapFetch', options: 5, expected: ['options must be an object, got 5'] },
    {
      name: 'several at once, each named',
      owner: 'usageTapFetch',
      options: { includeUsage: 1, maxBufferBytes: 0 },
      expected: [
        'includeUsage must be a boolean, got 1',
        'maxBufferBytes must be an integer from 1024 to 1073741824, got 0',
      ],
    },
  ];
  for (const c of cases) {
    it(`reports ${c.name}`, () => {
      assert.deepEqual(validateTapOptions(c.owner, c.options), c.expected);
    });
  }
});

describe('resolveTapOptions', () => {
  it('keeps good values and uses the default for each bad one', () => {
    captureWarnings();
    assert.deepEqual(
      resolveTapOptions('usageTapFetch', { fetch: provider, includeUsage: true, maxBufferBytes: 4096 }),
      {
        fetch: provider,
        includeUsage: true,
        maxBufferBytes: 4096,
        hosts: [],
      },
    );
    assert.deepEqual(resolveTapOptions('usageTapFetch', { fetch: 'x', includeUsage: 'yes', maxBufferBytes: 100 }), {
      fetch: undefined,
      includeUsage: false,
      maxBufferBytes: DEFAULT_TAP_MAX_BUFFER_BYTES,
      hosts: [],
    });
  });

  it('leaves out bad host entries and keeps the good ones, lower-cased', () => {
    captureWarnings();
    assert.deepEqual(resolveTapOptions('installUsageTap', { hosts: ['LocalHost:4000', 5] }).hosts, ['localhost:4000']);
    assert.deepEqual(resolveTapOptions('installUsageTap', { hosts: 'localhost' }).hosts, []);
  });
});

describe('bad tap options are reported by name', () => {
  it('usageTapFetch warns once, naming each option and value, and still taps with the defaults', async () => {
    const warnings = captureWarnings();
    const reports = sink();
    const tap = usageTapFetch(reports.processor, {
      fetch: provider,
      maxBufferBytes: 100,
      includeUsage: 'yes',
    } as never);
    assert.deepEqual(warnings, [
      'usageTapFetch: invalid options, defaults used instead: includeUsage must be a boolean, got "yes"; ' +
        'maxBufferBytes must be an integer from 1024 to 1073741824, got 100',
    ]);
    const body = await (await tap('http://provider.test/v1/chat/completions', { method: 'POST', body: '{}' })).text();
    assert.equal(body, CHAT, 'the application reads the body unchanged');
    assert.equal(reports.reports.length, 1);
    assert.equal(reports.reports[0].responseId, 'chatcmpl-O1');
  });

  it('usageTapFetch with good options warns nothing', () => {
    const warnings = captureWarnings();
    usageTapFetch(sink().processor, { fetch: provider, includeUsage: false, maxBufferBytes: 1024 });
    usageTapFetch(sink().processor);
    assert.deepEqual(warnings, []);
  });

  it('installUsageTap warns once (not again for the tap it builds) and taps the good hosts', async () => {
    const original = globalThis.fetch;
    globalThis.fetch = provider;
    const warnings = captureWarnings();
    const reports = sink();
    const uninstall = installUsageTap(reports.processor, { hosts: ['gateway.test', 5], maxBufferBytes: 512 } as never);
    try {
      assert.deepEqual(warnings, [
        'installUsageTap: invalid options, defaults used instead: maxBufferBytes must be an integer from 1024 to 1073741824, got 512; ' +
          'hosts[1] must be a non-empty string, got 5',
      ]);
      await (await fetch('http://gateway.test/v1/chat/completions', { method: 'POST', body: '{}' })).text();
      await (await fetch('http://elsewhere.test/v1/chat/completions', { method: 'POST', body: '{}' })).text();
      assert.equal(reports.reports.length, 1, 'the good host is tapped, the others pass through');
    } finally {
      uninstall();
      globalThis.fetch = original;
    }
  });
});
