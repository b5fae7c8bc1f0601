#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, then configures and builds tspike in build/.
# Extra arguments go to CMake's configure step (e.g. -DTSPIKE_WITH_ONEDNN=OFF).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"$(nproc)"
# Which commit build/ holds (scripts/check-fresh.sh compares test counts only then).
git rev-parse HEAD > build/source-commit 2>/dev/null || true
