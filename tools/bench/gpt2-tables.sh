#!/usr/bin/env bash
# Reproduces the three tables of shared/reports/muai-gpt2-benchmark.md (latency by input length,
# memory, throughput) with kiln bench --protocol openai, and prints them as markdown. Reports land
# in ${OUT:-/tmp/kiln-gpt2}/<table>/report.{json,html}.
#   tools/bench/gpt2-tables.sh [TARGET] [MODEL]
# One command for the GPT-2 124M (a model directory with config.json, model.safetensors,
# vocab.json, merges.txt; the script serves it from a temporary model repository of symlinks on
# PORT, default 18350, and stops the server at the end; each table runs under LOCK when set):
#   MODEL_DIR=/work/bench-models/gpt2-124m LOCK=/tmp/kiln-cpu.lock tools/bench/gpt2-tables.sh
# Against a running server instead (e.g. the demo kiln-gpt2-tiny, whose context is 128 tokens):
#   LATENCY=16:32:20,32:32:20,64:32:20 THROUGHPUT_INPUT=16 tools/bench/gpt2-tables.sh URL kiln-gpt2-tiny
# Environment (defaults for the 124M, context 1024):
#   LATENCY           IN:OUT:SECONDS,...  one client, streamed; the report's 128:64, 512:128 and
#                     1024:256 (1024 + 256 does not fit a 1024 context: 768:256 fills it, and
#                     1024:1 times the prefill of a full context)
#   THROUGHPUT_INPUT  prompt tokens for the memory and throughput tables (128); output tokens
#   THROUGHPUT_OUTPUT 30 (the report's 41.46 tokens/s / 1.38 req/s); CONCURRENCY 1,2,4
#   SOAK              memory soak (60s); STEP_SECONDS throughput step (30)
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT="${PORT:-18350}"
TARGET="${1:-http://127.0.0.1:${PORT}}"
MODEL="${2:-gpt2-124m}"
OUT="${OUT:-/tmp/kiln-gpt2}"
LATENCY="${LATENCY:-128:64:40,512:128:60,768:256:100,1024:1:45}"
THROUGHPUT_INPUT="${THROUGHPUT_INPUT:-128}"
THROUGHPUT_OUTPUT="${THROUGHPUT_OUTPUT:-30}"
CONCURRENCY="${CONCURRENCY:-1,2,4}"
SOAK="${SOAK:-60s}"
STEP_SECONDS="${STEP_SECONDS:-30}"
locked() { if [ -n "${LOCK:-}" ]; then (flock 9; "$@") 9> "$LOCK"; else "$@"; fi; }
bench() { ./kiln bench --target "$TARGET" --protocol openai --model "$MODEL" --quiet "$@" > /dev/null || true; }
load() { uptime | sed 's/.*load average: //'; }
mkdir -p "$OUT"
: > "$OUT/loads.txt"

if [ -n "${MODEL_DIR:-}" ]; then
  REPO="$(mktemp -d /tmp/kiln-gpt2-repo.XXXXXX)"
  mkdir -p "$REPO/$MODEL/1"
  for f in config.json model.safetensors vocab.json merges.txt; do
    ln -s "$(realpath "$MODEL_DIR/$f")" "$REPO/$MODEL/1/$f"
  done
  ./kiln serve --model-repository "$REPO" --port "$PORT" > "$OUT/server.log" 2>&1 &
  SERVER=$!
  trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$REPO"' EXIT
  for i in $(seq 1 300); do
    curl -sf "$TARGET/v2/models/$MODEL/ready" > /dev/null && break
    kill -0 "$SERVER" 2>/dev/null && [ "$i" -lt 300 ] || { echo "not ready, see $OUT/server.log" >&2; exit 1; }
    sleep 1
  done
fi
{ echo "date: $(date -u +%FT%TZ)  commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')"
  echo "model: $MODEL  target: $TARGET"; } > "$OUT/run.txt"

