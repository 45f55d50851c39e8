/*
 * Amazon Bedrock's usage, read the ways Bedrock sends it:
 *
 *   Converse, InvokeModel (JSON) ─► x-amzn-bedrock-{input,output,cache-read-input,cache-write-input}-token-count
 *                                   response headers: known before the body, reported once the body ends
 *                                   (no header: the JSON body, read by usage-parser.ts)
 *   ConverseStream ───────────────► event stream (eventstream.ts): the `metadata` event's `usage`
 *                                   (TokenUsage), its last event
 *   InvokeModelWithResponseStream ► event stream: `chunk` events, each `{"bytes": "<base64 of the model's own
 *                                   chunk JSON>"}`; the last carries `amazon-bedrock-invocationMetrics`,
 *                                   Bedrock's counts for every model family
 *
 * Bedrock's input counts leave the cache out (as Anthropic's do): the normalizer's rows add it back. The
 * response id is the request id header (x-amzn-requestid), which is what the AI SDK calls the response id,
 * and the model is the one in the URL (/model/{modelId}/…); the tap (fetch.ts) fills both.
 *
 * Only frames that can hold usage are copied: the `metadata` event, and the latest `chunk` (its base64 hides
 * any needle, and only the last one matters, so each replaces the one before, and only the last is
 * CRC-checked and decoded, once the body ended). An `exception` frame (a throttling or validation error mid-stream) ends
 * the reading with nothing to report.
 */
import { USAGE_SHAPES, mapProviderUsage } from '@genai-enrich/normalizer';
import type { ProviderUsage } from '@genai-enrich/normalizer';
import { EventStreamReader } from './eventstream.js';
import type { EventStreamHeaders, EventStreamSink, FrameUse } from './eventstream.js';
import { asRecord } from './usage-mapping.js';
import { makeFinding } from './usage-parser.js';
import type { TapBodyReader, TapFinding } from './usage-parser.js';

/** The key of Bedrock's own counts in an InvokeModel stream's last chunk. */
const INVOCATION_METRICS = 'amazon-bedrock-invocationMetrics';

/** The response headers Bedrock reports a non-streamed call's counts in, by the invocation-metrics names. */
const TOKEN_COUNT_HEADERS: ReadonlyArray<readonly [header: string, name: string]> = [
  ['x-amzn-bedrock-input-token-count', 'inputTokenCount'],
  ['x-amzn-bedrock-output-token-count', 'outputTokenCount'],
  ['x-amzn-bedrock-cache-read-input-token-count', 'cacheReadInputTokenCount'],
  ['x-amzn-bedrock-cache-write-input-token-count', 'cacheWriteInputTokenCount'],
];

/** The usage in a Bedrock response's token-count headers, or undefined when they carry none. */
export function bedrockHeaderUsage(headers: { get(name: string): string | null }): ProviderUsage | undefined {
  const metrics: Record<string, string> = {};
  for (const [header, name] of TOKEN_COUNT_HEADERS) {
    const value = headers.get(header);
    if (value !== null) metrics[name] = value;
  }
  return mapProviderUsage(USAGE_SHAPES.bedrockInvocationMetrics, metrics);
}

/** A body whose usage is known before it is read (the headers): reported only if the body ends normally. */
export class KnownUsageReader implements TapBodyReader {
  readonly finding = undefined;
  readonly failed = false;
  readonly bufferedBytes = 0;
  private readonly _known: TapFinding;

  constructor(usage: ProviderUsage) {
    this._known = makeFinding(undefined, undefined, usage);
  }

  push(): void {}

  end(): TapFinding | undefined {
    return this._known;
  }
}

/** Which Bedrock event stream: ConverseStream, or InvokeModelWithResponseStream. */
export type BedrockStreamKind = 'converse' | 'invoke';

const base64: (text: string) => Uint8Array = (() => {
  const NodeBuffer = (globalThis as { Buffer?: { from(text: string, encoding: 'base64'): Uint8Array } }).Buffer;
  if (NodeBuffer !== undefined) return (text: string) => NodeBuffer.from(text, 'base64');
  return (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
})();
const decoder = new TextDecoder('utf-8');

/** Reads a Bedrock event stream's usage (see the header). */
export class BedrockEventStreamParser implements TapBodyReader, EventStreamSink {
  private readonly _kind: BedrockStreamKind;
  private readonly _reader: EventStreamReader;
  private _finding: TapFinding | undefined;
  private _broken = false;
  private _done = false;

  constructor(kind: BedrockStreamKind, maxBufferBytes: number) {
    this._kind = kind;
    this._reader = new EventStreamReader(this, maxBufferBytes);
  }

  get finding(): TapFinding | undefined {
    return this._finding;
  }

  get failed(): boolean {
    return this._broken || this._reader.failed;
  }

  get bufferedBytes(): number {
    return this._reader.bufferedBytes;
  }

  push(chunk: Uint8Array): void {
    if (this._done || this.failed || chunk.length === 0) return;
    try {
      this._reader.push(chunk);
    } catch {
      this._broken = true;
    }
  }

  end(): TapFinding | undefined {
    if (this._finding !== undefined || this.failed || this._done) return this._finding;
    this._done = true;
    // A stream cut inside a frame is not whole: nothing is reported from it.
    if (this._kind === 'invoke' && this._reader.atBoundary) {
      const last = this._reader.takeLatest();
      try {
        this._finding = last !== undefined ? invocationMetrics(last.payload) : undefined;
      } catch {
        this._finding = undefined;
      }
    }
    return this._finding;
  }

  /**
   * @internal EventStreamSink: ConverseStream's `metadata` now, InvokeModel's chunks kept as the latest; an
   * exception ends the read.
   */
  use(headers: EventStreamHeaders): FrameUse {
    const type = headers[':message-type'];
    if (type !== undefined && type !== 'event') {
      this._broken = true;
      return 'skip';
    }
    const event = headers[':event-type'];
    if (this._kind === 'converse') return event === 'metadata' ? 'now' : 'skip';
    return event === 'chunk' ? 'latest' : 'skip';
  }

  /** @internal EventStreamSink: ConverseStream's `metadata` event. */
  frame(_headers: EventStreamHeaders, payload: Uint8Array): void {
    const metadata = asRecord(JSON.parse(decoder.decode(payload)));
    const mapped = mapProviderUsage(USAGE_SHAPES.bedrockConverse, metadata?.['usage']);
    if (mapped !== undefined) {
      this._finding = makeFinding(undefined, undefined, mapped);
      this._done = true;
    }
  }
}

/** The usage in an InvokeModel stream chunk's `amazon-bedrock-invocationMetrics`, if it has them. */
function invocationMetrics(payload: Uint8Array): TapFinding | undefined {
  const bytes = asRecord(JSON.parse(decoder.decode(payload)))?.['bytes'];
  if (typeof bytes !== 'string') return undefined;
  const chunk = asRecord(JSON.parse(decoder.decode(base64(bytes))));
  const mapped = mapProviderUsage(USAGE_SHAPES.bedrockInvocationMetrics, chunk?.[INVOCATION_METRICS]);
  return mapped !== undefined ? makeFinding(undefined, undefined, mapped) : undefined;
}
