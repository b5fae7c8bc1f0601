// The C API's error paths: NULL arguments, bad files, bad shapes, statuses
// and codes. The happy path in C is tests/c_api_test.c.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/test_util.hpp"
#include "tspike/tspike_c.h"

namespace {

using tspike::test::source_path;

const std::string kModel = source_path("models/fashion_tsnet.onnx");

TEST(CApi, NullArgumentsAreErrorsNotCrashes) {
  tspike_status* status = nullptr;
  EXPECT_EQ(tspike_model_load(nullptr, &status), nullptr);
  EXPECT_EQ(tspike_status_code(status), TSPIKE_ERR_INVALID_ARGUMENT);
  tspike_status_free(status);
  EXPECT_EQ(tspike_session_create(nullptr, 0, 1, &status), nullptr);
  EXPECT_EQ(tspike_status_code(status), TSPIKE_ERR_INVALID_ARGUMENT);
  tspike_status_free(status);
  EXPECT_EQ(tspike_session_run(nullptr, nullptr, nullptr, 0, nullptr), TSPIKE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tspike_session_step(nullptr, nullptr, nullptr, 0, nullptr), TSPIKE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tspike_session_reset(nullptr, nullptr), TSPIKE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tspike_session_run_image(nullptr, "x.png", nullptr), TSPIKE_ERR_INVALID_ARGUMENT);
  // Accessors and frees accept NULL.
  EXPECT_EQ(tspike_session_output_count(nullptr), 0u);
  EXPECT_EQ(tspike_session_output_data(nullptr, 0), nullptr);
  EXPECT_EQ(tspike_model_label(nullptr, 0), nullptr);
  EXPECT_EQ(tspike_status_code(nullptr), TSPIKE_OK);
  EXPECT_STREQ(tspike_status_message(nullptr), "");
  tspike_model_free(nullptr);
  tspike_session_free(nullptr);
  tspike_status_free(nullptr);
}

TEST(CApi, LoadErrorsCarryCodeAndMessage) {
  tspike_status* status = nullptr;
  EXPECT_EQ(tspike_model_load("/nonexistent.onnx", &status), nullptr);
  EXPECT_EQ(tspike_status_code(status), TSPIKE_ERR_IO);
  EXPECT_NE(std::string(tspike_status_message(status)).find("/nonexistent.onnx"), std::string::npos);
  tspike_status_free(status);

  const std::string text = "not a model";
  EXPECT_EQ(tspike_model_load_from_memory(text.data(), text.size(), "junk.onnx", &status), nullptr);
  EXPECT_EQ(tspike_status_code(status), TSPIKE_ERR_PARSE);
  EXPECT_NE(std::string(tspike_status_message(status)).find("junk.onnx"), std::string::npos);
  tspike_status_free(status);

  // Without a status pointer the code is all the caller gets.
  EXPECT_EQ(tspike_model_load("/nonexistent.onnx", nullptr), nullptr);
}

TEST(CApi, SuccessClearsStatus) {
  tspike_status* status = reinterpret_cast<tspike_status*>(0x1);  // must be overwritten
  tspike_model* model = tspike_model_load(kModel.c_str(), &status);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(status, nullptr);
  tspike_model_free(model);
}

TEST(CApi, LoadFromMemory) {
  std::ifstream in(kModel, std::ios::binary);
  const std::vector<char> bytes{std::istreambuf_iterator<char>(in), {}};
  tspike_model* model = tspike_model_load_from_memory(bytes.data(), bytes.size(), "mem", nullptr);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(tspike_model_input_rank(model), 4u);
  EXPECT_EQ(tspike_model_input_dim(model, 99), 0);
  EXPECT_EQ(tspike_model_label(model, 1000), nullptr);
  tspike_model_free(model);
}

TEST(CApi, RunErrors) {
  tspike_model* model = tspike_model_load(kModel.c_str(), nullptr);
  ASSERT_NE(model, nullptr);
  tspike_status* status = nullptr;
  EXPECT_EQ(tspike_session_create(model, -3, 1, &status), nullptr);
  EXPECT_EQ(tspike_status_code(status), TSPIKE_ERR_BAD_INPUT);
  tspike_status_free(status);

  tspike_session* session = tspike_session_create(model, 2, 1, nullptr);
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(tspike_session_timesteps(session), 2);
  const long bad_shape[] = {1, 2, 3};
  const float data[6] = {};
  EXPECT_EQ(tspike_session_run(session, data, bad_shape, 3, &status), TSPIKE_ERR_BAD_INPUT);
  EXPECT_GT(std::string(tspike_status_message(status)).size(), 0u);
  tspike_status_free(status);
  const long negative[] = {1, -1, 28, 28};
  EXPECT_EQ(tspike_session_run(session, data, negative, 4, nullptr), TSPIKE_ERR_BAD_INPUT);
  EXPECT_EQ(tspike_session_run(session, nullptr, bad_shape, 3, nullptr), TSPIKE_ERR_BAD_INPUT);
  EXPECT_EQ(tspike_session_run_image(session, "/nonexistent.png", &status), TSPIKE_ERR_IO);
  tspike_status_free(status);
  EXPECT_EQ(tspike_session_output_count(session), 0u);
  tspike_session_free(session);
  tspike_model_free(model);
}

TEST(CApi, CodeNamesAndVersion) {
  EXPECT_STREQ(tspike_code_name(TSPIKE_OK), "ok");
  EXPECT_STREQ(tspike_code_name(TSPIKE_ERR_IO), "io");
  EXPECT_STREQ(tspike_code_name(static_cast<tspike_code>(1234)), "unknown");
  EXPECT_GT(std::string(tspike_version()).size(), 0u);
}

}  // namespace
