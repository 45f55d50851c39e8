// The real pipeline of setups/openllmetry.ts.
// As the instrumentation leaves the spans: known gaps are asserted missing and marked.
import { describeRealPipeline } from './suite.js';
import { setup } from './setups/openllmetry.js';

describeRealPipeline(setup);
