#!/bin/sh
# run.sh FUZZER CORPUS [SECONDS] - run a libFuzzer target over the corpus kept
# in the repository and for SECONDS (default 10) more, writing what it finds
# to a scratch directory, never into the repository.
set -eu
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$1" -max_total_time="${3:-10}" -max_len=4096 -print_final_stats=1 "$out" "$2"
