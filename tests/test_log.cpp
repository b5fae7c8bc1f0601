// SPDX-License-Identifier: Apache-2.0
// Library logging: silent by default; a sink receives messages at the level
// chosen and nothing above it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/test_util.hpp"
#include "tspike/log.hpp"
#include "tspike/tspike.hpp"

namespace {

using tspike::LogLevel;

struct Captured {
  std::vector<std::pair<LogLevel, std::string>> messages;
};

// Restores the process-wide defaults after each test.
class Log : public ::testing::Test {
 protected:
  void TearDown() override {
    tspike::set_log_level(LogLevel::kOff);
    tspike::set_log_sink({});
  }
  Captured captured;
  void capture() {
    tspike::set_log_sink(
        [this](LogLevel l, std::string_view m) { captured.messages.emplace_back(l, std::string(m)); });
  }
  void load_and_run() {
    auto model = tspike::Model::load(tspike::test::source_path("models/fashion_tsnet.onnx"));
    tspike::Session session(model);
    session.run(tspike::load_image(tspike::test::source_path("models/samples/fashion_0_ankle_boot.png"),
                                   model->info()));
  }
};

TEST_F(Log, SilentByDefault) {
  EXPECT_EQ(tspike::log_level(), LogLevel::kOff);
  capture();  // a sink alone does not turn logging on
  testing::internal::CaptureStderr();
  load_and_run();
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_TRUE(captured.messages.empty());
}

TEST_F(Log, SinkReceivesModelAndPlanAtInfo) {
  capture();
  tspike::set_log_level(LogLevel::kInfo);
  load_and_run();
  ASSERT_EQ(captured.messages.size(), 2u);
  EXPECT_EQ(captured.messages[0].first, LogLevel::kInfo);
  EXPECT_NE(captured.messages[0].second.find("model loaded"), std::string::npos);
  EXPECT_NE(captured.messages[0].second.find("fashion_tsnet.onnx"), std::string::npos);
  EXPECT_NE(captured.messages[0].second.find("nodes"), std::string::npos);
  EXPECT_NE(captured.messages[1].second.find("plan made for input [1,1,28,28]"), std::string::npos);
  EXPECT_NE(captured.messages[1].second.find("arena"), std::string::npos);
}

TEST_F(Log, LevelBelowInfoFiltersInfo) {
  capture();
  tspike::set_log_level(LogLevel::kWarning);
  load_and_run();
  EXPECT_TRUE(captured.messages.empty());
}

TEST_F(Log, DefaultSinkIsStderr) {
  tspike::set_log_level(LogLevel::kInfo);
  testing::internal::CaptureStderr();
  load_and_run();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("tspike: info: model loaded"), std::string::npos);
}

TEST_F(Log, ThrowingSinkDoesNotFailTheCall) {
  tspike::set_log_sink([](LogLevel, std::string_view) { throw std::runtime_error("host bug"); });
  tspike::set_log_level(LogLevel::kDebug);
  EXPECT_NO_THROW(load_and_run());
}

}  // namespace
