#!/usr/bin/env bash
# Reproduces the three tables of shared/reports/muai-gpt2-benchmark.md (latency by input length,
# memory, throughput) with kiln bench --protocol openai against a running ./kiln serve, and prints
# them as markdown. Reports land in ${OUT:-/tmp/kiln-gpt2}/<table>/report.{json,html}.
#   tools/bench/gpt2-tables.sh [TARGET] [MODEL]
# Defaults: http://127.0.0.1:8080 and the demo model kiln-gpt2-tiny, whose context is 128 tokens,
# so the input lengths are 16/32/64 (the report's 128/512/1024 need a model with a longer context:
# INPUTS="128,512,1024" MAX_TOKENS=64 tools/bench/gpt2-tables.sh URL gpt2).
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET="${1:-http://127.0.0.1:8080}"
MODEL="${2:-kiln-gpt2-tiny}"
OUT="${OUT:-/tmp/kiln-gpt2}"
INPUTS="${INPUTS:-16,32,64}"
MAX_TOKENS="${MAX_TOKENS:-32}"
SOAK="${SOAK:-60s}"
bench() { ./kiln bench --target "$TARGET" --protocol openai --model "$MODEL" --quiet "$@" > /dev/null || true; }

# Phase 2, latency by input length: one client, streamed (TTFT, TPOT from the server's usage).
bench --stream --concurrency 1 --input-tokens "$INPUTS" --max-tokens "$MAX_TOKENS" \
  --duration 20s --warmup 5s --out "$OUT/latency"
# Phase 3, memory: a soak at 2 clients; RSS from /proc of the local server (or its /metrics).
bench --soak "$SOAK" --memory-interval 1s --concurrency 2 --input-tokens 16 --max-tokens "$MAX_TOKENS" \
  --warmup 5s --threshold 'leak_mb_per_hour<50' --out "$OUT/memory"
# Phase 4, throughput: closed loop at 1, 2 and 4 clients.
bench --concurrency 1,2,4 --input-tokens 16 --max-tokens "$MAX_TOKENS" --duration 15s --warmup 3s \
  --out "$OUT/throughput"

/usr/bin/env python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
def load(t):
    return json.load(open(f"{out}/{t}/report.json"))
r = load("latency")
print("### Latency by input length (one client, streamed)\n")
print("| Input Length | Output Length | TTFT p50 (p99) | Tokens/s (1/TPOT p50) | E2E p50 (p99) | requests |")
print("|---:|---:|---:|---:|---:|---:|")
for s in r["steps"]:
    st, l = s["stream_ms"], s["latency_ms"]["corrected"]
    out_tokens = s["completion_tokens"] / max(1, s["ok"])
    print(f"| {s['prompt_tokens_mean']:.0f} tokens | {out_tokens:.0f} tokens | {st['ttft']['p50']:.1f} ms ({st['ttft']['p99']:.1f}) "
          f"| {1000 / st['tpot']['p50']:.1f} | {l['p50']:.1f} ms ({l['p99']:.1f}) | {s['ok']} |")
m = load("memory")
s = m["steps"][0]; mem = s["memory"]; rss = mem["rss_mb"]
print("\n### Memory (soak, 2 clients)\n")
print("| Metric | Value | Notes |\n|---|---:|---|")
print(f"| RSS before load | {rss['first']:.1f} MB | server process, model loaded, first sample ({mem['source']}) |")
print(f"| RSS peak under load | {rss['max']:.1f} MB | {mem['count']} samples, {s['window_s']:.0f} s window |")
print(f"| Inference delta | {rss['max'] - rss['first']:.1f} MB | peak minus before load |")
per_req = mem['leak_mb_per_hour'] / 3600 * s['window_s'] / max(1, s['ok'])
print(f"| Leak slope | {mem['leak_mb_per_hour']:.1f} MB/hour | least squares after warm-up; {per_req:.4f} MB per request |")
print(f"| Threshold leak_mb_per_hour<50 | {'pass' if m['passed'] else 'FAIL'} | |")
t = load("throughput")
print("\n### Throughput (closed loop)\n")
print("| Concurrency | Req/s | Tokens/s | Avg Latency (ms) | p99 (ms) | Failed |\n|---:|---:|---:|---:|---:|---:|")
for s in t["steps"]:
    l = s["latency_ms"]["corrected"]
    print(f"| {s['concurrency']} | {s['throughput_rps']:.2f} | {s['tokens_per_s']:.1f} | {l['mean']:.1f} | {l['p99']:.1f} | {s['errors'] + s['dropped']} |")
PY
