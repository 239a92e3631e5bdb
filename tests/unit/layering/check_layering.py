#!/usr/bin/env python3
"""check_layering.py BUILD_ROOT SOURCE_ROOT: proves the layering rules of docs/architecture.md.

1. The boundaries that are build rules. guest-agent/ and cluster-plugin/ never include
each other, and common/ includes neither: the rule holds because each module's include
path reaches only its own folder and the modules below it. This test takes the exact
compile command meson uses for one source of each module (compile_commands.json),
compiles a one-line probe with it in place of that source (-fsyntax-only) and expects:

- an include of the module's own or a lower module's header to compile (a control: the
  command itself works), and
- an include across the boundary, written relative to the other module's include root
  ("executor/executor.hpp") or to the source root ("guest-agent/executor/executor.hpp"),
  to fail because the header is not found (any other failure proves nothing and fails
  the test).

2. The order inside each program. Every `#include "folder/..."` of every source under
common/, guest-agent/ and cluster-plugin/ must name a folder the including folder may use
(ALLOWED below): each folder uses only the ones beneath it, so no arrow of the inclusion
graph runs back up (in the agent: executor and proxy below server, server below main.cpp).

Exit status 0 if every probe and every include behaves so, 1 otherwise; one line per
probe and per folder.
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
    "common/ipc": ("outpost-ipc", [
        ("ipc/server.hpp", True),
        ("proxy/proxy.hpp", False),
        ("server/server.hpp", False),
        ("connection/remote_client.hpp", False),
        ("guest-agent/proxy/proxy.hpp", False),
    ]),
}

# folder (relative to the source root) -> the include folders its files may name. A file
# directly in a program's folder (guest-agent/main.cpp) is that program's top.
COMMON = {"util", "wire", "tls", "io", "ipc", "metrics"}
ALLOWED = {
    "common/util": {"util"},
    "common/wire": {"util", "wire"},
    "common/tls": {"util", "tls"},
    "common/io": {"util", "wire", "tls", "io"},
    "common/ipc": {"util", "wire", "io", "ipc"},
    "common/metrics": {"util", "io", "metrics"},
    "guest-agent/isolation": {"util", "wire", "io", "metrics", "isolation"},
    "guest-agent/executor": {"util", "wire", "io", "isolation", "executor"},
    "guest-agent/proxy": {"util", "wire", "io", "ipc", "proxy"},
    "guest-agent/server": COMMON | {"executor", "proxy", "server"},
    "guest-agent/lifecycle": {"util", "lifecycle"},
    "guest-agent/cibfollow": {"util", "wire", "io", "isolation", "proxy", "cibfollow"},
    "guest-agent": COMMON | {"isolation", "executor", "proxy", "server", "lifecycle", "cibfollow"},
    "cluster-plugin/connection": {"util", "wire", "tls", "io", "connection"},
    "cluster-plugin/policy": {"util", "wire", "policy"},
    "cluster-plugin/controller": {"util", "wire", "io", "ipc", "controller"},
    "cluster-plugin/control": {"util", "wire", "tls", "io", "connection", "policy", "controller", "control"},
    "cluster-plugin/tools": {"util", "wire", "tls", "io", "ipc", "connection", "policy", "controller", "tools", "watch"},
    # outpost-controld is the one program on both sides: it runs the host's resources with
    # the agent's executor module (one executor, not a second one).
    # It runs `outpost watch`'s engine too (domain_watch.hpp: libvirt's domain events).
    "cluster-plugin/tools/outpost-controld": {"util", "wire", "tls", "io", "ipc", "controller", "control", "tools",
                                              "executor", "metrics", "watch", "lifecycle"},
    "cluster-plugin/lifecycle": {"util", "io", "lifecycle"},
    "cluster-plugin/watch": {"util", "io", "lifecycle", "watch"},
    # The agent's front asks `outpost watch` for domain states: it speaks the watch
    # service's protocol (watch/state_protocol.hpp, pure) and links nothing else of it.
    "ocf/guest": {"util", "wire", "lifecycle", "guest", "watch"},
}
# Generated headers without a folder (config/outpost-config.h).
GENERATED = {"outpost-config.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SOURCE_SUFFIXES = (".cpp", ".hpp", ".h")


def check_include_order(source_root):
    """Part 2: every quoted include names a folder the including folder may use."""
    failures = 0
    for folder in sorted(ALLOWED):
        base = os.path.join(source_root, folder)
        direct_only = folder in ("guest-agent",)
        bad = []
        for dirpath, dirnames, filenames in os.walk(base):
            if direct_only:
                dirnames[:] = []
            elif os.path.relpath(dirpath, source_root) != folder:
                # Nested folders are checked under their own entry, if any.
                sub = os.path.relpath(dirpath, source_root)
                if sub in ALLOWED:
                    dirnames[:] = []
                    continue
            for name in sorted(filenames):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                for included in INCLUDE.findall(text):
                    if included in GENERATED:
                        continue
                    target = included.split("/", 1)[0] if "/" in included else None
                    if target not in ALLOWED[folder]:
                        bad.append(f"{os.path.relpath(path, source_root)}: #include \"{included}\"")
        if bad:
            failures += len(bad)
            print(f"FAIL {folder} may include only {', '.join(sorted(ALLOWED[folder]))}:")
            for line in bad:
                print("     " + line)
        else:
            print(f"ok   {folder}: includes only {', '.join(sorted(ALLOWED[folder]))}")
    return failures

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
    if len(sys.argv) != 3:
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
    failures += check_include_order(sys.argv[2])
    print(f"layering: {failures} probe(s) or include(s) failed" if failures else
          "layering: every boundary holds and no include runs back up")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
