#!/usr/bin/env bash
# Issue 6's check: the same open-loop load from Gatling (constantUsersPerSec, Java DSL) and then
# from kiln bench, against a running server; prints both runs' p50, p99 and throughput.
#   tools/gatling/compare.sh [TARGET] [RATE] [SECONDS] [BODY] [PATH] [ROWS]
# Defaults: http://127.0.0.1:8080, 50 req/s, 60 s, tools/bench/rf-batch1000.json (made by
# /usr/bin/python3 tools/bench/make_bodies.py), /v2/models/breast-cancer-rf/infer.
# Run it under the shared lock: flock /tmp/kiln-cpu.lock tools/gatling/compare.sh ...
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET="${1:-http://127.0.0.1:8080}"
RATE="${2:-50}"
SECS="${3:-60}"
BODY="$(realpath "${4:-tools/bench/rf-batch1000.json}")"
URLPATH="${5:-/v2/models/breast-cancer-rf/infer}"
ROWS="${6:-1000}"                            # rows in BODY, for kiln bench's rows/s
WARMUP="${WARMUP:-10}"                       # seconds each tool warms up before it measures
MODEL="$(echo "$URLPATH" | sed -n 's|^/v2/models/\([^/]*\)/infer$|\1|p')"
OUT="${OUT:-/tmp/kiln-gatling}"
M2="${GATLING_M2:-$HOME/.m2/repository}"   # where Gatling's own dependencies are kept
mkdir -p "$OUT"
echo "load before: $(uptime)"
# warm the server's JIT for this request (not recorded)
./kiln bench --target "$TARGET" --protocol v2 --model "$MODEL" --rate "$RATE" --duration 10s \
  --warmup 0s --body "$BODY" --memory off --quiet --out "$OUT/warm" > /dev/null
echo "gatling start: $(uptime)"
rm -rf tools/gatling/target/gatling
(cd tools/gatling && ../../mvnw -B -q -Dmaven.repo.local="$M2" gatling:test \
  -Dtarget="$TARGET" -Dpath="$URLPATH" -Dbody="$BODY" -Drate="$RATE" -Dduration="$SECS" \
  -Dwarmup="$WARMUP") > "$OUT/gatling.log" 2>&1
rm -rf "$OUT/gatling" && cp -r tools/gatling/target/gatling "$OUT/gatling"
grep -A12 'Global Information' "$OUT/gatling.log" | tail -12 || true
echo "bench start: $(uptime)"
./kiln bench --target "$TARGET" --protocol v2 --model "$MODEL" --rate "$RATE" --duration "${SECS}s" \
  --warmup "${WARMUP}s" --batch "$ROWS" --body "$BODY" --memory off --quiet --out "$OUT/bench" | grep -E 'throughput|corrected|uncorrected|requests'
echo "load after: $(uptime)"
INDEX="$(ls -d "$OUT"/gatling/*/ | head -1)index.html"
/usr/bin/env python3 - "$INDEX" "$OUT/bench/report.json" "$SECS" <<'PY'
import json, re, sys
# Gatling 3.15's statistics table, row of request "infer": col-2 total, 3 OK, 4 KO, 6 count/s,
# 7 min, 8 p50, 9 p75, 10 p95, 11 p99, 12 max, 13 mean (whole ms)
html = open(sys.argv[1]).read()
row = html[html.index('<tr id="req_infer-'):]
row = row[:row.index('</tr>')]
cols = {int(k): v for k, v in re.findall(r'col-(\d+)">([^<]*)<', row)}
g = {"numberOfRequests": {"ok": int(cols[3]), "ko": int(cols[4])}}
b = json.load(open(sys.argv[2]))["steps"][0]
# throughput: OK responses over the injection time (Gatling's own count/s column is rounded)
gp50, gp99, grps = float(cols[8]), float(cols[11]), int(cols[3]) / float(sys.argv[3])
print(f"gatling table row 'infer': {cols}")
bp50, bp99 = b["latency_ms"]["corrected"]["p50"], b["latency_ms"]["corrected"]["p99"]
up50, up99 = b["latency_ms"]["uncorrected"]["p50"], b["latency_ms"]["uncorrected"]["p99"]
brps = b["throughput_rps"]
print(f"gatling: ok {g['numberOfRequests']['ok']} ko {g['numberOfRequests']['ko']}  p50 {gp50} ms  p99 {gp99} ms  {grps:.2f} req/s")
print(f"bench:   ok {b['ok']} errors {b['errors']}  p50 {bp50} ms (uncorrected {up50})  p99 {bp99} ms (uncorrected {up99})  {brps:.2f} req/s")
for name, gv, bv in [("p50", gp50, bp50), ("p99", gp99, bp99), ("throughput", grps, brps)]:
    d = (bv - gv) / gv
    print(f"{name}: bench/gatling - 1 = {d:+.1%}  {'within 10%' if abs(d) <= 0.10 else 'NOT within 10%'}")
PY