latency() { # one client, streamed: TTFT and TPOT, tokens from the server's usage
  IFS=, read -ra pairs <<< "$LATENCY"
  for p in "${pairs[@]}"; do
    IFS=: read -r in outlen secs <<< "$p"
    echo "latency $in:$outlen $(load)" >> "$OUT/loads.txt"
    bench --stream --concurrency 1 --input-tokens "$in" --max-tokens "$outlen" \
      --duration "${secs:-20}s" --warmup 10s --out "$OUT/latency/$in"
  done
}
memory() { # a soak at 2 clients; RSS from /proc of the local server (or its /metrics)
  echo "memory $(load)" >> "$OUT/loads.txt"
  bench --soak "$SOAK" --memory-interval 1s --concurrency 2 --input-tokens "$THROUGHPUT_INPUT" \
    --max-tokens "$THROUGHPUT_OUTPUT" --warmup 10s --threshold 'leak_mb_per_hour<50' --out "$OUT/memory"
}
throughput() { # closed loop at each concurrency
  echo "throughput $(load)" >> "$OUT/loads.txt"
  bench --concurrency "$CONCURRENCY" --input-tokens "$THROUGHPUT_INPUT" --max-tokens "$THROUGHPUT_OUTPUT" \
    --duration "${STEP_SECONDS}s" --warmup 5s --out "$OUT/throughput"
}
locked latency
locked memory
locked throughput
echo "end $(load)" >> "$OUT/loads.txt"

/usr/bin/env python3 - "$OUT" "$LATENCY" <<'PY'
import json, sys
out, latency = sys.argv[1], sys.argv[2]
def load(t):
    return json.load(open(f"{out}/{t}/report.json"))
print(open(f"{out}/run.txt").read())
print("load average (1, 5, 15 min) before each table:\n" + open(f"{out}/loads.txt").read())
print("### Latency by input length (one client, streamed)\n")
print("| Input Length | Output Length | TTFT p50 (p99) | Tokens/s (1/TPOT p50) | E2E p50 (p99) | requests |")
print("|---:|---:|---:|---:|---:|---:|")
for p in latency.split(","):
    s = load(f"latency/{p.split(':')[0]}")["steps"][0]
    if not s["ok"]:
        print(f"| {p} | | no successful request ({s['outcomes']}) | | | 0 |")
        continue
    st, l = s["stream_ms"], s["latency_ms"]["corrected"]
    out_tokens = s["completion_tokens"] / s["ok"]
    tps = f"{1000 / st['tpot']['p50']:.1f}" if st["tpot"]["count"] else "n/a (1 token)"
    print(f"| {s['prompt_tokens_mean']:.0f} tokens | {out_tokens:.0f} tokens | {st['ttft']['p50']:,.0f} ms ({st['ttft']['p99']:,.0f}) "
          f"| {tps} | {l['p50']:,.0f} ms ({l['p99']:,.0f}) | {s['ok']} |")
m = load("memory")
s = m["steps"][0]; mem = s["memory"]; rss = mem["rss_mb"]
print("\n### Memory (soak, 2 clients)\n")
print("| Metric | Value | Notes |\n|---|---:|---|")
print(f"| RSS before load | {rss['first']:,.1f} MB | server process, model loaded, first sample ({mem['source']}) |")
print(f"| RSS peak under load | {rss['max']:,.1f} MB | {mem['count']} samples, {s['window_s']:.0f} s window, {s['ok']} requests |")
print(f"| Inference delta | {rss['max'] - rss['first']:,.1f} MB | peak minus before load |")
per_req = mem['leak_mb_per_hour'] / 3600 * s['window_s'] / max(1, s['ok'])
print(f"| Leak slope | {mem['leak_mb_per_hour']:.1f} MB/hour | least squares after warm-up; {per_req:.4f} MB per request |")
print(f"| Threshold leak_mb_per_hour<50 | {'pass' if m['passed'] else 'FAIL'} | |")
t = load("throughput")
print("\n### Throughput (closed loop)\n")
print("| Concurrency | Req/s | Tokens/s | Avg Latency (ms) | p99 (ms) | Failed | requests |\n|---:|---:|---:|---:|---:|---:|---:|")
for s in t["steps"]:
    l = s["latency_ms"]["corrected"]
    print(f"| {s['concurrency']} | {s['throughput_rps']:.2f} | {s['tokens_per_s']:.1f} | {l['mean']:,.0f} | {l['p99']:,.0f} | {s['errors'] + s['dropped']} | {s['ok']} |")
PY
