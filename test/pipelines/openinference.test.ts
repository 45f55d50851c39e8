// The real pipeline of setups/openinference.ts.
// As the instrumentation leaves the spans: known gaps are asserted missing and marked.
import { describeRealPipeline } from './suite.js';
import { setup } from './setups/openinference.js';

describeRealPipeline(setup);
