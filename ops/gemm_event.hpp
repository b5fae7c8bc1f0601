// Event-driven Gemm and MatMul for a left operand of {-1, 0, +1} (fed
// directly by a TernarySpike without amplitude, found at load time) and
// constant weights.
//
// Made once at load (EventGemm::make): B is repacked to [K][N padded to 16],
// a contiguous row of output features per input feature. Per plan a
// NodeState holds the spike lists of every row of A; per timestep each row
// of A is compacted into its +1 and -1 features, and each event adds or
// subtracts its weight row into accumulators held in vector registers
// (blocks of up to 128 outputs). Gemm applies alpha and beta * C once per
// output afterwards. The kernels live in the same per-ISA files as the Conv
// ones (conv_event_<isa>.cpp); a value that is not -1, 0 or +1 makes the
// timestep run the dense reference instead.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ops/conv_event.hpp"
#include "ops/neuron.hpp"

namespace tspike::ops {

// What EventGemm::run does to each row of sums once it has them, while the
// row is in cache: y = alpha * y + beta * C (Gemm), then a fused TernarySpike
// (Op::fuse_neuron) over the [rows, n] output, whose channels are the n
// columns.
struct GemmEpilogue {
  float alpha = 1.0f, beta = 0.0f;
  const float* c = nullptr;  // C broadcast to [rows, n]: c[(c_rows > 1 ? i : 0) * c_cols + (c_cols > 1 ? j : 0)]
  int64_t c_rows = 1, c_cols = 1;
  const NeuronParams* neuron = nullptr;  // null: no neuron
  float* u = nullptr;                    // its membrane, [rows, n]
  float* spikes = nullptr;               // its output, [rows, n]
};

class EventGemm {
 public:
  // b: [k, n] (trans_b false) or [n, k] (trans_b true). Null when the sizes
  // do not suit the kernel.
  static std::unique_ptr<EventGemm> make(const float* b, int64_t k, int64_t n, bool trans_b, Isa isa);

  // Scratch for A with `rows` rows.
  std::unique_ptr<NodeState> prepare(int64_t rows) const;

  // y [rows, n] = a [rows, k] x B as raw sums, then `epilogue` (if any) on
  // each row; *fired (if given) gets the fused neuron's spikes. Returns
  // false (y undefined, the neuron untouched) when a holds a value other
  // than -1, 0, +1: the caller then runs its reference kernel. Allocates
  // nothing.
  bool run(const RunContext& ctx, NodeState& state, const float* a, float* y, const GemmEpilogue* epilogue = nullptr,
           int64_t* fired = nullptr) const;

  // Whether the TernarySpike `p` can run in the row epilogue: its amplitude
  // has one value or one per column.
  bool takes_neuron(const NeuronParams& p) const {
    return p.amplitude.size() <= 1 || static_cast<int64_t>(p.amplitude.size()) == n_;
  }
  // "event/avx512", and ", fused with TernarySpike 'name'" with `fused`.
  std::string describe(const NeuronParams* fused = nullptr) const;
  int64_t k() const { return k_; }
  int64_t n() const { return n_; }

 private:
  EventGemm() = default;
  const EventGemmKernels* kernels_ = nullptr;
  Isa isa_ = Isa::kPortable;
  int64_t k_ = 0, n_ = 0, np_ = 0;
  AlignedBuffer<float> weights_;  // [k][np]
};

// The TernarySpike that a Gemm or MatMul took into its event kernel at
// load (Op::fuse_neuron).
struct GemmNeuron {
  bool fused = false;
  NeuronParams params;
  bool take(const EventGemm* event, const NeuronParams& p) {
    if (!event || !event->takes_neuron(p)) return false;
    params = p;
    return fused = true;
  }
  const NeuronParams* get() const { return fused ? &params : nullptr; }
};

}  // namespace tspike::ops
