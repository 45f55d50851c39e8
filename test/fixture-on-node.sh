#!/usr/bin/env bash
# Installs a fixture project of test/ (test/install-fixture.sh) and runs it with a Node from the npm package
# `node` (the machine's Node 20 is not used), for the projects whose packages need a newer Node than the
# repository's (test/sdk3, test/aisdk7):
#
#   bash test/fixture-on-node.sh test/<name> <npm spec, e.g. node@24> <node arguments…>
#
# The arguments run from the repository root, so `--import tsx` finds the root's tsx.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$1"
node_spec="$2"
shift 2

bash "$root/test/install-fixture.sh" "$dir"

echo "== running the tests with $node_spec"
cd "$root"
npx -y "$node_spec" --version
exec npx -y "$node_spec" "$@"
