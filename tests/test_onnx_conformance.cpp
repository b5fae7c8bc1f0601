// ONNX's own operator test cases (Debian package libonnx-testdata) run
// through tspike, for every standard op the runtime claims (TSPIKE_OPS).
//
// A case is a directory data/node/test_*/ whose model is one node of a
// claimed op: the op_type decides, not the directory name (so e.g. the
// single-Cast models of test_castlike_*_expanded are Cast cases, and
// test_convinteger or test_gather_elements are not cases at all). Each case
// is adapted to the format's rules (spec section 2): the first graph input
// stays the one runtime input, every other input becomes an initializer
// holding the case's input_k.pb, and tspike.timesteps = 1, so that the mean
// readout over one timestep is the plain op output.
//
// Every case runs twice: with the default LoadOptions (the converter's passes
// first, as users load models) and with reparameterize = false, because the
// passes rewrite some ops away (a Constant becomes an initializer) and the
// kernels must be checked on their own too.
#include <gtest/gtest.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ops/op.hpp"
#include "tspike/error.hpp"
#include "tspike/model.hpp"
#include "tspike/session.hpp"

namespace tspike {
namespace {

namespace fs = std::filesystem;

const char* const kTestdataDir = "/usr/share/libonnx-testdata/data/node";

// Cases that cannot run, and why. Each must really fail: an entry whose case
// passes fails the test, so the table stays honest.
const std::map<std::string, std::string>& skip_table() {
  static const std::map<std::string, std::string> table = {
      {"test_add_uint8", "uint8 inputs: tspike runs float32 only"},
      {"test_sub_uint8", "uint8 inputs: tspike runs float32 only"},
      {"test_mul_uint8", "uint8 inputs: tspike runs float32 only"},
      {"test_div_uint8", "uint8 inputs: tspike runs float32 only"},
      {"test_maxpool_2d_uint8", "uint8 inputs: tspike runs float32 only"},
      {"test_averagepool_1d_default", "1-D pooling: tspike supports 2-D windows"},
      {"test_maxpool_1d_default", "1-D pooling: tspike supports 2-D windows"},
      {"test_averagepool_3d_default", "3-D pooling: tspike supports 2-D windows"},
      {"test_maxpool_3d_default", "3-D pooling: tspike supports 2-D windows"},
      {"test_maxpool_with_argmax_2d_precomputed_pads", "MaxPool's Indices output (int64 from the input)"},
      {"test_maxpool_with_argmax_2d_precomputed_strides", "MaxPool's Indices output (int64 from the input)"},
      {"test_batchnorm_epsilon_training_mode", "training_mode BatchNormalization"},
      {"test_batchnorm_example_training_mode", "training_mode BatchNormalization"},
      {"test_identity_opt", "optional-typed input: tspike runs tensors only"},
      {"test_identity_sequence", "sequence-typed input: tspike runs tensors only"},
      {"test_reshape_allowzero_reordered", "empty input (a 0-sized dim): the batch dim must be >= 1"},
      {"test_cast_BFLOAT16_to_FLOAT", "Cast from BFLOAT16 (stored as UINT16): the runtime input is float32"},
      {"test_cast_FLOAT16_to_FLOAT", "Cast from FLOAT16: the runtime input is float32"},
      {"test_cast_FLOAT16_to_DOUBLE", "Cast from FLOAT16: the runtime input is float32"},
      {"test_cast_STRING_to_FLOAT", "Cast from STRING: the runtime input is float32"},
      {"test_cast_DOUBLE_to_FLOAT", "Cast from DOUBLE: the runtime input is float32"},
      {"test_cast_DOUBLE_to_FLOAT16", "Cast from DOUBLE: the runtime input is float32"},
      {"test_cast_FLOAT_to_FLOAT16", "Cast to FLOAT16 is not supported"},
      {"test_cast_FLOAT_to_BFLOAT16", "Cast to BFLOAT16 is not supported"},
      {"test_cast_FLOAT_to_STRING", "Cast to STRING is not supported"},
      {"test_castlike_BFLOAT16_to_FLOAT_expanded", "Cast from BFLOAT16 (stored as UINT16): the runtime input is float32"},
      {"test_castlike_FLOAT16_to_FLOAT_expanded", "Cast from FLOAT16: the runtime input is float32"},
      {"test_castlike_FLOAT16_to_DOUBLE_expanded", "Cast from FLOAT16: the runtime input is float32"},
      {"test_castlike_STRING_to_FLOAT_expanded", "Cast from STRING: the runtime input is float32"},
      {"test_castlike_DOUBLE_to_FLOAT_expanded", "Cast from DOUBLE: the runtime input is float32"},
      {"test_castlike_DOUBLE_to_FLOAT16_expanded", "Cast from DOUBLE: the runtime input is float32"},
      {"test_castlike_FLOAT_to_FLOAT16_expanded",
       "FLOAT16 tensors are not supported (here the 'like' initializer, then the Cast)"},
      {"test_castlike_FLOAT_to_BFLOAT16_expanded",
       "BFLOAT16 tensors are not supported (here the 'like' initializer, then the Cast)"},
      {"test_castlike_FLOAT_to_STRING_expanded",
       "STRING tensors are not supported (here the 'like' initializer, then the Cast)"},
  };
  return table;
}

// The standard ops the runtime claims: TSPIKE_OPS minus our own domain.
std::set<std::string> claimed_ops() {
  std::set<std::string> ops;
  for (const auto& e : ops::op_registry())
    if (std::string(e.domain).empty()) ops.insert(e.op_type);
  return ops;
}

template <typename Message>
bool read_proto(const fs::path& path, Message& out) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return in && out.ParseFromString(buffer.str());
}

// Case directory -> op_type, for every single-node model of a claimed op.
const std::map<std::string, std::string>& all_cases() {
  static const std::map<std::string, std::string> cases = [] {
    std::map<std::string, std::string> found;
    std::error_code ec;
    if (!fs::is_directory(kTestdataDir, ec)) return found;
    const auto claimed = claimed_ops();
    for (const auto& entry : fs::directory_iterator(kTestdataDir)) {
      onnx::ModelProto model;
      if (!read_proto(entry.path() / "model.onnx", model) || model.graph().node_size() != 1) continue;
      const auto& node = model.graph().node(0);
      if ((node.domain().empty() || node.domain() == "ai.onnx") && claimed.count(node.op_type()))
        found[entry.path().filename().string()] = node.op_type();
    }
    return found;
  }();
  return cases;
}

// A TensorProto's values as doubles, for the types that hold numbers tspike
// can represent; nullopt for the others (uint8, float16, strings, ...).
std::optional<std::vector<double>> values_of(const onnx::TensorProto& t) {
  using TP = onnx::TensorProto;
  std::vector<double> v;
  auto from_raw = [&](auto zero) {
    using E = decltype(zero);
    const std::string& raw = t.raw_data();
    for (size_t off = 0; off + sizeof(E) <= raw.size(); off += sizeof(E)) {
      E e;
      std::memcpy(&e, raw.data() + off, sizeof(E));
      v.push_back(static_cast<double>(e));
    }
  };
  const bool raw = t.has_raw_data();
  switch (t.data_type()) {
    case TP::FLOAT: if (raw) from_raw(float{}); else v.assign(t.float_data().begin(), t.float_data().end()); break;
    case TP::DOUBLE: if (raw) from_raw(double{}); else v.assign(t.double_data().begin(), t.double_data().end()); break;
    case TP::INT64: if (raw) from_raw(int64_t{}); else v.assign(t.int64_data().begin(), t.int64_data().end()); break;
    case TP::INT32: if (raw) from_raw(int32_t{}); else v.assign(t.int32_data().begin(), t.int32_data().end()); break;
    default: return std::nullopt;
  }
  int64_t count = 1;
  for (int64_t d : t.dims()) count *= d;
  if (static_cast<int64_t>(v.size()) != count) return std::nullopt;  // malformed: never index past it
  return v;
}

std::string type_name(int32_t type) {
  return onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(type));
}

