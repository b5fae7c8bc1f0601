#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages tspike builds and tests with, when missing.
set -euo pipefail

# ocl-icd-opencl-dev: oneDNN's CMake config (libdnnl-dev, built with OpenCL
# support) looks for OpenCL; Debian only recommends it. valgrind: the
# callgrind_density tests. chromium: the report_chromium test. python3-dev and
# pybind11-dev: the Python module (python/); python3-pytest and
# python3-distributed (Dask): its tests. help2man: the tools' man pages.
# clang-format: the source_format test.
packages=(
  cmake g++ make pkg-config valgrind help2man clang-format
  libonnx-dev libprotobuf-dev protobuf-compiler
  libdnnl-dev ocl-icd-opencl-dev libfmt-dev libgtest-dev libstb-dev libturbojpeg0-dev libcli11-dev nlohmann-json3-dev
  libonnx-testdata zlib1g-dev dataset-fashion-mnist libbenchmark-dev
  python3-torch python3-onnx python3-numpy
  python3-dev pybind11-dev python3-pybind11 python3-pytest python3-distributed
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing Debian packages: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
