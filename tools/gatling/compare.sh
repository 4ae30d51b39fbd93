#!/usr/bin/env bash
# Issue 6's check: the same open-loop load from Gatling (constantUsersPerSec, Java DSL) and from
# kiln bench against a running server; prints both tools' p50, p99 and throughput per run and, over
# all runs, the median and range of each delta.
#   tools/gatling/compare.sh [TARGET] [RATE] [SECONDS] [BODY] [PATH] [ROWS]
# Defaults: http://127.0.0.1:8080, 50 req/s, 60 s, tools/bench/rf-batch1000.json (made by
# /usr/bin/python3 tools/bench/make_bodies.py), /v2/models/breast-cancer-rf/infer.
# Environment:
#   MODE=parallel    both tools at once, each at RATE, against the same server (so both see the
#                    same server conditions; give each half the load you want); sequential (the
#                    default) runs Gatling, then kiln bench
#   RUNS=N           repeat N times (sequential: alternating which tool goes first)
#   ARRIVAL=poisson  Poisson arrivals in both tools (Gatling's randomized()); the default, constant,
#                    spaces them evenly, and then in parallel mode the two tools' schedules keep
#                    one phase offset for the whole run, so one tool's requests may always queue
#                    right behind the other's
#   WARMUP=S         seconds each tool warms up before it measures (default 10)
#   CLIENT_CPUS=L    run both load generators under taskset -c L (pin the server elsewhere)
#   OUT, GATLING_M2  results directory (default /tmp/kiln-gatling), Gatling's Maven repository
# Against tools/bench/DelayStub.java (a server with a known delay distribution), the stub's own
# record of how long it held each tool's requests is printed as a third column.
# Run it under the shared lock: flock /tmp/kiln-cpu.lock tools/gatling/compare.sh ...
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET="${1:-http://127.0.0.1:8080}"
RATE="${2:-50}"
SECS="${3:-60}"
BODY="$(realpath "${4:-tools/bench/rf-batch1000.json}")"
URLPATH="${5:-/v2/models/breast-cancer-rf/infer}"
ROWS="${6:-1000}"                            # rows in BODY, for kiln bench's rows/s
WARMUP="${WARMUP:-10}"
MODE="${MODE:-sequential}"
RUNS="${RUNS:-1}"
ARRIVAL="${ARRIVAL:-constant}"
MODEL="$(echo "$URLPATH" | sed -n 's|^/v2/models/\([^/]*\)/infer$|\1|p')"
OUT="${OUT:-/tmp/kiln-gatling}"
M2="${GATLING_M2:-$HOME/.m2/repository}"   # where Gatling's own dependencies are kept
PIN=()
[ -n "${CLIENT_CPUS:-}" ] && PIN=(taskset -c "$CLIENT_CPUS")
mkdir -p "$OUT"
STUB=0
curl -sf "$TARGET/stats" > /dev/null 2>&1 && STUB=1

bench() { # DIR [extra flags]: one kiln bench run on the load
  local dir="$1"; shift
  "${PIN[@]}" ./kiln bench --target "$TARGET" --protocol v2 --model "$MODEL" --rate "$RATE" \
    --arrival "$ARRIVAL" --batch "$ROWS" --body "$BODY" --memory off --quiet --out "$dir" "$@" > "$dir.log" 2>&1
}
gatling() { # LOGFILE: one Gatling run (the Maven plugin compiles and runs the simulation)
  rm -rf tools/gatling/target/gatling
  (cd tools/gatling && "${PIN[@]}" ../../mvnw -B -q -Dmaven.repo.local="$M2" gatling:test \
    -Dtarget="$TARGET" -Dpath="$URLPATH" -Dbody="$BODY" -Drate="$RATE" -Dduration="$SECS" \
    -Dwarmup="$WARMUP" -Darrival="$ARRIVAL") > "$1" 2>&1
}
stub_reset_after() { # SECONDS: clear the stub's record once the tools' warm-up is over
  [ "$STUB" = 1 ] || return 0
  (sleep "$1"; curl -sf "$TARGET/reset" > /dev/null) &
}

echo "load before: $(uptime)"
mkdir -p "$OUT/warm"   # warm the server's JIT for this request (not recorded)
bench "$OUT/warm" --duration 10s --warmup 0s || true
for run in $(seq 1 "$RUNS"); do
  R="$OUT/run$run"; rm -rf "$R"; mkdir -p "$R"
  echo "run $run ($MODE) start: $(uptime)"
  [ "$STUB" = 1 ] && curl -sf "$TARGET/reset" > /dev/null
  if [ "$MODE" = parallel ]; then
    gatling "$R/gatling.log" & gpid=$!
    # kiln bench starts once Gatling's simulation (not Maven) has started, so their windows match
    until grep -q 'Simulation kiln.OpenLoopSimulation started' "$R/gatling.log" 2>/dev/null; do
      kill -0 "$gpid" 2>/dev/null || break
      sleep 0.2
    done
    stub_reset_after $((WARMUP + 1))
    bench "$R/bench" --duration "${SECS}s" --warmup "${WARMUP}s"
    wait "$gpid"
  elif [ $((run % 2)) = 1 ]; then
    gatling "$R/gatling.log"
    bench "$R/bench" --duration "${SECS}s" --warmup "${WARMUP}s"
  else
    bench "$R/bench" --duration "${SECS}s" --warmup "${WARMUP}s"
    gatling "$R/gatling.log"
  fi
  cp -r tools/gatling/target/gatling "$R/gatling"
  [ "$STUB" = 1 ] && curl -sf "$TARGET/stats" > "$R/stub.json"
  echo "run $run end: $(uptime)"
done
echo "load after: $(uptime)"
/usr/bin/env python3 tools/gatling/summarise.py "$OUT" "$RUNS" "$SECS"
