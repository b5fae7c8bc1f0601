// SPDX-License-Identifier: Apache-2.0
// Event-driven Conv for inputs of {-1, 0, +1} (a Conv fed directly by a
// TernarySpike without amplitude, found at load time by runtime/model.cpp).
//
// Made once at load (EventConv::make): the weights are repacked
// channels-last, [group][ky][kx][cin/group][cout/group padded to 16], so that
// the weight row of one (tap, input channel) is contiguous over the output
// channels. Per plan (EventConv::prepare) a NodeState holds the scratch:
// spike maps and per-thread lists. Per timestep and sample (EventConv::run):
//   1. compact: the NCHW input becomes, per input pixel and group, a list of
//      +1 events (from the front of a slot of cin/group entries) and of -1
//      events (from its back); an entry is the event's row offset in floats;
//   2. accumulate: for each output pixel, the events under every tap are
//      gathered into one +1 and one -1 list; for each block of up to 128
//      output channels held in vector registers, every event adds (or
//      subtracts) its weight row; then a transposing store to NCHW.
// Work is proportional to the events, not to the dense size. A batch of at
// least as many samples as threads runs whole samples per thread; a smaller
// one splits each sample's rows. Each output is computed by the same code
// whatever the thread count.
//
// The auto engine counts the spikes of the batch first and runs the
// timestep through oneDNN when they are denser than the crossover measured
// for the instruction set (event_auto_crossover).
//
// Kernels: portable, AVX2 and AVX-512, one source file each
// (conv_event_portable.cpp, conv_event_avx2.cpp, conv_event_avx512.cpp,
// compiled with their own flags; shared code in event_kernels.inl), chosen
// once at load from the CPU's features (ops/cpu_features.hpp). A value that
// is not -1, 0 or +1 (which the load-time analysis rules out, but a
// hand-made graph could send) makes that sample run through a reference
// kernel over the packed weights (the same sums in the same order as
// conv_reference): results stay correct. Nothing here reads the ONNX-layout
// weights after make(), so the loader drops the model's copy (Op::packed_input).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ops/conv_onednn.hpp"
#include "ops/cpu_features.hpp"
#include "ops/event_common.hpp"
#include "ops/event_kernels.hpp"
#include "ops/event_tiling.hpp"
#include "ops/op.hpp"

namespace tspike::ops {

// The reference Conv (ops/conv.cpp): the definition, one output at a time,
// over g.n samples of NCHW data.
void conv_reference(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y);

// Spike density above which the auto engine runs a timestep densely
// (oneDNN), per instruction set; measured with bench/bench_conv
// (docs/engines.md).
double event_auto_crossover(Isa isa);

class EventConv {
 public:
  // weights: ONNX [M, C/group, kH, kW]; bias: [M] or null. Returns null when
  // the shapes do not suit the kernel (offsets beyond 32 bits).
  // `dense_fallback`: the auto engine (a timestep denser than
  // event_auto_crossover() runs through oneDNN when the build has it).
  // `tiling`: output channels per weight tile and taps per chunk
  // (ops/event_tiling.hpp); zeros choose them from the shape and the CPU's
  // caches. Any tiling gives the same outputs to the bit.
  static std::unique_ptr<EventConv> make(const float* weights, int64_t m, int64_t cg, int64_t kh, int64_t kw,
                                         int64_t group, const float* bias, Isa isa, bool dense_fallback,
                                         EventTiling tiling = {0, 0}, bool half_weights = false);

  // The state for geometry `g` and `threads` threads: spike maps (and, for
  // the auto engine, room for oneDNN's primitive, made by run() the first
  // time a timestep runs densely). The working memory of run() (per thread) comes from the
  // RunContext's scratch, of *scratch_bytes per thread; with scratch_bytes
  // null the state holds its own (for callers without a plan).
  std::unique_ptr<NodeState> prepare(const ConvGeometry& g, int threads,
                                     int64_t* scratch_bytes = nullptr) const;

  // One timestep: x and y NCHW of the prepared geometry. Allocates nothing
  // (oneDNN, when auto picks it, may; and the first dense timestep of the
  // plan makes oneDNN's primitive).
  void run(const RunContext& ctx, NodeState& state, const float* x, float* y) const;

  // "event/avx512", or "auto: event/avx512 up to 45% spikes, else oneDNN".
  std::string describe() const;
  Isa isa() const { return kernels_->isa; }
  int64_t tile_width() const { return tw_; }
  int64_t tiles() const { return tiles_; }
  int64_t chunk_taps() const { return chunk_taps_; }
  bool half_weights() const { return half_; }

 private:
  EventConv() = default;
  // oneDNN's primitive for the auto engine's dense timesteps.
  std::unique_ptr<NodeState> make_dense(const ConvGeometry& g, int threads) const;
  // conv_reference's loops over the packed weights, for g.n samples.
  void reference(const ConvGeometry& g, const float* x, float* y) const;
  const EventConvKernels* kernels_ = nullptr;
  // Where weight (group g, tap ky kx, input channel ic, output channel j of
  // the group) is in weights_.
  int64_t packed(int64_t g, int64_t ky, int64_t kx, int64_t ic, int64_t j) const {
    return (((((g * tiles_ + j / tw_) * kh_ + ky) * kw_ + kx) * cg_ + ic) * tw_) + j % tw_;
  }
  int64_t m_ = 0, cg_ = 0, kh_ = 0, kw_ = 0, group_ = 1, mg_ = 0, mgp_ = 0, tw_ = 16, tiles_ = 1,
          chunk_taps_ = 1;
  bool dense_fallback_ = false, has_bias_ = false;
  // Weight k as a float.
  float weight(int64_t k) const { return store_half_ ? half_to_float(half_weights_[k]) : weights_[k]; }
  const void* packed_weights() const {
    return store_half_ ? static_cast<const void*>(half_weights_.data()) : weights_.data();
  }
  // half_: the weights are rounded to half floats (tspike.weights = fp16);
  // store_half_: and kept in 16 bits (in half_weights_, else in weights_).
  bool half_ = false, store_half_ = false;
  AlignedBuffer<float> weights_;  // [group][tile][kh][kw][cg][tw]
  AlignedBuffer<uint16_t> half_weights_;
  AlignedBuffer<float> bias_;  // [group][mgp], zeros without bias
};

// What EventConv::run did since prepare (tests and benchmarks read it).
struct EventConvCounters {
  int64_t event_samples = 0, dense_samples = 0, events = 0;
};
const EventConvCounters& event_conv_counters(const NodeState& state);

}  // namespace tspike::ops
