#!/bin/sh
# run-fuzz-smoke.sh FUZZER CORPUS_DIR SECONDS ARTIFACT_DIR
# Runs a libFuzzer target for SECONDS over a scratch copy of its committed seed corpus
# (the fuzzer adds files to the directory it is given; the repository copy stays as it is).
# Crash inputs land in ARTIFACT_DIR; copy them into the corpus once fixed. An input that runs
# longer than 2 s is a failure too (-timeout; replay_main.cpp holds corpus replays to the same).
set -eu
fuzzer=$1 corpus=$2 seconds=$3 artifacts=$4
scratch=$(mktemp -d "${TMPDIR:-/tmp}/outpost-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cp -R "$corpus"/. "$scratch"/
mkdir -p "$artifacts"
name=$(basename "$fuzzer")
exec_status=0
"$fuzzer" -max_total_time="$seconds" -timeout=2 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$name-" "$scratch" || exec_status=$?
if [ "$exec_status" -ne 0 ]; then
    echo "run-fuzz-smoke: $name failed (status $exec_status); crash inputs in $artifacts" >&2
    # libFuzzer's own exit status for a crash is 77, which meson reads as "skipped".
    exit 1
fi
exit 0
