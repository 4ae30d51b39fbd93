#!/bin/bash
# Kiln's server and llama.cpp's llama-server, one after the other under the box's CPU lock, each
# measured by the same kiln bench run (OpenAI protocol, streamed, 128 prompt tokens of distinct
# prompts, 64 out, 1/4/16 streams, 30 s after 10 s of warm-up):
#   tools/bench/llm/vs-llama-server.sh MODEL_DIR OUT [GGUF_FILES...]
# For each file, Kiln serves a repository holding it as <name>/1/model.gguf and llama-server
# serves it with 16 slots (-np 16 -c 4096: 256 positions each) on 2 threads. Needs the sid chroot
# of tools/llamacpp/setup-sid-chroot.sh at /opt/sid with MODEL_DIR visible at the same path inside.
set -euo pipefail
M=$(cd "$1" && pwd); OUT=$2; shift 2
FILES=${*:-model-q8_0.gguf model-f16.gguf}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
CONC=${CONC:-1,4,16}; PORT=${PORT:-18880}
mkdir -p "$OUT"
s=
trap '[ -n "$s" ] && kill $s 2>/dev/null; true' EXIT
exec 9>/tmp/kiln-cpu.lock
flock 9
wait_for() { for _ in $(seq 240); do curl -sf "$1" >/dev/null && return 0; sleep 0.5; done; return 1; }
bench() { # port model out
  "$ROOT/kiln" bench --target "http://127.0.0.1:$1" --protocol openai --model "$2" --stream --quiet \
    --concurrency "$CONC" --input-tokens 128 --max-tokens 64 --duration 30s --warmup 10s \
    --out "$3" > "$3.txt" 2>&1
  echo "== $3 ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))"
  python3 - "$3/report.json" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1]))["steps"]:
    t = s.get("stream_ms", {}).get("ttft", {}); p = s.get("stream_ms", {}).get("tpot", {})
    print(f"{s['concurrency']:>3} streams: {s['tokens_per_s']:7.1f} tok/s, TTFT p50/p99 "
          f"{t.get('p50', 0):.0f}/{t.get('p99', 0):.0f} ms, TPOT p50 {p.get('p50', 0):.1f} ms, "
          f"errors {s['error_rate']:.2%}")
PY
}
for f in $FILES; do
  name=${f%.gguf}
  repo="$OUT/repo-$name"; mkdir -p "$repo/$name/1"; ln -sfn "$M/$f" "$repo/$name/1/model.gguf"
  KILN_JAVA_OPTS=${KILN_JAVA_OPTS:--Xmx1g} "$ROOT/kiln" serve --model-repository "$repo" --port "$PORT" \
    > "$OUT/kiln-$name.log" 2>&1 &
  s=$!
  wait_for "http://127.0.0.1:$PORT/v2/health/ready"
  bench "$PORT" "$name" "$OUT/kiln-$name"
  kill $s; wait $s 2>/dev/null || true
  chroot /opt/sid llama-server -m "$M/$f" -t 2 -np 16 -c 4096 --host 127.0.0.1 --port "$PORT" \
    > "$OUT/llama-$name.log" 2>&1 &
  s=$!
  wait_for "http://127.0.0.1:$PORT/health"
  bench "$PORT" "$name" "$OUT/llama-$name"
  kill $s; wait $s 2>/dev/null || true
  # prompts llama-server evaluated in full vs served (partly) from its prompt cache
  echo "llama-server prompts evaluated in full: $(grep -c 'prompt eval time.*/ *128 tokens' "$OUT/llama-$name.log" || true)," \
    "other: $(grep 'prompt eval time' "$OUT/llama-$name.log" | grep -vc '/ *128 tokens' || true)"
done
