/*
 * The keys the Collector's GenAI normalizer covers and this one did not (issue 14), each case written from
 * the emitter's own source, with the exact output asserted:
 * - OpenInference: `openinference.span.kind` in any case (`llm`, `Embedding`, as its JS and Python packages
 *   write it in tests and older versions), the AGENT/TOOL/RETRIEVER/RERANKER kinds, a numeric
 *   `llm.model_name`, its agent and tool keys (`agent.name`, `tool.name`, `tool.description`,
 *   `tool_call.id`, `tool_call.function.arguments`) and `session.id`;
 * - OpenLLMetry: the `llm.*` keys of its Go SDK and of Python before the gen_ai rename
 *   (`llm.usage.prompt_tokens`, `llm.request.model`, `llm.request.temperature`, `llm.request.functions`, …),
 *   and its decorators' `traceloop.span.kind` / `traceloop.entity.name`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isGenAiSpan, normalizeAttributes } from '../src/index.js';

describe('OpenInference span kinds and keys', () => {
  it('matches the span kind in any case, and gives each kind its operation', () => {
    const op = (kind: string): unknown =>
      normalizeAttributes({ 'openinference.span.kind': kind })['gen_ai.operation.name'];
    assert.equal(op('llm'), 'chat');
    assert.equal(op('LLM'), 'chat');
    assert.equal(op('Embedding'), 'embeddings');
    assert.equal(op('AGENT'), 'invoke_agent');
    assert.equal(op('TOOL'), 'execute_tool');
    assert.equal(op('RETRIEVER'), 'retrieval');
    assert.equal(op('RERANKER'), 'retrieval');
    assert.equal(op('CHAIN'), undefined, 'a chain has no operation in the conventions');
    assert.equal(op('GUARDRAIL'), undefined);
  });

  it('a numeric model name becomes its string, not dropped', () => {
    assert.deepEqual(normalizeAttributes({ 'openinference.span.kind': 'LLM', 'llm.model_name': 42 }), {
      'openinference.span.kind': 'LLM',
      'gen_ai.request.model': '42',
      'gen_ai.operation.name': 'chat',
    });
  });

  it('an AGENT span: agent.name; a TOOL span: tool name, description, call id and arguments', () => {
    assert.deepEqual(
      normalizeAttributes({ 'openinference.span.kind': 'AGENT', 'agent.name': 'planner', 'session.id': 'conv-7' }),
      {
        'openinference.span.kind': 'AGENT',
        'session.id': 'conv-7',
        'gen_ai.agent.name': 'planner',
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.conversation.id': 'conv-7',
      },
    );
    assert.deepEqual(
      normalizeAttributes({
        'openinference.span.kind': 'TOOL',
        'tool.name': 'get_weather',
        'tool.description': 'Weather for a city',
        'tool_call.id': 'call_1',
        'tool_call.function.arguments': '{"city":"Paris"}',
      }),
      {
        'openinference.span.kind': 'TOOL',
        'gen_ai.tool.name': 'get_weather',
        'gen_ai.tool.description': 'Weather for a city',
        'gen_ai.tool.call.id': 'call_1',
        'gen_ai.tool.call.arguments': '{"city":"Paris"}',
        'gen_ai.operation.name': 'execute_tool',
      },
    );
  });

  it('embedding.model_name is mapped on a span whose other keys are all canonical', () => {
    const out = normalizeAttributes({
      'gen_ai.operation.name': 'embeddings',
      'embedding.model_name': 'text-embedding-3-small',
    });
    assert.equal(out['gen_ai.request.model'], 'text-embedding-3-small');
    assert.equal(out['embedding.model_name'], undefined);
  });

  it('session.id becomes the conversation id on OpenInference spans only; a canonical id wins', () => {
    const otel = normalizeAttributes({ 'gen_ai.operation.name': 'chat', 'session.id': 'browser-session' });
    assert.equal(otel['gen_ai.conversation.id'], undefined, "OTel's own session.id is not a conversation");
    assert.equal(otel['session.id'], 'browser-session');
    const kept = normalizeAttributes({
      'openinference.span.kind': 'LLM',
      'session.id': 's',
      'gen_ai.conversation.id': 'c',
    });
    assert.equal(kept['gen_ai.conversation.id'], 'c');
  });
});

describe("OpenLLMetry's llm.* keys (Go SDK, Python before the gen_ai rename)", () => {
  it('maps usage, models, request parameters, stop reason and functions', () => {
    assert.deepEqual(
      normalizeAttributes({
        'llm.request.type': 'chat',
        'gen_ai.system': 'OpenAI',
        'llm.request.model': 'gpt-4o',
        'llm.response.model': 'gpt-4o-2024-08-06',
        'llm.request.temperature': 0.7,
        'llm.request.top_p': '0.9',
        'llm.request.max_tokens': 256,
        'llm.usage.prompt_tokens': 12,
        'llm.usage.completion_tokens': '5',
        'llm.usage.total_tokens': 17,
        'llm.response.stop_reason': 'stop',
        'llm.request.functions': '[{"name":"get_weather"}]',
      }),
      {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.response.model': 'gpt-4o-2024-08-06',
        'gen_ai.request.temperature': 0.7,
        'gen_ai.request.top_p': 0.9,
        'gen_ai.request.max_tokens': 256,
        'gen_ai.usage.input_tokens': 12,
        'gen_ai.usage.output_tokens': 5,
        'gen_ai.usage.total_tokens': 17,
        'gen_ai.response.finish_reasons': ['stop'],
        'gen_ai.tool.definitions': '[{"name":"get_weather"}]',
      },
    );
  });

  it('a canonical key always wins over its llm.* spelling', () => {
    const out = normalizeAttributes({
      'gen_ai.request.model': 'a',
      'llm.request.model': 'b',
      'gen_ai.usage.input_tokens': 3,
      'llm.usage.prompt_tokens': 9,
    });
    assert.equal(out['gen_ai.request.model'], 'a');
    assert.equal(out['gen_ai.usage.input_tokens'], 3);
  });

  it('the decorators: a workflow, an agent and a tool get their operation and the name in its own key', () => {
    const span = (kind: string): Record<string, unknown> =>
      normalizeAttributes({ 'traceloop.span.kind': kind, 'traceloop.entity.name': 'plan_trip' });
    assert.deepEqual(span('workflow'), {
      'traceloop.span.kind': 'workflow',
      'traceloop.entity.name': 'plan_trip',
      'gen_ai.operation.name': 'invoke_workflow',
      'gen_ai.workflow.name': 'plan_trip',
    });
    assert.equal(span('agent')['gen_ai.agent.name'], 'plan_trip');
    assert.equal(span('agent')['gen_ai.operation.name'], 'invoke_agent');
    assert.equal(span('agent')['gen_ai.workflow.name'], undefined, 'an agent is not a workflow');
    assert.equal(span('tool')['gen_ai.tool.name'], 'plan_trip');
    assert.equal(span('tool')['gen_ai.operation.name'], 'execute_tool');
    assert.deepEqual(span('task'), { 'traceloop.span.kind': 'task', 'traceloop.entity.name': 'plan_trip' });
  });

  it('these spans are GenAI spans, so that the processor normalizes them', () => {
    assert.equal(isGenAiSpan({ 'traceloop.span.kind': 'workflow' }), true);
    assert.equal(isGenAiSpan({ 'llm.request.model': 'gpt-4o' }), true);
    assert.equal(isGenAiSpan({ 'tool.name': 'x' }), false, 'a bare tool.name alone is not enough');
  });
});
