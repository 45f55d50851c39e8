/*
 * The GenAI client metrics of the semantic conventions (v1.41, docs/gen-ai/gen-ai-metrics.md), recorded
 * from each model-call span as it leaves the processor: its usage is then final (late usage joined, the
 * HTTP tap's numbers in, repeated usage set aside), so the token histogram sums to the bill.
 *
 *   model-call span leaving ─ usage set aside as a repeat (genai_enrich.usage_repeats), or moved to the span
 *     │                        it completes (genai_enrich.usage_moved_to)? ─► nothing: the call counts there
 *     ├─ its calls are the GenAI spans below it (no usage of its own)? ─► nothing
 *     ├─ its scope records these metrics itself (skipScopes)? ─► nothing
 *     ├─ gen_ai.client.token.usage {token}: input, output (gen_ai.token.type), each when the span has it
 *     ├─ cache read, cache write, reasoning counters, when the span has them (the conventions' newest shape)
 *     └─ gen_ai.client.operation.duration s, with error.type; not for a span the watchdog ended (its end
 *        time is the watchdog's, not the call's)
 */
import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
  isModelCall,
} from '@genai-enrich/normalizer';
import { ATTR_FORCE_ENDED, ATTR_USAGE_MOVED_TO, ATTR_USAGE_REPEATS } from '../attributes.js';
import { scopeOf } from '../sdk-compat.js';
import type { ReadableSpanLike } from '../types.js';

/** Histogram `{token}`: input and output tokens per call, by `gen_ai.token.type` (semconv v1.41). */
export const METRIC_GEN_AI_CLIENT_TOKEN_USAGE = 'gen_ai.client.token.usage';
/** Histogram `s`: the call's duration, from the span (semconv v1.41). */
export const METRIC_GEN_AI_CLIENT_OPERATION_DURATION = 'gen_ai.client.operation.duration';
/** Counter `{token}`, a part of the input tokens (the conventions' development repository; may be renamed). */
export const METRIC_GEN_AI_CLIENT_CACHE_READ_INPUT_TOKENS = 'gen_ai.client.inference.usage.cache_read.input_tokens';
/** Counter `{token}`, from `gen_ai.usage.cache_creation.input_tokens` (development; may be renamed). */
export const METRIC_GEN_AI_CLIENT_CACHE_WRITE_INPUT_TOKENS = 'gen_ai.client.inference.usage.cache_write.input_tokens';
/** Counter `{token}`, a part of the output tokens (development; may be renamed). */
export const METRIC_GEN_AI_CLIENT_REASONING_OUTPUT_TOKENS = 'gen_ai.client.inference.usage.reasoning.output_tokens';

/** The conventions' explicit bucket boundaries for `gen_ai.client.token.usage`. */
export const TOKEN_USAGE_BUCKETS: readonly number[] = Object.freeze([
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
]);
/** The conventions' explicit bucket boundaries for `gen_ai.client.operation.duration`, in seconds. */
export const OPERATION_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
]);

const ATTR_GEN_AI_TOKEN_TYPE = 'gen_ai.token.type';
const ATTR_SERVER_ADDRESS = 'server.address';
const ATTR_SERVER_PORT = 'server.port';
const ATTR_ERROR_TYPE = 'error.type';
/** `error.type`'s fallback value in the conventions, for a span with an error status and no type. */
const ERROR_TYPE_OTHER = '_OTHER';
const STATUS_CODE_ERROR = 2;

const CALLS_BELOW: unique symbol = Symbol('genai-enrich calls below');
type Marked = ReadableSpanLike & { [CALLS_BELOW]?: true };

/**
 * Marks a model-call span that has no usage because its calls are the GenAI spans below it (an embeddings
 * root over its batches): those spans are the operations, this one records nothing.
 */
export function markCallsBelow(span: ReadableSpanLike): void {
  (span as Marked)[CALLS_BELOW] = true;
}

/**
 * Attribute sets kept for reuse, by the values they carry: a process calls few models through few
 * servers, and building each set afresh costs more than the lookup (objects with dotted keys are slow to
 * copy). Beyond this many distinct sets, new ones are built for each span and not kept.
 */
export const MAX_CACHED_ATTRIBUTE_SETS = 256;

/** The attributes of one call's measurements. */
interface CallAttributes {
  readonly call: Attributes;
  readonly input: Attributes;
  readonly output: Attributes;
}

/** The span attributes each metric carries, besides `gen_ai.token.type` and `error.type`. */
const CALL_KEYS = [
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_SERVER_ADDRESS,
] as const;

export class GenAiMetrics {
  private readonly _tokens: Histogram;
  private readonly _duration: Histogram;
  private readonly _cacheRead: Counter;
  private readonly _cacheWrite: Counter;
  private readonly _reasoning: Counter;
  private readonly _skipScopes: ReadonlySet<string>;
  private readonly _attributeSets = new Map<string, CallAttributes>();

