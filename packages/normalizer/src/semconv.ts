/*
 * Local copy of the OpenTelemetry GenAI semantic-convention names this package writes.
 *
 * The GenAI conventions are still "development" stability and left the main semantic-conventions
 * repository after v1.41.1 (their new home has no release yet), so the names are pinned here instead of
 * importing `@opentelemetry/semantic-conventions/incubating`, whose GenAI constants are all deprecated.
 * Every constant below is @experimental in the sense the semconv project uses: it may be renamed upstream.
 */

/** The semantic-conventions release whose GenAI names this package targets. */
export const SEMCONV_VERSION = '1.41.1';

/** @experimental Required on inference spans. @example 'chat' */
export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
/** @experimental Replaced `gen_ai.system` in v1.37.0. @example 'openai' */
export const ATTR_GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
/** @experimental @example 'gpt-4o' */
export const ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
/** @experimental Integer. */
export const ATTR_GEN_AI_REQUEST_SEED = 'gen_ai.request.seed';
/** @experimental Boolean, set only when the request streamed (v1.41.0). */
export const ATTR_GEN_AI_REQUEST_STREAM = 'gen_ai.request.stream';
/** @experimental Integer, the `n` of OpenAI requests. */
export const ATTR_GEN_AI_REQUEST_CHOICE_COUNT = 'gen_ai.request.choice.count';
/** @experimental string[] */
export const ATTR_GEN_AI_REQUEST_STOP_SEQUENCES = 'gen_ai.request.stop_sequences';
/** @experimental double */
export const ATTR_GEN_AI_REQUEST_TOP_K = 'gen_ai.request.top_k';
/** @experimental double */
export const ATTR_GEN_AI_REQUEST_FREQUENCY_PENALTY = 'gen_ai.request.frequency_penalty';
/** @experimental double */
export const ATTR_GEN_AI_REQUEST_PRESENCE_PENALTY = 'gen_ai.request.presence_penalty';
/** @experimental Integer. */
export const ATTR_GEN_AI_REQUEST_MAX_TOKENS = 'gen_ai.request.max_tokens';
/** @experimental @example 'json' */
export const ATTR_GEN_AI_OUTPUT_TYPE = 'gen_ai.output.type';
/** @experimental The join key for late usage. @example 'chatcmpl-123' */
export const ATTR_GEN_AI_RESPONSE_ID = 'gen_ai.response.id';
/** @experimental @example 'gpt-4o-2024-08-06' */
export const ATTR_GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model';
/** @experimental string[], one entry per choice. */
export const ATTR_GEN_AI_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons';
/** @experimental Integer; includes cached input tokens. */
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
/** @experimental Integer; includes reasoning tokens. */
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
/** @experimental Integer, a subset of input tokens (v1.40.0). */
export const ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = 'gen_ai.usage.cache_read.input_tokens';
/** @experimental Integer, a subset of input tokens (v1.40.0). Upstream's unreleased repo renames it `cache_write`. */
export const ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = 'gen_ai.usage.cache_creation.input_tokens';
/** @experimental Integer, a subset of output tokens (v1.41.0). */
export const ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = 'gen_ai.usage.reasoning.output_tokens';
/** @experimental @example 'get_weather' */
export const ATTR_GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
export const ATTR_GEN_AI_TOOL_DESCRIPTION = 'gen_ai.tool.description';
export const ATTR_GEN_AI_TOOL_CALL_ID = 'gen_ai.tool.call.id';
export const ATTR_GEN_AI_TOOL_CALL_ARGUMENTS = 'gen_ai.tool.call.arguments';
export const ATTR_GEN_AI_TOOL_DEFINITIONS = 'gen_ai.tool.definitions';
export const ATTR_GEN_AI_WORKFLOW_NAME = 'gen_ai.workflow.name';
export const ATTR_GEN_AI_CONVERSATION_ID = 'gen_ai.conversation.id';
export const ATTR_GEN_AI_REQUEST_TEMPERATURE = 'gen_ai.request.temperature';
export const ATTR_GEN_AI_REQUEST_TOP_P = 'gen_ai.request.top_p';
/** @experimental @example 'math_tutor' */
export const ATTR_GEN_AI_AGENT_NAME = 'gen_ai.agent.name';
/** @experimental @example 'my_vector_store' */
export const ATTR_GEN_AI_DATA_SOURCE_ID = 'gen_ai.data_source.id';
/** Stable. @example 'api.openai.com' */
export const ATTR_SERVER_ADDRESS = 'server.address';
/** Stable. @example 443 */
export const ATTR_SERVER_PORT = 'server.port';
/** OpenAI-specific (v1.37.0 dropped the `gen_ai.` prefix). */
export const ATTR_OPENAI_REQUEST_SERVICE_TIER = 'openai.request.service_tier';
/** OpenAI-specific. */
export const ATTR_OPENAI_RESPONSE_SERVICE_TIER = 'openai.response.service_tier';
/** OpenAI-specific. */
export const ATTR_OPENAI_RESPONSE_SYSTEM_FINGERPRINT = 'openai.response.system_fingerprint';

