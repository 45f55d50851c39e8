import { describeProviderPipeline } from './provider-suite.js';
import { setup } from './setups/anthropic-openllmetry.js';

describeProviderPipeline(setup, { tap: true });
