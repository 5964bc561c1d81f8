#!/usr/bin/env bash
# Render test of the helm chart helm/recsplane, offline: renders it with `helm template` and
# checks the worker pools' Deployments, their environment, probes and volumes:
#   1. two pools (default x3, gpu x1 with its own resources, nodeSelector, tolerations and
#      extraEnv) and artifacts.store=postgres: one Deployment <fullname>-worker-<pool> per
#      pool (replicas, resources, args, pool label and selector), RECS_SERVE_PORT=9090,
#      RECS_SERVE_ADDRESS from status.podIP, RECS_INTERNAL_TOKEN from the Secret,
#      RECS_ARTIFACT_STORE=postgres, probes on /internal/v1/health (port serve); the api with
#      RECS_INTERNAL_TOKEN and probes on /v1/recs/health (port http); the scheduler; a
#      generated 48-character internal token in the Secret; no PersistentVolumeClaim mounted;
#   2. artifacts.store=fs with persistence.existingClaim=shared: every worker mounts the claim
#      `shared` at RECS_DATA_DIR, the api and the scheduler do not;
#   3. secrets.existingSecret and secrets.internalToken: the token's source follows them;
#   4. renders that must fail: a duplicated pool name, bad pool names (also with
#      --skip-schema-validation), the removed `worker:` key, a short internal token.
# Prints each failed check, then a one-line summary; exits non-zero when any check failed.
#
# Needs helm (tools/bin/helm, installed by scripts/lint_contract.sh, or $HELM) and python3 with
# PyYAML (python3-yaml, installed with apt-get when missing).
#
# Usage: tests/helm/render_test.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HELM="${HELM:-$ROOT/tools/bin/helm}"
CHART="$ROOT/helm/recsplane"

die() { printf 'render_test: %s\n' "$*" >&2; exit 1; }

[[ -x "$HELM" ]] || die "no helm at $HELM: run scripts/lint_contract.sh (it installs tools/bin/helm) or set HELM"
command -v python3 >/dev/null || die "python3 is required"
if ! python3 -c 'import yaml' 2>/dev/null; then
    printf '==> installing python3-yaml with apt-get\n' >&2
    sudo=""
    [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-yaml \
        || { $sudo apt-get update -q && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-yaml; }
    python3 -c 'import yaml' || die "python3-yaml is still missing"
fi

exec python3 - "$HELM" "$CHART" <<'PY'
import base64
import os
import subprocess
import sys
import tempfile

import yaml

HELM, CHART = sys.argv[1], sys.argv[2]
RELEASE = "rt"
FULLNAME = "rt-recsplane"
SECRET = FULLNAME
DATA_DIR = "/var/lib/recsplane"

checks = 0
failures = []


def check(ok, what):
    """Counts a check; prints and records it when it failed."""
    global checks
    checks += 1
    if not ok:
        failures.append(what)
        print(f"FAIL: {what}")
    return ok


def helm_template(values, *extra):
    """Renders the chart with a values document; returns (rc, stdout, stderr)."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(values, f)
        path = f.name
    try:
        p = subprocess.run(
            [HELM, "template", RELEASE, CHART, "--namespace", "recs", "-f", path, *extra],
            capture_output=True, text=True)
        return p.returncode, p.stdout, p.stderr
    finally:
        os.unlink(path)


def render(values, label):
    rc, out, err = helm_template(values)
    if not check(rc == 0, f"{label}: helm template failed: {err.strip()}"):
        return None
    docs = [d for d in yaml.safe_load_all(out) if d]
    return docs


def find(docs, kind, name=None, **labels):
    out = []
    for d in docs:
        if d.get("kind") != kind:
            continue
        md = d.get("metadata", {})
        if name is not None and md.get("name") != name:
            continue
        have = md.get("labels") or {}
        if all(have.get(k) == v for k, v in labels.items()):
            out.append(d)
    return out


def container(dep):
    cs = dep["spec"]["template"]["spec"]["containers"]
    return cs[0] if len(cs) == 1 else None


def env_of(c):
    return {e["name"]: e for e in c.get("env") or []}


def check_env_value(label, c, name, value):
    e = env_of(c).get(name)
    check(e is not None and e.get("value") == value and "valueFrom" not in e,
          f"{label}: env {name} should be {value!r}, is {e!r}")


def check_token_env(label, c, secret=SECRET):
    e = env_of(c).get("RECS_INTERNAL_TOKEN")
    ref = (e or {}).get("valueFrom", {}).get("secretKeyRef", {})
    check(ref.get("name") == secret and ref.get("key") == "RECS_INTERNAL_TOKEN"
          and "value" not in (e or {}),
          f"{label}: env RECS_INTERNAL_TOKEN should come from Secret {secret} key "
          f"RECS_INTERNAL_TOKEN, is {e!r}")


def check_probes(label, c, path, port):
    for probe in ("readinessProbe", "livenessProbe"):
        get = (c.get(probe) or {}).get("httpGet") or {}
        check(get.get("path") == path and get.get("port") == port,
              f"{label}: {probe} should be httpGet {path} on port {port}, is {c.get(probe)!r}")


def volumes_by_mount(dep):
    """mountPath -> volume source of the pod's only container."""
    spec = dep["spec"]["template"]["spec"]
    vols = {v["name"]: v for v in spec.get("volumes") or []}
    out = {}
    for m in container(dep).get("volumeMounts") or []:
        out[m["mountPath"]] = vols.get(m["name"])
    return out


def claims(dep):
    spec = dep["spec"]["template"]["spec"]
    return [v["persistentVolumeClaim"]["claimName"]
            for v in spec.get("volumes") or [] if "persistentVolumeClaim" in v]


GPU_RESOURCES = {
    "requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": 1},
    "limits": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": 1},
}
DEFAULT_RESOURCES = {
    "requests": {"cpu": "500m", "memory": "1Gi"},
    "limits": {"cpu": "2", "memory": "4Gi"},
}
POOLS = [
    {"name": "default", "replicas": 3, "resources": DEFAULT_RESOURCES},
    {"name": "gpu", "replicas": 1, "resources": GPU_RESOURCES,
     "nodeSelector": {"accelerator": "nvidia"},
     "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
     "extraEnv": [{"name": "RECS_WORKER_CONCURRENCY", "value": "2"}]},
]


