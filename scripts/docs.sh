#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Generates the API reference (Doxygen, from include/tspike and
# docs/getting-started.md) into build/docs/html. Installs Debian's doxygen
# when missing. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v doxygen >/dev/null; then
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends doxygen
fi
mkdir -p build/docs
doxygen Doxyfile
echo "API reference: build/docs/html/index.html"
