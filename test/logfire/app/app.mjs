// An ES module application as a user writes it, run with the recipe preloaded:
//   node --import ./instrumentation.mjs app.mjs
// OpenAI calls inside one Logfire span, the usage tap given to the client (processor.fetch).
import * as logfire from '@pydantic/logfire-node';
import OpenAI from 'openai';
import { processor } from './instrumentation.mjs';
import { finish, makeCalls } from './calls.cjs';

const openai = new OpenAI({ fetch: processor.fetch, maxRetries: 0 });
const held = await logfire.span('handle request', { callback: () => makeCalls(openai) });
await finish(processor, logfire, held);
