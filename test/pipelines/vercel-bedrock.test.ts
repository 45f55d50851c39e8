import { describeProviderPipeline } from './provider-suite.js';
import { bedrockSetup } from './setups/vercel-providers.js';

describeProviderPipeline(bedrockSetup);
