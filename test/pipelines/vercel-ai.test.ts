// The real pipeline of setups/vercel-ai.ts.
// As the instrumentation leaves the spans: known gaps are asserted missing and marked.
import { describeRealPipeline } from './suite.js';
import { setup } from './setups/vercel-ai.js';

describeRealPipeline(setup);
