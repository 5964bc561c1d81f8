#!/usr/bin/env bash
# Fuzzes the model artifact loader with libFuzzer for N seconds (default 60).
#   scripts/fuzz.sh [SECONDS]
# Configures build-fuzz with clang++ (ASan + UBSan + fuzzer coverage), builds only the fuzzer and
# a seed-corpus generator, writes valid artifacts of every algorithm as seeds, then runs.
set -euo pipefail
seconds="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"

if ! command -v clang++ >/dev/null || ! dpkg -s libclang-rt-14-dev >/dev/null 2>&1; then
  echo "installing clang and libclang-rt-14-dev" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev >/dev/null
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DRECS_FUZZ=ON -DRECS_BUILD_TESTS=OFF -DRECS_BUILD_BENCH=OFF \
  -DRECS_SANITIZE="address;undefined" -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link" >/dev/null
cmake --build "$build" --target artifact_fuzzer make_seed_corpus -j2

corpus="$build/fuzz-corpus"
seeds="$build/fuzz-seeds"
mkdir -p "$corpus" "$seeds"
ASAN_OPTIONS=detect_leaks=0 "$build/bin/make_seed_corpus" "$seeds"
echo "seeds: $(ls "$seeds" | wc -l) files; fuzzing for ${seconds}s" >&2
# Inputs that once crashed the loader (fuzz/regressions) are a read-only corpus folder, run
# before any mutation:
#   xgboost-legacy-huge-string - ltr ranker bytes in XGBoost's legacy format with a huge string
#   length (XGBoost tried to allocate 8 EB); only complete UBJSON reaches XGBoost now.
ASAN_OPTIONS=detect_leaks=1 "$build/bin/artifact_fuzzer" "$corpus" "$seeds" "$root/fuzz/regressions" \
  -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1
