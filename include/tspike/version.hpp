// SPDX-License-Identifier: Apache-2.0
// The version of the tspike library a program runs with. TSPIKE_VERSION_*
// (tspike/version.h, included here) is the version of the headers it was
// compiled with; the two differ when a program runs against another build
// of the shared library. One source: project(VERSION) in CMakeLists.txt,
// which the tools' --version, the CMake package, tspike.pc, the C API and
// the Python package all report.
#pragma once

#include "tspike/export.h"
#include "tspike/version.h"

namespace tspike {

// "MAJOR.MINOR.PATCH", as tspike_version() in the C API.
TSPIKE_API const char* version() noexcept;

}  // namespace tspike
