"""compare.sh's report: per run, Gatling's and kiln bench's p50, p99 and throughput (and, against
DelayStub, the stub's own record of the same requests); then, over the runs, the median and the
range of each delta. Run: python3 tools/gatling/summarise.py OUT RUNS SECONDS"""
import glob
import json
import re
import statistics
import sys

out, runs, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])


def gatling(run_dir):
    # Gatling 3.15's statistics table, row of request "infer": col-3 OK, 4 KO, 8 p50, 9 p75,
    # 10 p95, 11 p99, 12 max, 13 mean (whole ms; percentiles from a t-digest of whole-ms values)
    html = open(glob.glob(f"{run_dir}/gatling/*/index.html")[0]).read()
    row = html[html.index('<tr id="req_infer-'):]
    row = row[: row.index("</tr>")]
    cols = {int(k): v for k, v in re.findall(r'col-(\d+)">([^<]*)<', row)}
    # throughput: OK responses over the injection time (its own count/s column is rounded and
    # divides by the whole simulation, warm-up included)
    return {"ok": int(cols[3]), "ko": int(cols[4]), "p50": float(cols[8]),
            "p99": float(cols[11]), "rps": int(cols[3]) / secs}


def bench(run_dir):
    s = json.load(open(f"{run_dir}/bench/report.json"))["steps"][0]
    c, u = s["latency_ms"]["corrected"], s["latency_ms"]["uncorrected"]
    return {"ok": s["ok"], "ko": s["errors"] + s["dropped"], "p50": c["p50"], "p99": c["p99"],
            "p50u": u["p50"], "p99u": u["p99"], "rps": s["throughput_rps"],
            "late": s["late_sends"]}


def stub(run_dir):
    try:
        st = json.load(open(f"{run_dir}/stub.json"))
    except FileNotFoundError:
        return None
    return {"gatling": st.get("gatling"), "bench": st.get("-")}


def pct(a, b):
    return (a - b) / b


rows = []
for r in range(1, runs + 1):
    d = f"{out}/run{r}"
    g, b, st = gatling(d), bench(d), stub(d)
    rows.append((g, b, st))
    print(f"run {r}: gatling ok {g['ok']} ko {g['ko']}  p50 {g['p50']:g}  p99 {g['p99']:g} ms  "
          f"{g['rps']:.2f} req/s")
    print(f"       bench   ok {b['ok']} ko {b['ko']}  p50 {b['p50']} ({b['p50u']} uncorrected)  "
          f"p99 {b['p99']} ({b['p99u']}) ms  {b['rps']:.2f} req/s  {b['late']} late sends")
    if st:
        for name in ("gatling", "bench"):
            s = st[name] or {}
            print(f"       stub held {name}'s: {s.get('count')} requests  p50 {s.get('p50_ms')}  "
                  f"p99 {s.get('p99_ms')} ms")

print("\nbench / gatling - 1 (median [min, max] over %d run(s)):" % runs)
for key, bkey in (("p50", "p50"), ("p50", "p50u"), ("p99", "p99"), ("p99", "p99u"),
                  ("rps", "rps")):
    ds = [pct(b[bkey], g[key]) for g, b, _ in rows]
    med = statistics.median(ds)
    label = {"p50u": "p50 (uncorrected)", "p99u": "p99 (uncorrected)", "rps": "throughput"}.get(
        bkey, bkey)
    print(f"  {label:18s} {med:+.1%}  [{min(ds):+.1%}, {max(ds):+.1%}]  "
          f"{'within 10%' if abs(med) <= 0.10 else 'NOT within 10%'}")
if all(st for _, _, st in rows):
    print("\neach tool minus the stub's hold time of its own requests, ms (median [min, max]):")
    for tool, key in (("gatling", "p50"), ("gatling", "p99"), ("bench", "p50u"),
                      ("bench", "p99u"), ("bench", "p50"), ("bench", "p99")):
        ds = []
        for g, b, st in rows:
            v = (g if tool == "gatling" else b)[key]
            ds.append(v - st[tool][f"{key[:3]}_ms"])
        print(f"  {tool} {key:5s} {statistics.median(ds):+.3f}  [{min(ds):+.3f}, {max(ds):+.3f}]")
