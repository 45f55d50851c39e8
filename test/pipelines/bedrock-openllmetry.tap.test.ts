import { describeProviderPipeline } from './provider-suite.js';
import { setup } from './setups/bedrock-openllmetry.js';

describeProviderPipeline(setup, { tap: true });
