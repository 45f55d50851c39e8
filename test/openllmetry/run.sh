#!/usr/bin/env bash
# OpenLLMetry's own SDK (@traceloop/node-server-sdk 0.27.0) with @genai-enrich/processor, as a user installs
# both (docs: packages/processor/README.md, "OpenLLMetry").
#
#   bash test/openllmetry/run.sh [extra `node --test` arguments]
#
# 1-2. test/install-fixture.sh: packs packages/normalizer and packages/processor into test/openllmetry/.packs,
#    installs this project's dependencies as its package-lock.json pins them, then the two tarballs --no-save;
# 3. type-checks the README snippets tagged `openllmetry` against this project's packages;
# 4. runs openllmetry.suite.ts from the root with tsx (the harness: mocks and receivers); the apps it
#    starts in app/ are plain node programs that see only this project's node_modules.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

bash "$root/test/install-fixture.sh" "$here"

echo "== README snippets for OpenLLMetry"
node "$root/scripts/check-readme-snippets.mjs" --project test/openllmetry

echo "== running the suite"
cd "$root"
exec node --conditions=@genai-enrich/source --import tsx --test "$@" test/openllmetry/openllmetry.suite.ts
