// SPDX-License-Identifier: Apache-2.0
// A small helper for tests: builds a tspike ONNX model in memory with the
// onnx protobuf API and loads it with tspike::Model::load_from_memory.
//
//   test::ModelBuilder b({-1, 2, 3, 3});          // input "x", dim -1 = "N"
//   b.initializer("w", {1, 2, 1, 1}, {1, 2});
//   b.node("Conv", "conv", {"x", "w"}, {"y"}).ints("strides", {1, 1});
//   b.output("y").metadata("tspike.timesteps", "1");
//   auto model = b.load();
//
// The model has ir_version 8 and imports {"", opset} and {"tspike", 1}.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tspike/model.hpp"
#include "tspike/tensor.hpp"

namespace onnx {
class ModelProto;
class NodeProto;
}  // namespace onnx

namespace tspike::test {

// One node under construction; the attribute setters chain.
class NodeBuilder {
 public:
  explicit NodeBuilder(onnx::NodeProto* node) : node_(node) {}
  NodeBuilder& i(const std::string& name, int64_t value);
  NodeBuilder& f(const std::string& name, float value);
  NodeBuilder& s(const std::string& name, const std::string& value);
  NodeBuilder& ints(const std::string& name, const std::vector<int64_t>& values);
  NodeBuilder& floats(const std::string& name, const std::vector<float>& values);
  onnx::NodeProto& proto() { return *node_; }

 private:
  onnx::NodeProto* node_;  // owned by the graph; stays valid as nodes are added
};

class ModelBuilder {
 public:
  // The one float32 graph input; every dimension < 0 becomes the symbolic
  // dimension "N".
  explicit ModelBuilder(const Shape& input_shape, const std::string& input_name = "x", int opset = 13);
  ~ModelBuilder();
  ModelBuilder(ModelBuilder&&) noexcept;
  ModelBuilder& operator=(ModelBuilder&&) noexcept;

  ModelBuilder& initializer(const std::string& name, const Shape& dims, const std::vector<float>& values);
  ModelBuilder& initializer_i64(const std::string& name, const Shape& dims,
                                const std::vector<int64_t>& values);
  NodeBuilder node(const std::string& op_type, const std::string& name,
                   const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                   const std::string& domain = "");
  // A tspike::TernarySpike node; `amplitude` empty: none.
  NodeBuilder spike(const std::string& name, const std::string& x, const std::string& y,
                    const std::string& amplitude = "");
  // A graph output; elem_type is an onnx::TensorProto::DataType (1 = FLOAT,
  // 7 = INT64). Dims < 0 of `shape` are unknown. Without `shape`, serialize()
  // fills in what ONNX shape inference finds (ONNX's checker wants a shape);
  // give one where inference fails, e.g. to test a shape error.
  ModelBuilder& output(const std::string& name, std::optional<Shape> shape = std::nullopt, int elem_type = 1);
  // Sets (or replaces) a metadata_props entry.
  ModelBuilder& metadata(const std::string& key, const std::string& value);

  onnx::ModelProto& proto() { return *model_; }
  std::string serialize() const;
  std::shared_ptr<const Model> load(const LoadOptions& options = {},
                                    const std::string& name = "test.onnx") const;

 private:
  std::unique_ptr<onnx::ModelProto> model_;
};

// count weights drawn uniformly from [-bound, bound].
inline std::vector<float> random_weights(std::mt19937& rng, int64_t count, float bound = 0.4f) {
  std::vector<float> v(static_cast<size_t>(count));
  std::uniform_real_distribution<float> u(-bound, bound);
  for (auto& x : v) x = u(rng);
  return v;
}

}  // namespace tspike::test
