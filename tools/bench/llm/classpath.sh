# Sourced by the scripts here: the kiln-core dependency jars (from Maven) and cp_of DIR, the
# classpath of a built checkout's kiln-llm (classes and test classes) with them.
DEPS_FILE=$(mktemp)
trap 'rm -f "$DEPS_FILE"' EXIT
(cd "$ROOT" && ./mvnw -B -q -pl kiln-core dependency:build-classpath \
  -Dmdep.outputFile="$DEPS_FILE" >/dev/null)
cp_of() {
  local t=$1/kiln-llm/target
  echo "$t/classes:$t/test-classes:$1/kiln-core/target/classes:$(cat "$DEPS_FILE")"
}
