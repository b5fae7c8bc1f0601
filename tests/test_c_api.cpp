// SPDX-License-Identifier: Apache-2.0
// The C API's error paths: NULL arguments, bad files, bad shapes, statuses
// and codes. The happy path in C is tests/c_api_test.c.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "ops/conv_onednn.hpp"
#include "tests/test_util.hpp"
#include "tspike/tspike_c.h"
#include "tspike/version.hpp"

namespace {

using tspike::test::source_path;

const std::string kModel = source_path("models/fashion_tsnet.onnx");
const std::string kResNet = source_path("models/fashion_resnet.onnx");  // has event-driven layers

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

std::vector<std::string> kernels(const tspike_model* model) {
  std::vector<std::string> k;
  for (size_t i = 0; i < tspike_model_layer_count(model); ++i)
    k.push_back(tspike_model_layer_kernel(model, i));
  EXPECT_EQ(tspike_model_layer_kernel(model, k.size()), nullptr);
  EXPECT_EQ(tspike_model_layer_name(model, k.size()), nullptr);
  return k;
}

TEST(CApi, LoadOptionsChooseTheKernels) {
  tspike_load_options options;
  tspike_load_options_init(&options);
  EXPECT_EQ(options.struct_size, sizeof(tspike_load_options));
  EXPECT_EQ(options.engine, TSPIKE_ENGINE_AUTO);

  options.engine = TSPIKE_ENGINE_EVENT;
  options.max_isa = TSPIKE_ISA_PORTABLE;
  tspike_model* model = tspike_model_load_with(kResNet.c_str(), &options, nullptr);
  ASSERT_NE(model, nullptr);
  ASSERT_GT(tspike_model_layer_count(model), 1u);
  EXPECT_GT(std::string(tspike_model_layer_name(model, 0)).size(), 0u);
  int event = 0;
  for (const std::string& k : kernels(model)) event += k == "event/portable";
  EXPECT_GT(event, 0);
  tspike_model_free(model);

  options.engine = TSPIKE_ENGINE_DENSE;
  model = tspike_model_load_with(kResNet.c_str(), &options, nullptr);
  ASSERT_NE(model, nullptr);
  for (const std::string& k : kernels(model)) EXPECT_EQ(k.find("event"), std::string::npos) << k;
  tspike_model_free(model);

  tspike_load_options_init(&options);
  options.reference_kernels = 1;
  model = tspike_model_load_with(kResNet.c_str(), &options, nullptr);
  ASSERT_NE(model, nullptr);
  for (const std::string& k : kernels(model)) EXPECT_EQ(k, "reference");
  tspike_model_free(model);

  // A program built against older headers: fields past its struct_size
  // keep their defaults, whatever the memory there holds.
  tspike_load_options_init(&options);
  options.engine = TSPIKE_ENGINE_DENSE;
  options.reference_kernels = 1;
  options.struct_size = offsetof(tspike_load_options, reference_kernels);
  model = tspike_model_load_with(kResNet.c_str(), &options, nullptr);
  ASSERT_NE(model, nullptr);
  int onednn = 0;
  for (const std::string& k : kernels(model)) onednn += k == "oneDNN";
  EXPECT_EQ(onednn > 0, tspike::ops::onednn_available());  // without oneDNN every dense Conv is the reference
  tspike_model_free(model);
  model = tspike_model_load_with(kResNet.c_str(), nullptr, nullptr);  // NULL options: the defaults
  EXPECT_NE(model, nullptr);
  tspike_model_free(model);
}

TEST(CApi, BadOptionsAreInvalidArguments) {
  tspike_load_options options;
  tspike_load_options_init(&options);
  tspike_status* status = nullptr;
  options.engine = 7;
  EXPECT_EQ(tspike_model_load_with(kModel.c_str(), &options, &status), nullptr);
  EXPECT_EQ(tspike_status_code(status), TSPIKE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tspike_status_message(status)).find("engine 7"), std::string::npos);
  tspike_status_free(status);
  tspike_load_options_init(&options);
  options.max_isa = -1;
  EXPECT_EQ(tspike_model_load_with(kModel.c_str(), &options, &status), nullptr);
  EXPECT_EQ(tspike_status_code(status), TSPIKE_ERR_INVALID_ARGUMENT);
  tspike_status_free(status);
  options.struct_size = 0;  // never initialized
  EXPECT_EQ(tspike_model_load_with(kModel.c_str(), &options, &status), nullptr);
  EXPECT_NE(std::string(tspike_status_message(status)).find("struct_size"), std::string::npos);
  tspike_status_free(status);
  EXPECT_EQ(tspike_model_load_with(nullptr, nullptr, nullptr), nullptr);
  tspike_session_options session_options{};
  tspike_model* model = tspike_model_load(kModel.c_str(), nullptr);
  EXPECT_EQ(tspike_session_create_with(model, &session_options, &status), nullptr);  // struct_size 0
  EXPECT_EQ(tspike_status_code(status), TSPIKE_ERR_INVALID_ARGUMENT);
  tspike_status_free(status);
  tspike_session_options_init(&session_options);
  session_options.timesteps = -3;
  EXPECT_EQ(tspike_session_create_with(model, &session_options, &status), nullptr);
  EXPECT_EQ(tspike_status_code(status), TSPIKE_ERR_BAD_INPUT);
  tspike_status_free(status);
  EXPECT_EQ(tspike_session_create_with(nullptr, nullptr, nullptr), nullptr);
  tspike_model_free(model);
}

