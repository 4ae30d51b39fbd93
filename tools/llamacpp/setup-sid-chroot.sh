#!/usr/bin/env bash
# Builds a Debian sid chroot holding llama.cpp (llama-bench, llama-cli, llama-completion) and
# gguf-py (python3-gguf, the library llama.cpp's converters write GGUF with). Used only to make
# GGUF fixtures and to benchmark llama.cpp beside Kiln; neither the build nor the tests need it.
#   sudo tools/llamacpp/setup-sid-chroot.sh [/opt/sid]
#   chroot /opt/sid llama-bench -m /models/x.gguf -t 2    (bind-mount the model dir first)
set -euo pipefail
ROOT="${1:-/opt/sid}"
command -v debootstrap >/dev/null || apt-get install -y debootstrap
if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
  mkdir -p "$ROOT"
  debootstrap --variant=minbase sid "$ROOT" http://deb.debian.org/debian
fi
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
cp /etc/resolv.conf "$ROOT/etc/" 2>/dev/null || true
chroot "$ROOT" apt-get -o Acquire::Check-Valid-Until=false update -qq
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  llama.cpp-tools python3-gguf python3-numpy
chroot "$ROOT" llama-bench --help >/dev/null && echo "llama.cpp ready in $ROOT"
