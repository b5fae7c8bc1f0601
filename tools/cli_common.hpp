// SPDX-License-Identifier: Apache-2.0
// What the command-line tools share: exit codes and error reporting.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "tspike/model.hpp"

namespace tspike::cli {

// "" for a model with TernarySpike nodes; else one line saying that it runs
// but is not a spiking network.
std::string not_spiking_note(const ModelInfo& info);

// Exit codes of every tool.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // a model, input or I/O error
inline constexpr int kExitUsage = 2;  // a command line that does not parse

// Adds --version ("tool X.Y.Z", the project version from CMake), parses
// the command line, then runs `body`. A parse error prints CLI11's
// message and returns kExitUsage (--help returns 0); a tspike::Error or any
// other exception prints one line "tool: error: ..." and returns kExitError.
int run_tool(CLI::App& app, int argc, char** argv, const std::function<int()>& body);

// A one-line progress display on stderr for long work (a data set, a
// verification). It shows only when stderr is a terminal and `wanted` (the
// tool was not given --quiet or --json): piped or redirected output, logs and
// CI see only the result.
class Progress {
 public:
  explicit Progress(bool wanted);
  ~Progress() { clear(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  bool on() const { return on_; }
  // Replaces the line with `text`.
  void show(const std::string& text);
  // Erases the line (also done when the Progress goes away).
  void clear();

 private:
  bool on_ = false;
  bool shown_ = false;
};

// Options that raise (or lower) the limits that protect against hostile
// files: --max-file-mb, --max-tensor-elements, --max-arena-mb,
// --max-timesteps, --max-image-pixels. They write into `limits`.
void add_limit_options(CLI::App& app, Limits& limits);

}  // namespace tspike::cli
