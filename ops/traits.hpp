// SPDX-License-Identifier: Apache-2.0
// What the rest of tspike needs to know about an op, kept with the op.
//
// Each op's registry entry (ops/registry.cpp) carries its OpTraits, defined
// in the op's own file. The load-time analysis of which layers consume
// spikes (runtime/model.cpp), the converter's passes and checker
// (converter/), and the profile (runtime/profile.cpp) read them; no list of
// op names lives outside ops/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/values.hpp"
#include "tspike/tensor.hpp"

namespace onnx {
class NodeProto;
class TensorProto;
}  // namespace onnx

namespace tspike::ops {

// The domain of tspike's own ops in ONNX files (spec section 1).
inline constexpr const char* kDomain = "tspike";

// What the op's output holds when its data input (input 0) holds spikes,
// values in {-1, 0, +1}: whether a layer further on may still add and
// subtract weight rows instead of multiplying.
enum class SpikeFlow : uint8_t {
  kStops,     // real values
  kKeeps,     // values of input 0 only, moved, selected or their maximum: still spikes
  kKeepsAll,  // values of every input (Concat): spikes where every input holds spikes
  kAverages,  // window averages of input 0: multiples of 1/k
};

// How a per-channel scale on the op's data input (a spike amplitude, spec
// section 3.2) crosses the op, for the converter's amplitude folding.
enum class ScaleFlow : uint8_t {
  kStops,               // the op does not take a scaled input: the amplitude stays before it
  kIntoWeights,         // a layer: the scale folds into the weights of its data input
  kThrough,             // commutes with any per-channel scale
  kThroughNonNegative,  // commutes with a scale >= 0 only (a maximum, a rectifier)
  kFlatten,             // flattening from axis 1: feature j has the scale of channel j / (H*W)
  kConcat,              // joining on axis 1: the inputs' scales side by side
  kMulByConstant,       // elementwise product with a constant that keeps the shape
  kDivByConstant,       // the dividend of a division by such a constant
  kOnEdge,              // a sum: nothing to absorb the scale, which stays on the edge (added per event)
  kShapeOnly,           // reads only the input's shape
};

// Where a layer's weights (input 1) keep its input features and output
// channels, for folding a scale of its input features (an amplitude) or of
// its output channels (a BatchNormalization).
struct WeightLayout {
  int out_axis = 0;
  int in_axis = 1;
  // Output channel m sees the input features of group m / (M / groups);
  // in_axis then counts the features of one group.
  int64_t groups = 1;
  // Why input 0's features do not map to in_axis (for example a
  // transposed data operand); empty when they do.
  std::string data_problem;
};

// Calls fn(k, m, f) for each element k of weights of `shape` (row-major),
// with its output channel m and its input feature f (counted over all
// groups). For conversion, not for kernels.
template <typename F>
void for_each_weight(const Shape& shape, const WeightLayout& layout, F&& fn) {
  auto stride = [&](int axis) {
    int64_t s = 1;
    for (size_t d = size_t(axis) + 1; d < shape.size(); ++d) s *= shape[d];
    return s;
  };
  const int64_t outs = shape[layout.out_axis], ins = shape[layout.in_axis];
  const int64_t out_stride = stride(layout.out_axis), in_stride = stride(layout.in_axis);
  const int64_t outs_per_group = outs / layout.groups;
  const int64_t total = element_count(shape);
  for (int64_t k = 0; k < total; ++k) {
    const int64_t m = k / out_stride % outs;
    fn(k, m, m / outs_per_group * ins + k / in_stride % ins);
  }
}

// How an average pool of spikes folds into the layer it feeds (spec 3.3).
enum class PoolFold : uint8_t {
  kNone,
  // A 2-D convolution over the pooled map: its kernel, strides and pads
  // (ONNX's kernel_shape, strides, pads) scale by the window, each weight
  // (its last two axes are the kernel) spread over the window.
  kSpatial,
  // Fed through a flattening from axis 1: input feature j (WeightLayout's
  // in_axis) spreads over the pixels of j's window.
  kFeatures,
};

struct LayerTraits {
  // The layout of `node`'s weights of shape `weights` when its data input
  // has rank `data_rank` (-1: unknown). Returns an empty string, or why
  // such weights do not fit the op.
  std::string (*weight_layout)(const onnx::NodeProto& node, const Shape& weights, int64_t data_rank,
                               WeightLayout& layout) = nullptr;
  // A BatchNormalization that alone reads the layer's output folds into the
  // layer's weights and its bias (input 2).
  bool folds_batchnorm = false;
  // The float attribute that multiplies the bias input (Gemm's beta); null: none.
  const char* bias_scale_attribute = nullptr;
  PoolFold pool_fold = PoolFold::kNone;
};

// y = (x - center[c]) * factor[c] + shift[c] along axis 1.
struct PerChannelAffine {
  std::vector<double> center, factor, shift;
};

// What the model checker knows of a node's inputs after ONNX's shape
// inference, for an op's own checks of the format's rules.
struct NodeFacts {
  std::vector<std::optional<Shape>> input_shapes;      // -1 for an unknown dimension; nullopt: rank unknown
  std::vector<const onnx::TensorProto*> initializers;  // null where the input is not an initializer
};

struct OpTraits {
  SpikeFlow spikes = SpikeFlow::kStops;
  ScaleFlow scale = ScaleFlow::kStops;
  // Conv, Gemm, MatMul: a synaptic layer, which runs on adds and subtracts
  // when its data input holds spikes (and counts AC or MAC in the profile).
  const LayerTraits* layer = nullptr;
  // TernarySpike: emits spikes and keeps a membrane per element.
  bool neuron = false;
  // Inputs from this one on are read as weights (they must be finite when
  // they are initializers); -1: none.
  int first_weight_input = -1;
  // An op that averages spikes (SpikeFlow::kAverages): when the node averages
  // kh x kw windows that tile its [N, C, H, W] input without overlap or
  // padding (a global pool: the whole map), sets window = {kh, kw} and
  // returns true, so that it folds into the layer it feeds (spec 3.3);
  // else says why not.
  bool (*tiling_window)(const onnx::NodeProto& node, const Shape& input, int64_t window[2],
                        std::string& why) = nullptr;
  // An op that is a PerChannelAffine map with constant parameters
  // (BatchNormalization in inference), which folds into the layer before
  // it (spec 3.1): fills `affine` for `channels` channels from the node and
  // the values of its inputs (null where an input is not a float
  // constant); false when the node does not qualify.
  bool (*per_channel_affine)(const onnx::NodeProto& node, const std::vector<const ConstTensor*>& inputs,
                             int64_t channels, PerChannelAffine& affine) = nullptr;
  // An op of tspike's domain: registers its ONNX OpSchema, so that ONNX's
  // checker and shape inference see through it.
  void (*register_schema)() = nullptr;
  // The format's rules for the node beyond ONNX's checker; throws Error
  // naming the node (the checker adds the file).
  void (*check)(const onnx::NodeProto& node, const NodeFacts& facts) = nullptr;
  // Pad: the constant padding `node` applies, from its attributes and the
  // values of its inputs (null where not a constant): `pads` as ONNX lays
  // them out (every axis's begin, then every axis's end) for data of rank
  // `rank`, and the fill value. False when the node is not a constant-mode
  // padding with known pads.
  bool (*constant_padding)(const onnx::NodeProto& node, const std::vector<const ConstTensor*>& inputs,
                           int opset, int64_t rank, std::vector<int64_t>& pads, float& value) = nullptr;
  // Conv and the pools: takes a constant padding of its 4-D data input
  // ([top, left, bottom, right], each >= 0, filled with `value`) into its own
  // pads attribute, so that the Pad before it can go (the converter's
  // fold_pads). Edits the node and returns true only when its output is then
  // exactly what it was.
  bool (*absorb_padding)(onnx::NodeProto& node, const std::vector<int64_t>& pads, float value) = nullptr;
};

}  // namespace tspike::ops
