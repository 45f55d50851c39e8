#!/usr/bin/env bash
# Checks @genai-enrich/processor behind the Vercel AI SDK 7 and @ai-sdk/otel on Node 24 (docs/aisdk7.md).
#
#   bash test/aisdk7/run.sh [extra `node --test` arguments, e.g. --test-name-pattern=embedMany]
#
# 1-2. test/install-fixture.sh: packs packages/normalizer and packages/processor into test/aisdk7/.packs,
#    installs test/aisdk7's own dependencies (ai 7, @ai-sdk/openai, @ai-sdk/otel, OpenTelemetry SDK 2.x, the
#    OTLP/HTTP exporter), pinned by test/aisdk7/package-lock.json, then the two fresh tarballs with --no-save,
#    as test/sdk3 does;
# 3. test/fixture-on-node.sh: runs test/aisdk7/aisdk7.test.mjs with Node 24 from the npm package `node` (ai 7
#    and @ai-sdk/otel need Node >= 22), from the repository root with the root's tsx, which loads the loopback
#    mock and receiver of test/helpers (TypeScript); everything else resolves from test/aisdk7/node_modules.
#    AISDK7_NODE overrides the npm spec (default node@24).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../fixture-on-node.sh" "$here" "${AISDK7_NODE:-node@24}" --import tsx --test "$@" \
  test/aisdk7/aisdk7.test.mjs
