#!/usr/bin/env python3
"""Where a running JVM's resident memory is, from /proc/PID/smaps and three jcmd commands.

  tools/bench/llm/rss_breakdown.py PID [JAVA_HOME]

Prints VmHWM / VmRSS and the resident kB of: each mapped file (the model's weights first), the
Java heap (the address ranges GC.heap_info names), the code cache (Compiler.codecache bounds),
metaspace (VM.metaspace committed), thread stacks ([stack] and the guard-page'd stacks the JVM
names in smaps) and the rest of the anonymous memory (mostly malloc: glibc arenas). No NMT needed,
so the figures are those of the process as it runs in production. kB = 1024 bytes, as /proc.
"""

import re
import subprocess
import sys

pid = sys.argv[1]
java_home = sys.argv[2] if len(sys.argv) > 2 else "/usr/lib/jvm/temurin-25-jdk-amd64"


def jcmd(*args):
    return subprocess.run(
        [java_home + "/bin/jcmd", pid, *args], capture_output=True, text=True
    ).stdout


def ranges(text, pattern):
    return [(int(a, 16), int(b, 16)) for a, b in re.findall(pattern, text)]


heap = ranges(jcmd("GC.heap_info"), r"\[0x([0-9a-f]+), 0x[0-9a-f]+, 0x([0-9a-f]+)\)")
code = ranges(jcmd("Compiler.codecache"), r"bounds \[0x([0-9a-f]+), 0x[0-9a-f]+, 0x([0-9a-f]+)\]")
meta = jcmd("VM.metaspace")
m = re.search(r"Metaspace\s+used (\d+)K, committed (\d+)K", meta)
metaspace_committed = int(m.group(2)) if m else 0


def inside(start, end, rs):
    # the generations (or code heaps) lie next to each other, often in one mapping
    return bool(rs) and min(a for a, _ in rs) <= start and end <= max(b for _, b in rs)


maps = []  # (start, end, name, rss, anon)
cur = None
with open(f"/proc/{pid}/smaps") as f:
    for line in f:
        head = re.match(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$", line)
        if head:
            cur = [int(head.group(1), 16), int(head.group(2), 16), head.group(3).strip(), 0, 0]
            maps.append(cur)
        elif line.startswith("Rss:"):
            cur[3] = int(line.split()[1])
        elif line.startswith("Anonymous:"):
            cur[4] = int(line.split()[1])

cats = {}


def add(cat, kb):
    cats[cat] = cats.get(cat, 0) + kb


for start, end, name, rss, anon in maps:
    if rss == 0:
        continue
    if name.startswith("/"):
        short = name.rsplit("/", 1)[-1]
        add("file " + short, rss)
    elif inside(start, end, heap):
        add("java heap", rss)
    elif inside(start, end, code):
        add("code cache", rss)
    elif name == "[stack]":
        add("stacks", rss)
    else:
        add("other anonymous (metaspace, class space, malloc arenas, thread stacks, GC)", rss)

status = open(f"/proc/{pid}/status").read()
for key in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "Threads"):
    print(re.search(rf"^{key}:\s+(.*)$", status, re.M).group(0))
print(f"metaspace+class space committed (VM.metaspace): {metaspace_committed} kB")
total = 0
for cat, kb in sorted(cats.items(), key=lambda kv: -kv[1]):
    if kb >= 256:
        print(f"{kb:9d} kB  {cat}")
    total += kb
print(f"{total:9d} kB  total Rss of all mappings")
