#!/usr/bin/env bash
# Checks @genai-enrich/processor inside a real @pydantic/logfire-node 0.18.25 set-up on Node 20
# (docs/logfire.md).
#
#   bash test/logfire/run.sh [extra `node --test` arguments, e.g. --test-name-pattern=SIGTERM]
#
# 1. packs packages/normalizer and packages/processor into test/logfire/.packs (their prepack builds them,
#    unless GENAI_ENRICH_PREBUILT=1 says dist/ is fresh; needs the root's dev dependencies: run `npm ci` at
#    the root first);
# 2. installs test/logfire's own dependencies (@pydantic/logfire-node, openai, the OTLP/HTTP exporter),
#    pinned by test/logfire/package-lock.json, then the two fresh tarballs with --no-save, as test/sdk3 does;
# 3. type-checks the README snippets tagged `ts logfire` against that project;
# 4. runs test/logfire/logfire.suite.ts with Node 20: the suite itself (loopback mocks and collectors, the
#    assertions) runs through the root's tsx; the applications it starts are plain JavaScript run by plain
#    `node` inside test/logfire, with only what a user installs. LOGFIRE_NODE overrides the npm spec used
#    when the machine's node is not 20 (default node@20).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ ! -e "$root/node_modules/typescript/bin/tsc" ]; then
  echo "test/logfire/run.sh: the root's dev dependencies are missing; run 'npm ci' in $root first" >&2
  exit 1
fi

echo "== packing the packages into test/logfire/.packs"
rm -rf "$here/.packs"
mkdir -p "$here/.packs"
pack_flags=()
[ "${GENAI_ENRICH_PREBUILT:-}" = 1 ] && pack_flags=(--ignore-scripts)
for pkg in normalizer processor; do
  (cd "$root/packages/$pkg" && npm pack --silent "${pack_flags[@]}" --pack-destination "$here/.packs" >/dev/null)
done
ls "$here/.packs"

echo "== installing test/logfire"
cd "$here"
npm install --no-audit --no-fund
npm install --no-save --no-audit --no-fund \
  ./.packs/genai-enrich-normalizer-0.1.0.tgz ./.packs/genai-enrich-processor-0.1.0.tgz

echo "== type-checking the README snippets for test/logfire"
cd "$root"
node scripts/check-readme-snippets.mjs --project test/logfire

node_cmd=(node)
if [ "$(node -p 'process.versions.node.split(".")[0]')" != 20 ]; then
  node_cmd=(npx -y "${LOGFIRE_NODE:-node@20}")
fi
"${node_cmd[@]}" --version
exec "${node_cmd[@]}" --conditions=@genai-enrich/source --import tsx --test "$@" test/logfire/logfire.suite.ts
