#!/usr/bin/env python3
"""Differential test of outpost-simulate against Pacemaker's stored scheduler corpus.

For every input of the corpus (xml/NAME.xml with expected summary/NAME.summary and
exp/NAME.exp, as crm_simulate 2.1.5 writes them) this runs

    outpost-simulate -x xml/NAME.xml -S -G <graph>

and compares, after crm_simulate's own normalisations (docs/policy.md):
  current   "Current cluster status:" section
  summary   "Transition Summary:" section
  executed  "Executing Cluster Transition:" section (reported, never gated)
  revised   "Revised Cluster Status:" section
  graph     the same actions on the same nodes and the same ordering edges between them
            (ids and order in the file ignored); "synapses" additionally reports whether
            ids, order and inputs are identical.

Inputs that use a bundle must be refused with "unsupported: bundle <id>".

Gate: every test named in the pass list must match on current, summary, revised and graph;
the others are reported, not failed. The corpus is not part of the repository (it is
Pacemaker's test data); without it the test is skipped (exit 77).

Usage: corpus_diff.py SIMULATE CORPUS_DIR PASS_LIST|ALL [--markdown FILE] [-v] [TEST...]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SECTIONS = [
    ("current", "Current cluster status:", ["Transition Summary:", "Revised Cluster Status:"]),
    ("summary", "Transition Summary:", ["Executing Cluster Transition:", "Revised Cluster Status:",
                                        "Using the original execution date"]),
    ("executed", "Executing Cluster Transition:", ["Revised Cluster Status:", "Using the original execution date"]),
    ("revised", "Revised Cluster Status:", []),
]
GATED = ["current", "summary", "revised", "graph"]


def normalise(line):
    # The normalisations of Pacemaker's own regression driver (scheduler.md 2.1).
    line = line.replace("ocf::", "ocf:")
    line = line.replace("Masters:", "Promoted:").replace("Slaves:", "Unpromoted:")
    line = re.sub(r" Master( |\[|$)", r" Promoted\1", line)
    line = line.replace(" Slave ", " Unpromoted ")
    # crm_simulate stamps injected failures with the wall clock.
    line = re.sub(r"(last-failure-\S*=)\d+", r"\1(time)", line)
    return line.rstrip()


def section(text, start, ends):
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith(start):
            inside = True
            continue
        if inside and any(line.startswith(e) for e in ends):
            break
        if inside:
            out.append(normalise(line))
    while out and not out[-1].strip():
        out.pop()
    return [line for line in out if line.strip()]


def graph(path):
    """(actions, edges, synapses) of a transition graph file; ids ignored in the first two."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return None

    def key(e):
        node = e.get("on_node")
        return e.tag[:3] + ":" + e.get("operation_key") + ("@" + node if node else "")

    actions, edges, synapses = set(), set(), []
    for syn in root.findall("synapse"):
        action = list(syn.find("action_set"))[0]
        k = key(action)
        actions.add(k)
        inputs = []
        for trigger in syn.find("inputs"):
            first = list(trigger)[0]
            edges.add((key(first), k))
            inputs.append(first.get("id"))
        synapses.append((action.get("id"), k, tuple(sorted(inputs))))
    return actions, edges, synapses


