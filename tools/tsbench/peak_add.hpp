// SPDX-License-Identifier: Apache-2.0
// The machine's peak fp32 vector-add rate, measured: what an event-driven
// layer (one add per synaptic operation) could reach at best.
#pragma once

#include <string>

namespace tspike::bench {

struct PeakAdd {
  std::string isa;         // "avx512", "avx2", "sse2" ("128-bit" off x86)
  double per_thread = 0;   // fp32 adds per second, one thread alone
  double all_threads = 0;  // the sum, with `threads` threads at once
  int threads = 1;
  // One thread, each add taking one operand from a weight row (the event
  // kernels' inner loop without their bookkeeping), rows picked at random
  // from a buffer of half the L1d, and of half the L2: the most an event
  // layer can reach when its rows come from that cache.
  int64_t l1_bytes = 0, l2_bytes = 0;  // the buffers
  double rows_from_l1 = 0, rows_from_l2 = 0;
};

// Runs the register-only add loop at the CPU's best instruction set, first on
// one thread, then on `threads` threads at once (best of a few runs of
// about `seconds` each).
PeakAdd measure_peak_add(int threads, double seconds = 0.1);

}  // namespace tspike::bench
