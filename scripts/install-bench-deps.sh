#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what tsbench's optional columns need (docs/benchmarks.md):
# Node.js and npm (Debian), then the npm package onnxruntime-node at the
# version of tools/bench/package-lock.json into tools/bench/node_modules.
# ONNXRUNTIME_NODE_INSTALL=skip: the package's CPU binaries ship inside it;
# its install script would only fetch GPU libraries.
# PyTorch (python3-torch) comes with scripts/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends nodejs npm
fi

cd tools/bench
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
node -e "require('onnxruntime-node')" && echo "onnxruntime-node installed in tools/bench/node_modules"