// Threads and polling change nothing in the outputs.
TEST(CApi, SessionOptionsGiveTheSameOutputs) {
  tspike_model* model = tspike_model_load(kModel.c_str(), nullptr);
  ASSERT_NE(model, nullptr);
  const long shape[] = {3, tspike_model_input_dim(model, 1), tspike_model_input_dim(model, 2),
                        tspike_model_input_dim(model, 3)};
  std::vector<float> data(static_cast<size_t>(shape[0] * shape[1] * shape[2] * shape[3]));
  for (size_t k = 0; k < data.size(); ++k) data[k] = static_cast<float>((k * 37) % 101) / 50.0f - 1.0f;
  auto outputs = [&](const tspike_session_options* options) {
    tspike_session* session = tspike_session_create_with(model, options, nullptr);
    EXPECT_NE(session, nullptr);
    EXPECT_EQ(tspike_session_run(session, data.data(), shape, 4, nullptr), TSPIKE_OK);
    const float* y = tspike_session_output_data(session, 0);
    std::vector<float> out(y, y + tspike_session_output_size(session, 0));
    EXPECT_EQ(tspike_session_timesteps(session), options && options->timesteps ? options->timesteps : 4);
    tspike_session_free(session);
    return out;
  };
  const std::vector<float> want = outputs(nullptr);
  tspike_session_options options;
  tspike_session_options_init(&options);
  EXPECT_EQ(options.threads, 1);
  EXPECT_EQ(options.allow_spinning, 1);
  for (int spinning : {0, 1}) {
    options.threads = 2;
    options.allow_spinning = spinning;
    EXPECT_EQ(outputs(&options), want) << "spinning " << spinning;
  }
  EXPECT_EQ(options.layer_major, 0);
  EXPECT_EQ(options.timestep_major, 0);
  options.layer_major = 1;
  EXPECT_EQ(outputs(&options), want) << "layer major";
  options.layer_major = 0;
  options.timestep_major = 1;
  EXPECT_EQ(outputs(&options), want) << "timestep major";
  options.timesteps = 2;
  EXPECT_NE(outputs(&options), want);
  tspike_model_free(model);
}

// fuse_neurons and neuron_event_maps are kept for older callers and ignored:
// a model loads the same kernels and gives the same outputs with them set.
TEST(CApi, RemovedLoadOptionsAreIgnored) {
  tspike_load_options options;
  tspike_load_options_init(&options);
  EXPECT_EQ(options.fuse_neurons, 0);
  EXPECT_EQ(options.neuron_event_maps, 0);
  options.engine = TSPIKE_ENGINE_EVENT;
  tspike_model* plain = tspike_model_load_with(kModel.c_str(), &options, nullptr);
  options.fuse_neurons = 1;
  options.neuron_event_maps = 1;
  tspike_model* set = tspike_model_load_with(kModel.c_str(), &options, nullptr);
  ASSERT_NE(plain, nullptr);
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(kernels(set), kernels(plain));
  const long shape[] = {1, tspike_model_input_dim(plain, 1), tspike_model_input_dim(plain, 2),
                        tspike_model_input_dim(plain, 3)};
  std::vector<float> data(static_cast<size_t>(shape[1] * shape[2] * shape[3]));
  for (size_t k = 0; k < data.size(); ++k) data[k] = static_cast<float>((k * 29) % 97) / 48.0f - 1.0f;
  auto outputs = [&](tspike_model* model) {
    tspike_session* session = tspike_session_create_with(model, nullptr, nullptr);
    EXPECT_EQ(tspike_session_run(session, data.data(), shape, 4, nullptr), TSPIKE_OK);
    const float* y = tspike_session_output_data(session, 0);
    std::vector<float> out(y, y + tspike_session_output_size(session, 0));
    tspike_session_free(session);
    return out;
  };
  EXPECT_EQ(outputs(set), outputs(plain));
  tspike_model_free(plain);
  tspike_model_free(set);
}

TEST(CApi, CodeNamesAndVersion) {
  EXPECT_STREQ(tspike_code_name(TSPIKE_OK), "ok");
  EXPECT_STREQ(tspike_code_name(TSPIKE_ERR_IO), "io");
  EXPECT_STREQ(tspike_code_name(static_cast<tspike_code>(1234)), "unknown");
  // One version everywhere: the library (C and C++) and the headers.
  EXPECT_STREQ(tspike_version(), tspike::version());
  EXPECT_STREQ(tspike::version(), TSPIKE_VERSION_STRING);
  EXPECT_EQ(std::string(TSPIKE_VERSION_STRING),
            fmt::format("{}.{}.{}", TSPIKE_VERSION_MAJOR, TSPIKE_VERSION_MINOR, TSPIKE_VERSION_PATCH));
}

}  // namespace
