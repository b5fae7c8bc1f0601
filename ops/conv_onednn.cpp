// SPDX-License-Identifier: Apache-2.0
// oneDNN Conv kernel; see conv_onednn.hpp.
#include "ops/conv_onednn.hpp"

#if TSPIKE_WITH_ONEDNN

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

#include "base/thread_pool.hpp"

namespace tspike::ops {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

// What one Session thread needs to execute the primitive while the others
// do too: oneDNN streams are not shared between threads, and each call needs
// its own scratchpad (user scratchpad mode: no oneDNN global one either, so
// Sessions never share mutable oneDNN memory).
struct Slot {
  dnnl::stream stream;
  // src and dst wrap the plan's buffers (handles set per call).
  memory src, dst, scratchpad;
  // The primitive's own layouts when it chose blocked ones (memory it owns),
  // else src and dst themselves.
  memory conv_src, conv_dst;
  // The argument lists handed to dnnl_primitive_execute, built once: the C++
  // execute() would copy an unordered_map into a fresh vector on every call.
  dnnl_exec_arg_t args[5];
  int nargs = 0;
  dnnl_exec_arg_t src_args[2], dst_args[2];
};

// One primitive and the weights it reads: the whole convolution, or, when a
// sample's output channels are split over threads, channels [m0, m1) of it.
struct Piece {
  dnnl::convolution_forward primitive;
  // NCHW to the primitive's source layout and its destination layout to
  // NCHW, when it chose blocked ones; else null.
  dnnl::primitive src_reorder, dst_reorder;
  memory weights, bias;  // reordered once, read by every slot
  int64_t y_offset = 0;  // floats from a sample's output to this piece's channels
  std::vector<Slot> slots;
};

struct OneDnnConv final : NodeState {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  // Per-sample mode (the default): the primitive is made for one sample and
  // run once per sample, the batch split over one piece's slots (Session
  // threads). Channel-split mode (fewer samples than threads): one piece per
  // thread, each for a range of output channels, run on every sample.
  // OpenMP mode: one call over the whole batch on `omp_threads` OpenMP threads.
  std::vector<Piece> pieces;
  int64_t n = 1, in_size = 0, out_size = 0;
  bool per_sample = true;
  int omp_threads = 1;
};

// TSPIKE_ONEDNN_OMP=1 restores one call over the batch on oneDNN's OpenMP
// threads, for comparison; read once, at the first Conv made.
bool omp_mode() {
  static const bool on = [] {
    const char* v = std::getenv("TSPIKE_ONEDNN_OMP");
    return v && *v && std::string(v) != "0";
  }();
  return on;
}

dnnl_status_t execute(const Piece& p, Slot& slot, const float* x, float* y) {
  dnnl_status_t status = dnnl_memory_set_data_handle(slot.src.get(), const_cast<float*>(x));
  if (status == dnnl_success) status = dnnl_memory_set_data_handle(slot.dst.get(), y + p.y_offset);
  if (status == dnnl_success && p.src_reorder)
    status = dnnl_primitive_execute(p.src_reorder.get(), slot.stream.get(), 2, slot.src_args);
  if (status == dnnl_success)
    status = dnnl_primitive_execute(p.primitive.get(), slot.stream.get(), slot.nargs, slot.args);
  if (status == dnnl_success && p.dst_reorder)
    status = dnnl_primitive_execute(p.dst_reorder.get(), slot.stream.get(), 2, slot.dst_args);
  if (status == dnnl_success) status = dnnl_stream_wait(slot.stream.get());
  return status;
}

// The piece for output channels [m0, m1) of `g` over `n` samples, with
// `slots` streams and scratchpads. Throws dnnl::error when oneDNN cannot.
Piece make_piece(const dnnl::engine& engine, const ConvGeometry& g, int64_t n, int64_t m0, int64_t m1,
                 const float* weights, const float* bias, int64_t slots) {
  Piece piece;
  const auto f32 = memory::data_type::f32;
  const int64_t m = m1 - m0;
  const memory::dims src_dims{n, g.c, g.h, g.w}, dst_dims{n, m, g.win.out_h, g.win.out_w};
  // Grouped weights are 5-D in oneDNN: [G, M/G, C/G, kH, kW], the same
  // bytes as ONNX's [M, C/G, kH, kW]. (Only ungrouped ones are split.)
  const memory::dims w_dims =
      g.group == 1 ? memory::dims{m, g.c, g.win.kernel_h, g.win.kernel_w}
                   : memory::dims{g.group, g.m / g.group, g.c / g.group, g.win.kernel_h, g.win.kernel_w};
  const memory::desc src_md(src_dims, f32, tag::nchw), dst_md(dst_dims, f32, tag::nchw);
  const memory::desc w_any(w_dims, f32, tag::any);
  // Activations in whatever layout oneDNN's fastest kernel wants (blocked
  // channels: its direct convolutions), reordered from and to NCHW around
  // each call; with NCHW itself it falls back to GEMM-based convolution,
  // which is slower and whose kernels take tens of ms to generate in a
  // fresh process (docs/engines.md).
  const memory::desc src_any(src_dims, f32, tag::any), dst_any(dst_dims, f32, tag::any);
  const memory::desc bias_md = bias ? memory::desc({m}, f32, tag::x) : memory::desc();
  const memory::dims strides{g.win.stride_h, g.win.stride_w};
  const memory::dims dilates{g.win.dilation_h - 1, g.win.dilation_w - 1};  // oneDNN counts the gaps
  const memory::dims pad_l{g.win.pad_top, g.win.pad_left}, pad_r{g.win.pad_bottom, g.win.pad_right};
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                       dnnl::algorithm::convolution_direct, src_any, w_any, bias_md, dst_any,
                                       strides, dilates, pad_l, pad_r);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::convolution_forward::primitive_desc pd(desc, attr, engine);
  piece.primitive = dnnl::convolution_forward(pd);
  const bool src_blocked = pd.src_desc() != src_md, dst_blocked = pd.dst_desc() != dst_md;
  if (src_blocked)
    piece.src_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(engine, src_md, engine, pd.src_desc()));
  if (dst_blocked)
    piece.dst_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(engine, pd.dst_desc(), engine, dst_md));
  piece.y_offset = m0 * g.win.out_h * g.win.out_w;

  // The one weight reorder, from the model's constant (read only); rows
  // [m0, m1) of [M, C, kH, kW] are contiguous.
  const int64_t row = g.c / g.group * g.win.kernel_h * g.win.kernel_w;
  dnnl::stream stream(engine);
  memory user_w({w_dims, f32, g.group == 1 ? tag::oihw : tag::goihw}, engine,
                const_cast<float*>(weights + m0 * row));
  piece.weights = memory(pd.weights_desc(), engine);
  dnnl::reorder(user_w, piece.weights).execute(stream, user_w, piece.weights);
  stream.wait();
  if (bias) {
    piece.bias = memory(bias_md, engine);
    std::memcpy(piece.bias.get_data_handle(), bias + m0, sizeof(float) * m);
  }

  piece.slots.resize(slots);
  for (Slot& slot : piece.slots) {
    slot.stream = dnnl::stream(engine);
    slot.src = memory(src_md, engine, DNNL_MEMORY_NONE);
    slot.dst = memory(dst_md, engine, DNNL_MEMORY_NONE);
    slot.scratchpad = memory(pd.scratchpad_desc(), engine);
    slot.conv_src = src_blocked ? memory(pd.src_desc(), engine) : slot.src;
    slot.conv_dst = dst_blocked ? memory(pd.dst_desc(), engine) : slot.dst;
    slot.src_args[0] = {DNNL_ARG_FROM, slot.src.get()};
    slot.src_args[1] = {DNNL_ARG_TO, slot.conv_src.get()};
    slot.dst_args[0] = {DNNL_ARG_FROM, slot.conv_dst.get()};
    slot.dst_args[1] = {DNNL_ARG_TO, slot.dst.get()};
    auto& a = slot.args;
    int& k = slot.nargs;
    a[k++] = {DNNL_ARG_SRC, slot.conv_src.get()};
    a[k++] = {DNNL_ARG_WEIGHTS, piece.weights.get()};
    a[k++] = {DNNL_ARG_DST, slot.conv_dst.get()};
    a[k++] = {DNNL_ARG_SCRATCHPAD, slot.scratchpad.get()};
    if (bias) a[k++] = {DNNL_ARG_BIAS, piece.bias.get()};
  }
  return piece;
}

