#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds tspike and classifies a bundled Fashion-MNIST image with the bundled
# trained ternary-spike network.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
build/tools/tsrun models/fashion_tsnet.onnx --input models/samples/fashion_0_ankle_boot.png --timesteps 4
