// SPDX-License-Identifier: Apache-2.0
// CPU feature detection for kernel dispatch; see cpu_features.hpp.
#include "ops/cpu_features.hpp"

#include <algorithm>
#include <cctype>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

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

#if defined(__x86_64__) || defined(__i386__)
// F16C from CPUID leaf 1 (ECX bit 29): clang 14's __builtin_cpu_supports
// does not know "f16c" (the fuzz build uses clang). F16C uses the AVX
// registers, whose OS support the avx2 check in cpu_isa() covers.
static bool has_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) != 0;
}
#endif

Isa cpu_isa() {
  static const Isa isa = [] {
#if defined(__x86_64__) || defined(__i386__)
    // __builtin_cpu_supports also checks that the OS saves the wide
    // registers (XCR0), so a kernel that passes here can use them. Under
    // valgrind, which masks AVX-512 in CPUID, this says avx2.
    __builtin_cpu_init();
    const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                    __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
                    __builtin_cpu_supports("popcnt") && has_f16c();
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