def workers_of(docs):
    return find(docs, "Deployment", **{"app.kubernetes.io/component": "worker"})


def check_pools(label, docs, pools, store):
    workers = workers_of(docs)
    check(len(workers) == len(pools),
          f"{label}: {len(pools)} worker Deployments expected, got "
          f"{[w['metadata']['name'] for w in workers]}")
    for pool in pools:
        name = f"{FULLNAME}-worker-{pool['name']}"
        where = f"{label}: Deployment {name}"
        deps = [w for w in workers if w["metadata"]["name"] == name]
        if not check(len(deps) == 1, f"{where}: expected exactly one, got {len(deps)}"):
            continue
        dep = deps[0]
        spec = dep["spec"]
        tmpl = spec["template"]
        check(spec.get("replicas") == pool["replicas"],
              f"{where}: replicas should be {pool['replicas']}, is {spec.get('replicas')!r}")
        for what, labels in (("labels", dep["metadata"].get("labels") or {}),
                             ("pod labels", tmpl["metadata"].get("labels") or {}),
                             ("selector", spec["selector"].get("matchLabels") or {})):
            got = {k: labels.get(k) for k in ("recsplane.dev/pool", "app.kubernetes.io/component")}
            check(got == {"recsplane.dev/pool": pool["name"], "app.kubernetes.io/component": "worker"},
                  f"{where}: {what} should have recsplane.dev/pool={pool['name']} and "
                  f"app.kubernetes.io/component=worker, have {got!r}")
        c = container(dep)
        if not check(c is not None, f"{where}: expected one container"):
            continue
        check(c.get("args") == ["worker", "--pool", pool["name"]],
              f"{where}: args should be worker --pool {pool['name']}, are {c.get('args')!r}")
        check(c.get("resources") == pool["resources"],
              f"{where}: resources should be {pool['resources']!r}, are {c.get('resources')!r}")
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
        check(ports.get("serve") == 9090, f"{where}: container port serve should be 9090, ports {ports!r}")
        check_env_value(where, c, "RECS_SERVE_PORT", "9090")
        addr = env_of(c).get("RECS_SERVE_ADDRESS") or {}
        check(addr.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "status.podIP"
              and "value" not in addr,
              f"{where}: env RECS_SERVE_ADDRESS should come from fieldRef status.podIP, is {addr!r}")
        check_token_env(where, c)
        check_env_value(where, c, "RECS_ARTIFACT_STORE", store)
        check_probes(where, c, "/internal/v1/health", "serve")
        names = [e["name"] for e in c.get("env") or []]
        check(len(names) == len(set(names)), f"{where}: env names repeat: {names!r}")
        for e in pool.get("extraEnv", []):
            check_env_value(where, c, e["name"], e["value"])
        pod = tmpl["spec"]
        for key in ("nodeSelector", "tolerations"):
            check(pod.get(key) == pool.get(key),
                  f"{where}: {key} should be {pool.get(key)!r}, is {pod.get(key)!r}")
    return {w["metadata"]["name"]: w for w in workers}


