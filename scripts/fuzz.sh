#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets (tests/fuzz) with clang in build-fuzz/ and runs
# each for SECONDS (default 60) on a copy of its seed corpus.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     targets: fuzz_model fuzz_npy fuzz_image fuzz_run fuzz_idx fuzz_events
# Findings (crash-*, leak-*, timeout-*, oom-*) are written to build-fuzz/findings/;
# any finding fails the script. Each run prints libFuzzer's execution count.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_model fuzz_npy fuzz_image fuzz_run fuzz_idx fuzz_events)

scripts/install-deps.sh
scripts/install-fuzz-deps.sh
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Release \
  -DTSPIKE_FUZZ=ON -DTSPIKE_WITH_ONEDNN=OFF -DTSPIKE_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]}"

mkdir -p build-fuzz/findings
status=0
for t in "${targets[@]}"; do
  seeds="tests/fuzz/corpus/${t#fuzz_}"
  work="build-fuzz/corpus/${t#fuzz_}"
  mkdir -p "$work"
  log="build-fuzz/findings/$t.log"
  echo "== $t: ${seconds}s on $seeds"
  # New inputs go into $work (first directory), never into the source tree.
  if ! ASAN_OPTIONS=detect_leaks=1 \
      "build-fuzz/tests/fuzz/$t" "$work" "$seeds" \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
      -artifact_prefix="build-fuzz/findings/$t-" -print_final_stats=1 >"$log" 2>&1; then
    status=1
    echo "$t: FAILED (see $log):"
    grep -E "ERROR|runtime error|Assertion|deadly|Test unit written" "$log" | head -20 || true
  fi
  grep -E "^stat::number_of_executed_units|^Done" "$log" || true
done
exit $status
