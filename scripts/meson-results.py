#!/usr/bin/env python3
"""Small queries on a meson build directory for scripts/test.

  meson-results.py count BUILDDIR [LOGBASE]
                                       -> "PASSED FAILED SKIPPED" from meson-logs/LOGBASE.json
                                          (default testlog; failed tests are listed on stderr)
  meson-results.py targets BUILDDIR SUITE [SUITE...]
                                       -> ninja output paths the tests of the SUITEs need
  meson-results.py compiler BUILDDIR   -> "gcc", "clang" or "unknown" (C++ compiler in use)
"""
import json
import os
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}
# Everything else (FAIL, TIMEOUT, UNEXPECTEDPASS, ERROR, ...) counts as failed.


def skip_lines(entry, limit=5):
    """The "SKIP: ..." lines a test printed (the harness prints one per skip)."""
    text = (entry.get("stdout") or "") + "\n" + (entry.get("stderr") or "")
    found = [line.strip() for line in text.splitlines() if line.lstrip().startswith("SKIP")]
    return found[:limit]


def count(builddir, logbase="testlog"):
    path = os.path.join(builddir, "meson-logs", logbase + ".json")
    passed = failed = skipped = 0
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as log:
            for line in log:
                line = line.strip()
                if not line:
                    continue
                entry = json.loads(line)
                result = entry.get("result", "ERROR")
                name = entry.get("name", "?")
                reasons = skip_lines(entry)
                if result in PASSED:
                    passed += 1
                    # Test cases skipped inside a passing executable: say so too.
                    for reason in reasons:
                        print(f"  partly skipped: {name}: {reason}", file=sys.stderr)
                elif result in SKIPPED:
                    skipped += 1
                    for reason in reasons or ["(the test printed no reason)"]:
                        print(f"  skipped: {name}: {reason}", file=sys.stderr)
                else:
                    failed += 1
                    print(f"  failed: {entry.get('name', '?')} ({result})", file=sys.stderr)
    print(passed, failed, skipped)


def suite_matches(test_suites, wanted):
    # meson names suites "project:suite"; accept either form.
    return any(s == wanted or s.split(":", 1)[-1] == wanted for s in test_suites)


def targets(builddir, suites):
    info = os.path.join(builddir, "meson-info")
    with open(os.path.join(info, "intro-tests.json")) as f:
        tests = json.load(f)
    with open(os.path.join(info, "intro-targets.json")) as f:
        by_id = {t["id"]: t for t in json.load(f)}
    root = os.path.realpath(builddir)
    outputs = []
    for test in tests:
        if not any(suite_matches(test.get("suite", []), suite) for suite in suites):
            continue
        for dep in test.get("depends", []):
            target = by_id.get(dep)
            if not target:
                continue
            for filename in target.get("filename", []):
                rel = os.path.relpath(os.path.realpath(filename), root)
                if rel not in outputs:
                    outputs.append(rel)
    for output in outputs:
        print(output)


def compiler(builddir):
    path = os.path.join(builddir, "meson-info", "intro-targets.json")
    try:
        with open(path) as f:
            for target in json.load(f):
                for source in target.get("target_sources", []):
                    if source.get("language") != "cpp":
                        continue
                    cmd = " ".join(source.get("compiler", []))
                    print("clang" if "clang" in cmd else "gcc")
                    return
    except (OSError, ValueError):
        pass
    print("unknown")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    command, builddir = sys.argv[1], sys.argv[2]
    if command == "count" and len(sys.argv) <= 4:
        count(builddir, *sys.argv[3:])
    elif command == "targets" and len(sys.argv) >= 4:
        targets(builddir, sys.argv[3:])
    elif command == "compiler":
        compiler(builddir)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