// Output-channel boundaries for splitting one sample over `threads`: ranges
// of whole 16-channel blocks (oneDNN's channel block on AVX-512), as even as
// possible, the remainder in the last. Just [0, M] when the batch alone
// gives every thread a sample, when groups are used, when M < 32, or when
// a piece would get under kMinPieceMacs multiply-adds: on the 7x7 and 14x14
// layers of models/fashion_resnet19.onnx (0.2-0.5 M per piece) the split
// made batch 1 on two threads 1.1x slower, the thread hand-off costing more
// than the work it shares.
std::vector<int64_t> channel_split(const ConvGeometry& g, int threads) {
  constexpr int64_t kBlock = 16, kMinPieceMacs = int64_t{1} << 21;
  const int64_t blocks = g.m / kBlock;
  const int64_t parts = std::min<int64_t>(threads, blocks);
  const int64_t macs = g.m * g.win.out_h * g.win.out_w * (g.c / g.group) * g.win.kernel_h * g.win.kernel_w;
  if (g.group != 1 || g.n >= threads || parts < 2 || macs / parts < kMinPieceMacs) return {0, g.m};
  std::vector<int64_t> bounds;
  for (int64_t t = 0; t < parts; ++t) bounds.push_back(kBlock * (blocks * t / parts));
  bounds.push_back(g.m);
  return bounds;
}

}  // namespace

