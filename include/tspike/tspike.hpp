// SPDX-License-Identifier: Apache-2.0
// The whole public API of tspike.
#pragma once

#include "tspike/convert.hpp"
#include "tspike/dataset.hpp"
#include "tspike/error.hpp"
#include "tspike/events.hpp"
#include "tspike/input.hpp"
#include "tspike/log.hpp"
#include "tspike/model.hpp"
#include "tspike/observer.hpp"
#include "tspike/profile.hpp"
#include "tspike/session.hpp"
#include "tspike/tensor.hpp"
#include "tspike/version.hpp"
