// SPDX-License-Identifier: Apache-2.0
// Fuzz target: IDX data set files (plain or gzip) -> read_idx. The first byte
// picks the rank (bit 0: 3, images; else 1, labels). read_idx takes a path
// (zlib's gzopen), so the bytes go into a memory file named by
// /proc/self/fd/N: no disk, nothing left behind.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_common.hpp"
#include "tspike/dataset.hpp"
#include "tspike/error.hpp"

using namespace tspike;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int rank = (data[0] & 1) ? 3 : 1;
  const int fd = memfd_create("fuzz.idx", 0);
  if (fd < 0) __builtin_trap();
  for (size_t done = 1; done < size;) {
    const ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) __builtin_trap();
    done += size_t(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    const IdxArray a = read_idx(path, rank, fuzz::small_limits());
    // What read_idx promises: the declared dimensions, exactly their data.
    if (a.dims.size() != size_t(rank)) __builtin_trap();
    size_t elements = 1;
    for (int64_t d : a.dims) elements *= size_t(d);
    if (a.data.size() != elements) __builtin_trap();
  } catch (const Error&) {
  }
  close(fd);
  return 0;
}
