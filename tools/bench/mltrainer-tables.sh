#!/usr/bin/env bash
# Reproduces the three tables of shared/reports/mltrainer-benchmarks.md with kiln bench against a
# running server (default http://127.0.0.1:8080, started with ./kiln serve), and prints them as
# markdown. Reports land in ${OUT:-/tmp/kiln-mltrainer}/<table>/<model>/report.{json,html}.
#   tools/bench/mltrainer-tables.sh [TARGET]
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET="${1:-http://127.0.0.1:8080}"
OUT="${OUT:-/tmp/kiln-mltrainer}"
declare -A MODELS=([RandomForest]=breast-cancer-rf [XGBoost]=breast-cancer-xgb [LSTM]=stock-lstm [Ensemble]=breast-cancer-ensemble)
ORDER=(RandomForest XGBoost LSTM Ensemble)
bench() { ./kiln bench --target "$TARGET" --protocol v2 --quiet "$@" > /dev/null || true; }

for kind in "${ORDER[@]}"; do   # single-prediction latency: open loop, 200 req/s, 10 s
  bench --model "${MODELS[$kind]}" --rate 200 --duration 10s --warmup 2s --out "$OUT/latency/$kind"
done
for kind in "${ORDER[@]}"; do   # throughput against concurrency: closed loop
  bench --model "${MODELS[$kind]}" --concurrency 10,50,100,500 --duration 5s --warmup 1s --out "$OUT/throughput/$kind"
done
for b in 10 50 100 500 1000; do # batch prediction: one client, XGBoost
  bench --model breast-cancer-xgb --concurrency 1 --batch "$b" --duration 5s --warmup 1s --out "$OUT/batch/$b"
done

/usr/bin/env python3 - "$OUT" "${ORDER[@]}" <<'PY'
import json, sys
out, kinds = sys.argv[1], sys.argv[2:]
def load(p):
    return json.load(open(p))["steps"]
def ms(v):
    return f"{v:.2f} ms" if v < 10 else f"{v:.0f} ms"
print("### Single prediction latency (open loop 200 req/s, corrected)\n")
print("| Model Type | p50 | p95 | p99 | Max | errors |\n|---|---:|---:|---:|---:|---:|")
for k in kinds:
    s = load(f"{out}/latency/{k}/report.json")[0]; l = s["latency_ms"]["corrected"]
    print(f"| {k} | {ms(l['p50'])} | {ms(l['p95'])} | {ms(l['p99'])} | {ms(l['max'])} | {s['error_rate']:.2%} |")
print("\n### Throughput (requests/second, closed loop)\n")
print("| Concurrency | " + " | ".join(kinds) + " |\n|---:|" + "---:|" * len(kinds))
steps = {k: load(f"{out}/throughput/{k}/report.json") for k in kinds}
for i, c in enumerate([10, 50, 100, 500]):
    row = []
    for k in kinds:
        s = steps[k][i]
        row.append(f"{s['throughput_rps']:,.0f}" + ("" if s["error_rate"] == 0 else f" ({s['error_rate']:.1%} err)"))
    print(f"| {c} | " + " | ".join(row) + " |")
print("\n### Batch prediction (XGBoost, one client)\n")
print("| Batch Size | Processing Time (p50) | p99 | Throughput (rows/s) |\n|---:|---:|---:|---:|")
for b in [10, 50, 100, 500, 1000]:
    s = load(f"{out}/batch/{b}/report.json")[0]; l = s["latency_ms"]["corrected"]
    print(f"| {b} | {ms(l['p50'])} | {ms(l['p99'])} | {s['rows_per_s']:,.0f} |")
PY
