#!/usr/bin/env bash
# One RSS measurement of `./kiln serve` on an LLM repository: starts the server with
# KILN_JAVA_OPTS="$1", waits until it is ready, runs kiln bench (1 stream unless CONC is set,
# 128-token prompts, 64 output tokens, 20 s after a 6 s warm-up) with --pid, then prints VmHWM /
# VmRSS and tools/bench/llm/rss_breakdown.py, and stops the server. Run it under the box's lock:
#   flock /tmp/kiln-cpu.lock tools/bench/llm/rss-run.sh "-XX:+UseSerialGC -Xmx64m" /tmp/rss-repo 18700 OUT
set -euo pipefail
OPTS="$1"; REPO="$2"; PORT="$3"; OUT="$4"; CONC="${CONC:-1}"
HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
MODEL="${MODEL:-$(ls "$REPO" | head -n1)}"
mkdir -p "$OUT"
KILN_JAVA_OPTS="$OPTS" "$HOME_DIR/kiln" serve --model-repository "$REPO" --port "$PORT" >"$OUT/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null 2>&1 && break
  sleep 0.5
done
# the launcher execs java, so $PID is the JVM
"$HOME_DIR/kiln" bench --target "http://127.0.0.1:$PORT" --protocol openai --model "$MODEL" --stream --quiet \
  --pid "$PID" --concurrency "$CONC" --input-tokens "${INPUT:-128}" --max-tokens "${MAXTOK:-64}" \
  --duration "${DURATION:-20s}" --warmup "${WARMUP:-6s}" --out "$OUT" | tee "$OUT/bench.txt"
echo "== $OPTS (concurrency $CONC), uptime: $(uptime)"
python3 "$HOME_DIR/tools/bench/llm/rss_breakdown.py" "$PID" | tee "$OUT/rss.txt"
J="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/jcmd"
"$J" "$PID" GC.heap_info >"$OUT/heap_info.txt"
"$J" "$PID" GC.class_histogram >"$OUT/histogram.txt" # after the RSS figures: it runs a full GC
if [[ "$OPTS" == *NativeMemoryTracking* ]]; then
  "$J" "$PID" VM.native_memory summary >"$OUT/nmt.txt"
fi
