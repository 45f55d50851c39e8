/*
 * User rules: key mappings and value maps for an emitter the built-in table does not know (an in-house
 * instrumentation), given as data (JSON or YAML in the relay), never as code.
 *
 *   compileUserRules(input) ─► every problem named (`rules[2].kind: expected one of …, got "x"`) ─► UserRules
 *   normalizeAttributes(attributes, { rules }) ─► each rule whose source key is present: its value through
 *     the rule's value map, then read as its kind ─► the target key, unless the span already has it; the
 *     source key removed (kept with keepLegacyAttributes) ─► then the built-in rules, so that a value a user
 *     rule wrote is normalized like any other (a provider spelling, a string count)
 *
 * A user rule never overwrites a key the span has: like the built-in rules, the emitter's canonical value
 * wins. Two user rules with the same target: the first listed whose source is present wins.
 */
import type { Attributes, AttributeValue } from './types.js';
import type { ValueKind } from './rules.js';

/** One rule as written by the user. */
export interface UserRuleInput {
  /** The emitter's key. */
  source: string;
  /** The key its value goes to: a GenAI conventions key, or any other. */
  target: string;
  /** How the value is read (see the README); the default value is `'string'`. */
  kind?: UserRuleKind;
  /** String values replaced before the value is read, e.g. `{ "oai": "openai" }`. */
  values?: Record<string, string>;
}

/** The kinds a user rule may use: the built-in rules' own. */
export type UserRuleKind = Extract<
  ValueKind,
  'int' | 'number' | 'string' | 'string[]' | 'stream' | 'provider' | 'operation' | 'model' | 'json'
>;

export const USER_RULE_KINDS: readonly UserRuleKind[] = [
  'string',
  'int',
  'number',
  'string[]',
  'stream',
  'provider',
  'operation',
  'model',
  'json',
];

/** A validated set of user rules, ready for {@link normalizeAttributes}. */
export interface UserRules {
  readonly rules: readonly CompiledUserRule[];
  /** Every source key, for a cheap "does this span need them" test. */
  readonly sources: ReadonlySet<string>;
}

export interface CompiledUserRule {
  readonly source: string;
  readonly target: string;
  readonly kind: UserRuleKind;
  readonly values: ReadonlyMap<string, string> | undefined;
}

/** Invalid user rules; `problems` names each bad rule and field. */
export class UserRulesError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid rules: ${problems.join('; ')}`);
    this.name = 'UserRulesError';
    this.problems = problems;
  }
}

/** The most rules accepted: a table, not a program. */
export const MAX_USER_RULES = 1000;

/**
 * Validates `{ rules: [...] }` (or the array alone) and compiles it; throws a {@link UserRulesError} naming
 * every problem. Keys are checked to be non-empty strings of at most 255 characters.
 */
export function compileUserRules(input: unknown): UserRules {
  const problems: string[] = [];
  const list: unknown = Array.isArray(input)
    ? input
    : input !== null && typeof input === 'object'
      ? (input as { rules?: unknown }).rules
      : undefined;
  if (!Array.isArray(list)) throw new UserRulesError(['expected { "rules": [ … ] } or an array of rules']);
  if (list.length > MAX_USER_RULES) problems.push(`rules: ${list.length} rules, at most ${MAX_USER_RULES}`);
  const rules: CompiledUserRule[] = [];
  list.slice(0, MAX_USER_RULES).forEach((raw: unknown, i) => {
    const at = `rules[${i}]`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push(`${at}: expected an object with source and target`);
      return;
    }
    const rule = raw as Record<string, unknown>;
    const before = problems.length;
    for (const key of Object.keys(rule)) {
      if (!['source', 'target', 'kind', 'values'].includes(key)) problems.push(`${at}.${key}: unknown field`);
    }
    const source = keyField(rule['source'], `${at}.source`, problems);
    const target = keyField(rule['target'], `${at}.target`, problems);
    if (source !== undefined && source === target) problems.push(`${at}: source and target are the same key`);
    let kind: UserRuleKind = 'string';
    if (rule['kind'] !== undefined) {
      if (USER_RULE_KINDS.includes(rule['kind'] as UserRuleKind)) kind = rule['kind'] as UserRuleKind;
      else
        problems.push(`${at}.kind: expected one of ${USER_RULE_KINDS.join(', ')}, got ${JSON.stringify(rule['kind'])}`);
    }
    let values: Map<string, string> | undefined;
    if (rule['values'] !== undefined) {
      const map = rule['values'];
      if (map === null || typeof map !== 'object' || Array.isArray(map)) {
        problems.push(`${at}.values: expected an object of string to string`);
      } else {
        values = new Map();
        for (const [from, to] of Object.entries(map)) {
          if (typeof to === 'string') values.set(from, to);
          else problems.push(`${at}.values.${from}: expected a string, got ${JSON.stringify(to)}`);
        }
      }
    }
    if (problems.length === before && source !== undefined && target !== undefined) {
      rules.push({ source, target, kind, values });
    }
  });
  if (problems.length > 0) throw new UserRulesError(problems);
  return { rules, sources: new Set(rules.map((r) => r.source)) };
}

function keyField(value: unknown, at: string, problems: string[]): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 255 || value === '__proto__') {
    problems.push(`${at}: expected an attribute key (a non-empty string of at most 255 characters)`);
    return undefined;
  }
  return value;
}

/** Whether any rule's source key is on the span. */
export function hasUserRuleSource(attributes: Attributes, rules: UserRules): boolean {
  for (const source of rules.sources) if (Object.prototype.hasOwnProperty.call(attributes, source)) return true;
  return false;
}

/**
 * Applies the rules (see the header) to a copy of `attributes`; `convert` reads a value as a kind, as the
 * built-in rules do. Returns `attributes` itself when no rule applies.
 */
export function applyUserRules(
  attributes: Attributes,
  rules: UserRules,
  keepLegacy: boolean,
  convert: (kind: UserRuleKind, value: AttributeValue) => AttributeValue | undefined,
): Attributes {
  if (!hasUserRuleSource(attributes, rules)) return attributes;
  const out: Attributes = { ...attributes };
  for (const rule of rules.rules) {
    const raw = attributes[rule.source];
    if (raw === undefined || !Object.prototype.hasOwnProperty.call(attributes, rule.source)) continue;
    const mapped = typeof raw === 'string' && rule.values !== undefined ? (rule.values.get(raw) ?? raw) : raw;
    const value = convert(rule.kind, mapped);
    if (value === undefined) continue; // unreadable: the source stays as it came
    if (!keepLegacy) delete out[rule.source];
    if (out[rule.target] === undefined) out[rule.target] = value;
  }
  return out;
}
