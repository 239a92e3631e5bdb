#!/usr/bin/env python3
"""outpost-simulate against crm_simulate, side by side (docs/benchmarks.md, "Policy engine").

CIBs come from gen_cib.py (../shared/tools next to the worktrees, or $OUTPOST_GEN_CIB): one
cluster node, N guest nodes with M=5 Dummy resources each, a fresh start. Each row runs
both tools on the same CIB (scheduling only: -R -Q; and -S -Q for outpost-simulate) under
/usr/bin/time and reports wall time, max RSS, the ratio, and whether the two Transition
Summaries are the same. crm_simulate is skipped for the sizes where it takes minutes
(--crm-max-probed, --crm-max-exclusive) and when it is not installed.

Targets (the issue's): --discovery exclusive N=500 under 0.5 s and 100 MB, N=1000 under 1 s;
default probing N=200 at least 50x faster than crm_simulate; -S no slower than twice -R.
They are reported; they fail the run only with OUTPOST_BENCH_ENFORCE=1.

Usage: bench_policy.py SIMULATE [--sizes-exclusive 100,500,1000] [--sizes-probed 100,200]
                       [--markdown FILE]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def gen_cib_path():
    for p in (os.environ.get("OUTPOST_GEN_CIB", ""), os.path.join(ROOT, "..", "shared", "tools", "gen_cib.py")):
        if p and os.path.exists(p):
            return p
    return None


def timed(cmd, timeout=1800):
    r = subprocess.run(["/usr/bin/time", "-f", "TIME %e %U %M"] + cmd, capture_output=True, text=True,
                       timeout=timeout, check=False)
    line = [l for l in r.stderr.splitlines() if l.startswith("TIME ")][-1]
    _, wall, user, rss = line.split()
    return {"rc": r.returncode, "wall": float(wall), "user": float(user), "rss_mb": int(rss) / 1024.0}


def summary(cmd):
    r = subprocess.run(cmd + ["-R"], capture_output=True, text=True, timeout=1800, check=False)
    out, inside = [], False
    for line in r.stdout.splitlines():
        if line.startswith("Transition Summary:"):
            inside = True
            continue
        if inside and line.strip() and not line.startswith("  "):
            break
        if inside and line.strip():
            out.append(line.replace("ocf::", "ocf:"))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("simulate")
    ap.add_argument("--sizes-exclusive", default="100,500,1000")
    ap.add_argument("--sizes-probed", default="100,200")
    ap.add_argument("--crm-max-exclusive", type=int, default=500)
    ap.add_argument("--crm-max-probed", type=int, default=200)
    ap.add_argument("--markdown", help="append the table here")
    args = ap.parse_args()
    gen = gen_cib_path()
    if gen is None:
        print("gen_cib.py not found (../shared/tools or $OUTPOST_GEN_CIB): skipped")
        return 77
    crm = shutil.which("crm_simulate")
    rows, problems = [], []
    with tempfile.TemporaryDirectory() as tmp:
        plan = [("exclusive", int(n)) for n in args.sizes_exclusive.split(",") if n] + \
               [("always", int(n)) for n in args.sizes_probed.split(",") if n]
        for discovery, n in plan:
            cib = os.path.join(tmp, "n%d-%s.xml" % (n, discovery))
            subprocess.check_call([sys.executable, gen, "-n", str(n), "-m", "5", "--discovery", discovery, "-o", cib])
            ours = timed([args.simulate, "-x", cib, "-R", "-Q"])
            ours_s = timed([args.simulate, "-x", cib, "-S", "-Q"])
            limit = args.crm_max_exclusive if discovery == "exclusive" else args.crm_max_probed
            theirs = timed(["crm_simulate", "-x", cib, "-R", "-Q"]) if crm and n <= limit else None
            same = None
            if theirs is not None:
                same = summary([args.simulate, "-x", cib]) == summary(["crm_simulate", "-x", cib])
            row = {"discovery": discovery, "n": n, "ours": ours, "ours_s": ours_s, "theirs": theirs, "same": same}
            rows.append(row)
            ratio = theirs["wall"] / max(ours["wall"], 0.001) if theirs else None
            cpu_ratio = theirs["user"] / max(ours["user"], 0.001) if theirs else None
            print("%-9s N=%-5d outpost -R %6.2f s %6.1f MB | -S %6.2f s %6.1f MB | crm_simulate %s | ratio %s | %s" % (
                discovery, n, ours["wall"], ours["rss_mb"], ours_s["wall"], ours_s["rss_mb"],
                "%7.2f s %7.1f MB" % (theirs["wall"], theirs["rss_mb"]) if theirs else "   (not run)   ",
                "%6.0fx (cpu %4.0fx)" % (ratio, cpu_ratio) if ratio else "   -  ",
                "same summary" if same else ("SUMMARY DIFFERS" if same is False else "")), flush=True)
            if same is False:
                problems.append("N=%d %s: summaries differ" % (n, discovery))
            if discovery == "exclusive" and n == 500 and (ours["wall"] >= 0.5 or ours["rss_mb"] >= 100):
                problems.append("exclusive N=500: %.2f s, %.0f MB (target < 0.5 s, < 100 MB)" % (ours["wall"], ours["rss_mb"]))
            if discovery == "exclusive" and n == 1000 and ours["wall"] >= 1.0:
                problems.append("exclusive N=1000: %.2f s (target < 1 s)" % ours["wall"])
            if discovery == "always" and n == 200 and ratio is not None and ratio < 50:
                problems.append("probed N=200: %.0fx faster (target 50x)" % ratio)
            if ours_s["user"] > 2 * max(ours["user"], 0.05) + 0.1:
                problems.append("N=%d %s: -S %.2f s user vs -R %.2f s" % (n, discovery, ours_s["user"], ours["user"]))
    if args.markdown:
        with open(args.markdown, "a", encoding="utf-8") as f:
            f.write("| discovery | N | outpost -R -Q | outpost -S -Q | crm_simulate -R -Q | ratio (wall) | ratio (cpu) | summaries |\n")
            f.write("|---|---:|---:|---:|---:|---:|---:|---|\n")
            for r in rows:
                t = r["theirs"]
                f.write("| %s | %d | %.2f s, %.0f MB | %.2f s, %.0f MB | %s | %s | %s | %s |\n" % (
                    r["discovery"], r["n"], r["ours"]["wall"], r["ours"]["rss_mb"], r["ours_s"]["wall"],
                    r["ours_s"]["rss_mb"], "%.1f s, %.0f MB" % (t["wall"], t["rss_mb"]) if t else "not run",
                    "%.0fx" % (t["wall"] / max(r["ours"]["wall"], 0.001)) if t else "-",
                    "%.0fx" % (t["user"] / max(r["ours"]["user"], 0.001)) if t else "-",
                    "same" if r["same"] else ("differ" if r["same"] is False else "-")))
    for p in problems:
        print("TARGET MISSED: " + p)
    if problems and os.environ.get("OUTPOST_BENCH_ENFORCE") == "1":
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
