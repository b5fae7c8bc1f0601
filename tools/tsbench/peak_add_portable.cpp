// The build's baseline flags (SSE2 on x86-64).
#define PEAK_ADD_NAME peak_add_portable
#define PEAK_ADD_BYTES 16
#include "peak_add_kernel.inl"