# --- 1. two pools, artifacts in PostgreSQL -------------------------------------------------
label = "postgres"
docs = render({"pools": POOLS, "artifacts": {"store": "postgres"},
               # a claim left set must not be mounted with store=postgres
               "persistence": {"existingClaim": "left-over", "sizeLimit": "5Gi"}}, label)
if docs:
    workers = check_pools(label, docs, POOLS, "postgres")
    for name, dep in workers.items():
        check(not claims(dep), f"{label}: {name} mounts PersistentVolumeClaims {claims(dep)!r}")
        data = volumes_by_mount(dep).get(DATA_DIR) or {}
        check("emptyDir" in data,
              f"{label}: {name} should have an emptyDir at {DATA_DIR} (the local cache), has {data!r}")
    check(not find(docs, "PersistentVolumeClaim"), f"{label}: the chart should create no PVC")
    for d in find(docs, "Deployment"):
        check(not claims(d), f"{label}: Deployment {d['metadata']['name']} mounts a claim {claims(d)!r}")

    apis = find(docs, "Deployment", f"{FULLNAME}-api")
    if check(len(apis) == 1, f"{label}: expected one api Deployment {FULLNAME}-api, got {len(apis)}"):
        c = container(apis[0])
        check(c is not None and c.get("args") == ["api"], f"{label}: api args should be [api]")
        check_token_env(f"{label}: api", c)
        check_probes(f"{label}: api", c, "/v1/recs/health", "http")
        check("RECS_ARTIFACT_STORE" not in env_of(c) and "RECS_SERVE_ADDRESS" not in env_of(c),
              f"{label}: api should not get the workers' variables")
    scheds = find(docs, "Deployment", f"{FULLNAME}-scheduler")
    if check(len(scheds) == 1, f"{label}: expected one scheduler Deployment, got {len(scheds)}"):
        c = container(scheds[0])
        check(c is not None and c.get("args") == ["scheduler"], f"{label}: scheduler args should be [scheduler]")
    check(not find(docs, "Deployment", f"{FULLNAME}-worker"),
          f"{label}: the old single worker Deployment {FULLNAME}-worker still renders")
    check(len(find(docs, "Deployment")) == 2 + len(POOLS),
          f"{label}: expected {2 + len(POOLS)} Deployments, got "
          f"{[d['metadata']['name'] for d in find(docs, 'Deployment')]}")

    secrets = find(docs, "Secret", SECRET)
    if check(len(secrets) == 1, f"{label}: expected the Secret {SECRET}"):
        raw = (secrets[0].get("data") or {}).get("RECS_INTERNAL_TOKEN")
        token = base64.b64decode(raw).decode() if raw else ""
        check(len(token) == 48 and token.isalnum(),
              f"{label}: the generated RECS_INTERNAL_TOKEN should be 48 alphanumerics, is {len(token)} long")

# --- 2. artifacts on a shared claim -------------------------------------------------------
label = "fs+claim"
pools2 = [{"name": "default", "replicas": 2, "resources": DEFAULT_RESOURCES},
          {"name": "gpu", "replicas": 1, "resources": GPU_RESOURCES}]
