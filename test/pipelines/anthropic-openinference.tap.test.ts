import { describeProviderPipeline } from './provider-suite.js';
import { openinferenceSetup } from './setups/anthropic-sdk.js';

describeProviderPipeline(openinferenceSetup, { tap: true });
