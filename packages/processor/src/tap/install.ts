/*
 * Opt-in: route `globalThis.fetch` through the usage tap for LLM provider hosts, for clients that take no
 * fetch option or are created where the application cannot reach them. Requests to every other host go
 * to the original fetch untouched.
 */
import { diag } from '@opentelemetry/api';
import { createUsageTap, isUsageTap, markAsTap } from './fetch.js';
import type { UsageTapOptions } from './fetch.js';
import type { GenAiEnrichingProcessor } from '../GenAiEnrichingProcessor.js';
import { tapSinkOf } from './sink.js';
import { resolveTapOptions } from './options.js';

type Fetch = typeof globalThis.fetch;
type FetchInput = Parameters<Fetch>[0];

/**
 * Provider API hosts the installer always taps. An entry starting with `.` matches any subdomain. They serve
 * the OpenAI, Anthropic, Gemini or Bedrock wire format on the paths the tap reads. Google's and AWS's are
 * whole domains (regional hosts: `us-central1-aiplatform.googleapis.com`, `bedrock-runtime.eu-west-1.amazonaws.com`):
 * their other services' requests are on other paths (see tapEndpoint) and go to the original fetch untouched.
 */
export const KNOWN_PROVIDER_HOSTS: readonly string[] = Object.freeze([
  'api.openai.com',
  '.openai.azure.com',
  'api.anthropic.com',
  'api.groq.com',
  'api.together.xyz',
  'api.deepseek.com',
  'api.mistral.ai',
  'api.x.ai',
  'api.fireworks.ai',
  'openrouter.ai',
  '.googleapis.com',
  '.amazonaws.com',
]);

/** Options of {@link installUsageTap}. */
export interface InstallUsageTapOptions extends Omit<UsageTapOptions, 'fetch'> {
  /**
   * More hosts to tap besides {@link KNOWN_PROVIDER_HOSTS}: `host` or `host:port` (e.g. an LLM gateway,
   * `localhost:4000`), or `.domain` for every subdomain.
   */
  hosts?: readonly string[];
}

/**
 * Replaces `globalThis.fetch` with one that taps requests to provider hosts, and returns a function that
 * undoes it. Clients that keep a reference to fetch (the openai client takes it when constructed) must be
 * created after this call. Bad options are reported once through `diag.warn`, naming each option and its
 * value, and replaced by their defaults (a bad `hosts` entry is left out).
 */
export function installUsageTap(processor: GenAiEnrichingProcessor, options: InstallUsageTapOptions = {}): () => void {
  const resolved = resolveTapOptions('installUsageTap', options);
  const original = globalThis.fetch;
  if (typeof original !== 'function') {
    diag.warn('installUsageTap: globalThis.fetch is not a function; nothing installed');
    return () => {};
  }
  if (isUsageTap(original)) {
    diag.warn('installUsageTap: globalThis.fetch is already a usage tap; not installed twice');
    return () => {};
  }
  const hosts = [...KNOWN_PROVIDER_HOSTS, ...resolved.hosts];
  const tap = createUsageTap(tapSinkOf(processor, 'installUsageTap'), { ...resolved, fetch: original });
  let active = true;
  // Marked as a tap over the original, so that a processor.fetch built over it does not tap twice.
  const installed = markAsTap(
    function fetchWithUsageTap(input: FetchInput, init?: RequestInit): Promise<Response> {
      return active && matchesHost(input, hosts) ? tap(input, init) : original(input, init);
    } as Fetch,
    () => original,
  );
  globalThis.fetch = installed;
  return () => {
    active = false;
    // Someone may have wrapped fetch after us: then ours stays in their chain, as a pass-through.
    if (globalThis.fetch === installed) globalThis.fetch = original;
  };
}

function matchesHost(input: FetchInput, hosts: readonly string[]): boolean {
  let url: URL;
  try {
    url = typeof Request !== 'undefined' && input instanceof Request ? new URL(input.url) : new URL(String(input));
  } catch {
    return false;
  }
  const host = url.host.toLowerCase();
  const hostname = url.hostname.toLowerCase();
  for (const h of hosts) {
    if (h.startsWith('.') ? hostname.endsWith(h) : h === host || h === hostname) return true;
  }
  return false;
}
