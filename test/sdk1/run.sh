#!/usr/bin/env bash
# Checks @genai-enrich/processor against the real OpenTelemetry JS SDK 1.x on Node 20 (docs/sdk1.md).
#
#   bash test/sdk1/run.sh [extra `node --test` arguments, e.g. --test-name-pattern=Logfire]
#
# 1. packs packages/normalizer and packages/processor into test/sdk1/.packs (their prepack builds them,
#    unless GENAI_ENRICH_PREBUILT=1 says dist/ is fresh; needs the root's dev dependencies: `npm ci` first);
# 2. installs test/sdk1's own dependencies (@opentelemetry/sdk-trace-base 1.30, api 1.9, the 0.57 OTLP
#    exporter), pinned by test/sdk1/package-lock.json, then the two fresh tarballs with --no-save;
# 3. type-checks the README snippets tagged `sdk1`, then runs test/sdk1/sdk1.test.mjs with the machine's node.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ ! -e "$root/node_modules/typescript/bin/tsc" ]; then
  echo "test/sdk1/run.sh: the root's dev dependencies are missing; run 'npm ci' in $root first" >&2
  exit 1
fi

echo "== packing the packages into test/sdk1/.packs"
rm -rf "$here/.packs"
mkdir -p "$here/.packs"
pack_flags=()
[ "${GENAI_ENRICH_PREBUILT:-}" = 1 ] && pack_flags=(--ignore-scripts)
for pkg in normalizer processor; do
  (cd "$root/packages/$pkg" && npm pack --silent "${pack_flags[@]}" --pack-destination "$here/.packs" >/dev/null)
done

echo "== installing test/sdk1"
cd "$here"
npm ci --no-audit --no-fund
npm install --no-save --no-audit --no-fund \
  ./.packs/genai-enrich-normalizer-0.1.0.tgz ./.packs/genai-enrich-processor-0.1.0.tgz

echo "== README snippets for SDK 1.x"
node "$root/scripts/check-readme-snippets.mjs" --project test/sdk1

echo "== running the tests"
cd "$root"
exec node --test "$@" test/sdk1/sdk1.test.mjs
