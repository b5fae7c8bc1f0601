// SPDX-License-Identifier: Apache-2.0
#include "tests/model_builder.hpp"

#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <stdexcept>

#include "converter/onnx_model.hpp"
#include "ops/op.hpp"

namespace tspike::test {

namespace {

onnx::AttributeProto* add_attribute(onnx::NodeProto* node, const std::string& name,
                                    onnx::AttributeProto::AttributeType type) {
  auto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(type);
  return a;
}

void check_count(const std::string& name, const Shape& dims, size_t count) {
  if (element_count(dims) != static_cast<int64_t>(count))
    throw std::invalid_argument("ModelBuilder: initializer '" + name + "' of shape " + shape_to_string(dims) +
                                " given " + std::to_string(count) + " values");
}

}  // namespace

NodeBuilder& NodeBuilder::i(const std::string& name, int64_t value) {
  add_attribute(node_, name, onnx::AttributeProto::INT)->set_i(value);
  return *this;
}

NodeBuilder& NodeBuilder::f(const std::string& name, float value) {
  add_attribute(node_, name, onnx::AttributeProto::FLOAT)->set_f(value);
  return *this;
}

NodeBuilder& NodeBuilder::s(const std::string& name, const std::string& value) {
  add_attribute(node_, name, onnx::AttributeProto::STRING)->set_s(value);
  return *this;
}

NodeBuilder& NodeBuilder::ints(const std::string& name, const std::vector<int64_t>& values) {
  auto* a = add_attribute(node_, name, onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
  return *this;
}

NodeBuilder& NodeBuilder::floats(const std::string& name, const std::vector<float>& values) {
  auto* a = add_attribute(node_, name, onnx::AttributeProto::FLOATS);
  for (float v : values) a->add_floats(v);
  return *this;
}

ModelBuilder::ModelBuilder(const Shape& input_shape, const std::string& input_name, int opset)
    : model_(std::make_unique<onnx::ModelProto>()) {
  model_->set_ir_version(8);
  model_->set_producer_name("tspike tests");
  auto* op = model_->add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  op = model_->add_opset_import();
  op->set_domain("tspike");
  op->set_version(1);
  auto* graph = model_->mutable_graph();
  graph->set_name("test");
  auto* in = graph->add_input();
  in->set_name(input_name);
  auto* type = in->mutable_type()->mutable_tensor_type();
  type->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = type->mutable_shape();
  for (int64_t d : input_shape) {
    auto* dim = shape->add_dim();
    if (d < 0)
      dim->set_dim_param("N");
    else
      dim->set_dim_value(d);
  }
}

ModelBuilder::~ModelBuilder() = default;
ModelBuilder::ModelBuilder(ModelBuilder&&) noexcept = default;
ModelBuilder& ModelBuilder::operator=(ModelBuilder&&) noexcept = default;

ModelBuilder& ModelBuilder::initializer(const std::string& name, const Shape& dims,
                                        const std::vector<float>& values) {
  check_count(name, dims, values.size());
  auto* t = model_->mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  for (float v : values) t->add_float_data(v);
  return *this;
}

ModelBuilder& ModelBuilder::initializer_i64(const std::string& name, const Shape& dims,
                                            const std::vector<int64_t>& values) {
  check_count(name, dims, values.size());
  auto* t = model_->mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  for (int64_t d : dims) t->add_dims(d);
  for (int64_t v : values) t->add_int64_data(v);
  return *this;
}

NodeBuilder ModelBuilder::node(const std::string& op_type, const std::string& name,
                               const std::vector<std::string>& inputs,
                               const std::vector<std::string>& outputs, const std::string& domain) {
  auto* n = model_->mutable_graph()->add_node();
  n->set_op_type(op_type);
  n->set_name(name);
  if (!domain.empty()) n->set_domain(domain);
  for (const auto& in : inputs) n->add_input(in);
  for (const auto& out : outputs) n->add_output(out);
  return NodeBuilder(n);
}

NodeBuilder ModelBuilder::spike(const std::string& name, const std::string& x, const std::string& y,
                                const std::string& amplitude) {
  std::vector<std::string> inputs{x};
  if (!amplitude.empty()) inputs.push_back(amplitude);
  return node("TernarySpike", name, inputs, {y}, "tspike");
}

ModelBuilder& ModelBuilder::output(const std::string& name, std::optional<Shape> shape, int elem_type) {
  auto* out = model_->mutable_graph()->add_output();
  out->set_name(name);
  auto* type = out->mutable_type()->mutable_tensor_type();
  type->set_elem_type(elem_type);
  if (shape) {
    auto* dims = type->mutable_shape();
    for (int64_t d : *shape) {
      auto* dim = dims->add_dim();
      if (d >= 0) dim->set_dim_value(d);
    }
  }
  return *this;
}

ModelBuilder& ModelBuilder::metadata(const std::string& key, const std::string& value) {
  for (auto& p : *model_->mutable_metadata_props())
    if (p.key() == key) {
      p.set_value(value);
      return *this;
    }
  auto* p = model_->add_metadata_props();
  p->set_key(key);
  p->set_value(value);
  return *this;
}

std::string ModelBuilder::serialize() const {
  onnx::ModelProto model = *model_;
  auto& outputs = *model.mutable_graph()->mutable_output();
  const bool missing = std::any_of(outputs.begin(), outputs.end(), [](const onnx::ValueInfoProto& o) {
    return !o.type().tensor_type().has_shape();
  });
  if (missing) {
    ops::register_schemas();
    onnx::ModelProto inferred = model;
    try {
      onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(),
                                         onnx::ShapeInferenceOptions(false, 0, true));
    } catch (const std::exception&) {
      // Left to the runtime's own check, which reports it.
    }
    for (auto& o : outputs)
      for (const auto& io : inferred.graph().output())
        if (io.name() == o.name() && !o.type().tensor_type().has_shape() &&
            io.type().tensor_type().has_shape())
          *o.mutable_type() = io.type();
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw std::runtime_error("ModelBuilder: cannot serialize");
  return bytes;
}

std::shared_ptr<const Model> ModelBuilder::load(const LoadOptions& options, const std::string& name) const {
  const std::string bytes = serialize();
  return Model::load_from_memory(bytes.data(), bytes.size(), name, options);
}

}  // namespace tspike::test
