import { describeProviderPipeline } from './provider-suite.js';
import { googleSetup } from './setups/vercel-providers.js';

describeProviderPipeline(googleSetup, { tap: true });