  constructor(meter: Meter, skipScopes: ReadonlySet<string>) {
    this._skipScopes = skipScopes;
    this._tokens = meter.createHistogram(METRIC_GEN_AI_CLIENT_TOKEN_USAGE, {
      description: 'Number of input and output tokens used.',
      unit: '{token}',
      advice: { explicitBucketBoundaries: [...TOKEN_USAGE_BUCKETS] },
    });
    this._duration = meter.createHistogram(METRIC_GEN_AI_CLIENT_OPERATION_DURATION, {
      description: 'GenAI operation duration.',
      unit: 's',
      advice: { explicitBucketBoundaries: [...OPERATION_DURATION_BUCKETS] },
    });
    this._cacheRead = meter.createCounter(METRIC_GEN_AI_CLIENT_CACHE_READ_INPUT_TOKENS, {
      description: 'The number of input tokens served from a provider-managed cache.',
      unit: '{token}',
    });
    this._cacheWrite = meter.createCounter(METRIC_GEN_AI_CLIENT_CACHE_WRITE_INPUT_TOKENS, {
      description: 'The number of input tokens written to a provider-managed cache.',
      unit: '{token}',
    });
    this._reasoning = meter.createCounter(METRIC_GEN_AI_CLIENT_REASONING_OUTPUT_TOKENS, {
      description: 'The number of output tokens used for reasoning.',
      unit: '{token}',
    });
  }

  /** A GenAI span leaves the processor: its metrics, if it is a call counted here (see the header). */
  record(span: ReadableSpanLike): void {
    const a = span.attributes;
    if (!isModelCall(a) || a[ATTR_USAGE_REPEATS] !== undefined || a[ATTR_USAGE_MOVED_TO] !== undefined) return;
    if ((span as Marked)[CALLS_BELOW] === true) return;
    if (this._skipScopes.size > 0) {
      const scope = scopeOf(span);
      if (scope !== undefined && scope !== null && this._skipScopes.has(scope.name)) return;
    }
    const sets = this._attributesOf(a);
    const input = tokenCount(a[ATTR_GEN_AI_USAGE_INPUT_TOKENS]);
    const output = tokenCount(a[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]);
    if (input !== undefined) this._tokens.record(input, sets.input);
    if (output !== undefined) this._tokens.record(output, sets.output);
    add(this._cacheRead, a[ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS], sets.call);
    add(this._cacheWrite, a[ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS], sets.call);
    add(this._reasoning, a[ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS], sets.call);
    if (a[ATTR_FORCE_ENDED] === true) return;
    const seconds = durationSeconds(span);
    if (seconds === undefined) return;
    const errorType = errorTypeOf(span);
    this._duration.record(
      seconds,
      errorType === undefined ? sets.call : withKey(sets.call, ATTR_ERROR_TYPE, errorType),
    );
  }

  /** The conventions' metric attributes the span has (`server.port` only beside `server.address`), kept for reuse. */
  private _attributesOf(a: Attributes): CallAttributes {
    let key = '';
    for (const name of CALL_KEYS) key += stringOf(a[name]) + '\u0000';
    const port = a[ATTR_SERVER_PORT];
    const hasPort = typeof port === 'number' && stringOf(a[ATTR_SERVER_ADDRESS]) !== '';
    if (hasPort) key += String(port);
    const cached = this._attributeSets.get(key);
    if (cached !== undefined) return cached;
    const call: Attributes = {};
    for (const name of CALL_KEYS) {
      const value = stringOf(a[name]);
      if (value !== '') call[name] = value;
    }
    if (hasPort) call[ATTR_SERVER_PORT] = port;
    const sets: CallAttributes = {
      call,
      input: withKey(call, ATTR_GEN_AI_TOKEN_TYPE, 'input'),
      output: withKey(call, ATTR_GEN_AI_TOKEN_TYPE, 'output'),
    };
    if (this._attributeSets.size < MAX_CACHED_ATTRIBUTE_SETS) this._attributeSets.set(key, sets);
    return sets;
  }
}

function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** A copy of `attributes` with one more key. */
function withKey(attributes: Attributes, key: string, value: string): Attributes {
  const out: Attributes = {};
  for (const k in attributes) out[k] = attributes[k];
  out[key] = value;
  return out;
}

function tokenCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function add(counter: Counter, value: unknown, attributes: Attributes): void {
  const n = tokenCount(value);
  if (n !== undefined && n > 0) counter.add(n, attributes);
}

function durationSeconds(span: ReadableSpanLike): number | undefined {
  const start = span.startTime;
  const end = span.endTime;
  if (!Array.isArray(start) || !Array.isArray(end)) return undefined;
  const seconds = end[0] - start[0] + (end[1] - start[1]) / 1e9;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

/** The span's `error.type`, or `_OTHER` when it ended with an error status and says no more. */
function errorTypeOf(span: ReadableSpanLike): string | undefined {
  const type = span.attributes[ATTR_ERROR_TYPE];
  if (typeof type === 'string' && type.length > 0) return type;
  if (typeof type === 'number') return String(type);
  return span.status?.code === STATUS_CODE_ERROR ? ERROR_TYPE_OTHER : undefined;
}
