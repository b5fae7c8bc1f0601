#include "tspike/version.hpp"

namespace tspike {

const char* version() noexcept { return TSPIKE_VERSION_STRING; }

}  // namespace tspike
