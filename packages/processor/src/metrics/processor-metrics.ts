/*
 * The processor's metrics, opt-in through the `metrics` option:
 *
 *   meter ─ the given MeterProvider's, at once; or the global one's, looked up again (at each model-call span
 *           leaving, and at forceFlush) until a provider is registered: NodeSDK.start() registers it after
 *           the processor was made
 *     ├─ genAi ─► GenAiMetrics.record(span) for each GenAI span leaving              genai-metrics.ts
 *     └─ stats ─► observable instruments over stats(), read at collection             stats-metrics.ts
 *
 * Nothing here throws into the host: a failure is handed to `onError` (counted in stats().errors), and a
 * provider that fails to make instruments is not asked again.
 */
import { createNoopMeter, metrics } from '@opentelemetry/api';
import type { Meter, MeterProvider } from '@opentelemetry/api';
import type { GenAiEnrichingProcessorStats, ReadableSpanLike } from '../types.js';
import { GenAiMetrics } from './genai-metrics.js';
import type { ResolvedMetrics } from './options.js';
import { observeStats } from './stats-metrics.js';

/** The instrumentation scope of every metric the processor records. */
export const PROCESSOR_METER_NAME = '@genai-enrich/processor';

/** The API's no-op meter, which the global provider hands out until an SDK registers itself. */
const NOOP_METER: unknown = createNoopMeter().constructor;

export class ProcessorMetrics {
  private readonly _config: ResolvedMetrics;
  private readonly _stats: () => GenAiEnrichingProcessorStats;
  private readonly _onError: (where: string, error: unknown) => void;
  private _ready = false;
  private _genAi: GenAiMetrics | undefined;

  constructor(
    config: ResolvedMetrics,
    stats: () => GenAiEnrichingProcessorStats,
    onError: (where: string, error: unknown) => void,
  ) {
    this._config = config;
    this._stats = stats;
    this._onError = onError;
    this.resolve();
  }

  /** A GenAI span leaves the processor, its usage final. */
  record(span: ReadableSpanLike): void {
    if (!this._ready && !this.resolve()) return;
    if (this._genAi === undefined) return;
    try {
      this._genAi.record(span);
    } catch (error) {
      this._onError('metrics', error);
    }
  }

  /** Makes the instruments once a meter is there; true once that is done (or has failed for good). */
  resolve(): boolean {
    if (this._ready) return true;
    try {
      const meter = meterOf(this._config.provider);
      if (meter === undefined) return false;
      this._ready = true;
      if (this._config.genAi) this._genAi = new GenAiMetrics(meter, this._config.skipScopes);
      if (this._config.stats) observeStats(meter, this._stats);
    } catch (error) {
      this._ready = true;
      this._onError('metrics', error);
    }
    return true;
  }
}

/** The provider's meter; for the global provider, undefined while no SDK has registered one. */
function meterOf(provider: MeterProvider | 'global'): Meter | undefined {
  if (provider !== 'global') return provider.getMeter(PROCESSOR_METER_NAME);
  const meter = metrics.getMeterProvider().getMeter(PROCESSOR_METER_NAME);
  return meter instanceof (NOOP_METER as new () => Meter) ? undefined : meter;
}
