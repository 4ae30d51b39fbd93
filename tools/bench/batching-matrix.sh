#!/usr/bin/env bash
# Batching off vs on, closed loop at the mltrainer concurrencies, for the demo models. Starts its own
# server for each configuration (port $PORT), scrapes /metrics after every step, and prints a table
# with the batcher's own figures (rows per execution, queue and compute time) per step.
#   tools/bench/batching-matrix.sh OUT LABEL [server flags...]     e.g.
#   tools/bench/batching-matrix.sh /tmp/bm on --batching.enabled=true --batching.max-queue-delay=2ms
# Env: PORT (8080), MODELS ("breast-cancer-xgb breast-cancer-rf stock-lstm license-encoder"),
#      CONC ("1 10 50 100 500"), DUR (5s), WARM (1s);
#      RATES ("model:rate ...") runs each model open loop at that fixed rate instead (file suffix -rR;
#      its warm-up defaults to 20s: at 1,000 req/s a 2-3 s warm-up leaves C2 compiling through the
#      measured window, 1.7-3.4 CPU-s of 6 s on 2 cores, which inflates the tail it measures);
#      BENCH_FLAGS (extra kiln bench flags, e.g. --binary); SERVER_CPUS / BENCH_CPUS (taskset lists
#      that pin the server and the load generator, e.g. 1 and 0).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="$1"; LABEL="$2"; shift 2
PORT="${PORT:-8080}"
MODELS="${MODELS:-breast-cancer-xgb breast-cancer-rf stock-lstm license-encoder}"
CONC="${CONC:-1 10 50 100 500}"
JAVA="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
read -r -a BENCH_EXTRA <<< "${BENCH_FLAGS:-}"
SERVER_PIN=(); BENCH_PIN=()
[ -n "${SERVER_CPUS:-}" ] && SERVER_PIN=(taskset -c "$SERVER_CPUS")
[ -n "${BENCH_CPUS:-}" ] && BENCH_PIN=(taskset -c "$BENCH_CPUS")
mkdir -p "$OUT/$LABEL"
"${SERVER_PIN[@]}" "$JAVA" --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector -XX:+UseG1GC \
  -XX:MaxGCPauseMillis=20 ${KILN_JAVA_OPTS:-} -jar kiln-server/target/kiln.jar serve --port "$PORT" "$@" \
  > "$OUT/$LABEL/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/v2/health/ready" > /dev/null && break; sleep 0.2; done
if [ -n "${RATES:-}" ]; then
  for mr in $RATES; do
    m="${mr%%:*}"; r="${mr##*:}"; extra=()
    case "$m" in license-*) extra=(--min 1 --max 256) ;; esac
    uptime | sed 's/.*load average: //' > "$OUT/$LABEL/$m-r$r.load"
    "${BENCH_PIN[@]}" ./kiln bench --target "http://127.0.0.1:$PORT" --protocol v2 --model "$m" --rate "$r" \
      --duration "${DUR:-10s}" --warmup "${WARM:-20s}" --quiet "${extra[@]}" "${BENCH_EXTRA[@]}" --out "$OUT/$LABEL/$m-r$r" > /dev/null || true
    curl -s "http://127.0.0.1:$PORT/metrics" > "$OUT/$LABEL/$m-r$r.metrics"
  done
  exit 0
fi
for m in $MODELS; do
  extra=()
  case "$m" in license-*) extra=(--min 1 --max 256) ;; esac   # byte ids; 0 is padding
  for c in $CONC; do
    uptime | sed 's/.*load average: //' > "$OUT/$LABEL/$m-c$c.load"
    "${BENCH_PIN[@]}" ./kiln bench --target "http://127.0.0.1:$PORT" --protocol v2 --model "$m" --concurrency "$c" \
      --duration "${DUR:-5s}" --warmup "${WARM:-1s}" --quiet "${extra[@]}" "${BENCH_EXTRA[@]}" --out "$OUT/$LABEL/$m-c$c" > /dev/null || true
    curl -s "http://127.0.0.1:$PORT/metrics" > "$OUT/$LABEL/$m-c$c.metrics"
  done
done
