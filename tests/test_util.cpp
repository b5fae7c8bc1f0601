// SPDX-License-Identifier: Apache-2.0
#include "tests/test_util.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

namespace tspike::test {

void expect_error(const std::function<void()>& f, ErrorCode code, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error; expected " << to_string(code);
  } catch (const Error& e) {
    EXPECT_EQ(to_string(e.code()), to_string(code)) << e.what();
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << p << " in: " << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a tspike::Error: " << e.what();
  }
}

std::string source_path(const std::string& relative) {
  return std::string(TSPIKE_SOURCE_DIR) + "/" + relative;
}

namespace {
// The folders temp_dir made, removed when the test process exits
// (TSPIKE_KEEP_TEST_FILES=1 keeps them for a look after a failure).
struct TempDirs {
  std::mutex mutex;
  std::vector<std::filesystem::path> dirs;
  ~TempDirs() {
    if (std::getenv("TSPIKE_KEEP_TEST_FILES")) return;
    std::error_code ec;
    for (const auto& d : dirs) std::filesystem::remove_all(d, ec);
  }
};
TempDirs& temp_dirs() {
  static TempDirs dirs;
  return dirs;
}
}  // namespace

std::string temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             ("tspike_test_" + std::to_string(getpid()) + "_" + tag + "_" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  TempDirs& made = temp_dirs();
  std::lock_guard<std::mutex> lock(made.mutex);
  made.dirs.push_back(dir);
  return dir.string();
}

std::string tools_dir() {
  if (const char* d = std::getenv("TSPIKE_TOOLS_DIR")) return d;
  return std::string(TSPIKE_BINARY_DIR) + "/tools";
}

static std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

CommandResult run_command(const std::string& command_line) {
  std::string dir = temp_dir("cmd");
  std::string out = dir + "/out", err = dir + "/err";
  std::string full = command_line + " >" + out + " 2>" + err + " </dev/null";
  int status = std::system(full.c_str());
  CommandResult r;
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
    // The shell reports a child killed by a signal as 128 + signal.
    if (r.exit_code > 128) r.signal = r.exit_code - 128;
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  r.out = slurp(out);
  r.err = slurp(err);
  std::filesystem::remove_all(dir);
  return r;
}

}  // namespace tspike::test
