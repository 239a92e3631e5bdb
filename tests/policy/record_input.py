#!/usr/bin/env python3
"""Records a hand-written input for tests/policy/inputs: the CIB, the crm_simulate arguments
of the test, and crm_simulate 2.1.5's own output for them (the expected output), in the
corpus layout that corpus_diff.py reads.

Usage: record_input.py [--regression] CIB NAME [CRM_SIMULATE_ARGS...]
  writes inputs/xml/NAME.xml (a copy of CIB), inputs/xml/NAME.args (if there are arguments),
  inputs/summary/NAME.summary (crm_simulate -x CIB -S -G ... -D ... ARGS), inputs/exp/NAME.exp
  (its graph), inputs/dot/NAME.dot (its dot graph, as written), inputs/summary/NAME.xmlout
  (the same with --output-as=xml), and inputs/summary/NAME.stderr where crm_simulate exits
  with status 1 after "An invalid transition was produced". Needs the installed crm_simulate.
  With --regression: into regressions/ (a disagreement that was fixed, made by hand)
  instead of inputs/.
"""
import os
import shutil
import subprocess
import sys
import tempfile

TESTS = os.path.dirname(os.path.abspath(__file__))


def main():
    argv = sys.argv[1:]
    here = os.path.join(TESTS, "inputs")
    if argv[:1] == ["--regression"]:
        here = os.path.join(TESTS, "regressions")
        argv = argv[1:]
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    cib, name, args = argv[0], argv[1], argv[2:]
    crm = shutil.which("crm_simulate") or "/usr/sbin/crm_simulate"
    for d in ("xml", "summary", "exp", "dot"):
        os.makedirs(os.path.join(here, d), exist_ok=True)
    xml = os.path.join(here, "xml", name + ".xml")
    if os.path.abspath(cib) != os.path.abspath(xml):
        shutil.copy(cib, xml)
    args_path = os.path.join(here, "xml", name + ".args")
    if args:
        with open(args_path, "w", encoding="utf-8") as f:
            f.write(" ".join(args) + "\n")
    elif os.path.exists(args_path):
        os.remove(args_path)
    with tempfile.TemporaryDirectory() as tmp:
        # -O: crm_simulate 2.1.5 needs somewhere to write the simulated CIB.
        proc = subprocess.run([crm, "-x", xml, "-S", "-G", os.path.join(here, "exp", name + ".exp"),
                               "-D", os.path.join(here, "dot", name + ".dot"), "-O", os.path.join(tmp, "out.xml")]
                              + args,
                              capture_output=True, text=True, check=False)
    # Status 1 with "An invalid transition was produced": a transition that cannot finish
    # (docs/policy.md G5), recorded with its stderr (summary/NAME.stderr).
    invalid = proc.returncode == 1 and "An invalid transition was produced" in proc.stderr
    if proc.returncode != 0 and not invalid:
        print("crm_simulate failed (%d): %s" % (proc.returncode, proc.stderr.strip()), file=sys.stderr)
        return 1
    with open(os.path.join(here, "summary", name + ".summary"), "w", encoding="utf-8") as f:
        f.write(proc.stdout)
    stderr_path = os.path.join(here, "summary", name + ".stderr")
    if invalid:
        with open(stderr_path, "w", encoding="utf-8") as f:
            f.write(proc.stderr)
    elif os.path.exists(stderr_path):
        os.remove(stderr_path)
    # The same as --output-as=xml (compared by corpus_diff.py, "xml").
    proc = subprocess.run([crm, "-x", xml, "-S", "--output-as=xml"] + args, capture_output=True, text=True,
                          check=False)
    with open(os.path.join(here, "summary", name + ".xmlout"), "w", encoding="utf-8") as f:
        f.write(proc.stdout)
    print("recorded %s" % name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
