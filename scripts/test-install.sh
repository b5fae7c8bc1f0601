#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs a built tspike into a temporary prefix, then builds the example
# (examples/classify) outside the tree twice — with find_package(tspike) and
# with a plain g++ command line from `pkg-config --cflags --libs tspike` —
# and checks that both classify the bundled ankle boot as "Ankle boot".
#   scripts/test-install.sh [BUILD_DIR]     (default build; must be built)
# Registered in ctest as install_and_example.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$src/build}" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
model="$src/models/fashion_tsnet.onnx"
image="$src/models/samples/fashion_0_ankle_boot.png"

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/tspike/tspike.hpp"
test -x "$tmp/prefix/bin/tsrun"

# One version everywhere: the tools, pkg-config, the CMake package.
version="$("$tmp/prefix/bin/tsrun" --version)"
version="${version#tsrun }"
for tool in tsconvert tseval tsbench; do
  [ "$("$tmp/prefix/bin/$tool" --version)" = "$tool $version" ] || { echo "FAILED: $tool --version" >&2; exit 1; }
done
PKG_CONFIG_PATH="$(dirname "$(find "$tmp/prefix" -name tspike.pc)")" pkg-config --modversion tspike |
  grep -qx "$version" || { echo "FAILED: tspike.pc's version is not $version" >&2; exit 1; }
grep -q "PACKAGE_VERSION \"$version\"" "$(find "$tmp/prefix" -name tspikeConfigVersion.cmake)" ||
  { echo "FAILED: the CMake package's version is not $version" >&2; exit 1; }
echo "ok: version $version everywhere"

# The license, the bundled code's licenses, the man pages (help2man).
doc="$tmp/prefix/share/doc/tspike"
for f in LICENSE CHANGELOG.md licenses/stb.txt licenses/CLI11.txt; do
  test -s "$doc/$f" || { echo "FAILED: $doc/$f not installed" >&2; exit 1; }
done
for tool in tsrun tsconvert tseval tsbench; do
  page="$tmp/prefix/share/man/man1/$tool.1"
  test -s "$page" || { echo "FAILED: no man page $page (Debian: help2man)" >&2; exit 1; }
  grep -qF -- '\-\-version' "$page" || { echo "FAILED: $page does not list the options" >&2; exit 1; }
done
grep -qF -- '\-\-timesteps' "$tmp/prefix/share/man/man1/tsrun.1"
echo "ok: licenses and man pages installed"
test -s "$tmp/prefix/share/tspike/bench/torch_eager.py"

check() {
  local got
  got="$("$@")"
  if [ "$got" != "Ankle boot" ]; then
    echo "FAILED: $* printed '$got', expected 'Ankle boot'" >&2
    exit 1
  fi
  echo "ok: $1 -> $got"
}

# 1. CMake: find_package(tspike) from the prefix; a copy of the example, so
#    nothing of the source tree is on its include path.
cp -r "$src/examples/classify" "$tmp/classify"
cmake -S "$tmp/classify" -B "$tmp/build-cmake" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tmp/build-cmake" >/dev/null
check "$tmp/build-cmake/classify" "$model" "$image"

# 2. pkg-config: headers and library flags only; rpath so that it runs from
#    the temporary prefix.
export PKG_CONFIG_PATH="$(dirname "$(find "$tmp/prefix" -name tspike.pc)")"
libdir="$(pkg-config --variable=libdir tspike)"
g++ -std=c++17 -O1 "$tmp/classify/classify.cpp" -o "$tmp/classify-pc" \
  $(pkg-config --cflags --libs tspike) -Wl,-rpath,"$libdir"
check "$tmp/classify-pc" "$model" "$image"

# 2b. The C streaming example (examples/stream_c), C89, the same way; its
#     last line is the label.
gcc -std=c89 -pedantic -Wall -Werror "$src/examples/stream_c/stream.c" -o "$tmp/stream" \
  $(pkg-config --cflags --libs tspike) -Wl,-rpath,"$libdir"
got="$("$tmp/stream" "$model" "$image" | tail -n 1)"
[ "$got" = "Ankle boot" ] || { echo "FAILED: examples/stream_c printed '$got'" >&2; exit 1; }
echo "ok: stream (C) -> $got"

# 3. The installed tools run from the prefix (rpath $ORIGIN/../lib).
got="$("$tmp/prefix/bin/tsrun" "$model" --input "$image" --quiet)"
[ "$got" = "Ankle boot" ] || { echo "FAILED: installed tsrun printed '$got'" >&2; exit 1; }
echo "ok: installed tsrun -> $got"
