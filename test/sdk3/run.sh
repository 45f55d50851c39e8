#!/usr/bin/env bash
# Checks @genai-enrich/processor against the real OpenTelemetry JS SDK 3.x on Node 24 (docs/sdk3.md).
#
#   bash test/sdk3/run.sh [extra `node --test` arguments, e.g. --test-name-pattern=watchdog]
#
# 1. packs packages/normalizer and packages/processor into test/sdk3/.packs (their prepack builds them,
#    unless GENAI_ENRICH_PREBUILT=1 says dist/ is fresh; needs the root's dev dependencies: run `npm ci`
#    at the root first);
# 2. installs test/sdk3's own dependencies (@opentelemetry/sdk-trace 3.x, @opentelemetry/api 1.10.x),
#    pinned by test/sdk3/package-lock.json, then the two fresh tarballs with --no-save (see docs/sdk3.md
#    for why they are not in package.json);
# 3. runs test/sdk3/sdk3.test.mjs with Node 24 from the npm package `node` (SDK 3.x needs Node >= 22.15;
#    the machine's node is not used for the test). SDK3_NODE overrides the npm spec (default node@24).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
node_spec="${SDK3_NODE:-node@24}"

if [ ! -e "$root/node_modules/typescript/bin/tsc" ]; then
  echo "test/sdk3/run.sh: the root's dev dependencies are missing; run 'npm ci' in $root first" >&2
  exit 1
fi

echo "== packing the packages into test/sdk3/.packs"
rm -rf "$here/.packs"
mkdir -p "$here/.packs"
# npm pack builds each package (prepack); CI, which built them once already, sets GENAI_ENRICH_PREBUILT=1.
pack_flags=()
[ "${GENAI_ENRICH_PREBUILT:-}" = 1 ] && pack_flags=(--ignore-scripts)
for pkg in normalizer processor; do
  (cd "$root/packages/$pkg" && npm pack --silent "${pack_flags[@]}" --pack-destination "$here/.packs" >/dev/null)
done
ls "$here/.packs"

echo "== installing test/sdk3"
cd "$here"
npm install --no-audit --no-fund
npm install --no-save --no-audit --no-fund \
  ./.packs/genai-enrich-normalizer-0.1.0.tgz ./.packs/genai-enrich-processor-0.1.0.tgz

echo "== running the tests with $node_spec"
cd "$root"
npx -y "$node_spec" --version
exec npx -y "$node_spec" --test "$@" test/sdk3/sdk3.test.mjs