docs = render({"pools": pools2, "artifacts": {"store": "fs"},
               "persistence": {"existingClaim": "shared", "sizeLimit": "10Gi"}}, label)
if docs:
    workers = check_pools(label, docs, pools2, "fs")
    for name, dep in workers.items():
        data = volumes_by_mount(dep).get(DATA_DIR) or {}
        check((data.get("persistentVolumeClaim") or {}).get("claimName") == "shared",
              f"{label}: {name} should mount the claim shared at {DATA_DIR}, has {data!r}")
    for comp in ("api", "scheduler"):
        for d in find(docs, "Deployment", f"{FULLNAME}-{comp}"):
            check(not claims(d), f"{label}: {comp} should not mount the claim, mounts {claims(d)!r}")

# --- 3. where the token comes from ---------------------------------------------------------
label = "existingSecret"
docs = render({"secrets": {"existingSecret": "mine"}}, label)
if docs:
    check(not find(docs, "Secret", SECRET), f"{label}: the chart should create no Secret {SECRET}")
    for d in find(docs, "Deployment"):
        if d["metadata"]["labels"].get("app.kubernetes.io/component") in ("api", "worker"):
            check_token_env(f"{label}: {d['metadata']['name']}", container(d), "mine")
label = "internalToken"
given = "t" * 40
docs = render({"secrets": {"internalToken": given}}, label)
if docs:
    s = find(docs, "Secret", SECRET)
    raw = (s[0].get("data") or {}).get("RECS_INTERNAL_TOKEN") if s else None
    check(raw and base64.b64decode(raw).decode() == given,
          f"{label}: the Secret should carry secrets.internalToken")

# --- 4. renders that must fail -------------------------------------------------------------
def must_fail(label, values, expect=None, *extra):
    rc, _, err = helm_template(values, *extra)
    if check(rc != 0, f"{label}: rendering should fail but succeeded"):
        if expect:
            check(expect in err, f"{label}: the error should mention {expect!r}: {err.strip()}")


one = {"replicas": 1, "resources": {}}
must_fail("duplicate pool", {"pools": [dict(one, name="default"), dict(one, name="gpu"),
                                       dict(one, name="default")]},
          'the pool name "default" appears more than once')
must_fail("bad pool name (uppercase)", {"pools": [dict(one, name="GPU")]}, "pools.0.name")
must_fail("bad pool name (underscore)", {"pools": [dict(one, name="gpu_pool")]}, "pools.0.name")
must_fail("bad pool name (leading dash)", {"pools": [dict(one, name="-gpu")]}, "pools.0.name")
must_fail("bad pool name (65 characters)", {"pools": [dict(one, name="a" * 65)]}, "pools.0.name")
# accepted by recsplane, but not a Kubernetes label value
must_fail("bad pool name (trailing dash)", {"pools": [dict(one, name="gpu-")]}, "pools.0.name")
must_fail("bad pool name (64 characters)", {"pools": [dict(one, name="a" * 64)]}, "pools.0.name")
must_fail("bad pool name, no schema", {"pools": [dict(one, name="GPU")]},
          "must match", "--skip-schema-validation")
must_fail("duplicate pool, no schema", {"pools": [dict(one, name="a"), dict(one, name="a")]},
          "appears more than once", "--skip-schema-validation")
must_fail("no pools", {"pools": []}, "pools")
must_fail("removed worker key", {"worker": {"pool": "default", "replicas": 1}},
          "Additional property worker")
must_fail("short internal token", {"secrets": {"internalToken": "short"}}, "secrets.internalToken")
must_fail("extraEnv overriding RECS_SERVE_ADDRESS",
          {"pools": [dict(one, name="x", extraEnv=[{"name": "RECS_SERVE_ADDRESS", "value": "1.2.3.4"}])]},
          "pools.0.extraEnv.0.name")

print(f"render_test: {checks - len(failures)}/{checks} checks passed"
      + (f", {len(failures)} FAILED" if failures else ""))
sys.exit(1 if failures else 0)
PY
