#!/bin/bash
# Kiln's engine and llama.cpp alternated on the same GGUF files at the same depth (64 greedy
# tokens after a 128-token context), ROUNDS times, under the box's CPU lock:
#   tools/bench/llm/vs-llamacpp.sh MODEL_DIR [ROUNDS] [FILES...]
# Needs a built checkout (./mvnw -o -q -pl kiln-llm -am test-compile) and the sid chroot of
# tools/llamacpp/setup-sid-chroot.sh at /opt/sid with MODEL_DIR visible at the same path inside.
set -euo pipefail
M=$(cd "$1" && pwd); N=${2:-3}; shift 2 || shift $#
FILES=${*:-model-q8_0.gguf model-f16.gguf}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
JAVA=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
. "$ROOT/tools/bench/llm/classpath.sh"
CP=$(cp_of "$ROOT")
load() { cut -d' ' -f1 /proc/loadavg; }
exec 9>/tmp/kiln-cpu.lock
flock 9
echo "start $(date -u +%H:%M:%S) load $(load)"
for r in $(seq "$N"); do
  for f in $FILES; do
    k=$("$JAVA" --add-modules=jdk.incubator.vector -Xmx1g -cp "$CP" dev.kiln.llm.LlmBench \
      "$M/$f" auto 2 64 decode-only 2>&1 | grep median)
    echo "kiln  $f round $r (load $(load)): $k"
    l=$(chroot /opt/sid llama-bench -t 2 -p 0 -n 64 -d 128 -r 3 -m "$M/$f" 2>&1 | grep tg64)
    echo "llama $f round $r (load $(load)): $l"
  done
done
echo "end $(date -u +%H:%M:%S) load $(load)"
