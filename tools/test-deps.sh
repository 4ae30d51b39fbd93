#!/usr/bin/env bash
# Installs what the test suite talks to, when it is missing, so `./kiln test` works on a fresh
# machine: promtool (Debian `prometheus`: checks /metrics and the alert rules), Chromium (Debian
# `chromium`: renders kiln bench's HTML report), and a Redis on 127.0.0.1:6379 (cache ITs).
# Without root it says exactly what to install instead of half-running the tests.
set -euo pipefail

missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing+=(chromium)
command -v redis-server >/dev/null || missing+=(redis-server)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "kiln: installing test dependencies: ${missing[*]}" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  else
    echo "kiln: the tests need: ${missing[*]}. Install them, e.g.: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  echo "kiln: starting redis-server on 127.0.0.1:6379 for the cache tests" >&2
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/kiln-test-redis.log >&2
fi
