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
            (ids and order in the file ignored), the same nodes downed, the same attributes
            (but notification variables and a fencing action's node attributes); "synapses"
            additionally reports whether ids, order and inputs are identical.
  plain     outpost-simulate -S -s: every line but the score lines, against the stored
            output as crm_simulate 2.1.5 prints it with -s or -U (plain(), below: the same
            lines without section headings, list headings, bullets and item names, and a
            blank line before the score lines; checked against crm_simulate on every input
            of the corpus); the "Only 'private' parameters" lines only -s shows are left out
  scores    the -s score lines against the stored scores/NAME.scores (as a set of lines:
            the stored files are sorted differently); gated for the tests marked "scores"
            in the pass list, reported for the others
  xml       where summary/NAME.xmlout holds crm_simulate's --output-as=xml output (inputs
            recorded with record_input.py): the whole document but its request line, gated

  dot       outpost-simulate -D against dot/NAME.dot where the directory has one: the same
            text, or, where the stored file is as Pacemaker's regression driver keeps it
            (first and last line, the body sorted and unique), the same after that
            normalisation; gated where it exists

Inputs whose crm_simulate arguments (xml/NAME.args) show scores or utilization (-s, -U)
have a plain stored output: it is compared whole ("output"), with the graph.

Inputs that use a bundle must be refused with "unsupported: bundle <id>".

