// Helpers shared by the tests.
#pragma once

#include <string>

namespace tspike::test {

// Path of a file in the source tree, e.g. source_path("tests/data/x.onnx").
std::string source_path(const std::string& relative);
// A fresh temporary directory for one test.
std::string temp_dir(const std::string& tag);
// Directory holding tsrun and tsconvert.
std::string tools_dir();

struct CommandResult {
  int exit_code = -1;   // -1 when killed by a signal
  int signal = 0;
  std::string out, err;
};
// Runs a shell command line, capturing stdout and stderr.
CommandResult run_command(const std::string& command_line);

}  // namespace tspike::test
