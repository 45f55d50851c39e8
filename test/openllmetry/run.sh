#!/usr/bin/env bash
# OpenLLMetry's own SDK (@traceloop/node-server-sdk 0.27.0) with @genai-enrich/processor, as a user installs
# both (docs: packages/processor/README.md, "OpenLLMetry").
#
#   bash test/openllmetry/run.sh [extra `node --test` arguments]
#
# 1. packs packages/normalizer and packages/processor into test/openllmetry/.packs (prepack builds them,
#    unless GENAI_ENRICH_PREBUILT=1 says dist/ is fresh; needs the root's dev dependencies: `npm ci` first);
# 2. installs this project's dependencies (pinned by its package-lock.json), then the two tarballs --no-save;
# 3. type-checks the README snippets tagged `openllmetry` against this project's packages;
# 4. runs openllmetry.suite.ts from the root with tsx (the harness: mocks and receivers); the apps it
#    starts in app/ are plain node programs that see only this project's node_modules.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ ! -e "$root/node_modules/tsx" ]; then
  echo "test/openllmetry/run.sh: the root's dev dependencies are missing; run 'npm ci' in $root first" >&2
  exit 1
fi

echo "== packing the packages into test/openllmetry/.packs"
rm -rf "$here/.packs"
mkdir -p "$here/.packs"
pack_flags=()
[ "${GENAI_ENRICH_PREBUILT:-}" = 1 ] && pack_flags=(--ignore-scripts)
for pkg in normalizer processor; do
  (cd "$root/packages/$pkg" && npm pack --silent "${pack_flags[@]}" --pack-destination "$here/.packs" >/dev/null)
done

echo "== installing test/openllmetry"
cd "$here"
npm ci --no-audit --no-fund
npm install --no-save --no-audit --no-fund \
  ./.packs/genai-enrich-normalizer-0.1.0.tgz ./.packs/genai-enrich-processor-0.1.0.tgz

echo "== README snippets for OpenLLMetry"
node "$root/scripts/check-readme-snippets.mjs" --project test/openllmetry

echo "== running the suite"
cd "$root"
exec node --conditions=@genai-enrich/source --import tsx --test "$@" test/openllmetry/openllmetry.suite.ts
