// SPDX-License-Identifier: Apache-2.0
// Logging inside the library (internal): a cheap level check, then the
// message is formatted only when someone listens.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <string>

#include "tspike/log.hpp"

namespace tspike::detail {

extern std::atomic<int> g_log_level;

inline bool log_enabled(LogLevel level) {
  return static_cast<int>(level) <= g_log_level.load(std::memory_order_relaxed) && level != LogLevel::kOff;
}

void log_message(LogLevel level, const std::string& message);

template <typename... Args>
void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (!log_enabled(level)) return;
  try {
    log_message(level, fmt::format(format, std::forward<Args>(args)...));
  } catch (...) {
    // Out of memory while formatting: logging never changes what a call does.
  }
}

}  // namespace tspike::detail
