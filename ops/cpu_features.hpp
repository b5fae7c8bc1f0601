// SPDX-License-Identifier: Apache-2.0
// The instruction sets tspike's optimized kernels are compiled for, and the
// one that runs: the best the CPU has, capped by TSPIKE_ISA and
// LoadOptions::max_isa. Asked once when a model is loaded; the kernels are
// picked then and kept in the op (no feature checks in hot loops).
#pragma once

#include <string>

namespace tspike::ops {

// Ordered: a higher value runs everything a lower one does.
enum class Isa : int {
  kPortable = 0,  // plain C++ (the baseline the library is compiled for)
  kAvx2 = 1,      // AVX2 + FMA + BMI1/2 + POPCNT + F16C (x86-64-v3)
  kAvx512 = 2,    // the above + AVX-512 F/BW/DQ/VL (x86-64-v4)
};

const char* isa_name(Isa isa);

// The best of the above that this CPU (and OS) runs; found once.
Isa cpu_isa();

// "portable", "avx2", "avx512" (any case) -> Isa; false for anything else.
bool parse_isa(const std::string& text, Isa* isa);

// min(cpu_isa(), cap).
inline Isa usable_isa(Isa cap) {
  return static_cast<int>(cpu_isa()) < static_cast<int>(cap) ? cpu_isa() : cap;
}

}  // namespace tspike::ops