// Runs one test_data_set under one LoadOptions; "" when every output matches.
std::string run_data_set(const onnx::ModelProto& original, const fs::path& set, const LoadOptions& options) {
  onnx::ModelProto model = original;
  onnx::GraphProto& g = *model.mutable_graph();
  Tensor input;
  if (g.input_size() == 0) {
    // The format wants exactly one runtime input (a Constant case has none):
    // add an unused one.
    auto* in = g.add_input();
    in->set_name("tspike_conformance_unused_input");
    in->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(1);
    input = Tensor({1}, {0.0f});
  } else {
    if (!g.input(0).type().has_tensor_type()) return "first input is not a tensor";
    onnx::TensorProto t;
    if (!read_proto(set / "input_0.pb", t)) return "cannot read input_0.pb";
    if (t.data_type() != onnx::TensorProto::FLOAT)
      return "first input is " + type_name(t.data_type()) + "; tspike's runtime input is float32";
    const auto v = values_of(t);
    if (!v) return "cannot decode input_0.pb";
    input = Tensor(Shape(t.dims().begin(), t.dims().end()), std::vector<float>(v->begin(), v->end()));
  }
  for (int k = 1; k < g.input_size(); ++k) {
    if (!g.input(k).type().has_tensor_type()) return "graph input " + std::to_string(k) + " is not a tensor";
    onnx::TensorProto t;
    if (!read_proto(set / ("input_" + std::to_string(k) + ".pb"), t)) return "cannot read input_" + std::to_string(k);
    t.set_name(g.input(k).name());
    *g.add_initializer() = t;
  }
  // tspike refuses opsets older than 7. GlobalAveragePool's cases import
  // opset 1; raising the import is exact when the node resolves to the same
  // schema version under both.
  const auto& node = g.node(0);
  for (auto& op : *model.mutable_opset_import()) {
    if (!(op.domain().empty() || op.domain() == "ai.onnx") || op.version() >= 7) continue;
    const auto* old_schema = onnx::OpSchemaRegistry::Schema(node.op_type(), static_cast<int>(op.version()));
    const auto* new_schema = onnx::OpSchemaRegistry::Schema(node.op_type(), 7);
    if (old_schema && new_schema && old_schema->since_version() == new_schema->since_version()) op.set_version(7);
  }
  auto* meta = model.add_metadata_props();
  meta->set_key("tspike.timesteps");
  meta->set_value("1");

  const std::string bytes = model.SerializeAsString();
  std::vector<Tensor> outputs;
  try {
    auto loaded = Model::load_from_memory(bytes.data(), bytes.size(), set.parent_path().filename().string(), options);
    Session session(loaded, SessionOptions{1, 1});
    outputs = session.run(input);
  } catch (const std::exception& e) {
    return std::string("error: ") + e.what();
  }
  if (static_cast<int>(outputs.size()) != g.output_size())
    return "got " + std::to_string(outputs.size()) + " outputs, expected " + std::to_string(g.output_size());
  std::ostringstream failure;
  for (int k = 0; k < g.output_size(); ++k) {
    onnx::TensorProto t;
    if (!read_proto(set / ("output_" + std::to_string(k) + ".pb"), t)) return "cannot read output_" + std::to_string(k);
    auto expected = values_of(t);
    if (!expected) return "output " + std::to_string(k) + " is " + type_name(t.data_type());
    const Shape shape(t.dims().begin(), t.dims().end());
    if (outputs[k].shape != shape)
      return "output " + std::to_string(k) + " has shape " + shape_to_string(outputs[k].shape) + ", expected " +
             shape_to_string(shape);
    const bool exact = t.data_type() == onnx::TensorProto::INT64 || t.data_type() == onnx::TensorProto::INT32;
    int mismatches = 0;
    for (size_t e = 0; e < expected->size(); ++e) {
      const double want = (*expected)[e], got = outputs[k].data[e];
      const bool ok = exact ? static_cast<float>(want) == outputs[k].data[e]
                            : std::abs(got - want) <= 1e-5 + 1e-4 * std::abs(want);
      if (!ok && mismatches++ < 3)
        failure << "output " << k << " element " << e << ": expected " << want << ", got " << got << "; ";
    }
    if (mismatches) failure << mismatches << " of " << expected->size() << " elements differ; ";
  }
  return failure.str();
}

