#!/usr/bin/env bash
# Checks @genai-enrich/processor against the real OpenTelemetry JS SDK 3.x on Node 24 (docs/sdk3.md).
#
#   bash test/sdk3/run.sh [extra `node --test` arguments, e.g. --test-name-pattern=watchdog]
#
# 1-2. test/install-fixture.sh: packs packages/normalizer and packages/processor into test/sdk3/.packs,
#    installs test/sdk3's own dependencies (@opentelemetry/sdk-trace 3.x, @opentelemetry/api 1.10.x), pinned
#    by test/sdk3/package-lock.json, then the two fresh tarballs with --no-save (see docs/sdk3.md for why
#    they are not in package.json);
# 3. test/fixture-on-node.sh: runs test/sdk3/sdk3.test.mjs with Node 24 from the npm package `node` (SDK 3.x
#    needs Node >= 22.15; the machine's node is not used for the test). SDK3_NODE overrides the npm spec
#    (default node@24).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../fixture-on-node.sh" "$here" "${SDK3_NODE:-node@24}" --test "$@" test/sdk3/sdk3.test.mjs
