#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# clang-format (Debian's clang-format; style in .clang-format) over every C
# and C++ source git tracks.
#   scripts/format.sh           reformat in place
#   scripts/format.sh --check   list what would change; exit 1 if anything
#                               (ctest: source_format)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "clang-format not found (Debian: clang-format)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.inl' '*.c' '*.h' | grep -v '^tests/data/')
case "$*" in
  ""|--check) ;;
  *) echo "usage: scripts/format.sh [--check]" >&2; exit 2 ;;
esac
if [ "${1:-}" = "--check" ]; then
  clang-format --dry-run -Werror "${files[@]}"
else
  clang-format -i "${files[@]}"
fi
