// SPDX-License-Identifier: Apache-2.0
// The C API's handles and error plumbing, shared by its source files
// (runtime/c_api.cpp, runtime/c_api_events.cpp). Internal.
#pragma once

#include <memory>
#include <new>
#include <string>
#include <vector>

#include "tspike/error.hpp"
#include "tspike/session.hpp"
#include "tspike/tspike_c.h"

struct tspike_status {
  tspike_code code;
  std::string message;
};

struct tspike_model {
  std::shared_ptr<const tspike::Model> model;
};

struct tspike_session {
  tspike::Session session;
  std::vector<tspike::Tensor> outputs;
  tspike::RunStats stats;   // refreshed after each run / step / reset
  tspike::Profile profile;  // taken by tspike_session_read_profile
  bool profile_read = false;
};

namespace tspike::capi {

inline tspike_code code_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::kParse:
      return TSPIKE_ERR_PARSE;
    case ErrorCode::kInvalidModel:
      return TSPIKE_ERR_INVALID_MODEL;
    case ErrorCode::kUnsupportedOp:
      return TSPIKE_ERR_UNSUPPORTED_OP;
    case ErrorCode::kShapeMismatch:
      return TSPIKE_ERR_SHAPE_MISMATCH;
    case ErrorCode::kResourceLimit:
      return TSPIKE_ERR_RESOURCE_LIMIT;
    case ErrorCode::kBadInput:
      return TSPIKE_ERR_BAD_INPUT;
    case ErrorCode::kIO:
      return TSPIKE_ERR_IO;
  }
  return TSPIKE_ERR_INTERNAL;
}

inline tspike_code fail(tspike_status** status, tspike_code code, const char* message) {
  if (status) {
    // If even the status cannot be allocated, the caller still gets the code.
    *status = new (std::nothrow) tspike_status{code, {}};
    if (*status) {
      try {
        (*status)->message = message;
      } catch (...) {
      }
    }
  }
  return code;
}

// Runs `body`, turning every exception into a status.
template <typename Body>
tspike_code guarded(tspike_status** status, Body&& body) {
  if (status) *status = nullptr;
  try {
    body();
    return TSPIKE_OK;
  } catch (const Error& e) {
    return fail(status, code_of(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return fail(status, TSPIKE_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return fail(status, TSPIKE_ERR_INTERNAL, e.what());
  } catch (...) {
    return fail(status, TSPIKE_ERR_INTERNAL, "unknown exception");
  }
}

// The fields of a caller's options struct that its struct_size covers; the
// rest keep their defaults (a program built against older headers).
#define TSPIKE_COVERS(options, type, field) \
  ((options)->struct_size >= offsetof(type, field) + sizeof((options)->field))

}  // namespace tspike::capi
