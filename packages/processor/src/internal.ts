/*
 * @genai-enrich/processor/internal: NOT PUBLIC API. What the other packages of this repository (the relay),
 * the demo and the benches need from the processor beyond its public index. It may change in any release
 * without notice; applications import from `@genai-enrich/processor` only.
 *
 * Keep this a plain list of re-exports: the code lives in the modules it names. The package.json `exports`
 * entry "./internal" maps it for Node and for TypeScript's node16/nodenext resolution; `typesVersions` maps
 * it for the older node10 resolution, which ignores `exports` (the relay's CommonJS build resolves so).
 */
// The processor's option bounds and their wording, so that the relay checks the options it passes through
// exactly as the processor would.
export {
  MAX_TIMER_MILLIS,
  PROCESSOR_OPTION_BOUNDS,
  describeValue,
  integerRange,
  isWithinBounds,
} from './option-bounds.js';
export type { IntegerBounds, ProcessorNumericOption } from './option-bounds.js';

// The estimated bytes of a span, so that the relay accounts the spans it has accepted as held spans are.
export { estimateSpanBytes } from './span-size.js';

// The usage tap's incremental parser and the reports it makes, for the tap bench.
export { UsageStreamParser } from './tap/usage-parser.js';
export type { TapBodyFormat, TapBodyReader, TapEndpoint, TapFinding } from './tap/usage-parser.js';
export { BedrockEventStreamParser } from './tap/bedrock-usage.js';
export type { TapReport } from './types.js';
export { registerTapSink } from './tap/sink.js';
export type { TapReportSink } from './tap/sink.js';

// The time source the processor's `clock` option takes, for tests and benches that drive time.
export type { Clock } from './types.js';
