/*
 * A tap sink for tests of the tap alone: it stands where a GenAiEnrichingProcessor goes
 * (`usageTapFetch(sink.processor)`) and records every report.
 */
import type { GenAiEnrichingProcessor } from '../../src/GenAiEnrichingProcessor.js';
import { registerTapSink } from '../../src/tap/sink.js';
import type { TapReport } from '../../src/types.js';

export class RecordingSink {
  readonly reports: TapReport[] = [];
  readonly processor: GenAiEnrichingProcessor;

  constructor() {
    const owner = {};
    registerTapSink(owner, (report) => this.reports.push(report));
    this.processor = owner as GenAiEnrichingProcessor;
  }
}
