// The real pipeline of setups/vercel-ai.ts.
// With the HTTP usage tap (processor.fetch given to the client): every known gap closes.
// A separate file, so a separate process: an instrumentation patches `openai` once per process.
import { describeRealPipeline } from './suite.js';
import { setup } from './setups/vercel-ai.js';

describeRealPipeline(setup, { tap: true });
