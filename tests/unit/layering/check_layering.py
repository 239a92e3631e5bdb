#!/usr/bin/env python3
"""check_layering.py BUILD_ROOT: proves the layering rule of docs/architecture.md.

guest-agent/ and cluster-plugin/ never include each other, and common/ includes neither:
the rule holds because each module's include path reaches only its own folder and the
modules below it. This test takes the exact compile command meson uses for one source
of each module (compile_commands.json), compiles a one-line probe with it in place of
that source (-fsyntax-only) and expects:

- an include of the module's own or a lower module's header to compile (a control: the
  command itself works), and
- an include across the boundary, written relative to the other module's include root
  ("executor/executor.hpp") or to the source root ("guest-agent/executor/executor.hpp"),
  to fail because the header is not found (any other failure proves nothing and fails
  the test).

Exit status 0 if every probe behaves so, 1 otherwise; one line per probe.
"""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

# module -> (a marker in the output path of one of its objects, probes)
# A probe is (header, should_compile).
MODULES = {
    "cluster-plugin": ("liboutpost-cluster", [
        ("connection/remote_client.hpp", True),
        ("wire/messages.hpp", True),
        ("executor/executor.hpp", False),
        ("server/server.hpp", False),
        ("proxy/proxy.hpp", False),
        ("guest-agent/executor/executor.hpp", False),
        ("guest-agent/server/server.hpp", False),
        ("guest-agent/executor/types.hpp", False),
    ]),
    "guest-agent": ("outpost-agent-core", [
        ("executor/executor.hpp", True),
        ("io/connection.hpp", True),
        ("connection/remote_client.hpp", False),
        ("connection/remote_connection.hpp", False),
        ("cluster-plugin/connection/remote_client.hpp", False),
    ]),
    "common/wire": ("outpost-wire", [
        ("wire/frame.hpp", True),
        ("executor/executor.hpp", False),
        ("connection/remote_client.hpp", False),
        ("guest-agent/executor/executor.hpp", False),
        ("cluster-plugin/connection/remote_client.hpp", False),
    ]),
}

# Arguments of a compile command that name outputs or dependency files: dropped, with
# the value that follows the flags in the first set.
DROP_WITH_VALUE = {"-o", "-MQ", "-MF", "-MT"}
DROP = {"-MD", "-MMD", "-c", "-fdiagnostics-color=always"}


def probe_command(entry, probe_path):
    argv = shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])
    if os.path.basename(argv[0]) == "ccache":
        argv = argv[1:]
    source = entry["file"]
    out = [argv[0]]
    skip = False
    for arg in argv[1:]:
        if skip:
            skip = False
            continue
        if arg in DROP_WITH_VALUE:
            skip = True
            continue
        if arg in DROP or arg == source:
            continue
        out.append(arg)
    return out + ["-fsyntax-only", "-x", "c++", probe_path]


def not_found(stderr, header):
    """True if the compiler could not find `header` in the probe's own #include line (a
    header found but failing on a nested include would prove nothing)."""
    pattern = (r"probe\.cpp:1:\d+: fatal error: '?" + re.escape(header) +
               r"'?(: No such file or directory| file not found)")
    return re.search(pattern, stderr) is not None


def main():
    if len(sys.argv) != 2:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    database = os.path.join(sys.argv[1], "compile_commands.json")
    with open(database, encoding="utf-8") as f:
        entries = json.load(f)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="outpost-layering-") as scratch:
        for module, (marker, probes) in MODULES.items():
            entry = next((e for e in entries if marker in e.get("output", "")
                          and e["file"].endswith(".cpp")), None)
            if entry is None:
                print(f"FAIL {module}: no compile command with '{marker}' in {database}")
                failures += 1
                continue
            for header, should_compile in probes:
                probe = os.path.join(scratch, "probe.cpp")
                with open(probe, "w", encoding="utf-8") as f:
                    f.write(f'#include "{header}"\n')
                run = subprocess.run(probe_command(entry, probe), cwd=entry["directory"],
                                     capture_output=True, text=True, check=False)
                if should_compile:
                    ok = run.returncode == 0
                    what = "compiles" if ok else "does not compile (the control failed)"
                else:
                    ok = run.returncode != 0 and not_found(run.stderr, header)
                    what = ("not found, as it must be" if ok else
                            "COMPILES: the boundary is open" if run.returncode == 0 else
                            "failed for another reason than not found")
                print(f"{'ok  ' if ok else 'FAIL'} {module} (as {os.path.basename(entry['file'])}): "
                      f'#include "{header}": {what}')
                if not ok:
                    failures += 1
                    if run.stderr and not (not should_compile and run.returncode == 0):
                        print("     " + run.stderr.strip().replace("\n", "\n     "))
    print(f"layering: {failures} probe(s) failed" if failures else "layering: every boundary holds")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
