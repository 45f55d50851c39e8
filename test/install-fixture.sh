#!/usr/bin/env bash
# Installs one of the separate fixture projects of test/ (sdk1, sdk3, aisdk7, openllmetry, logfire) as a user would:
#
#   bash test/install-fixture.sh test/<name>
#
# 1. packs packages/normalizer and packages/processor into test/<name>/.packs (their prepack builds them,
#    unless GENAI_ENRICH_PREBUILT=1 says dist/ is fresh; needs the root's dev dependencies: run `npm ci` at
#    the root first);
# 2. installs the project's own dependencies exactly as its package-lock.json pins them (npm ci);
# 3. installs the two fresh tarballs with --no-save: as `file:` dependencies the lockfile would pin an old
#    tarball's integrity, and as links Node would resolve the root's packages (docs/sdk3.md).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$(cd "$1" && pwd)"

if [ ! -e "$root/node_modules/typescript/bin/tsc" ]; then
  echo "test/install-fixture.sh: the root's dev dependencies are missing; run 'npm ci' in $root first" >&2
  exit 1
fi

echo "== packing the packages into ${dir#"$root/"}/.packs"
rm -rf "$dir/.packs"
mkdir -p "$dir/.packs"
# npm pack builds each package (prepack); CI, which built them once already, sets GENAI_ENRICH_PREBUILT=1.
pack_flags=()
[ "${GENAI_ENRICH_PREBUILT:-}" = 1 ] && pack_flags=(--ignore-scripts)
for pkg in normalizer processor; do
  (cd "$root/packages/$pkg" && npm pack --silent "${pack_flags[@]}" --pack-destination "$dir/.packs" >/dev/null)
done
ls "$dir/.packs"

echo "== installing ${dir#"$root/"}"
cd "$dir"
npm ci --no-audit --no-fund
npm install --no-save --no-audit --no-fund \
  ./.packs/genai-enrich-normalizer-0.1.0.tgz ./.packs/genai-enrich-processor-0.1.0.tgz
