// SPDX-License-Identifier: Apache-2.0
#include "tspike/version.hpp"

namespace tspike {

const char* version() noexcept { return TSPIKE_VERSION_STRING; }

}  // namespace tspike
