// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the tests.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tspike/error.hpp"

namespace tspike::test {

// Runs `f`, which must throw a tspike::Error with `code` whose message holds
// every one of `parts` (e.g. the node's name); anything else fails the test.
void expect_error(const std::function<void()>& f, ErrorCode code, const std::vector<std::string>& parts);

// Path of a file in the source tree, e.g. source_path("tests/data/x.onnx").
std::string source_path(const std::string& relative);
// A fresh temporary directory for one test.
std::string temp_dir(const std::string& tag);
// Directory holding tsrun and tsconvert.
std::string tools_dir();

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out, err;
};
// Runs a shell command line, capturing stdout and stderr.
CommandResult run_command(const std::string& command_line);

}  // namespace tspike::test