Gate: every test named in the pass list must match on current, summary, revised, graph and
plain (and scores where marked); the others are reported, not failed. The corpus is not part of the repository (it is
Pacemaker's test data); without it the test is skipped (exit 77).

Usage: corpus_diff.py SIMULATE CORPUS_DIR PASS_LIST|ALL [--markdown FILE] [-v] [TEST...]
"""
import argparse
import difflib
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
GATED = ["current", "summary", "revised", "graph", "plain"]
SCORE_LINE = re.compile(r" (allocation|promotion) score on ")
PLAIN_ARGS = {"-s", "-U", "--show-scores", "--show-utilization"}
HEADINGS = {"Current cluster status:", "Transition Summary:", "Executing Cluster Transition:",
            "Revised Cluster Status:", "Performing Requested Modifications:"}
LIST_HEADING = re.compile(r"^\s*\* (Node List:|Full List of Resources:|Clone Set: .*:|Resource Group: .*:)$")
ITEM_NAME = re.compile(r"^(Online|OFFLINE|RemoteOnline|RemoteOFFLINE|GuestOnline): ")


def plain(text):
    """crm_simulate 2.1.5's text with -s or -U, from its text without them: section and list
    headings go, as do bullets, indentation and item names; the score lines (absent here)
    would follow a blank line before the transition summary's blank line."""
    out = []
    for line in text.split("\n"):
        if line == "Transition Summary:":
            out.append("")
        if line in HEADINGS or LIST_HEADING.match(line):
            continue
        line = re.sub(r"^\s*\* ", "", line)
        out.append(ITEM_NAME.sub("", line))
    return "\n".join(out)


def without_scores(text):
    """The lines of a plain output but its score lines and the informational lines about
    sanitized parameters, which the stored fancy output cannot show (the tests of
    tests/policy/options check those, whole)."""
    return [normalise(line) for line in text.split("\n")
            if not SCORE_LINE.search(line) and not line.startswith("Only 'private' parameters to ")]


def normalise(line):
    # The normalisations of Pacemaker's own regression driver (scheduler.md 2.1).
    line = line.replace("ocf::", "ocf:")
    line = line.replace("Masters:", "Promoted:").replace("Slaves:", "Unpromoted:")
    line = re.sub(r" Master( |\[|$)", r" Promoted\1", line)
    line = line.replace(" Slave ", " Unpromoted ")
    # crm_simulate stamps injected failures with the wall clock.
    line = re.sub(r"(last-failure-\S*=)\d+", r"\1(time)", line)
    return line.rstrip()


def xml_lines(text):
    """An --output-as=xml document as compared ("xml" above): without the request line, which
    names the tool and the file."""
    text = re.sub(r'^(<pacemaker-result [^>]*request=)"[^"]*"', r'\1""', text, flags=re.M)
    # crm_simulate stamps injected failures with the wall clock.
    text = re.sub(r'(<inject_attr name="last-failure-[^"]*" value=")\d+"', r'\1(time)"', text)
    return text.split("\n")


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

    actions, edges, synapses, attrs = set(), set(), [], {}
    for syn in root.findall("synapse"):
        action = list(syn.find("action_set"))[0]
        k = key(action)
        # The nodes an action takes down, as a set (crm_simulate lists them in hash order).
        downed = action.find("downed")
        if downed is not None:
            actions.add(k + " downed:" + ",".join(sorted(n.get("id") for n in downed)))
        actions.add(k)
        attributes = action.find("attributes")
        if attributes is not None:
            attrs[k] = {n: v for n, v in attributes.attrib.items() if compared_attribute(action, n)}
        inputs = []
        for trigger in syn.find("inputs"):
            first = list(trigger)[0]
            edges.add((key(first), k))
            inputs.append(first.get("id"))
        synapses.append((action.get("id"), k, tuple(sorted(inputs))))
    return actions, edges, synapses, attrs


def compared_attribute(action, name):
    """Whether an action's attribute is compared (docs/policy.md lists what is not yet written:
    notification variables, a fencing action's node attributes; the corpus's older
    crm_simulate wrote no crm_feature_set, which is compared where the expected graph has it)."""
    if name.startswith("CRM_meta_notify_"):
        return False
    if action.get("operation") == "stonith":
        return name in ("CRM_meta_on_node", "CRM_meta_on_node_uuid", "CRM_meta_stonith_action")
    return True


def attribute_diff(expected, ours):
    """Attribute differences of the actions both graphs hold (an attribute only the expected
    graph lacks is fine for crm_feature_set, which the stored corpus graphs do not carry)."""
    out = []
    for k in sorted(set(expected) & set(ours)):
        e, o = expected[k], dict(ours[k])
        if "crm_feature_set" not in e:
            o.pop("crm_feature_set", None)
        if e != o:
            diff = sorted(n for n in set(e) | set(o) if e.get(n) != o.get(n))
            out.append("%s: %s" % (k, ", ".join("%s=%s/%s" % (n, e.get(n), o.get(n)) for n in diff)))
    return out


def dot_sorted(text):
    """A dot file as Pacemaker's regression driver keeps it: its first and last line, and the
    lines between sorted and unique (scheduler.md 2.1)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) < 2:
        return text
    body = sorted(set(lines[1:-1]), key=lambda x: x.encode())
    return "\n".join([lines[0]] + body + [lines[-1]]) + "\n"


def run_test(simulate, corpus, name, verbose):
    xml_path = os.path.join(corpus, "xml", name + ".xml")
    with open(xml_path, encoding="utf-8") as f:
        bundle = re.search(r'<bundle\s[^>]*id="([^"]+)"', f.read())
    with tempfile.TemporaryDirectory() as tmp:
        gpath = os.path.join(tmp, "graph.xml")
        dpath = os.path.join(tmp, "graph.dot")
        # Regression inputs of the random tester may carry crm_simulate arguments (-i, -F, ...).
        args_path = os.path.join(corpus, "xml", name + ".args")
        extra = []
        if os.path.exists(args_path):
            with open(args_path, encoding="utf-8") as f:
                extra = f.read().split()
        try:
            proc = subprocess.run([simulate, "-x", xml_path, "-S", "-G", gpath, "-D", dpath] + extra,
                                  capture_output=True,
                                  text=True, timeout=60, check=False)
        except subprocess.TimeoutExpired:
            return {"error": "timeout"}
        if bundle:
            want = "unsupported: bundle " + bundle.group(1)
            ok = proc.returncode != 0 and want in proc.stderr
            return {"bundle": ok, "error": None if ok else "expected '%s', got rc %d: %s" %
                    (want, proc.returncode, proc.stderr.strip()[:200])}
        # summary/NAME.stderr: crm_simulate's own stderr where it exits with status 1 after its
        # output (a transition that cannot finish: docs/policy.md G5).
        stderr_path = os.path.join(corpus, "summary", name + ".stderr")
        want_stderr = None
        if os.path.exists(stderr_path):
            with open(stderr_path, encoding="utf-8") as f:
                want_stderr = f.read()
            if proc.returncode != 1 or proc.stderr != want_stderr:
                return {"error": "expected rc 1 and %r, got rc %d: %s" %
                        (want_stderr, proc.returncode, proc.stderr.strip()[:300])}
        elif proc.returncode != 0:
            return {"error": "rc %d: %s" % (proc.returncode, proc.stderr.strip()[:300])}
        result = {"error": None, "diff": {}}
        with open(os.path.join(corpus, "summary", name + ".summary"), encoding="utf-8") as f:
            expected = f.read()
        if PLAIN_ARGS & set(extra):
            # The stored output is plain (with scores or utilization): compared whole.
            e = [normalise(line) for line in expected.rstrip("\n").split("\n")]
            g = [normalise(line) for line in proc.stdout.rstrip("\n").split("\n")]
            for label in GATED[:-2] + ["executed", "plain", "scores"]:
                result[label] = e == g
            if e != g:
                result["diff"]["output"] = list(difflib.unified_diff(e, g, "expected", "outpost", lineterm="", n=0))
        else:
            for label, start, ends in SECTIONS:
                e = section(expected, start, ends)
                g = section(proc.stdout, start, ends)
                result[label] = e == g
                if e != g:
                    result["diff"][label] = list(difflib.unified_diff(e, g, "expected", "outpost", lineterm="", n=0))
            # The same with -s: crm_simulate's plain text, and the score lines.
            try:
                splain = subprocess.run([simulate, "-x", xml_path, "-S", "-s"] + extra, capture_output=True,
                                        text=True, timeout=60, check=False)
            except subprocess.TimeoutExpired:
                return {"error": "timeout (-s)"}
            e = without_scores(plain(expected).rstrip("\n"))
            g = without_scores(splain.stdout.rstrip("\n"))
            result["plain"] = splain.returncode == (0 if want_stderr is None else 1) and e == g
            if not result["plain"]:
                result["diff"]["plain"] = list(difflib.unified_diff(e, g, "expected", "outpost", lineterm="", n=0))
            scores_path = os.path.join(corpus, "scores", name + ".scores")
            if os.path.exists(scores_path):
                with open(scores_path, encoding="utf-8") as f:
                    e = sorted(normalise(line) for line in f.read().split("\n") if SCORE_LINE.search(line))
                g = sorted(normalise(line) for line in splain.stdout.split("\n") if SCORE_LINE.search(line))
                result["scores"] = e == g
                if e != g:
                    result["diff"]["scores"] = list(difflib.unified_diff(e, g, "expected", "outpost", lineterm="",
                                                                         n=0))
        xml_out = os.path.join(corpus, "summary", name + ".xmlout")
        if os.path.exists(xml_out):
            with open(xml_out, encoding="utf-8") as f:
                e = xml_lines(f.read())
            try:
                sxml = subprocess.run([simulate, "-x", xml_path, "-S", "--output-as=xml"] + extra,
                                      capture_output=True, text=True, timeout=60, check=False)
            except subprocess.TimeoutExpired:
                return {"error": "timeout (--output-as=xml)"}
            g = xml_lines(sxml.stdout)
            result["xml"] = e == g
            if e != g:
                result["diff"]["xml"] = list(difflib.unified_diff(e, g, "expected", "outpost", lineterm="", n=0))
        dot_path = os.path.join(corpus, "dot", name + ".dot")
        if os.path.exists(dot_path):
            with open(dot_path, encoding="utf-8") as f:
                expected_dot = f.read()
            try:
                with open(dpath, encoding="utf-8") as f:
                    ours_dot = f.read()
            except OSError:
                ours_dot = ""
            if expected_dot == dot_sorted(expected_dot) and ours_dot != expected_dot:
                ours_dot = dot_sorted(ours_dot)
            result["dot"] = ours_dot == expected_dot
            if not result["dot"]:
                result["diff"]["dot"] = list(difflib.unified_diff(expected_dot.splitlines(), ours_dot.splitlines(),
                                                                  "expected", "outpost", lineterm="", n=0))
        eg = graph(os.path.join(corpus, "exp", name + ".exp"))
        og = graph(gpath)
        if eg is None or og is None:
            result["graph"] = False
            result["synapses"] = False
        else:
            attribute_diffs = attribute_diff(eg[3], og[3])
            result["graph"] = eg[0] == og[0] and eg[1] == og[1] and not attribute_diffs
            result["synapses"] = eg[2] == og[2]
            if not result["graph"]:
                d = ["~ attributes " + a for a in attribute_diffs]
                d += ["- action " + a for a in sorted(eg[0] - og[0])]
                d += ["+ action " + a for a in sorted(og[0] - eg[0])]
                d += ["- edge %s -> %s" % x for x in sorted(eg[1] - og[1])]
                d += ["+ edge %s -> %s" % x for x in sorted(og[1] - eg[1])]
                result["diff"]["graph"] = d
        return result


def passed(r):
    """Whether every gated comparison matched (xml and dot only where they were recorded)."""
    return all(r.get(k) for k in GATED) and r.get("xml") is not False and r.get("dot") is not False


def describe(r):
    if r.get("error"):
        return "error: " + r["error"]
    if "bundle" in r:
        return "refused (bundle)"
    bad = [k for k in GATED + ["executed"] if not r.get(k)] + [k for k in ("xml", "dot") if r.get(k) is False]
    note = "" if r.get("scores", True) else ", scores differ"
    if not bad:
        return "match" + ("" if r.get("synapses") else " (synapse order/ids differ)") + note
    return "differs: " + ", ".join(bad) + note


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
    scores_gated = set()
    if args.pass_list == "ALL":
        must_pass = set(names)  # a regression directory: everything must match
        scores_gated = set(names)
    else:
        # "NAME" or "NAME scores" (the score lines are gated too).
        must_pass = set()
        with open(args.pass_list, encoding="utf-8") as f:
            for line in f:
                words = line.split("#")[0].split()
                if words:
                    must_pass.add(words[0])
                    if "scores" in words[1:]:
                        scores_gated.add(words[0])
    # bundle-order-partial's expected files predate 2.1 (scheduler.md 3): not an oracle.
    names = [n for n in names if n != "bundle-order-partial"]
    results, failures = {}, []
    for name in names:
        r = run_test(args.simulate, args.corpus, name, args.verbose)
        results[name] = r
        full = r.get("error") is None and ("bundle" in r or passed(r))
        if name in scores_gated and r.get("scores") is False:
            full = False
        gated = name in must_pass
        print("%-40s %s%s" % (name, describe(r), "" if not gated or full else "   <-- REGRESSION"))
        if args.verbose or (gated and not full):
            for label, lines in r.get("diff", {}).items():
                print("  -- %s" % label)
                for line in lines[:40]:
                    print("     " + line)
        if gated and not full:
            failures.append(name)
    plain_names = [n for n in names if "bundle" not in results[n]]
    full = [n for n in plain_names if results[n].get("error") is None and passed(results[n])]
    print("non-bundle: %d/%d match (current, summary, revised, graph, plain); bundle inputs refused: %d/%d" %
          (len(full), len(plain_names), sum(1 for n in names if results[n].get("bundle")),
           len(names) - len(plain_names)))
    unlisted = sorted(set(full) - must_pass)
    if unlisted:
        print("passing but not on the pass list (add them): " + " ".join(unlisted))
    with_dot = [n for n in plain_names if results[n].get("dot") is not None]
    print("dot graphs (-D): %d/%d match" % (sum(1 for n in with_dot if results[n]["dot"]), len(with_dot)))
    with_scores = [n for n in plain_names if results[n].get("scores") is not None]
    same = [n for n in with_scores if results[n].get("scores")]
    print("score lines (-s): %d/%d match" % (len(same), len(with_scores)))
    unmarked = sorted(set(same) & must_pass - scores_gated)
    if unmarked and args.pass_list != "ALL":
        print("score lines match but not marked \"scores\" in the pass list: " + " ".join(unmarked))
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write("| test | current | summary | executed | revised | graph | synapses | plain (-s) | scores |\n")
            f.write("|---|---|---|---|---|---|---|---|---|\n")
            for n in names:
                r = results[n]
                if r.get("error") or "bundle" in r:
                    f.write("| %s | %s |||||||\n" % (n, describe(r)))
                    continue
                cells = ["yes" if r.get(k) else "**no**" for k in
                         ["current", "summary", "executed", "revised", "graph", "synapses", "plain", "scores"]]
                f.write("| %s | %s |\n" % (n, " | ".join(cells)))
    if failures:
        print("REGRESSIONS: " + " ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
