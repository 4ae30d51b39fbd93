"""cpu.py snap FILE | cpu.py diff FILE : CPU seconds used by processes outside $MINE (default: the current directory) vs inside."""
import os, sys, json
HZ = os.sysconf("SC_CLK_TCK")
def snap():
    d = {}
    for p in os.listdir("/proc"):
        if not p.isdigit(): continue
        try:
            st = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            t = (int(st[11]) + int(st[12])) / HZ
            cwd = os.readlink(f"/proc/{p}/cwd")
            d[p] = (t, cwd.startswith(os.environ.get("MINE", os.getcwd())))
        except Exception: pass
    return d
if sys.argv[1] == "snap":
    json.dump(snap(), open(sys.argv[2], "w"))
else:
    a = json.load(open(sys.argv[2])); b = snap()
    mine = other = 0.0
    for p, (t, m) in b.items():
        dt = t - (a[p][0] if p in a else 0)
        if m: mine += dt
        else: other += dt
    print(f"mine {mine:.1f} cpu-s, others {other:.1f} cpu-s")