bool onednn_available() { return true; }

std::unique_ptr<NodeState> make_onednn_conv(const ConvGeometry& g, const float* weights, const float* bias,
                                            int threads) {
  auto state = std::make_unique<OneDnnConv>();
  state->per_sample = !omp_mode();
  state->omp_threads = state->per_sample ? 1 : threads;
  // oneDNN splits the work for the OpenMP thread count seen at creation
  // (a per-thread setting). One thread: the primitive runs inline and never
  // starts an OpenMP team, whose spinning workers would fight the Session's.
  omp_set_num_threads(state->omp_threads);
  try {
    const int64_t n = state->per_sample ? 1 : g.n;
    state->n = g.n;
    state->in_size = g.c * g.h * g.w;
    state->out_size = g.m * g.win.out_h * g.win.out_w;
    // Whole samples per thread when the batch has enough of them: the same
    // primitive computes every sample whatever the thread count. With fewer
    // samples than threads, each sample's output channels are split over
    // one piece per thread instead. That is bitwise equal to the whole
    // primitive only because oneDNN's direct convolutions sum each output
    // over the input channels and window in an order that does not depend
    // on how many output channels the primitive has (tests/
    // test_onednn_threads.cpp checks it; its GEMM-based ones did not).
    const std::vector<int64_t> bounds =
        state->per_sample ? channel_split(g, threads) : std::vector<int64_t>{0, g.m};
    const int64_t pieces = static_cast<int64_t>(bounds.size()) - 1;
    const int64_t slots =
        state->per_sample && pieces == 1 ? std::max<int64_t>(1, std::min<int64_t>(threads, g.n)) : 1;
    for (int64_t p = 0; p < pieces; ++p)
      state->pieces.push_back(
          make_piece(state->engine, g, n, bounds[p], bounds[p + 1], weights, bias, slots));
    // One call of each piece now, on zeros: oneDNN finishes setting its
    // kernels up on a first execution, which is load-time work. (With NCHW
    // activations it chose GEMM-based convolutions, whose first execution
    // generated its GEMM kernels: 26 ms in a fresh process on a quiet
    // machine, 40-95 ms on a loaded one, for models/fashion_tsnet.onnx's
    // first layer.)
    std::vector<float> src(static_cast<size_t>(n * state->in_size)),
        dst(static_cast<size_t>(n * state->out_size));
    for (Piece& piece : state->pieces)
      if (execute(piece, piece.slots[0], src.data(), dst.data()) != dnnl_success) return nullptr;
    return state;
  } catch (const dnnl::error&) {
    // No implementation for this geometry (or no memory for it): the
    // reference kernel computes every Conv, so fall back to it.
    return nullptr;
  }
}

