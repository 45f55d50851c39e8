// The real pipeline of setups/otel-contrib.ts.
// As the instrumentation leaves the spans: known gaps are asserted missing and marked.
import { describeRealPipeline } from './suite.js';
import { setup } from './setups/otel-contrib.js';

describeRealPipeline(setup);
