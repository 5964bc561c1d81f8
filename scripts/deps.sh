#!/usr/bin/env bash
# Installs the Debian packages recsplane needs, only when some are missing.
set -euo pipefail
PKGS=(build-essential cmake pkg-config ccache git ca-certificates
      libpistache-dev libpqxx-dev libhiredis-dev nlohmann-json3-dev libssl-dev
      libeigen3-dev libhnswlib-dev libcli11-dev libopenblas-dev libcurl4-openssl-dev
      libgtest-dev libgmock-dev libbenchmark-dev libxgboost-dev libyaml-cpp-dev libboost-dev
      postgresql-15 redis-server wrk curl clang-format)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The GrowthBook comparison and the contract lint run on node and npm: Debian's when the
# machine has none of its own.
command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
