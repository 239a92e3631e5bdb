#!/usr/bin/env python3
"""Small queries on a meson build directory for scripts/test.

  meson-results.py count BUILDDIR [LOGBASE]
                                       -> "PASSED FAILED SKIPPED [failed: NAME,...]" from
                                          meson-logs/LOGBASE.json (default testlog; failed
                                          tests are also listed on stderr)
  meson-results.py failures BUILDDIR LOGBASE [LINES]
                                       -> the last LINES (default 30) lines each failed test
                                          printed, under a heading with its name
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


def entries(builddir, logbase):
    """The test results of meson-logs/LOGBASE.json, one dict per test (none if no log)."""
    path = os.path.join(builddir, "meson-logs", logbase + ".json")
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            line = line.strip()
            if line:
                yield json.loads(line)


def count(builddir, logbase="testlog"):
    passed = failed = skipped = 0
    failed_names = []
    for entry in entries(builddir, logbase):
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
            failed_names.append(name.split(" / ")[-1])
            print(f"  failed: {name} ({result})", file=sys.stderr)
    # The names go in the closing summary too: CI keeps only the tail of a run's output.
    note = f" failed: {','.join(failed_names)}" if failed_names else ""
    print(f"{passed} {failed} {skipped}{note}")


def failures(builddir, logbase, lines=30):
    # Catch2 prints the failed assertion where it happens, often long before the end, so
    # each failure's own lines come first (up to three), then the test's last lines.
    for entry in entries(builddir, logbase):
        result = entry.get("result", "ERROR")
        if result in PASSED or result in SKIPPED:
            continue
        text = (entry.get("stdout") or "") + "\n" + (entry.get("stderr") or "")
        kept = [l for l in text.splitlines() if l.strip()]
        print(f"--- {entry.get('name', '?')} ({result}, {entry.get('duration', 0):.0f} s)")
        marks = [i for i, l in enumerate(kept) if "FAILED:" in l or "ERROR:" in l][:3]
        shown_to = 0
        for i in marks:
            start = max(i - 12, shown_to)
            print(f"  at the failure (line {i + 1} of {len(kept)}):")
            for l in kept[start:i + 12]:
                print(f"    {l}")
            shown_to = i + 12
        sanitizer_report(kept)
        rest = kept[max(len(kept) - int(lines), shown_to):]
        if rest:
            print("  last lines:")
        for l in rest:
            print(f"    {l}")


def sanitizer_report(kept, frames_per_stack=14):
    # An ASan report's frames are mostly the standard library's and Catch2's; what tells
    # the cause is each stack's own frames (access, free, allocation). Show those, short.
    start = next((i for i, l in enumerate(kept) if "ERROR: AddressSanitizer" in l or
                  "ERROR: LeakSanitizer" in l), None)
    if start is None:
        return
    print("  sanitizer report (library frames left out):")
    in_stack = 0
    for l in kept[start:]:
        text = l.strip()
        if text.startswith("#"):
            if in_stack >= frames_per_stack or "/usr/include/c++/" in text or \
                    "sanitizer_common" in text or "libsanitizer" in text:
                continue
            in_stack += 1
            print(f"    {text[:220]}")
            continue
        in_stack = 0
        if text.startswith("Shadow bytes") or text.startswith("0x0") or text.startswith("=>"):
            continue
        if "SUMMARY:" in text or "of size" in text or "thread T" in text or \
                "is located" in text or "ERROR:" in text:
            print(f"    {text[:220]}")
        if "SUMMARY:" in text:
            break


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
    elif command == "failures" and 4 <= len(sys.argv) <= 5:
        failures(builddir, *sys.argv[3:])
    elif command == "targets" and len(sys.argv) >= 4:
        targets(builddir, sys.argv[3:])
    elif command == "compiler":
        compiler(builddir)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
