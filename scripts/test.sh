#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds tspike and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
