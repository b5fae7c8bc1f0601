// SPDX-License-Identifier: Apache-2.0
// Event-driven Gemm / MatMul: weight repacking, scratch, dispatch. See
// gemm_event.hpp.
#include "ops/gemm_event.hpp"

#include <fmt/format.h>

#include <atomic>
#include <limits>

namespace tspike::ops {

const EventGemmKernels& event_gemm_kernels(Isa isa) {
#if TSPIKE_X86_KERNELS
  if (isa == Isa::kAvx512) return event_gemm_kernels_avx512();
  if (isa == Isa::kAvx2) return event_gemm_kernels_avx2();
#else
  (void)isa;
#endif
  return event_gemm_kernels_portable();
}

namespace {

struct EventGemmState final : NodeState {
  EventGemmShape shape;
  AlignedBuffer<uint32_t> entries, plus, minus;
};

}  // namespace

std::unique_ptr<EventGemm> EventGemm::make(const float* b, int64_t k, int64_t n, bool trans_b, Isa isa) {
  if (k <= 0 || n <= 0) return nullptr;
  const int64_t np = round_up(n, kEventRowPad);
  if (k * np > std::numeric_limits<uint32_t>::max() || k > std::numeric_limits<uint32_t>::max())
    return nullptr;
  std::unique_ptr<EventGemm> gemm(new EventGemm());
  gemm->kernels_ = &event_gemm_kernels(isa);
  gemm->isa_ = isa;
  gemm->k_ = k, gemm->n_ = n, gemm->np_ = np;
  gemm->weights_ = AlignedBuffer<float>(k * np);
  for (int64_t f = 0; f < k; ++f)
    for (int64_t j = 0; j < n; ++j) gemm->weights_[f * np + j] = trans_b ? b[j * k + f] : b[f * n + j];
  return gemm;
}

std::unique_ptr<NodeState> EventGemm::prepare(int64_t rows) const {
  auto state = std::make_unique<EventGemmState>();
  state->shape = EventGemmShape{rows, k_, n_, np_};
  state->entries = AlignedBuffer<uint32_t>(rows * k_);
  state->plus = AlignedBuffer<uint32_t>(rows);
  state->minus = AlignedBuffer<uint32_t>(rows);
  return state;
}

bool EventGemm::run(const RunContext& ctx, NodeState& node_state, const float* a, float* y,
                    const GemmEpilogue* epilogue) const {
  auto& st = static_cast<EventGemmState&>(node_state);
  const SpikeMap map{st.entries.data(), st.plus.data(), st.minus.data()};
  const int64_t n = st.shape.n;
  // Rows are independent: each thread compacts and accumulates its own.
  std::atomic<bool> bad{false};
  auto finish = [&](int64_t r0, int64_t r1) {
    kernels_->accumulate(st.shape, weights_.data(), map, y, r0, r1);
    if (!epilogue) return;
    const GemmEpilogue& e = *epilogue;
    for (int64_t i = r0; i < r1; ++i)
      for (int64_t j = 0; j < n; ++j) {
        float& out = y[i * n + j];
        if (e.alpha != 1.0f) out *= e.alpha;
        if (e.c) out += e.beta * e.c[(e.c_rows > 1 ? i : 0) * e.c_cols + (e.c_cols > 1 ? j : 0)];
      }
  };
  // True when rows [r0, r1) hold only -1, 0, +1.
  auto compact = [&](int64_t r0, int64_t r1) {
    bool chunk_bad = false;
    kernels_->compact(st.shape, a, map, r0, r1, &chunk_bad);
    if (chunk_bad) bad = true;
    return !chunk_bad;
  };
  parallel_for(ctx, st.shape.rows, [&](int64_t r0, int64_t r1) {
    if (compact(r0, r1)) finish(r0, r1);
  });
  return !bad.load();
}

std::string EventGemm::describe() const { return fmt::format("event/{}", isa_name(isa_)); }

}  // namespace tspike::ops