int64_t onednn_conv_pieces(const NodeState& state) {
  return static_cast<int64_t>(static_cast<const OneDnnConv&>(state).pieces.size());
}

void run_onednn_conv(const std::string& label, NodeState& node_state, const float* x, float* y,
                     const RunContext& ctx) {
  auto& s = static_cast<OneDnnConv&>(node_state);
  const auto fail = [&](dnnl_status_t status) {
    return Error(ErrorCode::kUnsupportedOp,
                 fmt::format("{}: oneDNN convolution failed (status {})", label, static_cast<int>(status)));
  };
  if (!s.per_sample) {
    // Left to itself OpenMP takes every core; the setting is per calling
    // thread, so Sessions on other threads keep theirs.
    omp_set_num_threads(s.omp_threads);
    Piece& piece = s.pieces[0];
    if (const dnnl_status_t status = execute(piece, piece.slots[0], x, y); status != dnnl_success)
      throw fail(status);
    return;
  }
  std::atomic<int> failed{dnnl_success};
  const auto run_one = [&](const Piece& piece, Slot& slot, int64_t k) {
    const dnnl_status_t status = execute(piece, slot, x + k * s.in_size, y + k * s.out_size);
    if (status != dnnl_success) failed = status;
  };
  if (s.pieces.size() > 1) {
    // Channel split: index t of the parallel_for is piece t (its one slot),
    // run on every sample.
    parallel_for(ctx, static_cast<int64_t>(s.pieces.size()), [&](int64_t t0, int64_t t1) {
      omp_set_num_threads(1);  // this thread's setting: oneDNN runs inline
      for (int64_t t = t0; t < t1; ++t)
        for (int64_t k = 0; k < s.n; ++k) run_one(s.pieces[t], s.pieces[t].slots[0], k);
    });
  } else {
    // Slot t takes samples [n*t/slots, n*(t+1)/slots); each index of the
    // parallel_for is one slot, so no two threads share a stream or scratchpad.
    Piece& piece = s.pieces[0];
    const int64_t slots = static_cast<int64_t>(piece.slots.size());
    parallel_for(ctx, slots, [&](int64_t t0, int64_t t1) {
      omp_set_num_threads(1);
      for (int64_t t = t0; t < t1; ++t)
        for (int64_t k = s.n * t / slots; k < s.n * (t + 1) / slots; ++k) run_one(piece, piece.slots[t], k);
    });
  }
  if (failed.load() != dnnl_success) throw fail(static_cast<dnnl_status_t>(failed.load()));
}

}  // namespace tspike::ops

#else  // no oneDNN in this build: Conv always keeps the reference kernel.

namespace tspike::ops {

bool onednn_available() { return false; }
std::unique_ptr<NodeState> make_onednn_conv(const ConvGeometry&, const float*, const float*, int) {
  return nullptr;
}
int64_t onednn_conv_pieces(const NodeState&) { return 0; }
void run_onednn_conv(const std::string&, NodeState&, const float*, float*, const RunContext&) {}

}  // namespace tspike::ops

#endif
