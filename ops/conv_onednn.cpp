// oneDNN Conv kernel; see conv_onednn.hpp.
#include "ops/conv_onednn.hpp"

#if TSPIKE_WITH_ONEDNN
#include <omp.h>
#endif

#if TSPIKE_WITH_ONEDNN

#include <fmt/format.h>

#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>

namespace tspike::ops {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

struct OneDnnConv final : NodeState {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::convolution_forward primitive;
  // src and dst wrap the plan's buffers (handles set per run); weights, bias
  // and scratchpad are owned here, so Sessions never share mutable oneDNN
  // memory (a user scratchpad instead of oneDNN's per-thread global one).
  memory src, dst, weights, bias, scratchpad;
  // The argument list handed to dnnl_primitive_execute, built once: the C++
  // execute() would copy an unordered_map into a fresh vector on every call.
  dnnl_exec_arg_t args[5];
  int nargs = 0;
};

}  // namespace

bool onednn_available() { return true; }

std::unique_ptr<NodeState> make_onednn_conv(const ConvGeometry& g, const float* weights, const float* bias,
                                            int threads) {
  // oneDNN splits the work for the thread count seen at creation.
  omp_set_num_threads(threads);
  try {
    auto state = std::make_unique<OneDnnConv>();
    const auto f32 = memory::data_type::f32;
    const memory::dims src_dims{g.n, g.c, g.h, g.w}, dst_dims{g.n, g.m, g.win.out_h, g.win.out_w};
    // Grouped weights are 5-D in oneDNN: [G, M/G, C/G, kH, kW], the same
    // bytes as ONNX's [M, C/G, kH, kW].
    const memory::dims w_dims =
        g.group == 1 ? memory::dims{g.m, g.c, g.win.kernel_h, g.win.kernel_w}
                     : memory::dims{g.group, g.m / g.group, g.c / g.group, g.win.kernel_h, g.win.kernel_w};
    const memory::desc src_md(src_dims, f32, tag::nchw), dst_md(dst_dims, f32, tag::nchw);
    const memory::desc w_any(w_dims, f32, tag::any);
    const memory::desc bias_md = bias ? memory::desc({g.m}, f32, tag::x) : memory::desc();
    const memory::dims strides{g.win.stride_h, g.win.stride_w};
    const memory::dims dilates{g.win.dilation_h - 1, g.win.dilation_w - 1};  // oneDNN counts the gaps
    const memory::dims pad_l{g.win.pad_top, g.win.pad_left}, pad_r{g.win.pad_bottom, g.win.pad_right};
    dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                         dnnl::algorithm::convolution_direct, src_md, w_any, bias_md, dst_md,
                                         strides, dilates, pad_l, pad_r);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::convolution_forward::primitive_desc pd(desc, attr, state->engine);
    state->primitive = dnnl::convolution_forward(pd);

    // The one weight reorder, from the model's constant (read only).
    memory user_w({w_dims, f32, g.group == 1 ? tag::oihw : tag::goihw}, state->engine,
                  const_cast<float*>(weights));
    state->weights = memory(pd.weights_desc(), state->engine);
    dnnl::reorder(user_w, state->weights).execute(state->stream, user_w, state->weights);
    state->stream.wait();

    state->src = memory(src_md, state->engine, DNNL_MEMORY_NONE);
    state->dst = memory(dst_md, state->engine, DNNL_MEMORY_NONE);
    state->scratchpad = memory(pd.scratchpad_desc(), state->engine);
    auto& a = state->args;
    int& k = state->nargs;
    a[k++] = {DNNL_ARG_SRC, state->src.get()};
    a[k++] = {DNNL_ARG_WEIGHTS, state->weights.get()};
    a[k++] = {DNNL_ARG_DST, state->dst.get()};
    a[k++] = {DNNL_ARG_SCRATCHPAD, state->scratchpad.get()};
    if (bias) {
      state->bias = memory(bias_md, state->engine);
      std::memcpy(state->bias.get_data_handle(), bias, sizeof(float) * g.m);
      a[k++] = {DNNL_ARG_BIAS, state->bias.get()};
    }
    return state;
  } catch (const dnnl::error&) {
    // No implementation for this geometry (or no memory for it): the
    // reference kernel computes every Conv, so fall back to it.
    return nullptr;
  }
}

void run_onednn_conv(const std::string& label, NodeState& node_state, const float* x, float* y, int threads) {
  auto& s = static_cast<OneDnnConv&>(node_state);
  // oneDNN runs on OpenMP threads. Left to itself it takes every core, and
  // its spinning workers fight the Session's own threads and other processes
  // (measured: 60 ms instead of 1.2 ms per image on a busy 2-core machine).
  // The setting is per calling thread, so Sessions on other threads keep theirs.
  omp_set_num_threads(threads);
  try {
    s.src.set_data_handle(const_cast<float*>(x));
    s.dst.set_data_handle(y);
  } catch (const dnnl::error& e) {
    throw Error(ErrorCode::kUnsupportedOp, fmt::format("{}: oneDNN: {}", label, e.what()));
  }
  dnnl_status_t status = dnnl_primitive_execute(s.primitive.get(), s.stream.get(), s.nargs, s.args);
  if (status == dnnl_success) status = dnnl_stream_wait(s.stream.get());
  if (status != dnnl_success)
    throw Error(ErrorCode::kUnsupportedOp,
                fmt::format("{}: oneDNN convolution failed (status {})", label, static_cast<int>(status)));
}

}  // namespace tspike::ops

#else  // no oneDNN in this build: Conv always keeps the reference kernel.

namespace tspike::ops {

bool onednn_available() { return false; }
std::unique_ptr<NodeState> make_onednn_conv(const ConvGeometry&, const float*, const float*, int) {
  return nullptr;
}
void run_onednn_conv(const std::string&, NodeState&, const float*, float*, int) {}

}  // namespace tspike::ops

#endif
