import { describeProviderPipeline } from './provider-suite.js';
import { setup } from './setups/google-genai.js';

describeProviderPipeline(setup, { tap: true });
