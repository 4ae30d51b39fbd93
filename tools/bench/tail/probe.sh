#!/usr/bin/env bash
# tools/bench/tail/probe.sh LABEL MODEL RATE|cN [server flags]; env OUT (/tmp/tail), PORT, JAR, BJAR, JOPTS
#   (server JVM flags), BOPTS, BENCH_FLAGS (--binary), DUR and WARM (seconds, 8 and 3), PREWARM
# One open-loop (RATE) or closed-loop (cN) kiln bench step against a fresh server, with the CPU
# seconds of every server and generator thread (by name) and the box's user/sys/idle/steal over
# the measured window, and the per-response queue/compute p50/p99. Results in $OUT/LABEL.
T="$(cd "$(dirname "$0")" && pwd)"; K="$(cd "$T/../../.." && pwd)"
set -u
L=$1; M=$2; R=$3; shift 3
JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
JAR=${JAR:-$K/kiln-server/target/kiln.jar}; BJAR=${BJAR:-$K/kiln-bench/target/kiln-bench.jar}
PORT=${PORT:-18751}; O=${OUT:-/tmp/tail}/$L; rm -rf $O; mkdir -p $O; DUR=${DUR:-8}; WARM=${WARM:-3}
cd "$K"
$JAVA --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector ${JOPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20} -jar $JAR serve --port $PORT --model-repository models "$@" > $O/server.log 2>&1 &
S=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/v2/health/ready" > /dev/null && break; sleep 0.2; done
if [ -n "${PREWARM:-}" ]; then $JAVA -jar $BJAR --target http://127.0.0.1:$PORT --protocol v2 --model $M --concurrency ${PREWARM} --duration ${PREWARM_S:-6}s --warmup 0s --quiet ${BENCH_FLAGS:---binary} --out $O/prewarm > /dev/null 2>&1; sleep 1; fi
case $R in c*) LOADARG="--concurrency ${R#c}";; *) LOADARG="--rate $R";; esac
uptime | sed 's/.*load average: //' > $O/load
$JAVA ${BOPTS:-} -jar $BJAR --target http://127.0.0.1:$PORT --protocol v2 --model $M $LOADARG --duration ${DUR}s --warmup ${WARM}s --quiet ${BENCH_FLAGS:---binary} --out $O/bench > $O/bench.log 2>&1 &
BP=$!
sleep $((WARM + 1))
head -1 /proc/stat > $O/stat0; MINE=$PWD python3 $T/cpu.py snap $O/sys.cpu; python3 $T/threads.py snap $S $O/srv.threads; python3 $T/threads.py snap $BP $O/bench.threads
sleep $((DUR - 2))
{ echo -n "server "; python3 $T/threads.py diff $S $O/srv.threads; echo -n "bench "; python3 $T/threads.py diff $BP $O/bench.threads; MINE=$PWD python3 $T/cpu.py diff $O/sys.cpu; head -1 /proc/stat | python3 -c "import sys; a=list(map(int,open('$O/stat0').read().split()[1:])); b=list(map(int,sys.stdin.read().split()[1:])); d=[y-x for x,y in zip(a,b)]; t=sum(d[:8]); print(f'box: user {100*d[0]/t:.0f}% sys {100*d[2]/t:.0f}% idle {100*d[3]/t:.0f}% steal {100*d[7]/t:.1f}% softirq {100*d[6]/t:.0f}%')"; } > $O/cpu.txt
wait $BP
curl -s http://127.0.0.1:$PORT/metrics > $O/metrics
kill $S; wait $S 2>/dev/null
python3 - "$O" "$L" "$M" "$R" <<'PY'
import json,sys
O=sys.argv[1]; r=json.load(open(O+'/bench/report.json'))['steps'][0]; c=r['latency_ms'].get('corrected') or r['latency_ms'].get('raw') or r['latency_ms']; s=r.get('server_ms',{})
u=r['latency_ms'].get('uncorrected',c)
q=s.get('queue',{'p50':0,'p99':0}); cp=s.get('compute',{'p50':0,'p99':0})
lag=r.get('send_lag_ms',{'p99':0})
print(f"{sys.argv[2]:24s} {sys.argv[3]:10s} {sys.argv[4]:5s} load {open(O+'/load').read().strip():17s} rps {r['throughput_rps']:7.0f} err {r['errors']} p50 {c['p50']:.2f} p90 {c['p90']:.2f} p99 {c['p99']:.2f} p99.9 {c['p99_9']:.1f} | unc p50 {u['p50']:.2f} p99 {u['p99']:.2f} | q p50 {q['p50']:.2f} p99 {q['p99']:.2f} c p50 {cp['p50']:.2f} p99 {cp['p99']:.2f} | lag p99 {lag['p99']:.2f} late {r.get('late_sends',0)}")
PY
sed 's/^/    /' $O/cpu.txt
