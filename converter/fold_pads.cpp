// SPDX-License-Identifier: Apache-2.0
// Folds a constant padding (an op whose traits give constant_padding: Pad)
// into the windowed op that alone reads it (traits absorb_padding: Conv,
// AveragePool, MaxPool), when only the spatial axes are padded, by amounts
// >= 0, with the value the consumer's own padding uses. PyTorch exports
// AvgPool2d(padding=p) as such a Pad and an unpadded AveragePool; after the
// fold the Pad is gone and, before a Conv, the Conv still sees spikes.
#include <fmt/format.h>

#include "converter/passes.hpp"
#include "ops/op.hpp"

namespace tspike::convert {

namespace {

// The rank of `value`: from the shapes, else from the number of pads the
// node declares (2 per axis when it names no axes); -1 when unknown.
int64_t data_rank(PassContext& ctx, const onnx::NodeProto& pad,
                  const std::vector<const ConstTensor*>& inputs) {
  if (const Shape* s = ctx.shape(pad.input(0))) return static_cast<int64_t>(s->size());
  if (pad.input_size() > 3 && !pad.input(3).empty()) return -1;
  if (inputs.size() > 1 && inputs[1]) return inputs[1]->size() / 2;
  for (const auto& a : pad.attribute())
    if (a.name() == "pads") return a.ints_size() / 2;
  return -1;
}

// Folds `pad` into its one reader; returns the reader's description, or "".
std::string fold_one(PassContext& ctx, onnx::NodeProto& pad, const ops::OpTraits& traits) {
  if (pad.output_size() != 1 || pad.input_size() < 1 || is_graph_output(ctx.graph, pad.output(0))) return "";
  auto uses = find_uses(ctx.graph, pad.output(0));
  if (uses.size() != 1 || uses[0].second != 0) return "";
  onnx::NodeProto& reader = *uses[0].first;
  const ops::OpTraits* reader_traits = ops::find_traits(reader.domain(), reader.op_type());
  if (!reader_traits || !reader_traits->absorb_padding) return "";

  std::vector<ConstTensor> held;
  held.reserve(static_cast<size_t>(pad.input_size()));
  std::vector<const ConstTensor*> inputs(static_cast<size_t>(pad.input_size()), nullptr);
  for (int k = 1; k < pad.input_size(); ++k)
    if (const auto* t = find_initializer(ctx.graph, pad.input(k))) {
      held.push_back(read_tensor(ctx, *t));
      inputs[static_cast<size_t>(k)] = &held.back();
    }
  const int64_t rank = data_rank(ctx, pad, inputs);
  if (rank != 4) return "";  // the windows are 2-D: NCHW data
  std::vector<int64_t> pads;
  float value = 0;
  if (!traits.constant_padding(pad, inputs, ctx.opset, rank, pads, value)) return "";
  // pads = [N, C, H, W begins, N, C, H, W ends]: only H and W, none negative.
  if (pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0) return "";
  for (int64_t p : pads)
    if (p < 0) return "";
  if (!reader_traits->absorb_padding(reader, {pads[2], pads[3], pads[6], pads[7]}, value)) return "";
  reader.set_input(0, pad.input(0));
  return fmt::format("{} {}", reader.op_type(), reader.name());
}

}  // namespace

void fold_pads(PassContext& ctx) {
  for (auto& n : *ctx.graph.mutable_node()) {
    const ops::OpTraits* traits = ops::find_traits(n.domain(), n.op_type());
    if (!traits || !traits->constant_padding) continue;
    const std::string into = fold_one(ctx, n, *traits);
    if (!into.empty())
      ctx.report.folded.push_back(
          fmt::format("{} {} folded into the pads of {}", n.op_type(), n.name(), into));
  }
}

}  // namespace tspike::convert
