// SPDX-License-Identifier: Apache-2.0
// Pass b (spec 3.1): fold a BatchNormalization (any op whose traits give a
// per-channel affine map) into the layer that feeds it (a layer whose traits
// say folds_batchnorm: Conv, Gemm), when nothing else reads the layer's
// output:
//   W' = W * f (per output channel),  b' = (b - mean) * f + beta,
//   f  = gamma / sqrt(var + eps).
#include <fmt/format.h>

#include <cmath>

#include "converter/passes.hpp"
#include "ops/op.hpp"

namespace tspike::convert {

namespace {

// The layout of layer n's float weights; nullopt if they are unusable.
std::optional<ops::WeightLayout> weight_layout(PassContext& ctx, const onnx::NodeProto& n,
                                               const ops::LayerTraits& layer) {
  const auto* w = n.input_size() > 1 ? find_initializer(ctx.graph, n.input(1)) : nullptr;
  if (!w || w->data_type() != onnx::TensorProto::FLOAT) return std::nullopt;
  ops::WeightLayout layout;
  if (!layer.weight_layout(n, Shape(w->dims().begin(), w->dims().end()), -1, layout).empty())
    return std::nullopt;
  return layout;
}

// The bias as `channels` values (scaled by the layer's bias scale, Gemm's
// beta); nullopt when it is not a constant that broadcasts per output
// channel.
std::optional<std::vector<double>> read_bias(PassContext& ctx, const onnx::NodeProto& n,
                                             const ops::LayerTraits& layer, int64_t channels) {
  std::vector<double> b(channels, 0.0);
  if (n.input_size() < 3 || n.input(2).empty()) return b;
  const auto* t = find_initializer(ctx.graph, n.input(2));
  if (!t) return std::nullopt;
  ConstTensor c = read_tensor(ctx, *t);
  if (c.dtype != DType::kFloat32) return std::nullopt;
  // Conv: [M]. Gemm: C broadcasts to [N, M]: a scalar, [M] or [1, M].
  const bool per_channel =
      c.size() == channels && (c.shape.size() == 1 || (c.shape.size() == 2 && c.shape[0] == 1));
  if (!per_channel && c.size() != 1) return std::nullopt;
  const double scale = layer.bias_scale_attribute ? attr_float(n, layer.bias_scale_attribute, 1.0f) : 1.0;
  for (int64_t m = 0; m < channels; ++m) b[m] = scale * c.f[per_channel ? m : 0];
  return b;
}

void set_float_attr(onnx::NodeProto& n, const std::string& name, float value) {
  for (auto& a : *n.mutable_attribute())
    if (a.name() == name) {
      a.set_f(value);
      return;
    }
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

// Folds node `bn` (a per-channel affine op, OpTraits::per_channel_affine)
// into the layer that feeds it, when that layer's output goes to it alone.
// Returns an empty string, or why it did not fold (for the report).
std::string fold_one(PassContext& ctx, onnx::NodeProto& bn, const ops::OpTraits& bn_traits) {
  if (bn.input_size() < 1) return "it has no input";
  onnx::NodeProto* layer = find_producer(ctx.graph, bn.input(0));
  if (!layer) return fmt::format("its input '{}' is not computed by a layer", bn.input(0));
  const ops::OpTraits* traits = ops::find_traits(layer->domain(), layer->op_type());
  if (!traits || !traits->layer || !traits->layer->folds_batchnorm)
    return fmt::format("it follows {} {}, which has no weights to fold it into", layer->op_type(),
                       layer->name());
  // The layer's output must go to this node alone.
  if (use_count(ctx.graph, bn.input(0)) != 1)
    return fmt::format("the output of {} {} is also read elsewhere", layer->op_type(), layer->name());
  const auto layout = weight_layout(ctx, *layer, *traits->layer);
  if (!layout)
    return fmt::format("the weights of {} {} are not a float32 initializer of a usable shape",
                       layer->op_type(), layer->name());
  const int64_t channels = find_initializer(ctx.graph, layer->input(1))->dims(layout->out_axis);
  if (channels <= 0) return fmt::format("{} {} has no output channels", layer->op_type(), layer->name());
  std::vector<ConstTensor> values;  // bn's float constant inputs
  std::vector<const ConstTensor*> inputs;
  values.reserve(size_t(bn.input_size()));
  for (const auto& in : bn.input()) {
    const auto* t = in.empty() ? nullptr : find_initializer(ctx.graph, in);
    if (t && t->data_type() == onnx::TensorProto::FLOAT) values.push_back(read_tensor(ctx, *t));
    inputs.push_back(t && t->data_type() == onnx::TensorProto::FLOAT ? &values.back() : nullptr);
  }
  for (int k = 1; k < bn.input_size(); ++k)
    if (!inputs[size_t(k)] && !bn.input(k).empty())
      return fmt::format("its input {} '{}' is not a float32 initializer (computed in the graph)", k,
                         bn.input(k));
  ops::PerChannelAffine affine;
  if (!bn_traits.per_channel_affine(bn, inputs, channels, affine))
    return fmt::format("its parameters do not give one scale and shift per channel of {} {} ({} channels)",
                       layer->op_type(), layer->name(), channels);
  auto bias = read_bias(ctx, *layer, *traits->layer, channels);
  if (!bias)
    return fmt::format("the bias of {} {} is not a per-channel constant", layer->op_type(), layer->name());

  // Weights: scale every weight of output channel m by factor[m].
  onnx::TensorProto* wt = owned_initializer(ctx, *layer, 1);
  ConstTensor w = read_tensor(ctx, *wt);
  ops::for_each_weight(w.shape, *layout, [&](int64_t k, int64_t m, int64_t /*feature*/) {
    w.f[k] = float(w.f[k] * affine.factor[m]);
  });
  write_tensor(*wt, w);

  // Bias: b' = (b - center) * factor + shift, always as a fresh [M] initializer.
  ConstTensor b;
  b.shape = {channels};
  for (int64_t m = 0; m < channels; ++m)
    b.f.push_back(float(((*bias)[m] - affine.center[m]) * affine.factor[m] + affine.shift[m]));
  const std::string bias_name = unique_name(
      ctx.graph,
      (layer->input_size() > 2 && !layer->input(2).empty() ? layer->input(2) : layer->name() + "_bias") +
          "_bn");
  add_initializer(ctx, tensor_to_proto(b, bias_name));
  while (layer->input_size() < 3) layer->add_input("");
  layer->set_input(2, bias_name);
  if (traits->layer->bias_scale_attribute) set_float_attr(*layer, traits->layer->bias_scale_attribute, 1.0f);

  // The layer now produces the BN's output; the BN goes.
  ctx.report.folded.push_back(
      fmt::format("{} {} folded into {} {}", bn.op_type(), bn.name(), layer->op_type(), layer->name()));
  layer->set_output(0, bn.output(0));
  bn.clear_output();
  bn.add_output("");
  bn.clear_input();
  return {};
}

}  // namespace

void fold_batchnorm(PassContext& ctx) {
  // From opset 9 on, where BatchNormalization is spatial only.
  if (ctx.opset < 9) return;
  for (auto& n : *ctx.graph.mutable_node())
    if (const ops::OpTraits* t = ops::find_traits(n.domain(), n.op_type()); t && t->per_channel_affine)
      if (std::string why = fold_one(ctx, n, *t); !why.empty())
        ctx.report.unfolded.emplace_back(n.name(), why);
  remove_dead(ctx.graph);
}

}  // namespace tspike::convert
