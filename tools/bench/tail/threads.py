"""threads.py snap PID FILE | threads.py diff PID FILE : per-thread-name CPU seconds of PID since snap."""
import os, sys, json, re
HZ = os.sysconf("SC_CLK_TCK")
def snap(pid):
    d = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            s = open(f"/proc/{pid}/task/{t}/stat").read()
            name = s[s.index("(")+1:s.rindex(")")]
            st = s.rsplit(")", 1)[1].split()
            d[t] = (name, (int(st[11]) + int(st[12])) / HZ)
        except Exception: pass
    return d
pid = sys.argv[2]
if sys.argv[1] == "snap":
    json.dump(snap(pid), open(sys.argv[3], "w"))
else:
    a = json.load(open(sys.argv[3])); b = snap(pid); g = {}
    for t, (n, c) in b.items():
        dt = c - (a[t][1] if t in a else 0)
        key = re.sub(r"\d+$", "#", n)
        g[key] = g.get(key, 0) + dt
    tot = sum(g.values())
    print(f"total {tot:.2f} cpu-s: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(g.items(), key=lambda x: -x[1]) if v >= 0.05))
