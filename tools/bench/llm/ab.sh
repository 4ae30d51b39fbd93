#!/bin/bash
# Paired decode A/B of two built checkouts (each: ./mvnw -o -q -pl kiln-llm -am test-compile), in
# one JVM per load order, under the box's CPU lock:
#   tools/bench/llm/ab.sh BEFORE_DIR AFTER_DIR MODEL [PRECISION] [PAIRS]
# The true after/before ratio is about the geometric mean of "after/before" from the two orders
# (order 1 prints it directly; order 2 prints before/after).
set -euo pipefail
B=$(cd "$1" && pwd); A=$(cd "$2" && pwd); M=$3; P=${4:-auto}; N=${5:-16}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
JAVA=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
. "$ROOT/tools/bench/llm/classpath.sh"
run() {
  echo "== build 0 = $1, build 1 = $2 (load $(cut -d' ' -f1 /proc/loadavg))"
  flock /tmp/kiln-cpu.lock "$JAVA" --add-modules=jdk.incubator.vector -Xmx2g \
    -cp "$ROOT/kiln-llm/target/test-classes" dev.kiln.llm.DecodeAB "$M" "$P" "$N" \
    "$(cp_of "$1")" "$(cp_of "$2")" 2>&1 | grep -v WARNING
}
run "$B" "$A"
run "$A" "$B"
