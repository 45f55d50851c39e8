/*
 * One attempt to deliver one encoded OTLP/HTTP request, and what the answer means for a retry:
 *
 *   POST body (gzip when asked) ─► 2xx ─────────────────────────► delivered (partial success read, if any)
 *                                 429, 502, 503, 504 ──────────► retry, after Retry-After when it says
 *                                 no answer: refused, reset, timed out, DNS ─► retry
 *                                 any other status (400, 401, 404, 413, 500…) ─► failed, not retried
 *
 * These are the OTLP/HTTP specification's retryable cases, as the Collector's `otlphttp` exporter and the
 * SDKs read them. The retries themselves, their back-off and their deadline are the delivery queue's
 * (delivery-queue.ts): a sender makes one attempt and never throws.
 */
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { gzipSync } from 'node:zlib';

/** What one attempt came to. */
export type SendOutcome =
  | { status: 'success'; rejectedSpans: number; message: string | undefined }
  | { status: 'retryable'; retryInMillis: number | undefined; reason: string }
  | { status: 'failure'; reason: string };

/** Sends one encoded request; never throws (see the header). */
export interface Sender {
  send(body: Uint8Array, timeoutMillis: number): Promise<SendOutcome>;
  shutdown(): void;
}

export interface HttpSenderOptions {
  url: string;
  contentType: string;
  headers: Record<string, string>;
  gzip: boolean;
  /** Reads a partial success out of a 2xx body: how many spans the target rejected, and why. */
  readPartialSuccess(body: Uint8Array): { rejectedSpans: number; message: string | undefined };
}

/** Answers whose body is read (a partial success, an error message); larger ones are cut off there. */
const MAX_ANSWER_BYTES = 64 * 1024;

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

export class HttpSender implements Sender {
  private readonly _options: HttpSenderOptions;
  private readonly _url: URL;

  constructor(options: HttpSenderOptions) {
    this._options = options;
    this._url = new URL(options.url);
  }

  send(body: Uint8Array, timeoutMillis: number): Promise<SendOutcome> {
    return new Promise<SendOutcome>((resolve) => {
      let settled = false;
      const settle = (outcome: SendOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const timer = setTimeout(() => {
        settle({ status: 'retryable', retryInMillis: undefined, reason: `no answer within ${timeoutMillis} ms` });
        req.destroy();
      }, timeoutMillis);
      timer.unref();
      const payload = this._options.gzip ? gzipSync(body) : body;
      const headers: Record<string, string> = {
        ...this._options.headers,
        'content-type': this._options.contentType,
        'content-length': String(payload.length),
      };
      if (this._options.gzip) headers['content-encoding'] = 'gzip';
      const send = this._url.protocol === 'https:' ? httpsRequest : httpRequest;
      let req: ReturnType<typeof httpRequest>;
      try {
        req = send(this._url, { method: 'POST', headers }, (res) => {
          readAnswer(res, (answer) => settle(this._outcome(res, answer)));
        });
      } catch (error) {
        settle({ status: 'failure', reason: `cannot send to ${this._options.url}: ${describe(error)}` });
        return;
      }
      req.on('error', (error) => settle({ status: 'retryable', retryInMillis: undefined, reason: describe(error) }));
      req.end(payload);
    });
  }

  shutdown(): void {}

  private _outcome(res: IncomingMessage, answer: Uint8Array): SendOutcome {
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) {
      try {
        return { status: 'success', ...this._options.readPartialSuccess(answer) };
      } catch {
        return { status: 'success', rejectedSpans: 0, message: undefined }; // an answer we cannot read
      }
    }
    const reason = `${this._options.url} answered ${status}${snippet(answer)}`;
    if (RETRYABLE_STATUS.has(status)) {
      return { status: 'retryable', retryInMillis: retryAfterMillis(res.headers['retry-after']), reason };
    }
    return { status: 'failure', reason };
  }
}

function readAnswer(res: IncomingMessage, done: (body: Uint8Array) => void): void {
  const chunks: Buffer[] = [];
  let length = 0;
  res.on('data', (chunk: Buffer) => {
    if (length < MAX_ANSWER_BYTES) chunks.push(chunk);
    length += chunk.length;
  });
  res.on('end', () => done(Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES)));
  res.on('error', () => done(Buffer.concat(chunks)));
  res.on('aborted', () => done(Buffer.concat(chunks)));
}

/** `Retry-After` as seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
export function retryAfterMillis(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function snippet(answer: Uint8Array): string {
  if (answer.length === 0) return '';
  const text = Buffer.from(answer.subarray(0, 200))
    .toString('utf8')
    .replace(/[^\x20-\x7e]+/g, ' ')
    .trim();
  return text === '' ? '' : `: ${text}`;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} ${error.message}` : error.message;
  }
  return String(error);
}
