#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds tspike with AddressSanitizer + UndefinedBehaviorSanitizer in
# build-asan/ (-DTSPIKE_SANITIZE=ON) and runs the whole test suite there.
# Any sanitizer report fails the test that triggered it (UBSan does not
# recover; ASan aborts), so ctest fails.
# Extra arguments go to ctest (e.g. -R Hostile).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Release -DTSPIKE_SANITIZE=ON -DTSPIKE_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$(nproc)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0"
ctest --test-dir build-asan --output-on-failure -j"$(nproc)" "$@"
