import { describeProviderPipeline } from './provider-suite.js';
import { setup } from './setups/vertexai-openllmetry.js';

describeProviderPipeline(setup, { tap: true });
