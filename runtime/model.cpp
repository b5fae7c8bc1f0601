// SPDX-License-Identifier: Apache-2.0
// Model loading: parse, check, re-parameterize, build the executable graph.
#include "tspike/model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <unordered_map>

#include "base/checked.hpp"
#include "base/log.hpp"
#include "converter/onnx_model.hpp"
#include "ops/neuron.hpp"
#include "runtime/graph.hpp"

namespace tspike {

std::string detail::node_prefix(const std::string& name, const std::string& op_type) {
  return fmt::format("node '{}' ({})", name, op_type);
}

namespace {

ValueInfo value_info(const onnx::ValueInfoProto& vi) {
  ValueInfo info;
  info.name = vi.name();
  if (vi.type().has_tensor_type() && vi.type().tensor_type().has_shape())
    for (const auto& d : vi.type().tensor_type().shape().dim()) {
      info.shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
      info.dim_names.push_back(d.has_dim_param() ? d.dim_param() : "");
    }
  return info;
}

// What a value holds, for a layer that consumes it: spikes, or what became
// of them, or real values. Found node by node in graph order from the ops'
// traits (OpTraits::spikes), so a long chain costs no recursion.
struct Origin {
  enum Kind { kSpikes, kAveragedSpikes, kScaledSpikes, kReal } kind = kReal;
  std::string source;  // the TernarySpike node, or the producer of real values
};

// The origins of `node`'s outputs from those of its inputs.
Origin output_origin(const detail::GraphNode& node, const std::vector<Origin>& origins) {
  const ops::OpTraits& traits = *node.traits;
  auto of_input = [&](size_t k) -> Origin {
    return k < node.inputs.size() && node.inputs[k] >= 0 ? origins[node.inputs[k]]
                                                         : Origin{Origin::kReal, "nothing"};
  };
  if (traits.neuron) {
    const bool scaled = node.inputs.size() > 1 && node.inputs[1] >= 0;
    return {scaled ? Origin::kScaledSpikes : Origin::kSpikes, node.name};
  }
  switch (traits.spikes) {
    case ops::SpikeFlow::kKeeps:
      return of_input(0);
    case ops::SpikeFlow::kAverages: {
      Origin o = of_input(0);
      if (o.kind == Origin::kSpikes) o.kind = Origin::kAveragedSpikes;
      return o;
    }
    case ops::SpikeFlow::kKeepsAll: {
      Origin worst{Origin::kSpikes, ""};
      for (size_t k = 0; k < node.inputs.size(); ++k) {
        const Origin o = of_input(k);
        if (o.kind > worst.kind || worst.source.empty()) worst = {std::max(o.kind, worst.kind), o.source};
      }
      return worst;
    }
    case ops::SpikeFlow::kStops:
      break;
  }
  return {Origin::kReal, fmt::format("{} '{}'", node.op_type, node.name)};
}

LayerInfo describe_layer(const detail::GraphNode& node, const Origin& o,
                         const std::map<std::string, int64_t>& pool_folds) {
  LayerInfo layer{node.name, node.op_type, false, "", node.op->kernel()};
  if (auto it = pool_folds.find(node.name); it != pool_folds.end()) layer.folded_pool = it->second;
  switch (o.kind) {
    case Origin::kSpikes:
      layer.multiplication_free = true;
      layer.why = fmt::format("consumes {{-1, 0, +1}} spikes of '{}': adds and subtracts only", o.source);
      if (layer.folded_pool > 1)
        layer.why +=
            fmt::format(" (an average pool of {} inputs folded into its weights)", layer.folded_pool);
      break;
    case Origin::kAveragedSpikes:
      layer.why = fmt::format(
          "consumes spikes of '{}' averaged by a pool: multiples of 1/k "
          "(the 1/k folds into the weights, leaving integer counts)",
          o.source);
      break;
    case Origin::kScaledSpikes:
      layer.why = fmt::format("consumes spikes of '{}', which keeps a multiplicative amplitude", o.source);
      break;
    case Origin::kReal:
      layer.why = fmt::format("input is real-valued (from {})", o.source);
      break;
  }
  return layer;
}

// The CPU's best instruction set, capped by LoadOptions::max_isa and TSPIKE_ISA.
ops::Isa kernel_isa(InstructionSet max_isa) {
  ops::Isa cap = max_isa == InstructionSet::kPortable ? ops::Isa::kPortable
                 : max_isa == InstructionSet::kAvx2   ? ops::Isa::kAvx2
                                                      : ops::Isa::kAvx512;
  const char* env = std::getenv("TSPIKE_ISA");
  if (env && *env) {
    ops::Isa env_cap;
    if (!ops::parse_isa(env, &env_cap))
      throw Error(ErrorCode::kBadInput, fmt::format("TSPIKE_ISA={}: expected portable, avx2 or avx512", env));
    if (env_cap < cap) cap = env_cap;
  }
  return ops::usable_isa(cap);
}

}  // namespace

struct ModelBuilder {
  static std::shared_ptr<const Model> build(onnx::ModelProto proto, const std::string& name,
                                            const LoadOptions& options) {
    const Limits& limits = options.limits;
    convert::check_model(proto, name, limits);
    ModelMetadata metadata = convert::read_metadata(proto, name);
    if (metadata.timesteps > limits.max_timesteps)
      throw Error(ErrorCode::kResourceLimit, fmt::format("{}: tspike.timesteps {} exceeds the limit of {}",
                                                         name, metadata.timesteps, limits.max_timesteps));
    ConversionReport report;
    report.already_reparameterized = metadata.reparameterized;
    if (options.reparameterize && !metadata.reparameterized) {
      ConvertOptions convert_options;
      convert_options.limits = limits;
      convert_options.fold_pool_max_window = options.fold_pool_max_window;
      report = convert::reparameterize(proto, name, convert_options);
      convert::check_model(proto, name, limits);
      metadata = convert::read_metadata(proto, name);
    }

    std::shared_ptr<Model> model(new Model());
    model->impl_ = std::make_unique<Model::Impl>();
    detail::Graph& g = model->impl_->graph;
    g.limits = limits;
    ModelInfo& info = g.info;
    info.path = name;
    info.metadata = std::move(metadata);
    info.conversion = std::move(report);

    const auto& graph = proto.graph();
    std::unordered_map<std::string, int> ids;
    std::vector<Origin> origins;  // per value
    auto add_value = [&](const std::string& n, Origin origin) {
      ids[n] = static_cast<int>(g.values.size());
      g.values.push_back({n, nullptr, -1, {}});
      origins.push_back(std::move(origin));
      return ids[n];
    };
    for (auto& t : *proto.mutable_graph()->mutable_initializer()) {
      int v = add_value(t.name(), {Origin::kReal, "initializer '" + t.name() + "'"});
      g.values[v].initializer = std::make_shared<ConstTensor>(
          convert::tensor_from_proto(t, fmt::format("{}: initializer '{}'", name, t.name()), limits));
      // Nothing reads the proto's copy again: swapping it out frees its
      // bytes now (Clear() would keep their capacity), so the weights are not
      // held twice while the graph is built.
      onnx::TensorProto spent;
      spent.Swap(&t);
    }
    for (const auto& in : graph.input())
      if (!ids.count(in.name())) {
        g.input = add_value(in.name(), {Origin::kReal, "the graph input"});
        info.input = value_info(in);
      }
    // How often each value is read (node inputs, graph outputs): an
    // initializer read once, by a node that packed it into its own layout
    // (Op::packed_input), has its data dropped right after that node is
    // made, so the weights are not held twice for the model's life. Dtype
    // and shape stay for planning and ModelInfo.
    std::unordered_map<std::string, int> readers;
    for (const auto& np : graph.node())
      for (const auto& in : np.input()) readers[in]++;
    for (const auto& out : graph.output()) readers[out.name()]++;
    const int opset = convert::default_opset(proto);
    const char* env_reference =
        std::getenv("TSPIKE_REFERENCE_KERNELS");  // read once per load, a user override
    const bool reference_kernels =
        env_reference && *env_reference ? std::string(env_reference) != "0" : options.reference_kernels;
    const ops::Isa isa = kernel_isa(options.max_isa);  // TSPIKE_ISA read once per load, like the above
    for (const auto& np : graph.node()) {
      const auto* entry = ops::find_op(np.domain(), np.op_type());
      if (!entry)
        throw Error(ErrorCode::kUnsupportedOp,
                    fmt::format("{}: {}: op {}{} is not supported by tspike", name,
                                detail::node_prefix(np.name(), np.op_type()),
                                np.domain().empty() ? "" : np.domain() + "::", np.op_type()));
      detail::GraphNode node;
      node.name = np.name();
      node.op_type = np.op_type();
      node.traits = entry->traits;
      ops::OpBuildContext ctx{np, np.name(), {}, opset, reference_kernels};
      for (const auto& in : np.input()) {
        if (in.empty()) {
          node.inputs.push_back(-1);
          ctx.initializers.push_back(nullptr);
          continue;
        }
        auto it = ids.find(in);
        if (it == ids.end())
          throw Error(ErrorCode::kInvalidModel,
                      fmt::format("{}: {}: input '{}' is produced by no node", name,
                                  detail::node_prefix(np.name(), np.op_type()), in));
        node.inputs.push_back(it->second);
        ctx.initializers.push_back(g.values[it->second].initializer);
      }
      const Origin input_origin =
          node.inputs.empty() || node.inputs[0] < 0 ? Origin{} : origins[node.inputs[0]];
      ctx.input_is_spikes = entry->traits->layer && input_origin.kind == Origin::kSpikes;
      ctx.engine = options.engine;
      ctx.isa = isa;
      ctx.half_weights = info.metadata.half_weights;
      try {
        node.op = entry->create(ctx);
      } catch (const Error& e) {
        throw Error(e.code(), fmt::format("{}: {}", name, e.what()));
      }
      node.op->label = detail::node_prefix(np.name(), np.op_type());
      for (size_t k = 0; k < node.inputs.size(); ++k) {
        const int v = node.inputs[k];
        if (v < 0 || !g.values[v].initializer || readers[np.input(static_cast<int>(k))] != 1 ||
            !node.op->packed_input(k))
          continue;
        auto shape_only = std::make_shared<ConstTensor>();
        shape_only->dtype = g.values[v].initializer->dtype;
        shape_only->shape = g.values[v].initializer->shape;
        g.values[v].initializer = std::move(shape_only);
      }
      const int index = static_cast<int>(g.nodes.size());
      for (int v : node.inputs)
        if (v >= 0) g.values[v].consumers.push_back(index);
      const Origin produced = output_origin(node, origins);
      if (entry->traits->layer)
        info.layers.push_back(describe_layer(node, input_origin, info.metadata.pool_folds));
      for (const auto& out : np.output()) {
        if (out.empty()) {
          node.outputs.push_back(-1);
          continue;
        }
        if (ids.count(out))
          throw Error(ErrorCode::kInvalidModel, fmt::format("{}: value '{}' is produced twice", name, out));
        int v = add_value(out, produced);
        g.values[v].producer = index;
        node.outputs.push_back(v);
      }
      info.op_counts[np.op_type()]++;
      if (entry->traits->neuron) info.spike_nodes.push_back(np.name());
      g.nodes.push_back(std::move(node));
    }
    for (const auto& out : graph.output()) {
      auto it = ids.find(out.name());
      if (it == ids.end())
        throw Error(ErrorCode::kInvalidModel,
                    fmt::format("{}: graph output '{}' is produced by no node", name, out.name()));
      g.outputs.push_back(it->second);
      info.outputs.push_back(value_info(out));
    }
    for (const auto& fold : info.metadata.pool_folds) {
      const std::string& node = fold.first;  // not a structured binding: clang 14 cannot capture one
      if (std::none_of(info.layers.begin(), info.layers.end(),
                       [&](const LayerInfo& l) { return l.node == node; }))
        throw Error(
            ErrorCode::kInvalidModel,
            fmt::format("{}: metadata tspike.pool_folds names '{}', which is no Conv, Gemm or MatMul node",
                        name, node));
    }
    return model;
  }
};

Model::Model() = default;
Model::~Model() = default;

const ModelInfo& Model::info() const { return impl_->graph.info; }
const Limits& Model::limits() const { return impl_->graph.limits; }

namespace {
std::shared_ptr<const Model> logged(std::shared_ptr<const Model> model) {
  const ModelInfo& info = model->info();
  detail::log(LogLevel::kInfo, "model loaded: {}: {} nodes, {} folds{}", info.path,
              detail::graph_of(*model).nodes.size(), info.conversion.folded.size(),
              info.conversion.already_reparameterized ? " (converted by tsconvert)" : "");
  return model;
}
}  // namespace

// Nothing but tspike::Error leaves a load (out of memory, ONNX's or the
// standard library's exceptions become one).
std::shared_ptr<const Model> Model::load(const std::string& path, const LoadOptions& options) {
  return logged(detail::error_boundary(path, ErrorCode::kInvalidModel, [&] {
    return ModelBuilder::build(convert::read_model_file(path, options.limits), path, options);
  }));
}

std::shared_ptr<const Model> Model::load_from_memory(const void* data, std::size_t size,
                                                     const std::string& name, const LoadOptions& options) {
  return logged(detail::error_boundary(name, ErrorCode::kInvalidModel, [&] {
    return ModelBuilder::build(convert::parse_model(data, size, name, options.limits), name, options);
  }));
}

}  // namespace tspike
