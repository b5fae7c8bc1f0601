// SPDX-License-Identifier: Apache-2.0
// Shared by the event readers (internal).
#pragma once

#include <cstdint>
#include <string>

#include "tspike/events.hpp"

namespace tspike::detail {

// A NumPy structured array (.npy) or an .npz archive of events.
EventRecording read_numpy_events(const unsigned char* data, uint64_t size, const std::string& name,
                                 const Limits& limits);

// One '%' line of an EVT 2.0 header: the format and the sensor size.
void parse_evt2_header_line(const std::string& line, EventRecording& rec, const std::string& what);

}  // namespace tspike::detail