def run_test(simulate, corpus, name, verbose):
    xml_path = os.path.join(corpus, "xml", name + ".xml")
    with open(xml_path, encoding="utf-8") as f:
        bundle = re.search(r'<bundle\s[^>]*id="([^"]+)"', f.read())
    with tempfile.TemporaryDirectory() as tmp:
        gpath = os.path.join(tmp, "graph.xml")
        # Regression inputs of the random tester may carry crm_simulate arguments (-i, -F, ...).
        args_path = os.path.join(corpus, "xml", name + ".args")
        extra = []
        if os.path.exists(args_path):
            with open(args_path, encoding="utf-8") as f:
                extra = f.read().split()
        try:
            proc = subprocess.run([simulate, "-x", xml_path, "-S", "-G", gpath] + extra, capture_output=True,
                                  text=True, timeout=60, check=False)
        except subprocess.TimeoutExpired:
            return {"error": "timeout"}
        if bundle:
            want = "unsupported: bundle " + bundle.group(1)
            ok = proc.returncode != 0 and want in proc.stderr
            return {"bundle": ok, "error": None if ok else "expected '%s', got rc %d: %s" %
                    (want, proc.returncode, proc.stderr.strip()[:200])}
        if proc.returncode != 0:
            return {"error": "rc %d: %s" % (proc.returncode, proc.stderr.strip()[:300])}
        result = {"error": None, "diff": {}}
        with open(os.path.join(corpus, "summary", name + ".summary"), encoding="utf-8") as f:
            expected = f.read()
        for label, start, ends in SECTIONS:
            e = section(expected, start, ends)
            g = section(proc.stdout, start, ends)
            result[label] = e == g
            if e != g:
                import difflib
                result["diff"][label] = list(difflib.unified_diff(e, g, "expected", "outpost", lineterm="", n=0))
        eg = graph(os.path.join(corpus, "exp", name + ".exp"))
        og = graph(gpath)
        if eg is None or og is None:
            result["graph"] = False
            result["synapses"] = False
        else:
            result["graph"] = eg[0] == og[0] and eg[1] == og[1]
            result["synapses"] = eg[2] == og[2]
            if not result["graph"]:
                d = []
                d += ["- action " + a for a in sorted(eg[0] - og[0])]
                d += ["+ action " + a for a in sorted(og[0] - eg[0])]
                d += ["- edge %s -> %s" % x for x in sorted(eg[1] - og[1])]
                d += ["+ edge %s -> %s" % x for x in sorted(og[1] - eg[1])]
                result["diff"]["graph"] = d
        return result


def describe(r):
    if r.get("error"):
        return "error: " + r["error"]
    if "bundle" in r:
        return "refused (bundle)"
    bad = [k for k in GATED + ["executed"] if not r.get(k)]
    if not bad:
        return "match" + ("" if r.get("synapses") else " (synapse order/ids differ)")
    return "differs: " + ", ".join(bad)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("simulate")
    ap.add_argument("corpus")
    ap.add_argument("pass_list")
    ap.add_argument("--markdown", help="write a per-test table (docs/policy.md)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("tests", nargs="*")
    args = ap.parse_intermixed_args()
    if not os.path.isdir(os.path.join(args.corpus, "xml")):
        print("corpus not found at %s: skipped" % args.corpus)
        return 77
    names = args.tests or sorted(n[:-4] for n in os.listdir(os.path.join(args.corpus, "xml")) if n.endswith(".xml"))
    if args.pass_list == "ALL":
        must_pass = set(names)  # a regression directory: everything must match
    else:
        with open(args.pass_list, encoding="utf-8") as f:
            must_pass = {line.split("#")[0].strip() for line in f} - {""}
    # bundle-order-partial's expected files predate 2.1 (scheduler.md 3): not an oracle.
    names = [n for n in names if n != "bundle-order-partial"]
    results, failures = {}, []
    for name in names:
        r = run_test(args.simulate, args.corpus, name, args.verbose)
        results[name] = r
        full = r.get("error") is None and ("bundle" in r or all(r.get(k) for k in GATED))
        gated = name in must_pass
        print("%-40s %s%s" % (name, describe(r), "" if not gated or full else "   <-- REGRESSION"))
        if args.verbose or (gated and not full):
            for label, lines in r.get("diff", {}).items():
                print("  -- %s" % label)
                for line in lines[:40]:
                    print("     " + line)
        if gated and not full:
            failures.append(name)
    plain = [n for n in names if "bundle" not in results[n]]
    full = [n for n in plain if results[n].get("error") is None and all(results[n].get(k) for k in GATED)]
    print("non-bundle: %d/%d match (current, summary, revised, graph); bundle inputs refused: %d/%d" %
          (len(full), len(plain), sum(1 for n in names if results[n].get("bundle")),
           len(names) - len(plain)))
    unlisted = sorted(set(full) - must_pass)
    if unlisted:
        print("passing but not on the pass list (add them): " + " ".join(unlisted))
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write("| test | current | summary | executed | revised | graph | synapses |\n")
            f.write("|---|---|---|---|---|---|---|\n")
            for n in names:
                r = results[n]
                if r.get("error") or "bundle" in r:
                    f.write("| %s | %s |||||\n" % (n, describe(r)))
                    continue
                cells = ["yes" if r.get(k) else "**no**" for k in
                         ["current", "summary", "executed", "revised", "graph", "synapses"]]
                f.write("| %s | %s |\n" % (n, " | ".join(cells)))
    if failures:
        print("REGRESSIONS: " + " ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
