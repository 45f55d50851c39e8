/*
 * What a provider's response says, one complete event (or body) at a time: its id, its model and its usage,
 * and when that makes a finding. usage-parser.ts frames the body (SSE lines, JSON buffering, the JSON array,
 * the picker) and hands each event that may matter here, parsed; this file knows the endpoints' events:
 *
 *   openai.chat, openai.embeddings, gemini.*, bedrock.*   the first event's id and model; the last event with
 *                                                           usage wins (some servers repeat it); [DONE] or the
 *                                                           body's end makes the finding
 *   openai.responses                                       a terminal response.* event with usage is the finding
 *   anthropic.messages                                     message_start and message_delta counts merged field
 *                                                           by field; message_stop (or the body's end) after a
 *                                                           message_delta makes the finding
 */
import { mapProviderUsage, readProviderCounts, toProviderUsage } from '@genai-enrich/normalizer';
import type { ProviderCounts, ProviderUsage, UsageShape } from '@genai-enrich/normalizer';
import { TAP_USAGE, asName, asRecord } from './usage-mapping.js';
import type { TapEndpoint, TapFinding } from './usage-parser.js';

/** What an event meant for the framing: nothing new, usage seen (look for the terminal event), or done. */
export const EVENT_NOTHING = 0;
export const EVENT_USAGE_SEEN = 1;
export const EVENT_FINAL = 2;
export type EventOutcome = typeof EVENT_NOTHING | typeof EVENT_USAGE_SEEN | typeof EVENT_FINAL;

const TERMINAL_RESPONSE_TYPES = new Set(['response.completed', 'response.incomplete', 'response.failed']);

export class UsageEvents {
  private readonly _endpoint: TapEndpoint;
  /** Where the endpoint's usage object keeps its counts (the normalizer's provider usage table). */
  private readonly _shape: UsageShape;
  /** The response's keys for usage, id and model. */
  private readonly _keys: { readonly usage: string; readonly id: string; readonly model: string };

  /** Set once the events made a finding. */
  finding: TapFinding | undefined;

  private _firstId: string | undefined;
  private _firstModel: string | undefined;
  private _lastUsage: ProviderUsage | undefined;
  private _usageId: string | undefined;
  private _usageModel: string | undefined;
  /** Anthropic's counts, merged field by field across message_start and message_delta. */
  private readonly _anthropic: ProviderCounts = {};
  private _anthropicDelta = false;

  constructor(endpoint: TapEndpoint) {
    this._endpoint = endpoint;
    this._shape = TAP_USAGE[endpoint].shape;
    this._keys = TAP_USAGE[endpoint].keys;
  }

  /** Whether usage was seen on an event of a stream that ends with [DONE]. */
  get usageSeen(): boolean {
    return this._lastUsage !== undefined;
  }

  /** One event, parsed; `first` when it is the stream's first (its id and model are kept). */
  onEvent(event: Record<string, unknown>, first: boolean): EventOutcome {
    switch (this._endpoint) {
      case 'anthropic.messages': {
        const type = event['type'];
        if (type === 'message_start') {
          const message = asRecord(event['message']);
          if (message === undefined) return EVENT_NOTHING;
          this._firstId = asName(message['id']);
          this._firstModel = asName(message['model']);
          readProviderCounts(this._shape, message['usage'], this._anthropic);
        } else if (type === 'message_delta') {
          if (readProviderCounts(this._shape, event['usage'], this._anthropic)) {
            this._anthropicDelta = true;
            return EVENT_USAGE_SEEN;
          }
        } else if (type === 'message_stop') {
          // message_start's output count is a placeholder: without a message_delta there is no finding.
          if (this._anthropicDelta && this._findAnthropic()) return EVENT_FINAL;
        }
        return EVENT_NOTHING;
      }
      case 'openai.responses': {
        const response = asRecord(event['response']);
        if (response === undefined) return EVENT_NOTHING;
        if (first) {
          this._firstId = asName(response['id']);
          this._firstModel = asName(response['model']);
        }
        const type = event['type'];
        if (typeof type !== 'string' || !TERMINAL_RESPONSE_TYPES.has(type)) return EVENT_NOTHING;
        const mapped = mapProviderUsage(this._shape, response['usage']);
        // A terminal event without usage does not end the search: nothing else would be skipped that way.
        if (mapped === undefined) return EVENT_NOTHING;
        this.finding = makeFinding(
          asName(response['id']) ?? this._firstId,
          asName(response['model']) ?? this._firstModel,
          mapped,
        );
        return EVENT_FINAL;
      }
      default: {
        // Chat and embeddings; Gemini's chunks (its own key names, or the picker's).
        if (first) {
          this._firstId = asName(this._field(event, 'id'));
          this._firstModel = asName(this._field(event, 'model'));
        }
        // Some OpenAI-compatible servers repeat usage on several chunks, Gemini may send it on each: the
        // last one with counts wins.
        const mapped = mapProviderUsage(this._shape, this._field(event, 'usage'));
        if (mapped === undefined) return EVENT_NOTHING;
        this._lastUsage = mapped;
        this._usageId = asName(this._field(event, 'id'));
        this._usageModel = asName(this._field(event, 'model'));
        return EVENT_USAGE_SEEN;
      }
    }
  }

  /** [DONE], or the end of a stream with no terminal event: the last usage seen is the finding. */
  endOfEvents(): void {
    if (this._endpoint === 'anthropic.messages') {
      if (this._anthropicDelta) this._findAnthropic();
      return;
    }
    if (this._endpoint === 'openai.responses') return; // only its terminal events make a finding
    const mapped = this._lastUsage;
    if (mapped === undefined) return;
    const id = this._endpoint === 'openai.embeddings' ? undefined : (this._usageId ?? this._firstId);
    this.finding = makeFinding(id, this._usageModel ?? this._firstModel, mapped);
  }

  /** A whole JSON body (not a stream). */
  onBody(body: Record<string, unknown>): void {
    const id = this._endpoint === 'openai.embeddings' ? undefined : asName(this._field(body, 'id'));
    const model = asName(this._field(body, 'model'));
    const mapped = mapProviderUsage(this._shape, this._field(body, 'usage'));
    if (mapped !== undefined) this.finding = makeFinding(id, model, mapped);
  }

  private _findAnthropic(): boolean {
    const mapped = toProviderUsage(this._shape, this._anthropic);
    if (mapped === undefined) return false;
    this.finding = makeFinding(this._firstId, this._firstModel, mapped);
    return true;
  }

  /** A top-level field by the endpoint's own key, or as the picker names it. */
  private _field(body: Record<string, unknown>, name: 'usage' | 'id' | 'model'): unknown {
    return body[this._keys[name]] ?? body[name];
  }
}

export function makeFinding(
  responseId: string | undefined,
  model: string | undefined,
  mapped: ProviderUsage,
): TapFinding {
  return mapped.adjusted !== undefined
    ? { responseId, model, usage: mapped.usage, totalTokens: mapped.totalTokens, adjusted: mapped.adjusted }
    : { responseId, model, usage: mapped.usage, totalTokens: mapped.totalTokens };
}
