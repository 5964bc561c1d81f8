"""Figures of one wrk run's output (requests/s, p50/p99 and mean latency in ms, non-2xx
responses, socket errors, requests), shared by the benchmark scripts."""
import re


def ms(v, u):
    v = float(v)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v


def parse(path):
    t = open(path).read()
    d = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))}
    for p in (50, 99):
        m = re.search(r"^\s+%d%%\s+([\d.]+)(us|ms|s)\b" % p, t, re.M)
        d[p] = ms(*m.groups())
    m = re.search(r"^\s+Latency\s+([\d.]+)(us|ms|s)\b", t, re.M)
    d["avg"] = ms(*m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    d["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", t)
    d["sock"] = m.group(1).strip() if m else ""
    d["reqs"] = int(re.search(r"(\d+) requests in", t).group(1))
    return d
