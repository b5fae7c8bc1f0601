#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the tests with ThreadSanitizer in build-tsan/ (-DTSPIKE_TSAN=ON,
# without oneDNN, whose OpenMP runtime TSan cannot see) and runs the tests in
# which one Model is shared by Sessions on several threads, and sessions use
# their own worker threads: the pool itself, and the kernels that split work
# over it in ways of their own (the event Conv's tile and row splits, the Gemm rows,
# the elementwise split, layer-major runs). Any data race fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Release -DTSPIKE_TSAN=ON -DTSPIKE_WITH_ONEDNN=OFF -DTSPIKE_BUILD_BENCH=OFF >/dev/null
cmake --build build-tsan -j"$(nproc)" --target tspike_tests
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
  build-tsan/tests/tspike_tests --gtest_filter='Session.OneModelManyThreads:Session.Threads*:ThreadPool.*:EventKernels.*:EventTiling.*:Elementwise*:LayerMajor.*'
