import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { README_PATH, generatedSection, readmeSection } from '../../../scripts/print-rules-table.js';
import { MAPPING_RULES } from '../src/rules.js';

describe('packages/normalizer/README.md', () => {
  const readme = readFileSync(README_PATH, 'utf8');

  it('lists every mapping rule, exactly as the code has it', () => {
    const section = readmeSection(readme);
    assert.ok(section, 'the README has the generated rules block');
    assert.equal(section, generatedSection(), 'run: node --import tsx scripts/print-rules-table.ts --write');
    for (const rule of MAPPING_RULES)
      assert.ok(section.includes(`| \`${rule.source}\` | \`${rule.target}\` |`), rule.source);
  });
});
