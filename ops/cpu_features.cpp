// SPDX-License-Identifier: Apache-2.0
// CPU feature detection for kernel dispatch; see cpu_features.hpp.
#include "ops/cpu_features.hpp"

#include <algorithm>
#include <cctype>

namespace tspike::ops {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return "avx512";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kPortable:
      break;
  }
  return "portable";
}

Isa cpu_isa() {
  static const Isa isa = [] {
#if defined(__x86_64__) || defined(__i386__)
    // __builtin_cpu_supports also checks that the OS saves the wide
    // registers (XCR0), so a kernel that passes here can use them. Under
    // valgrind, which masks AVX-512 in CPUID, this says avx2.
    __builtin_cpu_init();
    const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                    __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
                    __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("f16c");
    const bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                    __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    return v4 ? Isa::kAvx512 : v3 ? Isa::kAvx2 : Isa::kPortable;
#else
    return Isa::kPortable;
#endif
  }();
  return isa;
}

bool parse_isa(const std::string& text, Isa* isa) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t == "portable")
    *isa = Isa::kPortable;
  else if (t == "avx2")
    *isa = Isa::kAvx2;
  else if (t == "avx512")
    *isa = Isa::kAvx512;
  else
    return false;
  return true;
}

}  // namespace tspike::ops
