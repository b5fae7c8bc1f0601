// SPDX-License-Identifier: Apache-2.0
// The build's baseline flags (SSE2 on x86-64; 128-bit vectors elsewhere).
#define PEAK_ADD_NAME peak_add_portable
#define PEAK_ROW_ADD_NAME peak_row_add_portable
#define PEAK_ADD_BYTES 16
#include "peak_add_kernel.inl"