/**
 * Not in semconv: a total-token count that OpenLLMetry and LiteLLM emit under this name. Legacy totals
 * (`llm.usage.total_tokens`, OpenInference and Vercel totals) are gathered here so each span carries one.
 */
export const ATTR_GEN_AI_USAGE_TOTAL_TOKENS = 'gen_ai.usage.total_tokens';

/** `gen_ai.operation.name` values (v1.41.1). */
export const GEN_AI_OPERATION_NAME_VALUE_CHAT = 'chat';
export const GEN_AI_OPERATION_NAME_VALUE_TEXT_COMPLETION = 'text_completion';
export const GEN_AI_OPERATION_NAME_VALUE_GENERATE_CONTENT = 'generate_content';
export const GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS = 'embeddings';
export const GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL = 'execute_tool';
export const GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT = 'invoke_agent';
export const GEN_AI_OPERATION_NAME_VALUE_CREATE_AGENT = 'create_agent';
export const GEN_AI_OPERATION_NAME_VALUE_RETRIEVAL = 'retrieval';
export const GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW = 'invoke_workflow';
export const GEN_AI_OPERATION_NAME_VALUE_IMAGE_GENERATION = 'image_generation';

/** `gen_ai.output.type` values. */
export const GEN_AI_OUTPUT_TYPE_VALUE_TEXT = 'text';
export const GEN_AI_OUTPUT_TYPE_VALUE_JSON = 'json';

/** `gen_ai.provider.name` well-known values (v1.41.1). */
export const GEN_AI_PROVIDER_NAME_VALUE_OPENAI = 'openai';
export const GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC = 'anthropic';
export const GEN_AI_PROVIDER_NAME_VALUE_AWS_BEDROCK = 'aws.bedrock';
export const GEN_AI_PROVIDER_NAME_VALUE_AZURE_AI_INFERENCE = 'azure.ai.inference';
export const GEN_AI_PROVIDER_NAME_VALUE_AZURE_AI_OPENAI = 'azure.ai.openai';
export const GEN_AI_PROVIDER_NAME_VALUE_COHERE = 'cohere';
export const GEN_AI_PROVIDER_NAME_VALUE_DEEPSEEK = 'deepseek';
export const GEN_AI_PROVIDER_NAME_VALUE_GCP_GEMINI = 'gcp.gemini';
export const GEN_AI_PROVIDER_NAME_VALUE_GCP_GEN_AI = 'gcp.gen_ai';
export const GEN_AI_PROVIDER_NAME_VALUE_GCP_VERTEX_AI = 'gcp.vertex_ai';
export const GEN_AI_PROVIDER_NAME_VALUE_GROQ = 'groq';
export const GEN_AI_PROVIDER_NAME_VALUE_IBM_WATSONX_AI = 'ibm.watsonx.ai';
export const GEN_AI_PROVIDER_NAME_VALUE_MISTRAL_AI = 'mistral_ai';
export const GEN_AI_PROVIDER_NAME_VALUE_PERPLEXITY = 'perplexity';
export const GEN_AI_PROVIDER_NAME_VALUE_X_AI = 'x_ai';

/** Logfire's own attributes, read when fixing span names and usage. */
export const ATTR_LOGFIRE_MSG = 'logfire.msg';
export const ATTR_LOGFIRE_MSG_TEMPLATE = 'logfire.msg_template';
export const ATTR_LOGFIRE_SPAN_TYPE = 'logfire.span_type';
/** Logfire: the request body as JSON, on both the request span and its stream record. */
export const ATTR_LOGFIRE_REQUEST_DATA = 'request_data';

/**
 * genai-enrich's own marker (written by the processor): this span gave its usage to another span. Its
 * raw usage sources (e.g. Logfire's `gen_ai.usage.raw`) must not be read again on a second pass.
 */
export const ATTR_GENAI_ENRICH_USAGE_MOVED_TO = 'genai_enrich.usage_moved_to';

/**
 * genai-enrich's own record of usage telemetry reported but the span no longer carries: a JSON object with
 * a `reason` (`provider_disagreed`: the provider's response said otherwise and its numbers are on the span;
 * `inconsistent`: the counts contradicted each other) and the numbers, by attribute key.
 */
export const ATTR_GENAI_ENRICH_TELEMETRY_USAGE = 'genai_enrich.telemetry_usage';
