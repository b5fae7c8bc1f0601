// SPDX-License-Identifier: Apache-2.0
// The converter's passes and the graph-editing helpers they share (internal).
//
// The passes edit the onnx::ModelProto in place. Node pointers handed out by
// the helpers stay valid while nodes are inserted (RepeatedPtrField stores
// pointers); only remove_dead() deletes nodes, and it runs between passes.
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "converter/onnx_model.hpp"

namespace tspike::convert {

struct PassContext {
  PassContext(onnx::ModelProto& m, const std::string& f, const ConvertOptions& o, ConversionReport& r)
      : model(m), graph(*m.mutable_graph()), file(f), options(o), report(r) {}

  onnx::ModelProto& model;
  onnx::GraphProto& graph;
  const std::string& file;  // names the model in errors
  const ConvertOptions& options;
  ConversionReport& report;
  int opset = 0;
  // Static shapes of values (graph inputs/outputs, value_info, initializers);
  // -1 for an unknown dimension. A value missing here has an unknown rank.
  std::unordered_map<std::string, Shape> shapes;
  // Names of the Mul nodes the amplitude pass inserted on edges.
  std::set<std::string> scale_muls;
  // Layers the pool pass folded an average pool into -> the pool's window
  // (written to the tspike.pool_folds metadata).
  std::map<std::string, int64_t> pool_folds;

  const Shape* shape(const std::string& name) const {
    auto it = shapes.find(name);
    return it == shapes.end() ? nullptr : &it->second;
  }
};

// The passes, in the order reparameterize() runs them.
void fold_views(PassContext& ctx);       // Constant -> initializer, view chains -> Flatten
void fold_pads(PassContext& ctx);        // a constant Pad into the pads of the Conv / pool after it
void fold_batchnorm(PassContext& ctx);   // spec 3.1
void fold_amplitudes(PassContext& ctx);  // spec 3.2
void fold_pools(PassContext& ctx);       // spec 3.3 (fold_pools.cpp)

// ---- amplitude folding: fold_amplitudes.cpp plans, scale_edits.cpp applies ----

using Scale = std::vector<float>;  // along axis 1: one value, or one per channel

// One place a spike's amplitude goes.
struct ScaleAction {
  enum Kind {
    kWeights,   // folds into the weights of a Conv / Gemm / MatMul data input
    kEdgeMul,   // kept on the edge into an Add / Sub as Mul(value, scale)
    kMergeMul,  // multiplies into a scale Mul an earlier fold inserted
    kOutput,    // kept as a final scale of a graph output
    kKept,      // cannot cross this edge (reason says why)
  } kind;
  onnx::NodeProto* node = nullptr;  // the consumer (null for kOutput)
  int slot = 0;                     // the input of `node` reading `value`
  std::string value;
  Scale scale;
  std::string via;     // " (through AveragePool p1, Flatten f1)" or empty
  std::string reason;  // kKept only
};

// Carries out one action (copy-on-write of shared weights, Mul insertion).
// `spike` is the TernarySpike node's name, `what` describes its amplitude
// ("amplitude of s1 (4 channels)") for the report.
void apply_scale_action(PassContext& ctx, const ScaleAction& a, const std::string& spike,
                        const std::string& what);

// ---- helpers (reparameterize.cpp) ----

onnx::TensorProto* find_initializer(onnx::GraphProto& g, const std::string& name);
onnx::NodeProto* find_producer(onnx::GraphProto& g, const std::string& value);
// (node, input slot) pairs that read `value`, in graph order.
std::vector<std::pair<onnx::NodeProto*, int>> find_uses(onnx::GraphProto& g, const std::string& value);
bool is_graph_output(const onnx::GraphProto& g, const std::string& value);
// Node input slots reading `value`, plus 1 if it is a graph output.
int use_count(const onnx::GraphProto& g, const std::string& value);
// A name used by no value, initializer or node yet, derived from `base`.
std::string unique_name(const onnx::GraphProto& g, const std::string& base);

// Attribute access with ONNX defaults.
const onnx::AttributeProto* find_attr(const onnx::NodeProto& n, const std::string& name);
int64_t attr_int(const onnx::NodeProto& n, const std::string& name, int64_t dflt);
float attr_float(const onnx::NodeProto& n, const std::string& name, float dflt);
std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const std::string& name);

// Adds an initializer (and, for IR version <= 3, the graph input that such
// models must list for it). Returns the stored proto.
onnx::TensorProto* add_initializer(PassContext& ctx, onnx::TensorProto t);
// The float32 contents of an initializer. Throws Error naming it.
ConstTensor read_tensor(const PassContext& ctx, const onnx::TensorProto& t);
void write_tensor(onnx::TensorProto& t, const ConstTensor& value);
// The initializer read by node input `slot`, copied first when any other node
// input also reads it (copy on write), so that changing it affects only
// this node. Null when that input is not an initializer.
onnx::TensorProto* owned_initializer(PassContext& ctx, onnx::NodeProto& node, int slot);

// Inserts `node` right before `anchor` (or appends when anchor is null).
onnx::NodeProto* insert_node_before(onnx::GraphProto& g, const onnx::NodeProto* anchor, onnx::NodeProto node);
// Removes nodes none of whose outputs are used, repeatedly, then
// initializers nobody reads (never graph outputs).
void remove_dead(onnx::GraphProto& g);

}  // namespace tspike::convert
