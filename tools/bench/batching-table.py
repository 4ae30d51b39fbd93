"""Prints the table for tools/bench/batching-matrix.sh runs: python3 batching-table.py OUT LABEL..."""
import json, os, re, sys

out, labels = sys.argv[1], sys.argv[2:]

def metrics(path, model):
    """Sums, counts and buckets of the batcher's series for one model, from a /metrics scrape."""
    m = {}
    if not os.path.exists(path):
        return m
    for line in open(path):
        if line.startswith("#") or 'model="%s"' % model not in line:
            continue
        name = line.split("{")[0]
        value = float(line.rsplit(" ", 1)[1])
        le = re.search(r'le="([^"]+)"', line)
        key = (name, le.group(1) if le else None)
        m[key] = m.get(key, 0.0) + value
    return m

def delta(a, b):
    return {k: v - a.get(k, 0.0) for k, v in b.items()}

def hist(m, base):
    s, c = m.get((base + "_sum", None), 0), m.get((base + "_count", None), 0)
    buckets = sorted(((float(k[1]), v) for k, v in m.items() if k[0] == base + "_bucket" and k[1] != "+Inf"))
    p99 = None
    for le, v in buckets:
        if c and v >= 0.99 * c:
            p99 = le
            break
    return s, c, p99

def ms(v):
    return "–" if v is None else (f"{v*1e3:.2f}" if v < 0.01 else f"{v*1e3:.1f}")

print("| model | batching | conc | load | req/s | p50 ms | p99 ms | err | rows/exec | queue mean / p99≤ ms | compute mean / p99≤ ms | queue p99 / compute p99 (responses) ms |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
KIND = os.environ.get("KIND", "c")   # c: closed-loop steps, r: open-loop rates
models = sorted({re.sub(r"-[cr]\d+\.metrics$", "", f) for l in labels for f in os.listdir(os.path.join(out, l)) if f.endswith(".metrics")},
                key=lambda s: ["breast-cancer-xgb", "breast-cancer-rf", "stock-lstm", "license-encoder", "stock-mlp"].index(s) if s in ["breast-cancer-xgb", "breast-cancer-rf", "stock-lstm", "license-encoder", "stock-mlp"] else 9)
for model in models:
    for label in labels:
        d = os.path.join(out, label)
        concs = sorted(int(f[len(model) + 2:-8]) for f in os.listdir(d) if f.startswith(model + "-" + KIND) and f.endswith(".metrics") and re.fullmatch(r"\d+", f[len(model) + 2:-8] or "x"))
        prev = {}
        for c in concs:
            cur = metrics(f"{d}/{model}-{KIND}{c}.metrics", model)
            # Closed-loop steps share one server per model, so a step is the difference from the
            # previous scrape; each open-loop rate ran in a server of its own.
            dm = delta(prev, cur) if KIND == "c" else cur
            prev = cur
            rep = json.load(open(f"{d}/{model}-{KIND}{c}/report.json"))["steps"][0]
            lat = rep["latency_ms"].get("corrected") or rep["latency_ms"].get("raw") or rep["latency_ms"]
            rs, rc, _ = hist(dm, "kiln_batch_rows")
            qs, qc, qp = hist(dm, "kiln_queue_duration_seconds")
            cs, cc, cp = hist(dm, "kiln_compute_duration_seconds")
            sv = rep.get("server_ms")
            load = open(f"{d}/{model}-{KIND}{c}.load").read().split(",")[0].strip()
            print(f"| {model} | {label} | {c} | {load} | {rep['throughput_rps']:,.0f} | {lat['p50']:.2f} | {lat['p99']:.1f} | "
                  f"{rep['error_rate']:.1%} | {rs/rc if rc else 0:.1f} | "
                  + (f"{ms(qs/qc)} / {ms(qp)}" if qc else "–") + " | "
                  + (f"{ms(cs/cc)} / {ms(cp)}" if cc else "–") + " | "
                  + (f"{sv['queue']['p99']:.2f} / {sv['compute']['p99']:.2f}" if sv and sv.get('queue', {}).get('count') else "–") + " |")
