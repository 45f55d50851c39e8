#!/usr/bin/env bash
# Checks @genai-enrich/processor against the real OpenTelemetry JS SDK 1.x on Node 20 (docs/sdk1.md).
#
#   bash test/sdk1/run.sh [extra `node --test` arguments, e.g. --test-name-pattern=Logfire]
#
# 1-2. test/install-fixture.sh: packs packages/normalizer and packages/processor into test/sdk1/.packs,
#    installs test/sdk1's own dependencies (@opentelemetry/sdk-trace-base 1.30, api 1.9, the 0.57 OTLP
#    exporter) as test/sdk1/package-lock.json pins them, then the two fresh tarballs with --no-save;
# 3. type-checks the README snippets tagged `sdk1`, then runs test/sdk1/sdk1.test.mjs with the machine's node.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

bash "$root/test/install-fixture.sh" "$here"

echo "== README snippets for SDK 1.x"
node "$root/scripts/check-readme-snippets.mjs" --project test/sdk1

echo "== running the tests"
cd "$root"
exec node --test "$@" test/sdk1/sdk1.test.mjs
