// SPDX-License-Identifier: Apache-2.0
#include "tools/cli_common.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <new>

#include "tspike/error.hpp"
#include "tspike/version.h"

namespace tspike::cli {

namespace {
// Errors are one line: messages from ONNX's checker may span several.
std::string one_line(std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  for (char& c : message)
    if (c == '\n' || c == '\r') c = ' ';
  return message;
}
}  // namespace

int run_tool(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  app.set_version_flag("--version", fmt::format("{} {}", app.get_name(), TSPIKE_VERSION_STRING),
                       "Print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  const std::string tool = app.get_name();
  try {
    return body();
  } catch (const Error& e) {
    fmt::print(stderr, "{}: error: {}\n", tool, one_line(e.what()));
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "{}: error: out of memory\n", tool);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", tool, one_line(e.what()));
  }
  return kExitError;
}

Progress::Progress(bool wanted) : on_(wanted && isatty(fileno(stderr))) {}

void Progress::show(const std::string& text) {
  if (!on_) return;
  // \r and "erase to the end of the line": the next text overwrites this one.
  fmt::print(stderr, "\r\033[K{}", text);
  std::fflush(stderr);
  shown_ = true;
}

void Progress::clear() {
  if (!shown_) return;
  fmt::print(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
}

void add_limit_options(CLI::App& app, Limits& limits) {
  static const Limits defaults;
  auto* file_mb = app.add_option_function<int64_t>(
      "--max-file-mb", [&limits](int64_t mb) { limits.max_file_bytes = static_cast<std::size_t>(mb) << 20; },
      fmt::format("Largest model, image or .npy file read, in MiB (default {})",
                  defaults.max_file_bytes >> 20));
  file_mb->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  app.add_option("--max-tensor-elements", limits.max_tensor_elements,
                 fmt::format("Most elements of one tensor (default {})", defaults.max_tensor_elements))
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  app.add_option_function<int64_t>(
         "--max-arena-mb", [&limits](int64_t mb) { limits.max_arena_bytes = mb << 20; },
         fmt::format("Most memory planned for one batch size, in MiB (default {})",
                     defaults.max_arena_bytes >> 20))
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  app.add_option("--max-timesteps", limits.max_timesteps,
                 fmt::format("Most timesteps T (default {})", defaults.max_timesteps))
      ->check(CLI::Range(1, 1000000000));
  app.add_option("--max-image-pixels", limits.max_image_pixels,
                 fmt::format("Most pixels of an input image (default {})", defaults.max_image_pixels))
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
}

std::string not_spiking_note(const ModelInfo& info) {
  if (!info.spike_nodes.empty()) return "";
  return "the model has no TernarySpike node: it runs, but it is not a spiking network (every layer "
         "multiplies)";
}

}  // namespace tspike::cli
