// SPDX-License-Identifier: Apache-2.0
// ONNX's own operator test cases (Debian package libonnx-testdata) run
// through tspike (tests/ops/conformance.cpp). Each tests/ops/test_<file>.cpp
// instantiates the cases of its ops:
//
//   TSPIKE_ONNX_CONFORMANCE(Conv, "Conv");       // Conv/OnnxConformance.MatchesOnnxReference/test_conv_*
//   TSPIKE_NO_ONNX_CONFORMANCE(TernarySpike, "why there are none");
//
// The test itself, the skip table and the summary (every claimed op passes a
// case; every registered op's cases are instantiated by some file) live in
// tests/test_onnx_conformance.cpp.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace tspike {

// The parameter is a case's directory name, e.g. "test_conv_with_strides_padding".
class OnnxConformance : public ::testing::TestWithParam<std::string> {};

namespace test {

extern const char* const kOnnxTestdataDir;

// The standard ops the runtime claims: the registry minus tspike's own domain.
std::set<std::string> claimed_ops();

// Case directory -> op_type, for every single-node model of a claimed op
// (the op_type decides, not the directory name). Empty without the package.
const std::map<std::string, std::string>& onnx_cases();

// Outcome of one case: "" when it passes under both LoadOptions (the
// converter's passes first, and reparameterize = false), else the first
// failure. Memoized within the process.
const std::string& evaluate_onnx_case(const std::string& name);

// The cases of `ops`, by name; records the ops as instantiated.
std::vector<std::string> onnx_cases_of(const std::set<std::string>& ops);
// Ops whose cases a test file instantiated, so far.
const std::set<std::string>& instantiated_ops();

// Ops declared to have no ONNX case, with the reason.
bool declare_no_onnx_cases(const std::string& op, const std::string& reason);
const std::map<std::string, std::string>& ops_without_onnx_cases();

std::string onnx_case_test_name(const ::testing::TestParamInfo<std::string>& info);

}  // namespace test
}  // namespace tspike

// Instantiates ONNX's cases of the listed ops (strings) under the prefix
// `Suite`. Use inside namespace tspike.
#define TSPIKE_ONNX_CONFORMANCE(Suite, ...)                                                   \
  INSTANTIATE_TEST_SUITE_P(Suite, OnnxConformance,                                            \
                           ::testing::ValuesIn(::tspike::test::onnx_cases_of({__VA_ARGS__})), \
                           ::tspike::test::onnx_case_test_name)

// Declares that `Op` has no ONNX case, and why.
#define TSPIKE_NO_ONNX_CONFORMANCE(Op, reason)                   \
  [[maybe_unused]] static const bool tspike_no_onnx_cases_##Op = \
      ::tspike::test::declare_no_onnx_cases(#Op, reason)
