// SPDX-License-Identifier: Apache-2.0
// The op interface shared by every kernel.
//
// Lifecycle (after TFLite Micro): an Op is created once at load time from the
// node's attributes and initializers (parse, validate, choose the kernel);
// prepare() checks the input shapes for a batch size and computes the output
// shapes; run() only computes. Ops are immutable after creation and shared by
// every Session of a model: per-run state (the neuron's membrane) lives in the
// Session and is passed in through RunContext.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/values.hpp"
#include "ops/cpu_features.hpp"
#include "ops/traits.hpp"
#include "tspike/model.hpp"

namespace onnx {
class NodeProto;
}

namespace tspike {
class ThreadPool;
}

namespace tspike::ops {

struct NeuronParams;  // ops/neuron.hpp

// What prepare() sees of one input, and fills in for one output.
struct ValueDesc {
  DType dtype = DType::kFloat32;
  Shape shape;
  // Non-null when the value is known at plan time (an initializer or a
  // folded shape computation). prepare() may set an output's constant
  // directly (Shape does); otherwise an op whose inputs are all constant is
  // run once at plan time and its outputs become constants.
  std::shared_ptr<const ConstTensor> constant;
};

// Per-plan data of one node that an optimized kernel makes in prepare()
// (for example a oneDNN primitive for this input shape) and uses in run().
// Owned by the Session's plan, so it is never shared between threads.
struct NodeState {
  virtual ~NodeState() = default;
};

struct PrepareContext {
  const std::string& node_name;
  std::vector<const ValueDesc*> inputs;  // nullptr for an absent optional input
  std::vector<ValueDesc> outputs;
  int64_t state_floats = 0;               // persistent per-session state this node needs
  std::unique_ptr<NodeState> node_state;  // optional, handed to run()
  int threads = 1;                        // the Session's thread count (kernels that plan per thread count)
  // Working memory run() needs per thread, only while it runs: every node
  // of a plan (and the plans of a layer-major run) shares one block.
  int64_t scratch_bytes = 0;
};

struct RunContext {
  std::vector<TensorRef> inputs;  // absent optional input: data == nullptr
  std::vector<TensorRef> outputs;
  float* state = nullptr;            // state_floats floats, zeroed by reset
  int64_t* nonzero_count = nullptr;  // TernarySpike adds its emitted spikes here
  NodeState* node_state = nullptr;   // what prepare() left in PrepareContext::node_state
  ThreadPool* pool = nullptr;        // the Session's workers; null: one thread
  // PrepareContext::scratch_bytes for each thread: thread t's (the index
  // parallel_for over the thread count hands it) starts at
  // scratch + t * scratch_stride, 64-byte aligned. Its contents do not
  // last from one run() to the next.
  std::byte* scratch = nullptr;
  int64_t scratch_stride = 0;
};

// Runs fn(begin, end) over [0, n) on the context's pool, or inline.
void parallel_for(const RunContext& ctx, int64_t n, void (*fn)(void*, int64_t, int64_t), void* arg);
template <typename F>
void parallel_for(const RunContext& ctx, int64_t n, F&& fn) {
  parallel_for(
      ctx, n, [](void* f, int64_t b, int64_t e) { (*static_cast<std::remove_reference_t<F>*>(f))(b, e); },
      const_cast<void*>(static_cast<const void*>(&fn)));
}

// How many output values each element of a layer's data input (input 0)
// reaches: per_element x the product, over the input's trailing axes, of
// axes[d][coordinate d]. For the profile's synaptic-operation counts
// (runtime/profile.cpp).
struct FanOut {
  int64_t per_element = 0;
  std::vector<std::vector<int64_t>> axes;  // Conv: one table for H, one for W
};

class Op {
 public:
  virtual ~Op() = default;
  // "node 'conv1' (Conv)": set when the graph is built, used in errors.
  std::string label;
  Error error(ErrorCode code, const std::string& message) const {
    return Error(code, label + ": " + message);
  }
  // Checks shapes (throwing Error naming the node) and fills ctx.outputs.
  virtual void prepare(PrepareContext& ctx) const = 0;
  virtual void run(RunContext& ctx) const = 0;
  // Stateful ops keep state across timesteps and are never constant-folded.
  virtual bool stateful() const { return false; }
  // The kernel chosen at creation, for ModelInfo::layers ("reference",
  // "event/avx512", ...).
  virtual std::string kernel() const { return "reference"; }
  // A layer (OpTraits::layer): the fan-out of input 0 for input shapes
  // prepare() accepted. False for every other op.
  virtual bool fan_out(const std::vector<const ValueDesc*>& /*inputs*/, FanOut& /*fan*/) const {
    return false;
  }
  // True when the op copied constant input `input` into its own layout at
  // creation and never reads the value's data again (prepare, run): the
  // loader may then drop the data of an initializer that no one else reads,
  // keeping its dtype and shape.
  virtual bool packed_input(size_t /*input*/) const { return false; }
  // A neuron (OpTraits::neuron): its threshold, decay, mode and amplitude
  // (for comparing models spike by spike, runtime/verify_conversion.cpp).
  virtual const NeuronParams* neuron_params() const { return nullptr; }
};

// Everything an op factory may look at.
struct OpBuildContext {
  const onnx::NodeProto& node;
  std::string name;  // node name, or a generated one
  // Initializer value of each input, null when the input is not an initializer.
  std::vector<std::shared_ptr<const ConstTensor>> initializers;
  int opset = 13;  // default-domain opset of the model
  // LoadOptions::reference_kernels, or the environment's
  // TSPIKE_REFERENCE_KERNELS: ops keep their reference kernels instead of
  // the optimized ones.
  bool reference_kernels = false;
  // Set for Conv / Gemm / MatMul whose data input comes straight from a
  // TernarySpike without amplitude (through Identity, MaxPool, Relu, Flatten,
  // Reshape, ... — runtime/model.cpp, trace_origin): it is {-1, 0, +1}, so
  // the op may take its event-driven kernel.
  bool input_is_spikes = false;
  // LoadOptions::engine and the instruction set the kernels may use
  // (the CPU's best, capped by LoadOptions::max_isa and TSPIKE_ISA).
  Engine engine = Engine::kAuto;
  Isa isa = Isa::kPortable;
  // The model's tspike.weights is fp16: event-driven layers keep their
  // weights as half floats.
  bool half_weights = false;
};

using OpFactory = std::unique_ptr<Op> (*)(const OpBuildContext&);

// The one list of ops: op_type -> factory and traits (see ops/registry.cpp).
struct OpEntry {
  const char* domain;  // "" for ONNX, "tspike" for ours
  const char* op_type;
  OpFactory create;
  const OpTraits* traits;
};
const std::vector<OpEntry>& op_registry();
const OpEntry* find_op(const std::string& domain, const std::string& op_type);
// The traits of a registered op; null for an op tspike does not implement.
const OpTraits* find_traits(const std::string& domain, const std::string& op_type);
// Registers the ONNX OpSchema of each op of tspike's domain (once; thread-safe).
void register_schemas();

}  // namespace tspike::ops
