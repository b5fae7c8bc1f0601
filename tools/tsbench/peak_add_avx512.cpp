// SPDX-License-Identifier: Apache-2.0
// Compiled with -mavx512f (tools/CMakeLists.txt).
#define PEAK_ADD_NAME peak_add_avx512
#define PEAK_ROW_ADD_NAME peak_row_add_avx512
#define PEAK_ADD_BYTES 64
#include "peak_add_kernel.inl"
