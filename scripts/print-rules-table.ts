// Generates the rule tables of packages/normalizer/README.md (between the `<!-- rules:begin -->` and
// `<!-- rules:end -->` markers) from the code's own tables. Refresh after a rule changes:
// `node --import tsx scripts/print-rules-table.ts --write`.
// packages/normalizer/test/readme.test.ts fails when the README and the code disagree.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MAPPING_RULES, OPERATION_VALUE_MAP, REQUEST_TYPE_MAP } from '../packages/normalizer/src/rules.js';
import type { ValueKind } from '../packages/normalizer/src/rules.js';
import { PROVIDER_PREFIX_MAP, PROVIDER_VALUE_MAP } from '../packages/normalizer/src/providers.js';
import {
  OPENINFERENCE_KIND_OPERATIONS,
  TRACELOOP_KIND_NAME_KEYS,
  TRACELOOP_KIND_OPERATIONS,
} from '../packages/normalizer/src/span-kinds.js';

export const README_PATH = fileURLToPath(new URL('../packages/normalizer/README.md', import.meta.url));
const BEGIN = '<!-- rules:begin -->';
const END = '<!-- rules:end -->';

const TRANSFORMS: Record<ValueKind, string> = {
  int: 'integer; numeric strings parsed, junk ignored',
  number: 'finite number; numeric strings parsed',
  string: 'non-empty string',
  model: 'non-empty string; a number becomes its string (`42` → `"42"`)',
  json: 'kept as it is: a non-empty JSON string, or a string[]',
  'string[]': 'string[]; a string is wrapped, a JSON-string array parsed',
  stream: '`true`/`"True"` → `true`; false leaves it unset',
  provider: 'provider value map (below)',
  operation: 'LiteLLM call types → operation values',
  'request-type':
    "value map (below); `completion` is `text_completion` only on OpenAI/Azure spans that are not LiteLLM's",
  'output-type': '`json_object`/`json_schema`→`json`, `text`→`text`',
  url: 'host of the URL; `server.port` from the same URL when absent',
};

export function rulesTable(): string {
  const lines = ['| source key | canonical key | transform | rank | emitted by |', '|---|---|---|---:|---|'];
  for (const r of MAPPING_RULES) {
    lines.push(`| \`${r.source}\` | \`${r.target}\` | ${TRANSFORMS[r.kind]} | ${r.rank} | ${r.emitters} |`);
  }
  return lines.join('\n');
}

function mapTable(title: string, map: ReadonlyMap<string, string>, skipIdentity: boolean): string {
  const lines = [`| ${title} | value |`, '|---|---|'];
  for (const [from, to] of map) if (!skipIdentity || from !== to) lines.push(`| \`${from}\` | \`${to}\` |`);
  return lines.join('\n');
}

/** Everything between the README markers. */
export function generatedSection(): string {
  return [
    BEGIN,
    '### Attribute rules',
    '',
    rulesTable(),
    '',
    '### Provider values (whole value, case-insensitive; well-known semconv values map to themselves)',
    '',
    mapTable('spelling', PROVIDER_VALUE_MAP, true),
    '',
    '### Provider prefixes (Vercel AI SDK `<provider>.<api>` strings; two segments, then one)',
    '',
    mapTable('prefix', PROVIDER_PREFIX_MAP, false),
    '',
    '### `llm.request.type` values',
    '',
    mapTable('request type', REQUEST_TYPE_MAP, false),
    '',
    '### Non-canonical values inside `gen_ai.operation.name` (LiteLLM call types)',
    '',
    mapTable('value', OPERATION_VALUE_MAP, false),
    '',
    '### `gen_ai.operation.name` from span kinds (when the span has none)',
    '',
    mapTable('`openinference.span.kind` (any case)', OPENINFERENCE_KIND_OPERATIONS, false),
    '',
    mapTable('`traceloop.span.kind`', TRACELOOP_KIND_OPERATIONS, false),
    '',
    '### `traceloop.entity.name` goes to the key of its span kind (`session.id` → `gen_ai.conversation.id` on OpenInference spans)',
    '',
    mapTable('`traceloop.span.kind`', TRACELOOP_KIND_NAME_KEYS, false),
    END,
  ].join('\n');
}

export function readmeSection(readme: string): string | undefined {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  return begin < 0 || end < begin ? undefined : readme.slice(begin, end + END.length);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--write')) {
    const readme = readFileSync(README_PATH, 'utf8');
    const current = readmeSection(readme);
    if (current === undefined) throw new Error(`${README_PATH} has no ${BEGIN} … ${END} block`);
    writeFileSync(README_PATH, readme.replace(current, generatedSection()));
  } else {
    console.log(generatedSection());
  }
}
