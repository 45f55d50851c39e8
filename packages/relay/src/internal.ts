/*
 * @genai-enrich/relay/internal: NOT PUBLIC API. The relay's command-line machinery and wire helpers, for
 * this repository's tests, benches and tools. It may change in any release without notice; applications
 * import from `@genai-enrich/relay` only.
 *
 * Keep this a plain list of re-exports: the code lives in the modules it names. The package.json `exports`
 * entry "./internal" maps it for Node and for TypeScript's node16/nodenext resolution; `typesVersions` maps
 * it for the older node10 resolution, which ignores `exports`.
 */
export { RELAY_SETTINGS, parseRelayCommand, relayUsage } from './config.js';
export type { RelayCommand, RelaySetting } from './config.js';
export { encodeTraceResponse } from './otlp/index.js';
