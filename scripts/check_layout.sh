#!/usr/bin/env bash
# Checks the module rules: only store/ speaks SQL or RESP; formatting matches .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=$(git ls-files '*.cpp' '*.hpp' | grep -v '^store/' | xargs grep -lE '#include <(pqxx|hiredis)' || true)
if [ -n "$bad" ]; then echo "pqxx/hiredis included outside store/: $bad" >&2; exit 1; fi
if command -v clang-format >/dev/null; then
  diffs=$(git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run 2>&1 | grep -c 'warning:' || true)
  if [ "$diffs" != "0" ]; then
    echo "clang-format: $diffs formatting differences (run make format)" >&2
    git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run 2>&1 | grep 'warning:' | head -5 >&2
    exit 1
  fi
fi
echo "layout ok"
