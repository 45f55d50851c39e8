import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isGenAiScope, isGenAiSpan, isInferenceSpan, isModelCall } from '../src/predicates.js';

describe('isGenAiSpan', () => {
  it('recognises GenAI keys of every dialect', () => {
    for (const key of [
      'gen_ai.provider.name',
      'gen_ai.system',
      'gen_ai.usage.prompt_tokens',
      'llm.token_count.prompt',
      'llm.usage.total_tokens',
      'llm.model_name',
      'llm.request.type',
      'ai.usage.inputTokens',
      'ai.model.id',
      'openinference.span.kind',
    ]) {
      assert.equal(isGenAiSpan({ 'http.route': '/x', [key]: 1 }), true, key);
    }
  });
  it('rejects spans without GenAI keys, including look-alikes', () => {
    assert.equal(isGenAiSpan({}), false);
    assert.equal(
      isGenAiSpan({ 'http.route': '/x', 'app.user': 'u', llm_cost: 1, 'ai.response.text': 'hi', gen_aix: 1 }),
      false,
    );
  });
  it('recognises known instrumentation scopes', () => {
    assert.equal(isGenAiSpan({}, '@traceloop/instrumentation-openai'), true);
    assert.equal(isGenAiSpan({}, '@opentelemetry/instrumentation-openai'), true);
    assert.equal(isGenAiSpan({}, '@arizeai/openinference-instrumentation-openai'), true);
    assert.equal(isGenAiSpan({}, 'ai'), true);
    assert.equal(isGenAiScope('opentelemetry.instrumentation.openai_v2'), true);
    assert.equal(isGenAiScope('@opentelemetry/instrumentation-http'), false);
    assert.equal(isGenAiScope('aiohttp'), false);
  });
});

describe('isInferenceSpan', () => {
  it('is true for model calls only', () => {
    for (const op of ['chat', 'text_completion', 'generate_content', 'embeddings']) {
      assert.equal(isInferenceSpan({ 'gen_ai.operation.name': op }), true, op);
    }
    for (const op of ['execute_tool', 'invoke_agent', 'retrieval', 'acompletion', 3]) {
      assert.equal(isInferenceSpan({ 'gen_ai.operation.name': op }), false, String(op));
    }
    assert.equal(isInferenceSpan({}), false);
  });
});

describe('isModelCall', () => {
  it('needs an inference operation and a request model, response model or response id', () => {
    assert.equal(isModelCall({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'm' }), true);
    assert.equal(isModelCall({ 'gen_ai.operation.name': 'embeddings', 'gen_ai.response.id': 'r' }), true);
    assert.equal(isModelCall({ 'gen_ai.operation.name': 'chat', 'gen_ai.response.model': 'm-1' }), true);
    assert.equal(isModelCall({ 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'langchain' }), false);
    assert.equal(isModelCall({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': '' }), false);
    assert.equal(isModelCall({ 'gen_ai.operation.name': 'chain', 'gen_ai.request.model': 'm' }), false);
  });
});
