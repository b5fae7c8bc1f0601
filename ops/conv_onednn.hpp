// SPDX-License-Identifier: Apache-2.0
// Conv through a oneDNN convolution primitive (fp32, forward inference).
//
// The primitive (for one sample of the input shape), a stream and scratchpad
// per Session thread, and the weights reordered once into the layout the
// primitive prefers are made in Conv::prepare() and kept in the plan's
// NodeState; run() only points the primitive at each sample of the plan's
// input and output buffers and executes it. Activations stay in plain NCHW
// so that no reorder runs per call.
//
// The declarations do not depend on oneDNN: a build without it
// (TSPIKE_WITH_ONEDNN off) gets stubs that make nothing, so Conv keeps one
// code path and tests can ask whether the kernel exists.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ops/op.hpp"
#include "ops/window.hpp"

namespace tspike::ops {

// Everything the primitive is built from: the input, the output channels
// and groups, and the window as resolve_window() found it for this input
// (dilation in ONNX terms, 1 = dense).
struct ConvGeometry {
  int64_t n, c, h, w;  // input
  int64_t m, group;    // output channels, groups
  Window2D win;
};

// True when this build has the oneDNN kernels.
bool onednn_available();

// Builds the primitive for `g` with the constant weights [M, C/group, kH, kW]
// and optional bias [M] (copied: the state does not refer to them later).
// Returns nullptr when oneDNN cannot make it (no implementation for this
// geometry, or a build without oneDNN): the caller keeps the reference kernel.
// `threads`: the Session's thread count. The primitive is made for one
// sample and one OpenMP thread; a batch runs its samples split over up to
// `threads` Session threads, each with its own stream and scratchpad. With
// fewer samples than threads (no groups, M >= 32, >= 2 M multiply-adds a
// thread) each sample's output channels are split instead: one primitive
// per thread for a range of whole 16-channel blocks, each writing its slice
// of the NCHW output.
// (TSPIKE_ONEDNN_OMP=1 instead makes one primitive over the batch for
// `threads` OpenMP threads.)
std::unique_ptr<NodeState> make_onednn_conv(const ConvGeometry& g, const float* weights, const float* bias,
                                            int threads);

// How many primitives split each sample's output channels in `state` (from
// make_onednn_conv): 1 when none do, 0 in a build without oneDNN.
int64_t onednn_conv_pieces(const NodeState& state);

// Runs the primitive `state` (from make_onednn_conv) on NCHW buffers of the
// shapes it was made for, on ctx.pool's threads (inline without a pool).
// Allocates nothing of its own; oneDNN's execute does (see
// conv_onednn.cpp). Throws Error(kUnsupportedOp) naming `label` if oneDNN
// fails.
void run_onednn_conv(const std::string& label, NodeState& state, const float* x, float* y,
                     const RunContext& ctx);

}  // namespace tspike::ops
