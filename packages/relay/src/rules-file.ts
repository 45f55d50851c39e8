/*
 * `--rules FILE`: the user's key mappings and value maps for an in-house emitter (see
 * `@genai-enrich/normalizer`'s compileUserRules), read from a JSON or YAML file (by its extension:
 * `.yaml`/`.yml` is YAML, anything else JSON). Data only: YAML is parsed with the `yaml` package's core
 * schema, which makes no objects but maps, lists and scalars, and runs nothing.
 */
import { readFileSync } from 'node:fs';
import { UserRulesError, compileUserRules } from '@genai-enrich/normalizer';
import type { UserRulesInput } from '@genai-enrich/processor';
import { parse as parseYaml } from 'yaml';

/** The rules of `value` (a file path, or rules given in code), or every problem with them. */
export function loadRules(value: unknown): { rules: UserRulesInput } | { problems: string[] } {
  let input: unknown = value;
  if (typeof value === 'string') {
    let text: string;
    try {
      text = readFileSync(value, 'utf8');
    } catch (error) {
      return { problems: [`cannot read it: ${(error as Error).message}`] };
    }
    try {
      input = /\.ya?ml$/i.test(value) ? parseYaml(text, { schema: 'core', maxAliasCount: 100 }) : JSON.parse(text);
    } catch (error) {
      return { problems: [`not ${/\.ya?ml$/i.test(value) ? 'YAML' : 'JSON'}: ${(error as Error).message}`] };
    }
  }
  try {
    compileUserRules(input);
  } catch (error) {
    return { problems: error instanceof UserRulesError ? [...error.problems] : [String(error)] };
  }
  return { rules: input as UserRulesInput };
}
