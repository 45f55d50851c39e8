// app.mjs, with instrumentation-logfire-exports.mjs preloaded instead of the recipe.
import * as logfire from '@pydantic/logfire-node';
import OpenAI from 'openai';
import { processor } from './instrumentation-logfire-exports.mjs';
import { finish, makeCalls } from './calls.cjs';

const openai = new OpenAI({ fetch: processor.fetch, maxRetries: 0 });
const held = await logfire.span('handle request', { callback: () => makeCalls(openai) });
await finish(processor, logfire, held);