// Outcome of one case: "" when it passes under both LoadOptions. Memoized:
// the summary test and the per-case tests share it within one process.
const std::string& evaluate(const std::string& name) {
  static std::map<std::string, std::string> cache;
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  const fs::path dir = fs::path(kTestdataDir) / name;
  std::string result;
  onnx::ModelProto model;
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  if (!read_proto(dir / "model.onnx", model)) result = "cannot read model.onnx";
  else if (sets.empty()) result = "no test_data_set_*";
  for (const auto& set : sets) {
    for (bool reparameterize : {true, false}) {
      LoadOptions options;
      options.reparameterize = reparameterize;
      const std::string r = run_data_set(model, set, options);
      if (!r.empty()) {
        result = set.filename().string() + (reparameterize ? " (default LoadOptions): " : " (reparameterize=false): ") + r;
        break;
      }
    }
    if (!result.empty()) break;
  }
  return cache[name] = result;
}

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  for (const auto& [name, op] : all_cases()) names.push_back(name);
  return names;
}

const std::string kMissing = std::string("ONNX's operator test data is missing: ") + kTestdataDir +
                             " does not exist or holds no case. Install the Debian package libonnx-testdata.";

class OnnxConformance : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxConformance, MatchesOnnxReference) {
  const std::string& name = GetParam();
  const std::string& failure = evaluate(name);
  const auto skip = skip_table().find(name);
  if (skip != skip_table().end()) {
    if (failure.empty())
      FAIL() << name << " passes but is in the skip table (\"" << skip->second << "\"): remove the entry";
    GTEST_SKIP() << skip->second << " [" << failure << "]";
  }
  EXPECT_EQ(failure, "") << name << " (" << all_cases().at(name) << ")";
}

