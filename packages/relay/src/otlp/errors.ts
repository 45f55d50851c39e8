/**
 * A request body that is not a valid ExportTraceServiceRequest in the format it claims. The message names
 * the format, where (a field path, and the byte offset for protobuf) and what, e.g.
 * `protobuf: resourceSpans[0].scopeSpans[0].spans[2].attributes[4]: truncated varint at byte 1203`. The
 * server answers 400, which the OTLP spec says a client must not retry.
 */
export class OtlpDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OtlpDecodeError';
  }
}

/**
 * Thrown inside a decoder with the innermost problem; each enclosing level appends its path segment on the
 * way out (so no path string is built unless something is wrong), and the entry point turns it into an
 * {@link OtlpDecodeError}.
 */
export class DecodeProblem {
  readonly segments: string[] = [];
  constructor(readonly detail: string) {}

  /** Adds the enclosing path segment (innermost first) and returns this, to rethrow. */
  at(segment: string): this {
    this.segments.push(segment);
    return this;
  }

  toError(format: string): OtlpDecodeError {
    let path = '';
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i];
      path += path === '' || s.startsWith('[') ? s : '.' + s;
    }
    return new OtlpDecodeError(path === '' ? `${format}: ${this.detail}` : `${format}: ${path}: ${this.detail}`);
  }
}
