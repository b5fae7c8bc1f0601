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

struct OneDnnConv final : NodeState {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::convolution_forward primitive;
  // NCHW to the primitive's source layout and its destination layout to
  // NCHW, when it chose blocked ones; else null.
  dnnl::primitive src_reorder, dst_reorder;
  memory weights, bias;  // reordered once, read by every slot
  // Per-sample mode (the default): the primitive is made for one sample and
  // run once per sample, the batch split over `slots` Session threads.
  // OpenMP mode: one call over the whole batch on `omp_threads` OpenMP threads.
  int64_t n = 1, in_size = 0, out_size = 0;
  bool per_sample = true;
  int omp_threads = 1;
  std::vector<Slot> slots;
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

dnnl_status_t execute(const OneDnnConv& s, Slot& slot, const float* x, float* y) {
  dnnl_status_t status = dnnl_memory_set_data_handle(slot.src.get(), const_cast<float*>(x));
  if (status == dnnl_success) status = dnnl_memory_set_data_handle(slot.dst.get(), y);
  if (status == dnnl_success && s.src_reorder)
    status = dnnl_primitive_execute(s.src_reorder.get(), slot.stream.get(), 2, slot.src_args);
  if (status == dnnl_success)
    status = dnnl_primitive_execute(s.primitive.get(), slot.stream.get(), slot.nargs, slot.args);
  if (status == dnnl_success && s.dst_reorder)
    status = dnnl_primitive_execute(s.dst_reorder.get(), slot.stream.get(), 2, slot.dst_args);
  if (status == dnnl_success) status = dnnl_stream_wait(slot.stream.get());
  return status;
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
    const auto f32 = memory::data_type::f32;
    const int64_t n = state->per_sample ? 1 : g.n;
    state->n = g.n;
    state->in_size = g.c * g.h * g.w;
    state->out_size = g.m * g.win.out_h * g.win.out_w;
    const memory::dims src_dims{n, g.c, g.h, g.w}, dst_dims{n, g.m, g.win.out_h, g.win.out_w};
    // Grouped weights are 5-D in oneDNN: [G, M/G, C/G, kH, kW], the same
    // bytes as ONNX's [M, C/G, kH, kW].
    const memory::dims w_dims =
        g.group == 1 ? memory::dims{g.m, g.c, g.win.kernel_h, g.win.kernel_w}
                     : memory::dims{g.group, g.m / g.group, g.c / g.group, g.win.kernel_h, g.win.kernel_w};
    const memory::desc src_md(src_dims, f32, tag::nchw), dst_md(dst_dims, f32, tag::nchw);
    const memory::desc w_any(w_dims, f32, tag::any);
    // Activations in whatever layout oneDNN's fastest kernel wants (blocked
    // channels: its direct convolutions), reordered from and to NCHW around
    // each call; with NCHW itself it falls back to GEMM-based convolution,
    // which is slower and whose kernels take tens of ms to generate in a
    // fresh process (docs/engines.md).
    const memory::desc src_any(src_dims, f32, tag::any), dst_any(dst_dims, f32, tag::any);
    const memory::desc bias_md = bias ? memory::desc({g.m}, f32, tag::x) : memory::desc();
    const memory::dims strides{g.win.stride_h, g.win.stride_w};
    const memory::dims dilates{g.win.dilation_h - 1, g.win.dilation_w - 1};  // oneDNN counts the gaps
    const memory::dims pad_l{g.win.pad_top, g.win.pad_left}, pad_r{g.win.pad_bottom, g.win.pad_right};
    dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                         dnnl::algorithm::convolution_direct, src_any, w_any, bias_md,
                                         dst_any, strides, dilates, pad_l, pad_r);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::convolution_forward::primitive_desc pd(desc, attr, state->engine);
    state->primitive = dnnl::convolution_forward(pd);
    const bool src_blocked = pd.src_desc() != src_md, dst_blocked = pd.dst_desc() != dst_md;
    if (src_blocked)
      state->src_reorder =
          dnnl::reorder(dnnl::reorder::primitive_desc(state->engine, src_md, state->engine, pd.src_desc()));
    if (dst_blocked)
      state->dst_reorder =
          dnnl::reorder(dnnl::reorder::primitive_desc(state->engine, pd.dst_desc(), state->engine, dst_md));

