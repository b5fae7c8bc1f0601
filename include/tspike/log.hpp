// SPDX-License-Identifier: Apache-2.0
// Library logging that the host controls.
//
// tspike is silent by default: nothing is logged until the host raises the
// level. Messages at or below the level go to the sink (or, with no sink set,
// to stderr as "tspike: LEVEL: message"). What is logged: a model loaded
// (path, nodes, folds), a memory plan made for an input shape (arena bytes).
//
// The level and the sink are process-wide (a library has no better scope: a
// Model may be loaded on one thread and run on others). Both setters are
// thread-safe. The sink is called with the library's log lock held, so calls
// never overlap and the sink needs no locking of its own; it must not call
// set_log_sink() itself. A sink that throws has its exception swallowed:
// logging never changes what a call does.
#pragma once

#include <functional>
#include <string_view>

#include "tspike/export.h"

namespace tspike {

// Ordered: a message is delivered when its level <= the level set.
// Same numbers as TSPIKE_LOG_* in tspike_c.h.
enum class LogLevel { kOff = 0, kError = 1, kWarning = 2, kInfo = 3, kDebug = 4 };

TSPIKE_API const char* to_string(LogLevel level);

// The message is valid only during the call; copy it to keep it.
using LogSink = std::function<void(LogLevel level, std::string_view message)>;

TSPIKE_API void set_log_level(LogLevel level);
TSPIKE_API LogLevel log_level();
// An empty sink restores the default (stderr).
TSPIKE_API void set_log_sink(LogSink sink);

}  // namespace tspike
