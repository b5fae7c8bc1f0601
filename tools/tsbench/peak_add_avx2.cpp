// SPDX-License-Identifier: Apache-2.0
// Compiled with -mavx2 (tools/CMakeLists.txt).
#define PEAK_ADD_NAME peak_add_avx2
#define PEAK_ROW_ADD_NAME peak_row_add_avx2
#define PEAK_ADD_BYTES 32
#include "peak_add_kernel.inl"