INSTANTIATE_TEST_SUITE_P(Node, OnnxConformance, ::testing::ValuesIn(case_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });
// Without the package there are no parameters; OnnxConformanceSummary fails then.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OnnxConformance);

TEST(OnnxConformanceSummary, TestdataIsInstalled) {
  ASSERT_FALSE(all_cases().empty()) << kMissing;
}

// Runs every case itself (ctest runs each test in its own process, so it
// cannot rely on the per-case tests), checks that every claimed standard op
// passed at least one case and that the skip table names only real cases,
// and prints the summary.
TEST(OnnxConformanceSummary, EveryClaimedOpRunsACase) {
  ASSERT_FALSE(all_cases().empty()) << kMissing;
  std::map<std::string, std::vector<std::string>> passed;
  for (const auto& op : claimed_ops()) passed[op];
  std::vector<std::string> skipped, failed;
  for (const auto& [name, op] : all_cases()) {
    const std::string& failure = evaluate(name);
    if (skip_table().count(name)) {
      skipped.push_back(name);
      EXPECT_NE(failure, "") << name << " passes but is in the skip table: remove the entry";
    }
    else if (failure.empty()) passed[op].push_back(name);
    else failed.push_back(name + ": " + failure);
  }
  for (const auto& [name, reason] : skip_table())
    EXPECT_TRUE(all_cases().count(name)) << "skip-table entry " << name << " is not a case of a claimed op";

  std::ostringstream out;
  out << "ONNX conformance (" << kTestdataDir << "): cases passed per op\n";
  for (const auto& [op, names] : passed) {
    out << "  " << op << ": " << names.size();
    for (const auto& n : names) out << " " << n;
    out << "\n";
    EXPECT_FALSE(names.empty()) << "claimed op " << op << " passed no ONNX test case";
    RecordProperty("cases_" + op, static_cast<int>(names.size()));
  }
  out << "skipped (" << skipped.size() << "):\n";
  for (const auto& n : skipped) out << "  " << n << ": " << skip_table().at(n) << "\n";
  out << "failed (" << failed.size() << "):\n";
  for (const auto& f : failed) out << "  " << f << "\n";
  std::cout << out.str();
  EXPECT_TRUE(failed.empty()) << failed.size() << " case(s) fail and are not in the skip table";
}

}  // namespace
}  // namespace tspike
