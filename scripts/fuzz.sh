#!/usr/bin/env bash
# libFuzzer over the parsers that read untrusted bytes, N seconds each (default 60):
#   artifact_fuzzer          the model artifact loader
#   request_decoder_fuzzer   the request JSON decoder (depth, UTF-8, NUL, numbers) and validators
#   bulk_decoder_fuzzer      bulk bodies: JSON arrays and NDJSON lines
#   http_framing_fuzzer      Pistache's request parser, Content-Length, paths, routing, text checks
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Configures build-fuzz with clang++ (ASan + UBSan + fuzzer coverage) and builds only the
# fuzzers. Inputs that once crashed a target are kept in fuzz/regressions/<target>/ and run as a
# read-only corpus before any mutation; seeds are in fuzz/seeds/<target>/ (the artifact fuzzer
# writes its own: a valid artifact of every algorithm).
set -euo pipefail
seconds="${1:-60}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(artifact_fuzzer request_decoder_fuzzer bulk_decoder_fuzzer http_framing_fuzzer)
fi

if ! command -v clang++ >/dev/null || ! dpkg -s libclang-rt-14-dev >/dev/null 2>&1; then
  echo "installing clang and libclang-rt-14-dev" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev >/dev/null
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DRECS_FUZZ=ON -DRECS_BUILD_TESTS=OFF -DRECS_BUILD_BENCH=OFF \
  -DRECS_SANITIZE="address;undefined" -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link" >/dev/null
cmake --build "$build" --target "${targets[@]}" make_seed_corpus -j2

for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  seeds="$build/seeds/$t"
  regressions="$root/fuzz/regressions/$t"
  mkdir -p "$corpus" "$seeds" "$regressions"
  if [ "$t" = artifact_fuzzer ]; then
    ASAN_OPTIONS=detect_leaks=0 "$build/bin/make_seed_corpus" "$seeds"
  elif [ -d "$root/fuzz/seeds/$t" ]; then
    cp "$root/fuzz/seeds/$t"/* "$seeds"/
  fi
  echo "fuzz: $t, $(ls "$seeds" | wc -l) seeds, $(ls "$regressions" | wc -l) regressions, ${seconds}s" >&2
  # Regressions: artifact_fuzzer/xgboost-legacy-huge-string - ltr ranker bytes in XGBoost's
  # legacy format with a huge string length (XGBoost tried to allocate 8 EB); only complete
  # UBJSON reaches XGBoost now.
  ASAN_OPTIONS=detect_leaks=1 "$build/bin/$t" "$corpus" "$seeds" "$regressions" \
    -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=65536 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$build/crash-$t-"
done
