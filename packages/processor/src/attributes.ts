import {
  ATTR_GENAI_ENRICH_TELEMETRY_USAGE,
  ATTR_GENAI_ENRICH_USAGE_MOVED_TO,
  ATTR_USAGE_REPEATS as USAGE_REPEATS,
  REPEATED_USAGE_PREFIX as REPEATED_PREFIX,
} from '@genai-enrich/normalizer';

/*
 * Attributes this processor writes, in its own namespace so they can never collide with semconv.
 */

/** `true` on a GenAI span the watchdog ended because it stayed open longer than `maxOpenMillis`. */
export const ATTR_FORCE_ENDED = 'genai_enrich.force_ended';

/**
 * Where the span's token usage came from: `telemetry` (the instrumentation set it), `late_span` (a later
 * span with the same `gen_ai.response.id`), `span_event`, `record_usage`, `late_attribute` (a write after
 * `end()`), `sibling_record` (Logfire's streaming record), `http_tap` (the provider's HTTP response, read
 * by the usage tap), or `telemetry+http_tap` (the instrumentation set some counts, the tap filled the rest).
 */
export const ATTR_USAGE_SOURCE = 'genai_enrich.usage_source';

/** `true` on an inference span forwarded without usage: it was held and no usage arrived. */
export const ATTR_USAGE_MISSING = 'genai_enrich.usage_missing';

/** How a held span was released: `joined`, `expired`, `evicted` or `flushed`. */
export const ATTR_HOLD_OUTCOME = 'genai_enrich.hold_outcome';

/**
 * On a carrier (a span whose usage completed another span): the span id it completed. The carrier's own
 * `gen_ai.usage.*` keys are removed, so a trace counts the usage once, on the inference span.
 */
export const ATTR_USAGE_MOVED_TO = ATTR_GENAI_ENRICH_USAGE_MOVED_TO;

/**
 * Usage numbers telemetry reported that the span no longer carries, as one JSON object:
 * `{"reason": "provider_disagreed" | "inconsistent", "estimate"?: why, "<gen_ai.usage.* key>": <count>, …}`.
 * `provider_disagreed`: the HTTP usage tap read the provider's own usage and it differed; the provider's
 * numbers are on the span (`genai_enrich.usage_source = http_tap`). `inconsistent`: cache read above input
 * or reasoning above output; those detail counts were taken off the span. `estimate` says why telemetry's
 * numbers are known to be an estimate (e.g. OpenLLMetry's `enrichTokens` on a stream).
 */
export const ATTR_TELEMETRY_USAGE = ATTR_GENAI_ENRICH_TELEMETRY_USAGE;

/**
 * Why a span's usage was set aside (`countUsageOnce`): `descendants` (it equals what the spans below it
 * counted: an agent, chain or outer-span total) or `twin` (a second span of a call already counted).
 */
export const ATTR_USAGE_REPEATS = USAGE_REPEATS;

/** Where that usage went: `genai_enrich.repeated_usage.` + the `gen_ai.usage.` suffix (`input_tokens`, …). */
export const REPEATED_USAGE_PREFIX = REPEATED_PREFIX;
