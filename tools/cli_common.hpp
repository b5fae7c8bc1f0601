// What the command-line tools share: exit codes and error reporting.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "tspike/model.hpp"

namespace tspike::cli {

// Exit codes of every tool.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // a model, input or I/O error
inline constexpr int kExitUsage = 2;  // a command line that does not parse

// Adds --version ("tool X.Y.Z", the project version from CMake), parses
// the command line, then runs `body`. A parse error prints CLI11's
// message and returns kExitUsage (--help returns 0); a tspike::Error or any
// other exception prints one line "tool: error: ..." and returns kExitError.
int run_tool(CLI::App& app, int argc, char** argv, const std::function<int()>& body);

// Options that raise (or lower) the limits that protect against hostile
// files: --max-file-mb, --max-tensor-elements, --max-arena-mb,
// --max-timesteps, --max-image-pixels. They write into `limits`.
void add_limit_options(CLI::App& app, Limits& limits);

}  // namespace tspike::cli
