#!/usr/bin/env bash
# Compares recs::core::Assign (through the recs_gb_assign tool) with the real GrowthBook JS SDK
# on 5,000 generated ids (ASCII, Latin-1, CJK, emoji and other surrogate pairs, edge cases)
# times several experiment configs (tests/compat/growthbook/compare.mjs).
#
# Installs the pinned @growthbook/growthbook with npm into the git-ignored tools/node-growthbook
# when it is not there yet (a second run installs nothing and needs no network).
# Exits non-zero and prints the first 10 mismatches on any difference.
#
# Usage: tests/compat/growthbook/run.sh path/to/recs_gb_assign   (e.g. build/bin/recs_gb_assign)
set -euo pipefail

GROWTHBOOK_VERSION="1.8.0"  # @growthbook/growthbook, the newest release when pinned

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
HERE="$ROOT/tests/compat/growthbook"
NODE_PREFIX="$ROOT/tools/node-growthbook"

export NO_UPDATE_NOTIFIER=1
export npm_config_update_notifier=false

die() { printf 'growthbook compat: %s\n' "$*" >&2; exit 1; }

[[ $# -eq 1 ]] || die "usage: $0 path/to/recs_gb_assign"
TOOL="$(cd "$(dirname "$1")" 2>/dev/null && pwd)/$(basename "$1")" || die "no such tool: $1"
[[ -x "$TOOL" ]] || die "not an executable: $1"
command -v node >/dev/null || die "node is required"

install_growthbook() {
    local pkg="$NODE_PREFIX/node_modules/@growthbook/growthbook/package.json" have=""
    if [[ -f "$pkg" ]]; then
        have="$(node -p "require(process.argv[1]).version" "$pkg" 2>/dev/null || true)"
    fi
    [[ "$have" == "$GROWTHBOOK_VERSION" ]] && return 0
    command -v npm >/dev/null || die "npm is required to install @growthbook/growthbook"
    printf '==> installing @growthbook/growthbook@%s into tools/node-growthbook\n' \
        "$GROWTHBOOK_VERSION" >&2
    mkdir -p "$NODE_PREFIX"
    npm install --prefix "$NODE_PREFIX" --no-audit --no-fund --save-exact --loglevel=error \
        "@growthbook/growthbook@$GROWTHBOOK_VERSION"
}

install_growthbook
exec node "$HERE/compare.mjs" "$TOOL" "$NODE_PREFIX" "$GROWTHBOOK_VERSION"
