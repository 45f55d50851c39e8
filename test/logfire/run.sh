#!/usr/bin/env bash
# Checks @genai-enrich/processor inside a real @pydantic/logfire-node 0.18.25 set-up on Node 20
# (docs/logfire.md).
#
#   bash test/logfire/run.sh [extra `node --test` arguments, e.g. --test-name-pattern=SIGTERM]
#
# 1-2. test/install-fixture.sh: packs packages/normalizer and packages/processor into test/logfire/.packs,
#    installs test/logfire's own dependencies (@pydantic/logfire-node, openai, the OTLP/HTTP exporter),
#    pinned by test/logfire/package-lock.json, then the two fresh tarballs with --no-save, as test/sdk3 does;
# 3. type-checks the README snippets tagged `ts logfire` against that project;
# 4. runs test/logfire/logfire.suite.ts with Node 20: the suite itself (loopback mocks and collectors, the
#    assertions) runs through the root's tsx; the applications it starts are plain JavaScript run by plain
#    `node` inside test/logfire, with only what a user installs. LOGFIRE_NODE overrides the npm spec used
#    when the machine's node is not 20 (default node@20).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

bash "$root/test/install-fixture.sh" "$here"

echo "== type-checking the README snippets for test/logfire"
cd "$root"
node scripts/check-readme-snippets.mjs --project test/logfire

node_cmd=(node)
if [ "$(node -p 'process.versions.node.split(".")[0]')" != 20 ]; then
  node_cmd=(npx -y "${LOGFIRE_NODE:-node@20}")
fi
"${node_cmd[@]}" --version
exec "${node_cmd[@]}" --conditions=@genai-enrich/source --import tsx --test "$@" test/logfire/logfire.suite.ts
