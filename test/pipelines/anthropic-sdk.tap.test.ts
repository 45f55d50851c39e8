import { describeProviderPipeline } from './provider-suite.js';
import { sdkSetup } from './setups/anthropic-sdk.js';

describeProviderPipeline(sdkSetup, { tap: true });
