// SPDX-License-Identifier: Apache-2.0
// ONNX's own operator test cases (Debian package libonnx-testdata) run
// through tspike, for every standard op the runtime claims. The runner is
// tests/ops/conformance.cpp; each op's cases are instantiated in its file,
// tests/ops/test_<file>.cpp (TSPIKE_ONNX_CONFORMANCE). Here: the test each
// case runs, the skip table, and the summary over all cases.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ops/op.hpp"
#include "tests/ops/conformance.hpp"

namespace tspike {

using test::claimed_ops;
using test::kOnnxTestdataDir;

namespace {

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
      {"test_edge_pad",
       "int32 input: tspike runs float32 only (and Pad mode edge is refused: constant only)"},
      {"test_reflect_pad",
       "int32 input: tspike runs float32 only (and Pad mode reflect is refused: constant only)"},
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
      {"test_castlike_BFLOAT16_to_FLOAT_expanded",
       "Cast from BFLOAT16 (stored as UINT16): the runtime input is float32"},
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

const std::string kMissing = std::string("ONNX's operator test data is missing: ") + kOnnxTestdataDir +
                             " does not exist or holds no case. Install the Debian package libonnx-testdata.";

}  // namespace

TEST_P(OnnxConformance, MatchesOnnxReference) {
  const std::string& name = GetParam();
  const std::string& failure = test::evaluate_onnx_case(name);
  const auto skip = skip_table().find(name);
  if (skip != skip_table().end()) {
    if (failure.empty())
      FAIL() << name << " passes but is in the skip table (\"" << skip->second << "\"): remove the entry";
    GTEST_SKIP() << skip->second << " [" << failure << "]";
  }
  EXPECT_EQ(failure, "") << name << " (" << test::onnx_cases().at(name) << ")";
}
// Without the package there are no parameters; OnnxConformanceSummary fails then.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OnnxConformance);

namespace {

TEST(OnnxConformanceSummary, TestdataIsInstalled) { ASSERT_FALSE(test::onnx_cases().empty()) << kMissing; }

// Runs every case itself (ctest runs each test in its own process, so it
// cannot rely on the per-case tests), checks that every claimed standard op
// passed at least one case and that the skip table names only real cases,
// and prints the summary.
TEST(OnnxConformanceSummary, EveryClaimedOpRunsACase) {
  ASSERT_FALSE(test::onnx_cases().empty()) << kMissing;
  std::map<std::string, std::vector<std::string>> passed;
  for (const auto& op : claimed_ops()) passed[op];
  std::vector<std::string> skipped, failed;
  for (const auto& [name, op] : test::onnx_cases()) {
    const std::string& failure = test::evaluate_onnx_case(name);
    if (skip_table().count(name)) {
      skipped.push_back(name);
      EXPECT_NE(failure, "") << name << " passes but is in the skip table: remove the entry";
    } else if (failure.empty())
      passed[op].push_back(name);
    else
      failed.push_back(name + ": " + failure);
  }
  for (const auto& [name, reason] : skip_table())
    EXPECT_TRUE(test::onnx_cases().count(name))
        << "skip-table entry " << name << " is not a case of a claimed op";

  std::ostringstream out;
  out << "ONNX conformance (" << kOnnxTestdataDir << "): cases passed per op\n";
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

// Each op's file instantiates its cases (TSPIKE_ONNX_CONFORMANCE) or says
// why it has none (TSPIKE_NO_ONNX_CONFORMANCE): no case goes unrun because
// its op's file forgot it, and no op claims to have none while ONNX has some.
TEST(OnnxConformanceSummary, EveryOpFileInstantiatesItsCases) {
  const auto& instantiated = test::instantiated_ops();
  const auto& without = test::ops_without_onnx_cases();
  for (const auto& e : ops::op_registry()) {
    const bool has = instantiated.count(e.op_type) > 0, none = without.count(e.op_type) > 0;
    EXPECT_TRUE(has != none)
        << e.op_type << ": instantiate its ONNX cases in its tests/ops/test_<file>.cpp "
        << "(TSPIKE_ONNX_CONFORMANCE), or say why there are none (TSPIKE_NO_ONNX_CONFORMANCE)";
  }
  for (const auto& [name, op] : test::onnx_cases())
    EXPECT_EQ(without.count(op), 0u) << op << " is declared without ONNX cases, but " << name << " is one";
}

}  // namespace
}  // namespace tspike
