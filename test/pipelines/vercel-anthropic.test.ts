import { describeProviderPipeline } from './provider-suite.js';
import { anthropicSetup } from './setups/vercel-providers.js';

describeProviderPipeline(anthropicSetup);
