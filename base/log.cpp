// SPDX-License-Identifier: Apache-2.0
#include "base/log.hpp"

#include <cstdio>
#include <mutex>

namespace tspike {

namespace detail {
std::atomic<int> g_log_level{static_cast<int>(LogLevel::kOff)};
namespace {
std::mutex g_log_mutex;  // guards the sink and serializes its calls
LogSink& sink() {
  static LogSink s;
  return s;
}
}  // namespace

void log_message(LogLevel level, const std::string& message) {
  std::lock_guard lock(g_log_mutex);
  try {
    if (sink())
      sink()(level, message);
    else
      std::fprintf(stderr, "tspike: %s: %s\n", to_string(level), message.c_str());
  } catch (...) {
    // A host's sink must not turn a successful load or run into a failure.
  }
}
}  // namespace detail

const char* to_string(LogLevel level) {
  switch (level) {
    case LogLevel::kOff:
      return "off";
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "?";
}

void set_log_level(LogLevel level) { detail::g_log_level.store(static_cast<int>(level)); }
LogLevel log_level() { return static_cast<LogLevel>(detail::g_log_level.load()); }

void set_log_sink(LogSink s) {
  std::lock_guard lock(detail::g_log_mutex);
  detail::sink() = std::move(s);
}

}  // namespace tspike
