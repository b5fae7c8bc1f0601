// Pass b (spec 3.1): fold a BatchNormalization into the Conv or Gemm that
// feeds it, when nothing else reads the Conv / Gemm output:
//   W' = W * f (per output channel),  b' = (b - mean) * f + beta,
//   f  = gamma / sqrt(var + eps).
#include <fmt/format.h>

#include <cmath>

#include "converter/passes.hpp"

namespace tspike::convert {

namespace {

struct BatchNormParams {
  std::vector<double> factor;  // gamma / sqrt(var + eps)
  std::vector<double> mean, beta;
};

// The BN's four parameters as per-channel vectors of length `channels`;
// nullopt when one is not a float initializer of that size.
std::optional<BatchNormParams> read_params(PassContext& ctx, const onnx::NodeProto& bn,
                                           int64_t channels) {
  std::vector<std::vector<float>> p;
  for (int k = 1; k <= 4; ++k) {
    const auto* t = find_initializer(ctx.graph, bn.input(k));
    if (!t) return std::nullopt;
    ConstTensor c = read_tensor(ctx, *t);
    if (c.dtype != DType::kFloat32 || c.size() != channels) return std::nullopt;
    p.push_back(std::move(c.f));
  }
  const double eps = attr_float(bn, "epsilon", 1e-5f);
  BatchNormParams r;
  for (int64_t m = 0; m < channels; ++m) {
    const double f = p[0][m] / std::sqrt(double(p[3][m]) + eps);
    r.factor.push_back(f);
    r.mean.push_back(p[2][m]);
    r.beta.push_back(p[1][m]);
  }
  return r;
}

// Output channel count of a Conv / Gemm from its weights; -1 if unusable.
int64_t output_channels(PassContext& ctx, const onnx::NodeProto& n) {
  const auto* w = n.input_size() > 1 ? find_initializer(ctx.graph, n.input(1)) : nullptr;
  if (!w || w->data_type() != onnx::TensorProto::FLOAT) return -1;
  if (n.op_type() == "Conv") return w->dims_size() >= 3 ? w->dims(0) : -1;
  if (w->dims_size() != 2) return -1;
  return attr_int(n, "transB", 0) ? w->dims(0) : w->dims(1);
}

// The bias as `channels` values (a Gemm's C scaled by beta); nullopt when it
// is not a constant that broadcasts per output channel.
std::optional<std::vector<double>> read_bias(PassContext& ctx, const onnx::NodeProto& n,
                                             int64_t channels) {
  std::vector<double> b(channels, 0.0);
  if (n.input_size() < 3 || n.input(2).empty()) return b;
  const auto* t = find_initializer(ctx.graph, n.input(2));
  if (!t) return std::nullopt;
  ConstTensor c = read_tensor(ctx, *t);
  if (c.dtype != DType::kFloat32) return std::nullopt;
  // Conv: [M]. Gemm: C broadcasts to [N, M]: a scalar, [M] or [1, M].
  const bool per_channel = c.size() == channels &&
                           (c.shape.size() == 1 || (c.shape.size() == 2 && c.shape[0] == 1));
  if (!per_channel && c.size() != 1) return std::nullopt;
  const double beta = n.op_type() == "Gemm" ? attr_float(n, "beta", 1.0f) : 1.0;
  for (int64_t m = 0; m < channels; ++m) b[m] = beta * c.f[per_channel ? m : 0];
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

bool fold_one(PassContext& ctx, onnx::NodeProto& bn) {
  if (bn.input_size() != 5 || attr_int(bn, "training_mode", 0) != 0) return false;
  for (int k = 1; k < bn.output_size(); ++k)
    if (!bn.output(k).empty()) return false;  // training outputs in use
  onnx::NodeProto* layer = find_producer(ctx.graph, bn.input(0));
  if (!layer || !layer->domain().empty() ||
      (layer->op_type() != "Conv" && layer->op_type() != "Gemm"))
    return false;
  // The layer's output must go to this BN alone.
  if (use_count(ctx.graph, bn.input(0)) != 1) return false;
  const int64_t channels = output_channels(ctx, *layer);
  if (channels <= 0) return false;
  auto params = read_params(ctx, bn, channels);
  auto bias = read_bias(ctx, *layer, channels);
  if (!params || !bias) return false;

  // Weights: scale every weight of output channel m by factor[m].
  onnx::TensorProto* wt = owned_initializer(ctx, *layer, 1);
  ConstTensor w = read_tensor(ctx, *wt);
  const bool gemm_out_is_column = layer->op_type() == "Gemm" && !attr_int(*layer, "transB", 0);
  const int64_t per_row = w.size() / w.shape[0];
  for (int64_t k = 0; k < w.size(); ++k) {
    const int64_t m = gemm_out_is_column ? k % channels : k / per_row;
    w.f[k] = float(w.f[k] * params->factor[m]);
  }
  write_tensor(*wt, w);

  // Bias: b' = (b - mean) * factor + beta, always as a fresh [M] initializer.
  ConstTensor b;
  b.shape = {channels};
  for (int64_t m = 0; m < channels; ++m)
    b.f.push_back(float(((*bias)[m] - params->mean[m]) * params->factor[m] + params->beta[m]));
  const std::string bias_name =
      unique_name(ctx.graph, (layer->input_size() > 2 && !layer->input(2).empty()
                                  ? layer->input(2)
                                  : layer->name() + "_bias") + "_bn");
  add_initializer(ctx, tensor_to_proto(b, bias_name));
  while (layer->input_size() < 3) layer->add_input("");
  layer->set_input(2, bias_name);
  if (layer->op_type() == "Gemm") set_float_attr(*layer, "beta", 1.0f);

  // The layer now produces the BN's output; the BN goes.
  ctx.report.folded.push_back(fmt::format("BatchNormalization {} folded into {} {}", bn.name(),
                                          layer->op_type(), layer->name()));
  layer->set_output(0, bn.output(0));
  bn.clear_output();
  bn.add_output("");
  bn.clear_input();
  return true;
}

}  // namespace

void fold_batchnorm(PassContext& ctx) {
  // Spatial BN only: opset 9 dropped the non-spatial variant.
  if (ctx.opset < 9) return;
  for (auto& n : *ctx.graph.mutable_node())
    if (n.op_type() == "BatchNormalization" && n.domain().empty()) fold_one(ctx, n);
  remove_dead(ctx.graph);
}

}  // namespace tspike::convert