    // The one weight reorder, from the model's constant (read only).
    dnnl::stream stream(state->engine);
    memory user_w({w_dims, f32, g.group == 1 ? tag::oihw : tag::goihw}, state->engine,
                  const_cast<float*>(weights));
    state->weights = memory(pd.weights_desc(), state->engine);
    dnnl::reorder(user_w, state->weights).execute(stream, user_w, state->weights);
    stream.wait();
    if (bias) {
      state->bias = memory(bias_md, state->engine);
      std::memcpy(state->bias.get_data_handle(), bias, sizeof(float) * g.m);
    }

    // Whole samples per thread: the same primitive computes every sample
    // whatever the thread count, so the results are identical to one
    // thread's. (Splitting a sample's output channels over primitives is
    // not: oneDNN's GEMM sums in an order that depends on the slice.)
    const int64_t slots = state->per_sample ? std::max<int64_t>(1, std::min<int64_t>(threads, g.n)) : 1;
    state->slots.resize(slots);
    for (Slot& slot : state->slots) {
      slot.stream = dnnl::stream(state->engine);
      slot.src = memory(src_md, state->engine, DNNL_MEMORY_NONE);
      slot.dst = memory(dst_md, state->engine, DNNL_MEMORY_NONE);
      slot.scratchpad = memory(pd.scratchpad_desc(), state->engine);
      slot.conv_src = src_blocked ? memory(pd.src_desc(), state->engine) : slot.src;
      slot.conv_dst = dst_blocked ? memory(pd.dst_desc(), state->engine) : slot.dst;
      slot.src_args[0] = {DNNL_ARG_FROM, slot.src.get()};
      slot.src_args[1] = {DNNL_ARG_TO, slot.conv_src.get()};
      slot.dst_args[0] = {DNNL_ARG_FROM, slot.conv_dst.get()};
      slot.dst_args[1] = {DNNL_ARG_TO, slot.dst.get()};
      auto& a = slot.args;
      int& k = slot.nargs;
      a[k++] = {DNNL_ARG_SRC, slot.conv_src.get()};
      a[k++] = {DNNL_ARG_WEIGHTS, state->weights.get()};
      a[k++] = {DNNL_ARG_DST, slot.conv_dst.get()};
      a[k++] = {DNNL_ARG_SCRATCHPAD, slot.scratchpad.get()};
      if (bias) a[k++] = {DNNL_ARG_BIAS, state->bias.get()};
    }
    // One call now, on zeros: oneDNN finishes setting its kernels up on a
    // first execution, which is load-time work. (With NCHW activations it
    // chose GEMM-based convolutions, whose first execution generated its
    // GEMM kernels: 26 ms in a fresh process on a quiet machine, 40-95 ms
    // on a loaded one, for models/fashion_tsnet.onnx's first layer.)
    std::vector<float> src(static_cast<size_t>(n * state->in_size)),
        dst(static_cast<size_t>(n * state->out_size));
    if (execute(*state, state->slots[0], src.data(), dst.data()) != dnnl_success) return nullptr;
    return state;
  } catch (const dnnl::error&) {
    // No implementation for this geometry (or no memory for it): the
    // reference kernel computes every Conv, so fall back to it.
    return nullptr;
  }
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
    if (const dnnl_status_t status = execute(s, s.slots[0], x, y); status != dnnl_success) throw fail(status);
    return;
  }
  const int64_t slots = static_cast<int64_t>(s.slots.size());
  std::atomic<int> failed{dnnl_success};
  // Slot t takes samples [n*t/slots, n*(t+1)/slots); each index of the
  // parallel_for is one slot, so no two threads share a stream or scratchpad.
  const auto run_slots = [&](int64_t t0, int64_t t1) {
    omp_set_num_threads(1);  // this thread's setting: oneDNN runs inline
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t k = s.n * t / slots; k < s.n * (t + 1) / slots; ++k) {
        const dnnl_status_t status = execute(s, s.slots[t], x + k * s.in_size, y + k * s.out_size);
        if (status != dnnl_success) failed = status;
      }
  };
  parallel_for(ctx, slots, run_slots);
  if (failed.load() != dnnl_success) throw fail(static_cast<dnnl_status_t>(failed.load()));
}

}  // namespace tspike::ops

#else  // no oneDNN in this build: Conv always keeps the reference kernel.

namespace tspike::ops {

bool onednn_available() { return false; }
std::unique_ptr<NodeState> make_onednn_conv(const ConvGeometry&, const float*, const float*, int) {
  return nullptr;
}
void run_onednn_conv(const std::string&, NodeState&, const float*, float*, const RunContext&) {}

}  // namespace tspike::ops

#endif
